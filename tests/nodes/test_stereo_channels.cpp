// balance, polarity, swap, split, merge, monosum: gains against their laws, exact copies and
// negations, the mono fold-down's cancellation and power, channel rules, a mono-compatibility
// check inside a graph, at three rates, six block plans and batched or not.
#include "nodes/stereo/Balance.h"
#include "tests/nodes/KernelHarness.h"
#include "tests/nodes/StereoTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using namespace sg;
using namespace sg::stereotest;
using sg::test::bitIdentical;

TEST_CASE("balance: linear and constant-power laws against the formulas", "[stereo]") {
    const Planar ones(2, std::vector<float>(256, 1.0f));
    for (int law : {0, 1})
        for (double p : {-100.0, -50.0, -12.5, 0.0, 30.0, 50.0, 100.0}) {
            const double q = p / 100;
            // Independent statement of each law.
            const double left = law == 0 ? (q <= 0 ? 1 : 1 - q) : std::sqrt(2.0) * std::cos((q + 1) * std::numbers::pi / 4);
            const double right = law == 0 ? (q >= 0 ? 1 : 1 + q) : std::sqrt(2.0) * std::sin((q + 1) * std::numbers::pi / 4);
            const std::string node = "{type: balance, balance: " + std::to_string(p) + ", law: " + std::to_string(law) + "}";
            const Planar out = runGraph(oneNodeGraph(node), {ones}, 48000).outputs[0];
            INFO("law " << law << " balance " << p);
            CHECK(out[0][100] == Approx(left).margin(1e-7));
            CHECK(out[1][100] == Approx(right).margin(1e-7));
            if (law == 1) CHECK(double(out[0][100]) * out[0][100] + double(out[1][100]) * out[1][100] == Approx(2).epsilon(1e-6));
            if (law == 0 && p == 50) CHECK(20 * std::log10(out[0][100]) == Approx(-6.0206).margin(1e-4));
        }
    for (double rate : kRates) { // unity at centre: bit-exact under both laws
        const Planar in = hostileStereo(rate, 8);
        std::string where;
        CHECK(bitIdentical(runGraph(oneNodeGraph("{type: balance}"), {in}, rate).outputs, {in}, &where));
        CHECK(bitIdentical(runGraph(oneNodeGraph("{type: balance, law: 1}"), {in}, rate).outputs, {in}, &where));
    }
}

TEST_CASE("balance and polarity: ramps are split-independent and batching changes no bits", "[stereo]") {
    using namespace sg::nodetest;
    for (const std::string type : {"balance", "polarity"})
        for (double rate : kRates) {
            const Planar hostile = hostileStereo(rate, 19);
            const Lanes in{hostile[0], hostile[1]};
            const NodeType* t = Registry::builtin().find(type);
            const int first = 0, second = 1; // balance: balance, law; polarity: left, right
            RenderPlan plan;
            plan.events = {{500, 0, first, type == "balance" ? -80.0 : 1.0},
                           {3001, 0, second, 1.0},
                           {9000, 0, first, type == "balance" ? 65.0 : 0.0}};
            Lanes reference;
            for (const auto& sizes : splitPlans(1024)) {
                auto kernel = preparedKernel(type, {rate, 1024, detectSimdArch()}, {instanceOf(type, t->defaults(), 2)});
                plan.blockSizes = sizes;
                const Lanes out = render(*kernel, in, 2, 1024, plan);
                if (reference.empty()) reference = out;
                INFO(type << " rate " << rate << ", " << sizes.size() << " block sizes");
                CHECK(sameBits(out, reference));
            }
        }
    const Planar a = hostileStereo(96000, 1), b = hostileStereo(96000, 2);
    for (const auto& [x, y] :
         {std::pair<std::string, std::string>{"{type: balance, balance: -30 %}", "{type: balance, law: 1, balance: 70 %}"},
          {"{type: polarity, left: 1}", "{type: polarity, right: 1}"},
          {"{type: swap}", "{type: swap}"}}) {
        std::string where;
        const std::string graph = twoNodeGraph(x, y);
        CHECK(bitIdentical(runGraph(graph, {a, b}, 96000, {}, true).outputs, runGraph(graph, {a, b}, 96000, {}, false).outputs,
                           &where));
    }
}

TEST_CASE("polarity: exact negation per channel, mono inputs, a flip ramps through zero", "[stereo]") {
    for (double rate : kRates) {
        const Planar in = hostileStereo(rate, 29);
        for (const auto& [left, right] : {std::pair{0, 0}, std::pair{1, 0}, std::pair{0, 1}, std::pair{1, 1}}) {
            const std::string node = "{type: polarity, left: " + std::to_string(left) + ", right: " + std::to_string(right) + "}";
            for (const auto& plan : kBlockPlans) {
                const Planar out = runGraph(oneNodeGraph(node), {in}, rate, plan).outputs[0];
                for (std::size_t n = 0; n < in[0].size(); ++n) {
                    INFO("rate " << rate << " left " << left << " right " << right << " frame " << n);
                    REQUIRE(out[0][n] == (left ? -in[0][n] : in[0][n]));
                    REQUIRE(out[1][n] == (right ? -in[1][n] : in[1][n]));
                }
            }
        }
        const Planar mono{in[0]};
        const Planar out = runGraph(oneNodeGraph("{type: polarity, left: 1}", 1, 1), {mono}, rate).outputs[0];
        for (std::size_t n = 0; n < mono[0].size(); ++n) REQUIRE(out[0][n] == -mono[0][n]);
    }
    using namespace sg::nodetest;
    auto kernel =
        preparedKernel("polarity", {48000, 512, detectSimdArch()}, {instanceOf("polarity", paramsOf("polarity", {}), 1)});
    RenderPlan plan;
    plan.events = {{100, 0, 0, 1.0}};
    const Lanes out = render(*kernel, {std::vector<float>(2000, 1.0f)}, 1, 512, plan);
    CHECK(out[0][99] == 1.0f);
    for (std::size_t n = 100; n < 100 + 960; ++n) REQUIRE(out[0][n + 1] < out[0][n]); // 1 - 2v, 20 ms = 960 frames
    CHECK(out[0][580] == Approx(0).margin(1e-6));
    CHECK(out[0][1060] == -1.0f);
}

