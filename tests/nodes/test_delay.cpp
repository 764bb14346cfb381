// delay and latency: the impulse arrives at exactly the declared frame, latency is reported
// only by `latency`, whole-frame validation, batching, splits and run-time changes.
#include "nodes/utility/Delay.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

/// Index of the only non-zero sample, or -1 (-2 if there are several).
std::int64_t onlyNonZero(const std::vector<float>& x) {
    std::int64_t found = -1;
    for (std::size_t n = 0; n < x.size(); ++n)
        if (x[n] != 0.0f) {
            if (found >= 0) return -2;
            found = std::int64_t(n);
        }
    return found;
}

Lanes impulses(int lanes, std::int64_t frames, std::int64_t at) {
    Lanes x(std::size_t(lanes), std::vector<float>(std::size_t(frames), 0.0f));
    for (int l = 0; l < lanes; ++l) x[std::size_t(l)][std::size_t(at)] = 0.5f + float(l);
    return x;
}

} // namespace

TEST_CASE("delay: declarations", "[nodes]") {
    for (const char* name : {"delay", "latency"}) {
        CAPTURE(name);
        const NodeType* t = Registry::builtin().find(name);
        REQUIRE(t != nullptr);
        const NodeTypeInfo& info = t->info();
        CHECK(info.family == "utility");
        CHECK(info.batchable);
        CHECK_FALSE(info.description.empty());
        CHECK_FALSE(info.reference.empty());
        const ParamInfo& time = info.params.at(std::size_t(t->paramIndex("time")));
        CHECK(time.unit == UnitKind::Time);
        CHECK(time.maxValue == 10000);
        const ParamInfo& samples = info.params.at(std::size_t(t->paramIndex("samples")));
        CHECK(samples.unit == UnitKind::Plain);
        CHECK(samples.maxValue == 1e6);
        for (const ParamInfo& p : info.params) CHECK_FALSE(p.description.empty());
        CHECK(t->batchKey(t->defaults()) == name);
        CHECK(t->validate(paramsOf(name, {{"samples", 12}})) == "");
        const std::string why = t->validate(paramsOf(name, {{"samples", 2.5}}));
        CHECK(why.find("samples") != std::string::npos);
        CHECK(why.find("whole") != std::string::npos);
    }
}

TEST_CASE("delay: latencyFrames is 0 for delay and D for latency", "[nodes]") {
    const NodeType* delay = Registry::builtin().find("delay");
    const NodeType* latency = Registry::builtin().find("latency");
    REQUIRE(delay != nullptr);
    REQUIRE(latency != nullptr);
    struct Case {
        double timeMs, samples, rate;
        int frames;
    };
    for (const Case& c : {Case{0, 0, 48000, 0}, Case{0, 64, 48000, 64}, Case{10, 0, 48000, 480}, Case{1.3, 3, 44100, 60},
                          Case{2.5, 1, 96000, 241}, Case{10000, 0, 44100, 441000}}) {
        const ParamValues p = paramsOf("delay", {{"time", c.timeMs}, {"samples", c.samples}});
        CHECK(delay->latencyFrames(p, c.rate) == 0);
        CHECK(latency->latencyFrames(p, c.rate) == c.frames);
        CHECK(delay->tailSeconds(p, c.rate) == Approx(c.frames / c.rate));
    }
}

TEST_CASE("delay: an impulse comes out exactly D frames later", "[nodes]") {
    struct Case {
        double timeMs, samples, rate;
        std::int64_t frames;
    };
    for (const char* name : {"delay", "latency"})
        for (const Case& c : {Case{0, 0, 48000, 0}, Case{0, 1, 48000, 1}, Case{0, 511, 48000, 511}, Case{10, 0, 48000, 480},
                              Case{1.3, 3, 44100, 60}, Case{20, 7, 96000, 1927}}) {
            CAPTURE(name, c.timeMs, c.samples, c.rate);
            const NodeType* t = Registry::builtin().find(name);
            const ParamValues p = paramsOf(name, {{"time", c.timeMs}, {"samples", c.samples}});
            if (std::string(name) == "latency") REQUIRE(t->latencyFrames(p, c.rate) == c.frames);
            for (int block : {1, 64, 500}) {
                auto kernel = preparedKernel(name, {c.rate, 512, detectSimdArch()}, {instanceOf(name, p, 2)});
                RenderPlan plan;
                plan.blockSizes = {block};
                const std::int64_t at = 37;
                const Lanes out = render(*kernel, impulses(2, 3000, at), 2, 512, plan);
                REQUIRE(onlyNonZero(out[0]) == at + c.frames);
                REQUIRE(onlyNonZero(out[1]) == at + c.frames);
                REQUIRE(out[1][std::size_t(at + c.frames)] == 1.5f);
            }
        }
}

