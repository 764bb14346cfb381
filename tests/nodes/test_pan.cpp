// pan: the constant-power sin/cos law for mono, the constant-power balance for stereo, channel
// rules, ramps and block-split / SIMD independence.
#include "nodes/mixing/Pan.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

constexpr double kRate = 48000;

/// Left and right output gains measured with a DC input of 1 on every input channel.
std::pair<double, double> measuredGains(double panPercent, int channels) {
    const Lanes ones(std::size_t(channels), std::vector<float>(64, 1.0f));
    auto kernel = preparedKernel("pan", {kRate, 64, detectSimdArch()},
                                 {instanceOf("pan", paramsOf("pan", {{"pan", panPercent}}), channels)});
    const Lanes out = render(*kernel, ones, 2, 64);
    for (std::size_t n = 1; n < 64; ++n) {
        REQUIRE(out[0][n] == out[0][0]);
        REQUIRE(out[1][n] == out[1][0]);
    }
    return {out[0][0], out[1][0]};
}

} // namespace

TEST_CASE("pan: declaration and channel rule", "[nodes]") {
    const NodeType* t = Registry::builtin().find("pan");
    REQUIRE(t != nullptr);
    const NodeTypeInfo& info = t->info();
    CHECK(info.family == "mixing");
    CHECK(info.batchable); // mono and stereo instances share one kernel call
    CHECK_FALSE(info.reference.empty());
    CHECK_FALSE(info.channelRule.empty());
    const ParamInfo& pan = info.params.at(std::size_t(t->paramIndex("pan")));
    CHECK(pan.unit == UnitKind::Percent);
    CHECK(pan.minValue == -100);
    CHECK(pan.maxValue == 100);
    CHECK(pan.defaultValue == 0);
    CHECK(pan.smoothingMs == 20);
    CHECK_FALSE(pan.description.empty());

    std::vector<int> out;
    CHECK(t->resolveChannels(t->defaults(), std::vector<int>{1}, out) == "");
    CHECK(out == std::vector<int>{2});
    CHECK(t->resolveChannels(t->defaults(), std::vector<int>{2}, out) == "");
    CHECK(out == std::vector<int>{2});
    const std::string six = t->resolveChannels(t->defaults(), std::vector<int>{6}, out);
    CHECK(six.find("1") != std::string::npos);
    CHECK(six.find("2") != std::string::npos);
    CHECK(six.find("6") != std::string::npos);
    CHECK_FALSE(t->resolveChannels(t->defaults(), std::vector<int>{0}, out).empty());
}

TEST_CASE("pan: mono input keeps L^2 + R^2 = 1 at every position", "[nodes]") {
    for (double pan : {-100.0, -80.0, -50.0, -33.3, -10.0, 0.0, 5.0, 25.0, 50.0, 75.0, 99.0, 100.0}) {
        CAPTURE(pan);
        const auto [left, right] = measuredGains(pan, 1);
        CHECK(std::abs(left * left + right * right - 1.0) < 1e-6);
        // The sin/cos law itself, from theta = (pan/100 + 1) pi/4.
        const double theta = (pan / 100 + 1) * std::acos(-1.0) / 4;
        CHECK(left == Approx(std::cos(theta)).margin(1e-7));
        CHECK(right == Approx(std::sin(theta)).margin(1e-7));
        // Mirror symmetry.
        const auto [mirrorLeft, mirrorRight] = measuredGains(-pan, 1);
        CHECK(mirrorLeft == right);
        CHECK(mirrorRight == left);
    }
}

TEST_CASE("pan: hard left, hard right and -3.01 dB at centre", "[nodes]") {
    auto [l, r] = measuredGains(-100, 1);
    CHECK(l == 1.0);
    CHECK(r == 0.0);
    std::tie(l, r) = measuredGains(100, 1);
    CHECK(l == 0.0);
    CHECK(r == 1.0);
    std::tie(l, r) = measuredGains(0, 1);
    CHECK(l == r);
    CHECK(20 * std::log10(l) == Approx(-3.0103).margin(1e-4));
}

