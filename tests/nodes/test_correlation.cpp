// correlation: r = sum(LR)/sqrt(sum(L^2) sum(R^2)) against identical (+1), inverted (-1),
// independent noise (0 within 4/sqrt(N)), a phase shift (cos phi), the balance in dB, the
// 400 ms minimum and the series against the formula on the same windows, at three rates.
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using namespace sg;
using namespace sg::stereotest;
using sg::test::bitIdentical;

namespace {
const std::string kGraph = oneNodeGraph("{type: correlation}");
}

TEST_CASE("correlation: +1, -1, 0 and cos(phi) against the formula; balance in dB", "[correlation]") {
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(rate * 2);
        const std::vector<float> x = clippedNoise(frames, 4);
        std::vector<float> minus(x.size()), half(x.size());
        for (std::size_t n = 0; n < x.size(); ++n) {
            minus[n] = -x[n];
            half[n] = 0.5f * x[n];
        }
        INFO("rate " << rate);
        const GraphRun same = runGraph(kGraph, {{x, x}}, rate);
        std::string where;
        CHECK(bitIdentical(same.outputs, {{x, x}}, &where)); // a pass-through
        CHECK(measured(same, "n", "correlation") == Approx(1).margin(1e-12));
        CHECK(measured(same, "n", "min_correlation") == Approx(1).margin(1e-12));
        CHECK(measured(same, "n", "balance_db") == Approx(0).margin(1e-12));
        const GraphRun inverted = runGraph(kGraph, {{x, minus}}, rate);
        CHECK(measured(inverted, "n", "correlation") == Approx(-1).margin(1e-12));
        const GraphRun louder = runGraph(kGraph, {{x, half}}, rate); // L 6.02 dB above R, r = 1
        CHECK(measured(louder, "n", "balance_db") == Approx(20 * std::log10(2.0)).margin(1e-9));
        CHECK(measured(louder, "n", "correlation") == Approx(1).margin(1e-12));
        // Independent noise: r ~ N(0, 1/N); |r| < 4 / sqrt(N) fails with probability 6e-5.
        const GraphRun independent = runGraph(kGraph, {{x, clippedNoise(frames, 99)}}, rate);
        CHECK(std::fabs(measured(independent, "n", "correlation")) < 4 / std::sqrt(double(frames)));
        // Sines phi apart over whole periods: r = cos(phi).
        for (double phi : {0.3, std::numbers::pi / 2, 2.0, 3.0}) {
            const double f = 1000; // 1000 Hz: 2 s is a whole number of periods at every rate
            const GraphRun shifted =
                runGraph(kGraph, {{sg::test::sine(f, 0.9, rate, frames), sg::test::sine(f, 0.9, rate, frames, phi)}}, rate);
            INFO("phi " << phi);
            CHECK(measured(shifted, "n", "correlation") == Approx(std::cos(phi)).margin(2e-6));
        }
        // Silence: no correlation (NaN), balance NaN.
        const GraphRun silent = runGraph(kGraph, {Planar(2, std::vector<float>(std::size_t(frames), 0.0f))}, rate);
        CHECK(std::isnan(measured(silent, "n", "correlation")));
        CHECK(std::isnan(measured(silent, "n", "min_correlation")));
    }
}

TEST_CASE("correlation: 400 ms minimum and series against the formula on the same windows; split-independent", "[correlation]") {
    for (double rate : kRates) {
        // 1 s in phase, 0.5 s anti-phase, 1 s independent, then 0.35 s of a near-Nyquist square pair.
        const std::int64_t second = std::int64_t(rate);
        const std::vector<float> a = clippedNoise(3 * second, 1), b = clippedNoise(3 * second, 2);
        Planar in(2);
        for (std::int64_t n = 0; n < second * 5 / 2; ++n) {
            const float x = a[std::size_t(n)];
            in[0].push_back(x);
            in[1].push_back(n < second ? x : n < second * 3 / 2 ? -x : b[std::size_t(n)]);
        }
        const std::vector<float> sq = square(std::int64_t(rate * 0.35), 2), sq2 = square(std::int64_t(rate * 0.35), 4);
        in[0].insert(in[0].end(), sq.begin(), sq.end());
        in[1].insert(in[1].end(), sq2.begin(), sq2.end());
        const std::size_t frames = in[0].size();
        const GraphRun reference = runGraph(kGraph, {in}, rate);
        INFO("rate " << rate);
        CHECK(measured(reference, "n", "min_correlation") == Approx(-1).margin(1e-12));
        const MeasurementSeries& series = seriesOf(reference, "n", "correlation");
        const std::int64_t step = std::llround(rate / 10);
        CHECK(series.framesPerValue == step);
        CHECK(series.sampleRate == rate);
        CHECK(series.reduction == "last");
        REQUIRE(series.values.size() == (frames + std::size_t(step) - 1) / std::size_t(step));
        // Each complete step's value: the formula over the last 400 ms (fewer at the start).
        for (std::size_t k = 0; k < frames / std::size_t(step); ++k) {
            const std::size_t end = (k + 1) * std::size_t(step),
                              begin = end > 4 * std::size_t(step) ? end - 4 * std::size_t(step) : 0;
            double ll = 0, rr = 0, lr = 0;
            for (std::size_t n = begin; n < end; ++n) {
                ll += double(in[0][n]) * in[0][n];
                rr += double(in[1][n]) * in[1][n];
                lr += double(in[0][n]) * in[1][n];
            }
            INFO("step " << k);
            REQUIRE(series.values[k] == Approx(lr / std::sqrt(ll * rr)).margin(1e-6));
            REQUIRE(seriesOf(reference, "n", "balance_db").values[k] == Approx(10 * std::log10(ll / rr)).margin(1e-4));
        }
        for (const auto& plan : kBlockPlans)
            for (bool batch : {true, false}) {
                const GraphRun run = runGraph(kGraph, {in}, rate, plan, batch);
                for (const char* key : {"correlation", "min_correlation", "balance_db"})
                    CHECK(measured(run, "n", key) == measured(reference, "n", key));
                CHECK(seriesOf(run, "n", "correlation").values == series.values);
            }
    }
}