TEST_CASE("delay: batched lanes keep their own lengths, and splits and in-place change nothing", "[nodes]") {
    const int maxBlock = 8192;
    const std::vector<int> channels{2, 1, 1};
    const std::vector<InstanceSetup> setup{instanceOf("delay", paramsOf("delay", {{"samples", 5}}), 2),
                                           instanceOf("delay", paramsOf("delay", {{"time", 30}}), 1),
                                           instanceOf("delay", paramsOf("delay", {}), 1)};
    Lanes input;
    for (int l = 0; l < 4; ++l) input.push_back(noise(6000, 0.5f, 60 + std::uint32_t(l)));
    Lanes reference;
    for (const auto& sizes : splitPlans(maxBlock))
        for (bool inPlace : {false, true}) {
            RenderPlan plan;
            plan.blockSizes = sizes;
            plan.inPlace = inPlace;
            auto kernel = preparedKernel("delay", {48000, maxBlock, detectSimdArch()}, setup);
            const Lanes out = render(*kernel, input, 4, maxBlock, plan);
            if (reference.empty())
                reference = out;
            else
                REQUIRE(sameBits(out, reference));
        }
    // Each lane is its input shifted by its own D (5, 5, 1440, 0) with zeros before.
    const std::int64_t lengths[] = {5, 5, 1440, 0};
    for (int l = 0; l < 4; ++l)
        for (std::int64_t n = 0; n < 6000; ++n) {
            const float expected = n >= lengths[l] ? input[std::size_t(l)][std::size_t(n - lengths[l])] : 0.0f;
            REQUIRE(reference[std::size_t(l)][std::size_t(n)] == expected);
        }
    const std::vector<Lanes> inputs = splitLanes(input, channels), expected = splitLanes(reference, channels);
    for (std::size_t i = 0; i < setup.size(); ++i) {
        auto alone = preparedKernel("delay", {48000, 512, detectSimdArch()}, {setup[i]});
        REQUIRE(sameBits(render(*alone, inputs[i], channels[i], 512), expected[i]));
    }
}

TEST_CASE("delay: setParam shortens the delay exactly at its frame, and latency ignores it", "[nodes]") {
    const ParamValues p = paramsOf("delay", {{"samples", 100}});
    Lanes input(1, std::vector<float>(3000, 0.0f));
    input[0][880] = 1.0f;  // before the change: out at 980
    input[0][990] = 2.0f;  // after the change (D = 50): out at 1040
    input[0][1500] = 3.0f; // a longer request is clamped to the prepared 100: out at 1600
    for (const auto& sizes : splitPlans(2048)) {
        RenderPlan plan;
        plan.blockSizes = sizes;
        plan.events = {{1000, 0, 1, 50}, {1100, 0, 1, 400}};
        auto kernel = preparedKernel("delay", {48000, 2048, detectSimdArch()}, {instanceOf("delay", p, 1)});
        const Lanes out = render(*kernel, input, 1, 2048, plan);
        std::vector<std::int64_t> hits;
        for (std::size_t n = 0; n < out[0].size(); ++n)
            if (out[0][n] != 0.0f) hits.push_back(std::int64_t(n));
        REQUIRE(hits == std::vector<std::int64_t>{980, 1040, 1600});

        auto latency = preparedKernel("latency", {48000, 2048, detectSimdArch()}, {instanceOf("latency", p, 1)});
        const Lanes fixed = render(*latency, input, 1, 2048, plan);
        hits.clear();
        for (std::size_t n = 0; n < fixed[0].size(); ++n)
            if (fixed[0][n] != 0.0f) hits.push_back(std::int64_t(n));
        REQUIRE(hits == std::vector<std::int64_t>{980, 1090, 1600});
    }
}

TEST_CASE("delay: reset clears the line", "[nodes]") {
    auto kernel =
        preparedKernel("delay", {48000, 256, detectSimdArch()}, {instanceOf("delay", paramsOf("delay", {{"samples", 300}}), 1)});
    render(*kernel, impulses(1, 200, 100), 1, 256); // impulse still inside the line
    kernel->reset();
    const Lanes out = render(*kernel, Lanes(1, std::vector<float>(1000, 0.0f)), 1, 256);
    REQUIRE(onlyNonZero(out[0]) == -1);
}
