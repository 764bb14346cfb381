// msencode / msdecode / width: the mid/side formulas against exact arithmetic, the round trip
// bit for bit where float allows it and by its bound elsewhere, width's end points and ramps,
// at three rates, six block plans and batched or not.
#include "tests/nodes/KernelHarness.h"
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::stereotest;
using sg::test::bitIdentical;

namespace {

const char* kRoundTrip = R"(stagegraph: 1
inputs: {in: {channels: 2}}
outputs: {ms: {channels: 2}, out: {channels: 2}}
nodes: {enc: {type: msencode}, dec: {type: msdecode}}
connections: ["in -> enc -> dec -> out", "enc -> ms"]
)";

/// Random floats over many binades (2^-30 .. 1), either sign: the worst case for sums.
Planar wideFloats(std::int64_t frames, std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> mantissa(-1, 1);
    std::uniform_int_distribution<int> exponent(-30, 0);
    Planar out(2, std::vector<float>(std::size_t(frames)));
    for (auto& c : out)
        for (float& v : c) v = float(std::ldexp(mantissa(rng), exponent(rng)));
    return out;
}

} // namespace

TEST_CASE("msencode: M and S are the correctly rounded (L + R)/2 and (L - R)/2; identities", "[stereo]") {
    for (double rate : kRates) {
        const Planar in = wideFloats(std::int64_t(rate / 10), 17);
        const GraphRun run = runGraph(kRoundTrip, {in}, rate);
        const Planar& ms = run.outputs[0];
        for (std::size_t n = 0; n < in[0].size(); ++n) {
            const double l = in[0][n], r = in[1][n];
            INFO("rate " << rate << " frame " << n);
            REQUIRE(ms[0][n] == float((l + r) / 2)); // exact in double, then one rounding
            REQUIRE(ms[1][n] == float((l - r) / 2));
        }
    }
    // A centred source has no side; an anti-phase pair has no mid.
    const std::vector<float> x = clippedNoise(4800, 9);
    std::vector<float> minus(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) minus[n] = -x[n];
    const GraphRun centred = runGraph(kRoundTrip, {{x, x}}, 48000);
    const GraphRun inverted = runGraph(kRoundTrip, {{x, minus}}, 48000);
    CHECK(centred.outputs[0][0] == x);
    CHECK(centred.outputs[0][1] == std::vector<float>(x.size(), 0.0f));
    CHECK(inverted.outputs[0][1] == x);
    for (float v : inverted.outputs[0][0]) REQUIRE(v == 0.0f);
}

TEST_CASE("msencode -> msdecode: bit-exact on 16-bit material, within 2^-23 max(|L|,|R|) on any float", "[stereo]") {
    for (double rate : kRates) {
        const Planar hostile = quantised16(hostileStereo(rate));
        const GraphRun reference = runGraph(kRoundTrip, {hostile}, rate);
        INFO("rate " << rate);
        std::string where;
        CHECK(bitIdentical({reference.outputs[1]}, {hostile}, &where));
        INFO(where);
        for (const auto& plan : kBlockPlans)
            for (bool batch : {true, false}) {
                const GraphRun run = runGraph(kRoundTrip, {hostile}, rate, plan, batch);
                CHECK(bitIdentical(run.outputs, reference.outputs, &where));
            }
        // Arbitrary floats: the stated bound, and it is reached (not exact in general).
        const Planar wide = wideFloats(std::int64_t(rate / 10), 23);
        const Planar back = runGraph(kRoundTrip, {wide}, rate).outputs[1];
        double worst = 0;
        for (std::size_t n = 0; n < wide[0].size(); ++n) {
            const double bound = std::ldexp(std::max(std::fabs(wide[0][n]), std::fabs(wide[1][n])), -23);
            for (int c = 0; c < 2; ++c) {
                const double error = std::fabs(double(back[c][n]) - double(wide[c][n]));
                REQUIRE(error <= bound);
                worst = std::max(worst, error / bound);
            }
        }
        CHECK(worst > 0.1); // the bound is not loose: arbitrary floats do not round-trip exactly
    }
}

