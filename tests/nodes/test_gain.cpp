// gain: exact factor, polarity, a monotonic position-based ramp, block-split independence,
// batching and SIMD-architecture independence.
#include "nodes/utility/Gain.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

constexpr double kRate = 48000;

} // namespace

TEST_CASE("gain: declaration", "[nodes]") {
    const NodeType* t = Registry::builtin().find("gain");
    REQUIRE(t != nullptr);
    const NodeTypeInfo& info = t->info();
    CHECK(info.family == "utility");
    CHECK(info.batchable);
    CHECK(info.inPlace);
    CHECK_FALSE(info.description.empty());
    CHECK_FALSE(info.channelRule.empty());
    CHECK_FALSE(info.reference.empty());
    const ParamInfo& gain = info.params[std::size_t(t->paramIndex("gain"))];
    CHECK(gain.unit == UnitKind::Gain);
    CHECK(gain.minValue == -120);
    CHECK(gain.maxValue == 40);
    CHECK(gain.defaultValue == 0);
    CHECK(gain.smoothingMs == 20);
    const ParamInfo& invert = info.params[std::size_t(t->paramIndex("invert"))];
    CHECK(invert.choices == std::vector<double>{0, 1});
    for (const ParamInfo& p : info.params) CHECK_FALSE(p.description.empty());
    std::vector<int> out;
    CHECK(t->resolveChannels(t->defaults(), std::vector<int>{3}, out) == "");
    CHECK(out == std::vector<int>{3});
}

TEST_CASE("gain: output is the input times 10^(dB/20)", "[nodes]") {
    const Lanes input = noiseLanes(2, 1000, 11, 0.9f);
    for (double db : {-120.0, -60.0, -6.0, -0.5, 0.0, 3.0, 6.0206, 40.0}) {
        CAPTURE(db);
        auto kernel =
            preparedKernel("gain", {kRate, 256, detectSimdArch()}, {instanceOf("gain", paramsOf("gain", {{"gain", db}}), 2)});
        const Lanes out = render(*kernel, input, 2, 256);
        const double factor = std::pow(10.0, db / 20.0);
        const float factorF = float(factor);
        for (int l = 0; l < 2; ++l)
            for (std::size_t n = 0; n < input[0].size(); ++n) {
                const float x = input[std::size_t(l)][n], y = out[std::size_t(l)][n];
                REQUIRE(y == x * factorF); // one float rounding of the exact factor
                REQUIRE(std::abs(double(y) - double(x) * factor) <= 1.2e-7 * std::abs(double(x) * factor) + 1e-45);
            }
    }
}

TEST_CASE("gain: invert flips the polarity exactly", "[nodes]") {
    const Lanes input = noiseLanes(1, 777, 5, 0.9f);
    auto kernel =
        preparedKernel("gain", {kRate, 128, detectSimdArch()}, {instanceOf("gain", paramsOf("gain", {{"invert", 1}}), 1)});
    const Lanes out = render(*kernel, input, 1, 128);
    for (std::size_t n = 0; n < input[0].size(); ++n) REQUIRE(out[0][n] == -input[0][n]);

    auto kernel6 = preparedKernel("gain", {kRate, 128, detectSimdArch()},
                                  {instanceOf("gain", paramsOf("gain", {{"invert", 1}, {"gain", -6}}), 1)});
    const Lanes out6 = render(*kernel6, input, 1, 128);
    const float factor = float(-std::pow(10.0, -6 / 20.0));
    for (std::size_t n = 0; n < input[0].size(); ++n) REQUIRE(out6[0][n] == input[0][n] * factor);
}

TEST_CASE("gain: a change ramps monotonically and reaches its target after 20 ms", "[nodes]") {
    const std::int64_t frames = 4000, at = 1000;
    const std::int64_t ramp = std::llround(0.020 * kRate); // 960 frames
    const Lanes ones(1, std::vector<float>(std::size_t(frames), 1.0f));
    for (double target : {-20.0, 12.0}) {
        CAPTURE(target);
        auto kernel = preparedKernel("gain", {kRate, 512, detectSimdArch()}, {instanceOf("gain", paramsOf("gain", {}), 1)});
        RenderPlan plan;
        plan.blockSizes = {100};
        plan.events = {{at, 0, 0, target}};
        const Lanes out = render(*kernel, ones, 1, 512, plan);
        const float final = float(std::pow(10.0, target / 20.0));
        for (std::int64_t n = 0; n <= at; ++n) REQUIRE(out[0][std::size_t(n)] == 1.0f);
        for (std::int64_t n = at + 1; n < at + ramp; ++n) {
            const float prev = out[0][std::size_t(n - 1)], cur = out[0][std::size_t(n)];
            if (target < 0)
                REQUIRE(cur <= prev);
            else
                REQUIRE(cur >= prev);
            REQUIRE(cur != final); // still on its way
        }
        // Halfway the linear ramp is halfway between the two factors.
        CHECK(out[0][std::size_t(at + ramp / 2)] == Approx((1.0 + final) / 2).epsilon(1e-6));
        for (std::int64_t n = at + ramp; n < frames; ++n) REQUIRE(out[0][std::size_t(n)] == final);
    }
}

