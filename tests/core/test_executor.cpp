// Executor: bit-identical output whatever the host block size or split, at 44.1/48/96 kHz.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace sg;
using namespace sg::test;

namespace {

// A graph that exercises every kind of step: batched biquads (1 and 2 sections), gain,
// pan, delay, latency compensation, summing into a bus, in-place processing.
const char* kGraph = R"(stagegraph: 1
inputs:
  mix: {channels: 2}
  vox: {channels: 1}
outputs:
  out: {channels: 2}
nodes:
  hp:    {type: highpass, freq: 35 Hz, slope: 24}
  tone:  {type: peak, freq: 2.5 kHz, q: 1.2, gain: -3 dB}
  air:   {type: highshelf, freq: 9 kHz, gain: 2 dB}
  look:  {type: latency, samples: 64}
  vhp:   {type: highpass, freq: 90 Hz}
  vlp:   {type: lowpass, freq: 14 kHz, slope: 48}
  vlev:  {type: gain, gain: -4 dB}
  vpan:  {type: pan, pan: 30 %}
  echo:  {type: delay, time: 12.5 ms}
  bus:   {type: gain, gain: -1 dB}
connections:
  - mix -> hp -> tone -> air -> look -> bus
  - vox -> vhp -> vlp -> vlev -> vpan -> bus
  - vpan -> echo -> bus
  - bus -> out
)";

std::vector<Planar> inputsFor(std::int64_t frames, double rate) {
    Planar mix{noise(frames, 0.4f, 7), sine(220.0, 0.3, rate, frames)};
    for (std::int64_t n = 0; n < frames; ++n) mix[0][std::size_t(n)] += mix[1][std::size_t(n)];
    Planar vox{sine(440.0, 0.5, rate, frames, 0.3)};
    auto hiss = noise(frames, 0.05f, 99);
    for (std::int64_t n = 0; n < frames; ++n) vox[0][std::size_t(n)] += hiss[std::size_t(n)];
    return {mix, vox};
}

} // namespace

TEST_CASE("executor: output is bit-identical for any host block size and random splits", "[executor]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        CAPTURE(rate);
        const std::int64_t frames = std::int64_t(rate * 0.5);
        auto inputs = inputsFor(frames, rate);
        CompileOptions options;
        options.sampleRate = rate;
        options.maxBlockFrames = 8192;
        Diagnostics diags;
        auto program = compileYaml(kGraph, diags, options);
        INFO(diags.formatAll());
        REQUIRE(program);
        Executor& ex = program->executor();
        auto reference = renderFixed(ex, inputs, frames, 8192);

        for (int block : {1, 7, 64, 100, 512, 4096}) {
            CAPTURE(block);
            ex.reset();
            std::string where;
            const bool identical1 = bitIdentical(reference, renderFixed(ex, inputs, frames, block), &where);
            INFO(where);
            CHECK(identical1);
        }
        std::mt19937 rng(static_cast<std::uint32_t>(rate));
        std::uniform_int_distribution<int> size(1, 3000);
        ex.reset();
        std::string where;
        const bool identical2 = bitIdentical(reference, renderBlocks(ex, inputs, frames, [&] { return size(rng); }), &where);
        INFO(where);
        CHECK(identical2);

        // A different internal block size: the schedule itself is cut differently.
        CompileOptions small = options;
        small.maxBlockFrames = 48;
        auto program2 = compileYaml(kGraph, diags, small);
        REQUIRE(program2);
        const bool identical3 = bitIdentical(reference, renderFixed(program2->executor(), inputs, frames, 1000), &where);
        INFO(where);
        CHECK(identical3);
    }
}

TEST_CASE("executor: batched and unbatched renders are bit-identical", "[executor]") {
    const double rate = 48000;
    const std::int64_t frames = 24000;
    auto inputs = inputsFor(frames, rate);
    Diagnostics diags;
    CompileOptions batched, unbatched;
    unbatched.batch = false;
    auto a = compileYaml(kGraph, diags, batched);
    auto b = compileYaml(kGraph, diags, unbatched);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->schedule().steps.size() < b->schedule().steps.size());
    std::string where;
    const bool identical4 =
        bitIdentical(renderFixed(a->executor(), inputs, frames, 256), renderFixed(b->executor(), inputs, frames, 256), &where);
    INFO(where);
    CHECK(identical4);
}

TEST_CASE("executor: every SIMD architecture the CPU has gives the same bits", "[executor]") {
    const std::int64_t frames = 12000;
    auto inputs = inputsFor(frames, 48000);
    Diagnostics diags;
    Planar reference;
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        CompileOptions options;
        options.simd = arch;
        auto program = compileYaml(kGraph, diags, options);
        REQUIRE(program);
        auto out = renderFixed(program->executor(), inputs, frames, 480);
        if (reference.empty()) reference = out[0];
        std::string where;
        CHECK(bitIdentical({reference}, {out[0]}, &where));
        INFO(simdArchName(arch) << ": " << where);
    }
}

