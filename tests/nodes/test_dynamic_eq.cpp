// dynamic_eq: a loud tone at the band's centre is cut to the range (y = g x at f0, where the
// band-pass is exactly 1), a quiet one boosted in "below" mode, far tones untouched; null with
// nothing to do; block splits.
#include "tests/nodes/DynamicsTesting.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::nodetest;
using namespace sg::dyntest;

TEST_CASE("dynamic_eq: the band's gain moves to the range above or below the threshold", "[nodes][dynamic_eq]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        INFO("rate " << rate);
        const std::int64_t frames = std::int64_t(rate), from = frames - std::int64_t(0.1 * rate);
        // f0 chosen on a whole number of frames per period at none of the rates: the band-pass is 1 at f0.
        const double f0 = 2000;
        const std::vector<float> loud = sg::test::sine(f0, 0.5, rate, frames), quiet = sg::test::sine(f0, 0.001, rate, frames);
        const auto cut =
            paramsOf("dynamic_eq", {{"freq", f0}, {"q", 2}, {"threshold", -30}, {"ratio", 4}, {"knee", 0}, {"range", -6}});
        const auto boost = paramsOf(
            "dynamic_eq", {{"freq", f0}, {"q", 2}, {"threshold", -30}, {"ratio", 2}, {"knee", 0}, {"range", 6}, {"mode", 1}});
        auto kernel = preparedKernel(
            "dynamic_eq", {rate, 512, detectSimdArch()},
            {instanceOf("dynamic_eq", cut, 1), instanceOf("dynamic_eq", boost, 1), instanceOf("dynamic_eq", cut, 1)});
        const Lanes y = render(*kernel, {loud, quiet, quiet}, 3, 512);
        CHECK(toDb(peakOf(y[0], from, frames) / peakOf(loud, from, frames)) == Approx(-6).margin(0.05));
        CHECK(toDb(peakOf(y[1], from, frames) / peakOf(quiet, from, frames)) == Approx(6).margin(0.05));
        CHECK(sameBits(Lanes{y[2]}, Lanes{quiet})); // below the threshold in mode "above": untouched
        std::vector<Measurement> m;
        kernel->measurements(0, m);
        REQUIRE(m.size() == 2);
        CHECK(m[0].key == "max_gain_change_db");
        CHECK(m[0].value == Approx(6).margin(1e-6));
    }
}

TEST_CASE("dynamic_eq: a loud tone far from the band is left alone, and block splits change no bit", "[nodes][dynamic_eq]") {
    const double rate = 48000;
    const std::int64_t frames = 48000, from = 40000;
    const std::vector<float> far = sg::test::sine(100, 0.9, rate, frames);
    const auto params = paramsOf("dynamic_eq", {{"freq", 5000}, {"q", 4}, {"threshold", -20}, {"range", -12}});
    auto kernel = preparedKernel("dynamic_eq", {rate, 4096, detectSimdArch()}, {instanceOf("dynamic_eq", params, 1)});
    const Lanes reference = render(*kernel, {far}, 1, 4096);
    // The band-pass at 100 Hz (Q 4, 5 kHz) is about -46 dB: the band sits below -20 dBFS.
    CHECK(toDb(peakOf(reference[0], from, frames) / peakOf(far, from, frames)) == Approx(0).margin(1e-5));
    for (double shape : {0.0, 1.0, 2.0}) {
        const auto p = paramsOf("dynamic_eq", {{"shape", shape}, {"threshold", -40}, {"range", 9}, {"mode", 0}});
        const Lanes noisy = noiseLanes(1, frames, 77, 4.0f);
        auto k1 = preparedKernel("dynamic_eq", {rate, 4096, detectSimdArch()}, {instanceOf("dynamic_eq", p, 1)});
        const Lanes ref = render(*k1, noisy, 1, 4096);
        for (const auto& plan : splitPlans(4096)) {
            auto k2 = preparedKernel("dynamic_eq", {rate, 4096, SimdArch::Sse2}, {instanceOf("dynamic_eq", p, 1)});
            CHECK(sameBits(render(*k2, noisy, 1, 4096, RenderPlan{plan, {}, false, false}), ref));
        }
    }
}
