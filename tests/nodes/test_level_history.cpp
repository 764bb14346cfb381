// levelhistory: series lengths against the duration, the momentary loudness series against
// libebur128 (an independent BS.1770 implementation) step by step, the sample-peak series
// against the per-step maximum computed here, split and batch independence, at three rates.
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <ebur128.h>

using namespace sg;
using namespace sg::stereotest;

namespace {

const std::string kGraph = oneNodeGraph("{type: levelhistory}");

/// A programme with level changes: quiet noise, a +20 dB clipped burst, a full-scale square,
/// a near-Nyquist tone, silence, 0.5 s each, then 0.23 s of noise (a partial last step).
Planar programme(double rate) {
    const std::int64_t part = std::int64_t(rate / 2);
    Planar out(2);
    for (int c = 0; c < 2; ++c) {
        std::vector<std::vector<float>> parts{sg::test::noise(part, 0.05f, std::uint32_t(c)),
                                              clippedNoise(part, 5 + std::uint32_t(c)),
                                              square(part, 100 + 10 * c),
                                              sg::test::sine(0.47 * rate, 0.7, rate, part),
                                              std::vector<float>(std::size_t(part), 0.0f),
                                              sg::test::noise(std::int64_t(rate * 0.23), 0.3f, 9 + std::uint32_t(c))};
        for (const auto& p : parts) out[std::size_t(c)].insert(out[std::size_t(c)].end(), p.begin(), p.end());
    }
    return out;
}

} // namespace

TEST_CASE("levelhistory: momentary series against libebur128, peak series against the per-step maximum", "[levelhistory]") {
    for (double rate : kRates) {
        const Planar in = programme(rate);
        const std::size_t frames = in[0].size(), step = std::size_t(std::llround(rate / 10));
        const GraphRun run = runGraph(kGraph, {in}, rate);
        INFO("rate " << rate);
        std::string where;
        CHECK(sg::test::bitIdentical(run.outputs, {in}, &where));
        const MeasurementSeries& momentary = seriesOf(run, "n", "momentary_lufs");
        const MeasurementSeries& peak = seriesOf(run, "n", "sample_peak_dbfs");
        for (const MeasurementSeries* s : {&momentary, &peak}) {
            CHECK(s->framesPerValue == std::int64_t(step));
            CHECK(s->sampleRate == rate);
            CHECK(s->values.size() == (frames + step - 1) / step); // the partial last step included
        }
        CHECK(momentary.unit == "LUFS");
        CHECK(momentary.reduction == "last");
        CHECK(peak.unit == "dBFS");
        CHECK(peak.reduction == "max");

        ebur128_state* oracle = ebur128_init(2, unsigned(rate), EBUR128_MODE_M);
        REQUIRE(oracle != nullptr);
        std::vector<float> interleaved(2 * step);
        for (std::size_t k = 0; k < frames / step; ++k) {
            float maxAbs = 0;
            for (std::size_t n = 0; n < step; ++n) {
                interleaved[2 * n] = in[0][k * step + n];
                interleaved[2 * n + 1] = in[1][k * step + n];
                maxAbs = std::max({maxAbs, std::fabs(in[0][k * step + n]), std::fabs(in[1][k * step + n])});
            }
            REQUIRE(ebur128_add_frames_float(oracle, interleaved.data(), step) == EBUR128_SUCCESS);
            double expected = 0;
            REQUIRE(ebur128_loudness_momentary(oracle, &expected) == EBUR128_SUCCESS);
            INFO("step " << k);
            if (std::isinf(expected) || expected < -70) // silence: -inf here, libebur128's floor there
                REQUIRE((std::isinf(momentary.values[k]) || momentary.values[k] < -70));
            else
                REQUIRE(momentary.values[k] == Approx(expected).margin(0.05)); // as test_loudness_oracle
            if (maxAbs == 0)
                REQUIRE(std::isinf(peak.values[k]));
            else
                REQUIRE(peak.values[k] == Approx(20 * std::log10(double(maxAbs))).margin(1e-4));
        }
        ebur128_destroy(&oracle);
        CHECK(measured(run, "n", "sample_peak_dbfs") == Approx(0).margin(1e-9)); // the clipped burst
        for (const auto& plan : kBlockPlans)
            for (bool batch : {true, false}) {
                const GraphRun other = runGraph(kGraph, {in}, rate, plan, batch);
                CHECK(seriesOf(other, "n", "momentary_lufs").values == momentary.values);
                CHECK(seriesOf(other, "n", "sample_peak_dbfs").values == peak.values);
            }
    }
}