TEST_CASE("swap, split, merge: exact copies; split -> merge is the identity; channel rules", "[stereo]") {
    const std::string graph = R"(stagegraph: 1
inputs: {in: {channels: 2}}
outputs: {l: {channels: 1}, r: {channels: 1}, out: {channels: 2}, crossed: {channels: 2}}
nodes: {s: {type: split}, m: {type: merge}, x: {type: merge}}
connections: ["in -> s", "s.left -> l", "s.right -> r", "s.left -> m.left", "s.right -> m.right", "m -> out",
              "s.left -> x.right", "s.right -> x.left", "x -> crossed"]
)";
    for (double rate : kRates) {
        const Planar in = hostileStereo(rate, 37);
        const GraphRun swapped = runGraph(oneNodeGraph("{type: swap}"), {in}, rate);
        std::string where;
        CHECK(bitIdentical(swapped.outputs, {{in[1], in[0]}}, &where));
        for (const auto& plan : kBlockPlans)
            for (bool batch : {true, false}) {
                const GraphRun run = runGraph(graph, {in}, rate, plan, batch);
                INFO("rate " << rate << " batch " << batch);
                CHECK(bitIdentical(run.outputs, {{in[0]}, {in[1]}, in, {in[1], in[0]}}, &where));
            }
    }
    std::vector<int> out;
    const NodeType* split = Registry::builtin().find("split");
    CHECK(split->resolveChannels({}, std::vector<int>{2}, out) == "");
    CHECK(out == std::vector<int>{1, 1});
    CHECK(split->resolveChannels({}, std::vector<int>{1}, out).find("expects 2") != std::string::npos);
    const NodeType* merge = Registry::builtin().find("merge");
    CHECK(merge->resolveChannels({}, std::vector<int>{1, 1}, out) == "");
    CHECK(out == std::vector<int>{2});
    CHECK(merge->resolveChannels({}, std::vector<int>{1, 2}, out).find("right") != std::string::npos);
    CHECK(merge->resolveChannels({}, std::vector<int>{1, 0}, out).find("not connected") != std::string::npos);
    for (const char* type : {"msencode", "msdecode", "width", "monobass", "balance", "swap", "correlation"})
        CHECK_FALSE(Registry::builtin().find(type)->resolveChannels({}, std::vector<int>{1}, out).empty());
    Diagnostics diags;
    CHECK(sg::test::compileYaml(oneNodeGraph("{type: width}", 1, 2), diags) == nullptr);
    CHECK(diags.formatAll().find("expects 2 channels, got 1") != std::string::npos);
}

TEST_CASE("monosum: (L + R)/2, anti-phase cancels, uncorrelated power -3.01 dB, a mono check in a graph", "[stereo]") {
    for (double rate : kRates) {
        const Planar in = hostileStereo(rate, 43);
        for (const auto& plan : kBlockPlans) {
            const Planar out = runGraph(oneNodeGraph("{type: monosum}", 2, 1), {in}, rate, plan).outputs[0];
            for (std::size_t n = 0; n < in[0].size(); ++n)
                REQUIRE(out[0][n] == float((double(in[0][n]) + in[1][n]) / 2)); // correctly rounded
        }
        std::string where;
        CHECK(bitIdentical(runGraph(oneNodeGraph("{type: monosum}", 1, 1), {{in[0]}}, rate).outputs, {{in[0]}}, &where));
        // Independent noise of equal power: the fold-down has half the power of one channel.
        const std::int64_t frames = std::int64_t(rate * 2);
        const Planar noise{sg::test::noise(frames, 0.5f, 1), sg::test::noise(frames, 0.5f, 2)};
        const Planar sum = runGraph(oneNodeGraph("{type: monosum}", 2, 1), {noise}, rate).outputs[0];
        double power = 0, powerIn = 0;
        for (std::int64_t n = 0; n < frames; ++n) {
            power += double(sum[0][std::size_t(n)]) * sum[0][std::size_t(n)];
            powerIn += (double(noise[0][std::size_t(n)]) * noise[0][std::size_t(n)] +
                        double(noise[1][std::size_t(n)]) * noise[1][std::size_t(n)]) /
                       2;
        }
        CHECK(10 * std::log10(power / powerIn) == Approx(-3.0103).margin(0.05)); // 2 s of noise: +-0.02 dB (3 sigma)
    }
    // A mono-compatibility check inside a graph: an anti-phase mix vanishes in mono.
    const char* check = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {fold: {type: monosum}, mono: {type: loudness}, stereo: {type: loudness}, corr: {type: correlation}}
connections: ["mix -> stereo -> corr -> out", "mix -> fold -> mono"]
)";
    const std::vector<float> x = sg::test::sine(997, 0.5, 48000, 96000);
    std::vector<float> minus(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) minus[n] = -x[n];
    const GraphRun run = runGraph(check, {{x, minus}}, 48000);
    CHECK(measured(run, "stereo", "integrated_lufs") > -20);
    CHECK(std::isinf(measured(run, "mono", "integrated_lufs")));
    CHECK(measured(run, "corr", "correlation") == Approx(-1).margin(1e-9));
}
