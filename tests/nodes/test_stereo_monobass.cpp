// monobass: the side's magnitude response against the LR4 formula |H| = t^4 / (1 + t^4),
// the mid untouched, a mono input bit-exact, ramps split-independent, batching, tail.
#include "tests/nodes/KernelHarness.h"
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using namespace sg;
using namespace sg::stereotest;
using sg::test::bitIdentical;

namespace {

/// Analytic LR4 high-pass magnitude (bilinear Butterworth squared) at f for cutoff f0.
double lr4Magnitude(double f, double f0, double rate) {
    const double t = std::tan(std::numbers::pi * f / rate) / std::tan(std::numbers::pi * f0 / rate);
    return std::pow(t, 4) / (1 + std::pow(t, 4));
}

double rms(const std::vector<float>& x, std::size_t from, std::size_t count) {
    double sum = 0;
    for (std::size_t n = from; n < from + count; ++n) sum += double(x[n]) * x[n];
    return std::sqrt(sum / double(count));
}

/// Frames in the whole periods of f that fit in `frames` (so an RMS has no partial period).
std::size_t wholePeriods(double f, double rate, std::size_t frames) {
    return std::size_t(std::llround(std::floor(double(frames) * f / rate) * rate / f));
}

} // namespace

TEST_CASE("monobass: the side follows the LR4 high-pass formula, -6.02 dB at freq", "[stereo]") {
    for (double rate : kRates)
        for (double f0 : {40.0, 120.0, 300.0}) {
            const std::string graph = oneNodeGraph("{type: monobass, freq: " + std::to_string(f0) + " Hz}");
            for (double f : {f0 / 4, f0 / 2, f0, 2 * f0, 8 * f0, 5000.0, 0.45 * rate}) {
                const std::int64_t frames = std::int64_t(rate); // 1 s; measure the last half
                const std::vector<float> s = sg::test::sine(f, 0.5, rate, frames);
                std::vector<float> minus(s.size());
                for (std::size_t n = 0; n < s.size(); ++n) minus[n] = -s[n];
                const Planar out = runGraph(graph, {{s, minus}}, rate).outputs[0];
                std::vector<float> side(s.size()), mid(s.size());
                for (std::size_t n = 0; n < s.size(); ++n) {
                    side[n] = float((double(out[0][n]) - out[1][n]) / 2);
                    mid[n] = float((double(out[0][n]) + out[1][n]) / 2);
                }
                const std::size_t half = s.size() / 2, count = wholePeriods(f, rate, half - 1);
                const double measuredDb = 20 * std::log10(rms(side, half, count) / rms(s, half, count));
                const double expectedDb = 20 * std::log10(lr4Magnitude(f, f0, rate));
                INFO("rate " << rate << " f0 " << f0 << " f " << f << ": " << measuredDb << " dB, formula " << expectedDb);
                CHECK(std::fabs(measuredDb - expectedDb) < 0.02);
                CHECK(rms(mid, 0, mid.size()) == 0); // a pure side input has no mid, before or after
            }
        }
}

TEST_CASE("monobass: the mid is untouched, a mono input passes bit for bit", "[stereo]") {
    for (double rate : kRates) {
        const Planar in = hostileStereo(rate, 71);
        const Planar out = runGraph(oneNodeGraph("{type: monobass, freq: 200 Hz}"), {in}, rate).outputs[0];
        for (std::size_t n = 0; n < in[0].size(); ++n) {
            const double mid = (double(in[0][n]) + in[1][n]) / 2;
            const double bound = std::ldexp(std::fabs(out[0][n]) + std::fabs(out[1][n]), -24); // one rounding each
            INFO("rate " << rate << " frame " << n);
            REQUIRE(std::fabs((double(out[0][n]) + out[1][n]) / 2 - mid) <= bound);
        }
        const std::vector<float> x = clippedNoise(std::int64_t(rate / 2), 3);
        std::string where;
        CHECK(bitIdentical(runGraph(oneNodeGraph("{type: monobass}"), {{x, x}}, rate).outputs, {{x, x}}, &where));
    }
}

TEST_CASE("monobass: freq ramps give the same bits for every split, batched or not; the tail is declared", "[stereo]") {
    using namespace sg::nodetest;
    for (double rate : kRates) {
        const Planar hostile = hostileStereo(rate, 13);
        const Lanes in{hostile[0], hostile[1]};
        const int param = Registry::builtin().find("monobass")->paramIndex("freq");
        RenderPlan plan;
        plan.events = {{777, 0, param, 500.0}, {5003, 0, param, 20.0}, {20011, 0, param, 90.0}};
        Lanes reference;
        for (const auto& sizes : splitPlans(1024)) {
            auto kernel =
                preparedKernel("monobass", {rate, 1024, detectSimdArch()}, {instanceOf("monobass", paramsOf("monobass", {}), 2)});
            plan.blockSizes = sizes;
            const Lanes out = render(*kernel, in, 2, 1024, plan);
            if (reference.empty()) reference = out;
            INFO("rate " << rate << ", " << sizes.size() << " block sizes");
            CHECK(sameBits(out, reference));
        }
    }
    const Planar a = hostileStereo(44100, 1), b = hostileStereo(44100, 2);
    const std::string graph = twoNodeGraph("{type: monobass, freq: 80 Hz}", "{type: monobass, freq: 250 Hz}");
    std::string where;
    CHECK(bitIdentical(runGraph(graph, {a, b}, 44100, {}, true).outputs, runGraph(graph, {a, b}, 44100, {7}, false).outputs,
                       &where));
    // Tail: after a full-scale side impulse, the output is below -120 dB once the declared tail has passed.
    const NodeType* type = Registry::builtin().find("monobass");
    const double tail = type->tailSeconds(paramsOf("monobass", {{"freq", 20}}), 48000);
    CHECK(tail > 0.05);
    std::vector<float> impulse(std::size_t(48000 * (tail + 0.1)), 0.0f), minus(impulse.size(), 0.0f);
    impulse[0] = 1;
    minus[0] = -1;
    const Planar out = runGraph(oneNodeGraph("{type: monobass, freq: 20 Hz}"), {{impulse, minus}}, 48000).outputs[0];
    for (std::size_t n = std::size_t(tail * 48000) + 1; n < impulse.size(); ++n) REQUIRE(std::fabs(out[0][n]) < 1e-6);
}