TEST_CASE("gain: a polarity change passes through zero instead of jumping", "[nodes]") {
    const Lanes ones(1, std::vector<float>(3000, 1.0f));
    auto kernel = preparedKernel("gain", {kRate, 512, detectSimdArch()}, {instanceOf("gain", paramsOf("gain", {}), 1)});
    RenderPlan plan;
    plan.events = {{500, 0, 1, 1.0}};
    const Lanes out = render(*kernel, ones, 1, 512, plan);
    for (std::size_t n = 1; n < 3000; ++n) REQUIRE(std::abs(out[0][n] - out[0][n - 1]) < 0.01f);
    CHECK(out[0][2999] == -1.0f);
}

TEST_CASE("gain: output does not depend on how the stream is split into blocks", "[nodes]") {
    const int maxBlock = 8192;
    const Lanes input = noiseLanes(3, 6000, 21, 0.9f);
    const std::vector<InstanceSetup> setup{instanceOf("gain", paramsOf("gain", {{"gain", -3}}), 2),
                                           instanceOf("gain", paramsOf("gain", {{"gain", 4}}), 1)};
    for (bool cut : {false, true}) {
        RenderPlan plan;
        // Non-overlapping ramps; with cutAtEvents also one that interrupts a running ramp.
        plan.events = cut ? std::vector<ParamEvent>{{1000, 0, 0, -30}, {1300, 0, 0, 6}, {2500, 1, 1, 1}, {2600, 1, 0, -10}}
                          : std::vector<ParamEvent>{{1000, 0, 0, -30}, {2500, 1, 1, 1}, {4001, 0, 1, 1}};
        plan.cutAtEvents = cut;
        Lanes reference;
        for (const auto& sizes : splitPlans(maxBlock)) {
            plan.blockSizes = sizes;
            auto kernel = preparedKernel("gain", {kRate, maxBlock, detectSimdArch()}, setup);
            const Lanes out = render(*kernel, input, 3, maxBlock, plan);
            if (reference.empty())
                reference = out;
            else
                REQUIRE(sameBits(out, reference));
        }
        // The changes did take effect.
        const double finalFactor = cut ? std::pow(10.0, 6 / 20.0) : -std::pow(10.0, -30 / 20.0);
        CHECK(reference[0][5999] == input[0][5999] * float(finalFactor));
    }
}

TEST_CASE("gain: batched, unbatched, in-place and every SIMD architecture give the same bits", "[nodes]") {
    const int maxBlock = 512;
    const std::vector<int> channels{1, 2, 1, 3};
    const std::vector<InstanceSetup> setup{instanceOf("gain", paramsOf("gain", {{"gain", -6}}), 1),
                                           instanceOf("gain", paramsOf("gain", {{"gain", 2.5}, {"invert", 1}}), 2),
                                           instanceOf("gain", paramsOf("gain", {{"gain", -100}}), 1),
                                           instanceOf("gain", paramsOf("gain", {{"gain", 0}}), 3)};
    const Lanes input = noiseLanes(7, 3001, 3, 0.9f);
    RenderPlan plan;
    plan.blockSizes = {333, 17, 512};
    plan.events = {{700, 1, 0, -12}, {900, 3, 1, 1}};

    Lanes reference;
    for (SimdArch arch : availableArchs()) {
        CAPTURE(simdArchName(arch));
        auto batched = preparedKernel("gain", {kRate, maxBlock, arch}, setup);
        const Lanes out = render(*batched, input, 7, maxBlock, plan);
        if (reference.empty()) reference = out;
        REQUIRE(sameBits(out, reference));

        RenderPlan inPlace = plan;
        inPlace.inPlace = true;
        auto again = preparedKernel("gain", {kRate, maxBlock, arch}, setup);
        REQUIRE(sameBits(render(*again, input, 7, maxBlock, inPlace), reference));

        const std::vector<Lanes> inputs = splitLanes(input, channels), expected = splitLanes(reference, channels);
        for (std::size_t i = 0; i < setup.size(); ++i) {
            RenderPlan single = plan;
            single.events.clear();
            for (ParamEvent e : plan.events)
                if (e.instance == int(i)) {
                    e.instance = 0;
                    single.events.push_back(e);
                }
            auto alone = preparedKernel("gain", {kRate, maxBlock, arch}, {setup[i]});
            REQUIRE(sameBits(render(*alone, inputs[i], channels[i], maxBlock, single), expected[i]));
        }
    }
}