TEST_CASE("executor: parameter changes at a sample position are block-split independent", "[executor]") {
    const std::int64_t frames = 30000;
    auto inputs = inputsFor(frames, 48000);
    std::vector<Planar> results;
    for (int block : {1, 13, 512, 8192}) {
        Diagnostics diags;
        auto program = compileYaml(kGraph, diags);
        REQUIRE(program);
        Executor& ex = program->executor();
        std::string error;
        int tone = ex.findParam("tone", "gain", error);
        int bus = ex.findParam("bus", "gain", error);
        REQUIRE(tone >= 0);
        REQUIRE(bus >= 0);
        // Changes are applied between blocks by the caller but take effect at their own position.
        std::vector<Planar> out{Planar(2, std::vector<float>(std::size_t(frames)))};
        std::int64_t done = 0;
        bool changed = false;
        while (done < frames) {
            int n = int(std::min<std::int64_t>(block, frames - done));
            if (!changed && done + n > 10000) {
                // split so the change lands exactly at frame 10000
                if (done < 10000)
                    n = int(10000 - done);
                else {
                    ex.setParam(tone, 6.0, 10000);
                    ex.setParam(bus, -12.0, 10000);
                    changed = true;
                }
            }
            auto part = renderFixed(ex,
                                    {{std::vector<float>(inputs[0][0].begin() + done, inputs[0][0].begin() + done + n),
                                      std::vector<float>(inputs[0][1].begin() + done, inputs[0][1].begin() + done + n)},
                                     {std::vector<float>(inputs[1][0].begin() + done, inputs[1][0].begin() + done + n)}},
                                    n, n);
            for (int c = 0; c < 2; ++c)
                std::copy(part[0][std::size_t(c)].begin(), part[0][std::size_t(c)].end(), out[0][std::size_t(c)].begin() + done);
            done += n;
        }
        results.push_back(out[0]);
    }
    for (std::size_t i = 1; i < results.size(); ++i) {
        std::string where;
        const bool identical5 = bitIdentical({results[0]}, {results[i]}, &where);
        INFO(where);
        CHECK(identical5);
    }
    // and the change did something: the bus is 11 dB lower at the end than before
    double before = 0, after = 0;
    for (int n = 5000; n < 9000; ++n) before += double(results[0][0][std::size_t(n)]) * results[0][0][std::size_t(n)];
    for (int n = 25000; n < 29000; ++n) after += double(results[0][0][std::size_t(n)]) * results[0][0][std::size_t(n)];
    CHECK(10 * std::log10(after / before) < -6.0);
}

TEST_CASE("executor: non-finite samples are contained at the outputs and counted", "[executor]") {
    Diagnostics diags;
    auto program = compileYaml("stagegraph: 1\ninputs:\n  mix: {channels: 1}\noutputs:\n  out: {channels: 1}\nnodes:\n"
                               "  g: {type: gain}\nconnections:\n  - mix -> g -> out\n",
                               diags);
    REQUIRE(program);
    std::vector<float> x(100, 0.25f);
    x[42] = std::numeric_limits<float>::quiet_NaN();
    x[77] = std::numeric_limits<float>::infinity();
    auto out = renderFixed(program->executor(), {{x}}, 100, 64);
    CHECK(program->executor().nonFiniteSamples() == 2);
    CHECK(program->executor().firstNonFiniteFrame() == 42);
    CHECK(out[0][0][42] == 0.0f);
    CHECK(out[0][0][41] == 0.25f);
}

TEST_CASE("executor: fused biquad chains render the same bits as separate nodes, parameters included", "[executor]") {
    const std::int64_t frames = 20000;
    auto inputs = inputsFor(frames, 48000);
    CompileOptions fused, unfused, unbatched;
    fused.fuse = true;
    unfused.fuse = false;
    unbatched.batch = false;
    std::vector<Planar> results;
    for (int run = 0; run < 3; ++run) {
        const CompileOptions& options = run == 0 ? fused : run == 1 ? unfused : unbatched;
        Diagnostics diags;
        auto program = compileYaml(kGraph, diags, options);
        REQUIRE(program);
        const Schedule& s = program->schedule();
        if (run == 0) {
            // hp (2 sections) > tone > air = one 4-section instance, vhp > vlp (4) = 5 sections
            std::vector<std::string> fusedSteps;
            for (const ScheduleStep& st : s.steps)
                if (!st.stages.empty()) fusedSteps.push_back(st.kernel + " " + std::to_string(st.nodes.size()));
            CHECK(fusedSteps == std::vector<std::string>{"biquad4 3", "biquad5 2"});
            CHECK_THAT(s.describe(), Catch::Contains("hp>tone>air") && Catch::Contains("vhp>vlp"));
        } else {
            for (const ScheduleStep& st : s.steps) CHECK(st.stages.empty());
        }
        Executor& ex = program->executor();
        std::string error;
        // A parameter of every stage position: first (hp, 2 sections), middle, last, and vlp.
        const int hp = ex.findParam("hp", "freq", error), tone = ex.findParam("tone", "gain", error);
        const int air = ex.findParam("air", "freq", error), vlp = ex.findParam("vlp", "freq", error);
        REQUIRE((hp >= 0 && tone >= 0 && air >= 0 && vlp >= 0));
        ex.setParam(tone, 9.0, 3000);
        ex.setParam(air, 4000.0, 3000);
        ex.setParam(hp, 400.0, 7000);
        ex.setParam(vlp, 900.0, 9000);
        results.push_back(renderFixed(ex, inputs, frames, 333)[0]);
    }
    std::string where;
    const bool identical6 = bitIdentical({results[0]}, {results[1]}, &where);
    INFO(where);
    CHECK(identical6);
    const bool identical7 = bitIdentical({results[0]}, {results[2]}, &where);
    INFO(where);
    CHECK(identical7);
    // The changes did something: without them the render is the same before frame 3000 only.
    Diagnostics diags;
    auto still = compileYaml(kGraph, diags, fused);
    REQUIRE(still);
    const Planar plain = renderFixed(still->executor(), inputs, frames, 333)[0];
    for (std::size_t c = 0; c < 2; ++c) {
        CHECK(std::equal(plain[c].begin(), plain[c].begin() + 3000, results[0][c].begin()));
        CHECK_FALSE(std::equal(plain[c].begin() + 3000, plain[c].end(), results[0][c].begin() + 3000));
    }
}