TEST_CASE("width: 100 % is bit-exact, 0 % is the mid, 200 % doubles the side, the mid never changes", "[stereo]") {
    for (double rate : kRates) {
        const Planar in = hostileStereo(rate, 41);
        INFO("rate " << rate);
        std::string where;
        CHECK(bitIdentical(runGraph(oneNodeGraph("{type: width, width: 100 %}"), {in}, rate).outputs, {in}, &where));
        for (double widthPercent : {0.0, 37.0, 150.0, 200.0}) {
            const std::string node = "{type: width, width: " + std::to_string(widthPercent) + "}";
            const Planar out = runGraph(oneNodeGraph(node), {in}, rate).outputs[0];
            const double w = widthPercent / 100;
            for (std::size_t n = 0; n < in[0].size(); ++n) {
                const double l = in[0][n], r = in[1][n], mid = (l + r) / 2, side = (l - r) / 2;
                // Formula L' = M + w S, R' = M - w S; two float products and a sum: 3 roundings.
                const double bound = 3 * std::ldexp(std::fabs(l) + std::fabs(r) + std::fabs(mid) + w * std::fabs(side), -24);
                INFO("width " << widthPercent << " frame " << n);
                REQUIRE(std::fabs(out[0][n] - (mid + w * side)) <= bound);
                REQUIRE(std::fabs(out[1][n] - (mid - w * side)) <= bound);
                REQUIRE(std::fabs((double(out[0][n]) + out[1][n]) / 2 - mid) <= bound);
                if (widthPercent == 0) REQUIRE(out[0][n] == float(mid)); // exactly the rounded mid
            }
        }
    }
}

TEST_CASE("width: a ramp reaches its target in 20 ms, monotonically; same bits for every split and batched", "[stereo]") {
    using namespace sg::nodetest;
    for (double rate : kRates) {
        const std::int64_t frames = std::int64_t(rate / 5);
        Lanes in{std::vector<float>(std::size_t(frames), 1.0f), std::vector<float>(std::size_t(frames), 0.0f)};
        const int param = Registry::builtin().find("width")->paramIndex("width");
        RenderPlan plan;
        plan.events = {{1001, 0, param, 0.0}, {1001 + std::int64_t(rate / 20), 0, param, 200.0}};
        Lanes reference;
        for (const auto& sizes : splitPlans(1024)) {
            auto kernel =
                preparedKernel("width", {rate, 1024, detectSimdArch()}, {instanceOf("width", paramsOf("width", {}), 2)});
            plan.blockSizes = sizes;
            const Lanes out = render(*kernel, in, 2, 1024, plan);
            if (reference.empty()) reference = out;
            INFO("rate " << rate << ", " << sizes.size() << " block sizes");
            CHECK(sameBits(out, reference));
        }
        // L = 1, R = 0: L' = (1 + w)/2 falls from 1 to 0.5 over round(20 ms) frames, then holds.
        const std::int64_t ramp = std::llround(0.02 * rate);
        for (std::int64_t n = 1001; n < 1001 + ramp; ++n)
            REQUIRE(reference[0][std::size_t(n + 1)] <= reference[0][std::size_t(n)]);
        CHECK(reference[0][std::size_t(1000)] == 1.0f);
        CHECK(reference[0][std::size_t(1001 + ramp)] == 0.5f);
        CHECK(reference[0][std::size_t(1000 + ramp)] > 0.5f);
        CHECK(reference[0].back() == 1.5f); // 200 %: (1 + 2)/2
        CHECK(reference[1].back() == -0.5f);
    }
    // Batched (two instances in one call) and unbatched give the same bits.
    const Planar a = hostileStereo(48000, 5), b = hostileStereo(48000, 6);
    const std::string graph = twoNodeGraph("{type: width, width: 160 %}", "{type: width, width: 20 %}");
    std::string where;
    CHECK(bitIdentical(runGraph(graph, {a, b}, 48000, {64}, true).outputs, runGraph(graph, {a, b}, 48000, {64}, false).outputs,
                       &where));
}