TEST_CASE("pan: stereo input is balanced with constant power, unity at centre", "[nodes]") {
    auto [l, r] = measuredGains(0, 2);
    CHECK(l == 1.0);
    CHECK(r == 1.0);
    for (double pan : {-100.0, -60.0, -20.0, 20.0, 60.0, 100.0}) {
        CAPTURE(pan);
        std::tie(l, r) = measuredGains(pan, 2);
        CHECK(std::abs(l * l + r * r - 2.0) < 2e-6);
        if (pan > 0)
            CHECK(l < r);
        else
            CHECK(l > r);
    }
    std::tie(l, r) = measuredGains(100, 2);
    CHECK(l == 0.0);
    CHECK(20 * std::log10(r) == Approx(3.0103).margin(1e-4));

    // Left input goes only to the left output and right to right.
    Lanes input{noise(500, 0.8f, 1), noise(500, 0.8f, 2)};
    auto kernel = preparedKernel("pan", {kRate, 128, detectSimdArch()}, {instanceOf("pan", paramsOf("pan", {{"pan", 30}}), 2)});
    const Lanes out = render(*kernel, input, 2, 128);
    std::tie(l, r) = measuredGains(30, 2);
    for (std::size_t n = 0; n < 500; ++n) {
        REQUIRE(out[0][n] == input[0][n] * float(l));
        REQUIRE(out[1][n] == input[1][n] * float(r));
    }
}

TEST_CASE("pan: a change ramps over 20 ms, monotonically", "[nodes]") {
    const std::int64_t at = 300, ramp = std::llround(0.020 * kRate);
    const Lanes ones(1, std::vector<float>(3000, 1.0f));
    auto kernel = preparedKernel("pan", {kRate, 256, detectSimdArch()}, {instanceOf("pan", paramsOf("pan", {{"pan", -100}}), 1)});
    RenderPlan plan;
    plan.events = {{at, 0, 0, 100}};
    const Lanes out = render(*kernel, ones, 2, 256, plan);
    for (std::int64_t n = 1; n < 3000; ++n) {
        REQUIRE(out[0][std::size_t(n)] <= out[0][std::size_t(n - 1)]);
        REQUIRE(out[1][std::size_t(n)] >= out[1][std::size_t(n - 1)]);
        REQUIRE(std::abs(double(out[0][std::size_t(n)]) * out[0][std::size_t(n)] +
                         double(out[1][std::size_t(n)]) * out[1][std::size_t(n)] - 1) < 1e-6);
    }
    CHECK(out[1][std::size_t(at)] == 0.0f);
    CHECK(out[1][std::size_t(at + 1)] > 0.0f);
    CHECK(out[0][std::size_t(at + ramp - 1)] > 0.0f);
    CHECK(out[0][std::size_t(at + ramp)] == 0.0f);
    CHECK(out[1][std::size_t(at + ramp)] == 1.0f);
}

TEST_CASE("pan: output does not depend on block splits or SIMD architecture", "[nodes]") {
    const int maxBlock = 8192;
    for (int channels : {1, 2}) {
        CAPTURE(channels);
        Lanes input;
        for (int c = 0; c < channels; ++c) input.push_back(noise(6000, 0.7f, 40 + std::uint32_t(c)));
        RenderPlan plan;
        plan.events = {{1200, 0, 0, 70}, {3000, 0, 0, -45}};
        Lanes reference;
        for (SimdArch arch : availableArchs())
            for (const auto& sizes : splitPlans(maxBlock)) {
                plan.blockSizes = sizes;
                auto kernel = preparedKernel("pan", {kRate, maxBlock, arch},
                                             {instanceOf("pan", paramsOf("pan", {{"pan", -20}}), channels)});
                const Lanes out = render(*kernel, input, 2, maxBlock, plan);
                if (reference.empty())
                    reference = out;
                else
                    REQUIRE(sameBits(out, reference));
            }
    }
}
