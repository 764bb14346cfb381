// Compiler passes: resolve errors with positions, cycles, channels, latency compensation,
// batching and buffer reuse.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

using namespace sg;
using namespace sg::test;

namespace {

const char* kHeader = "stagegraph: 1\n"
                      "inputs:\n"
                      "  mix: {channels: 2}\n"
                      "outputs:\n"
                      "  out: {channels: 2}\n"
                      "nodes:\n";

std::string errorsOf(const std::string& yaml) {
    Diagnostics diags;
    auto program = compileYaml(yaml, diags);
    CHECK(program == nullptr);
    std::string all;
    for (const auto& d : diags.all())
        if (d.severity == Diagnostic::Severity::Error) all += d.format() + "\n";
    return all;
}

} // namespace

TEST_CASE("compiler: unknown node type names the node and suggests", "[compiler]") {
    std::string e = errorsOf(std::string(kHeader) + "  eq: {type: peek, freq: 1 kHz}\nconnections:\n  - mix -> eq -> out\n");
    CHECK(e == "test.yaml:7:14: error: node 'eq': unknown node type 'peek' (did you mean 'peak'?)\n");
}

TEST_CASE("compiler: unknown parameter, wrong unit and out-of-range value are all reported in one run", "[compiler]") {
    std::string e = errorsOf(std::string(kHeader) + "  a: {type: peak, frek: 1 kHz}\n"
                                                    "  b: {type: peak, freq: 3 dB}\n"
                                                    "  c: {type: peak, freq: 1 kHz, gain: 60 dB}\n"
                                                    "connections:\n  - mix -> a -> b -> c -> out\n");
    CHECK_THAT(
        e, Catch::Contains("test.yaml:7:19: error: node 'a': unknown parameter 'frek' for type 'peak' (did you mean 'freq'?)"));
    CHECK_THAT(e, Catch::Contains("test.yaml:8:25: error: node 'b': freq: expected a frequency (Hz, kHz), got '3 dB'"));
    CHECK_THAT(e, Catch::Contains("test.yaml:9:38: error: node 'c': gain: 60 dB is out of range (-30 dB to 30 dB, a gain (dB))"));
}

TEST_CASE("compiler: unknown port names the node's ports", "[compiler]") {
    std::string e = errorsOf(std::string(kHeader) + "  g: {type: gain}\nconnections:\n  - mix -> g.sidechain\n  - g -> out\n");
    CHECK_THAT(e, Catch::Contains("test.yaml:9:12: error: node 'g' (gain) has no input port 'sidechain'; inputs: in"));
}

TEST_CASE("compiler: a cycle is named node by node", "[compiler]") {
    std::string e = errorsOf(std::string(kHeader) + "  a: {type: gain}\n  b: {type: gain}\n  c: {type: gain}\n"
                                                    "connections:\n  - mix -> a -> b -> c -> out\n  - c -> a\n");
    CHECK_THAT(e, Catch::Contains("test.yaml:7:3: error: cycle: a -> b -> c -> a"));
}

TEST_CASE("compiler: channel mismatches are errors with both counts", "[compiler]") {
    std::string e =
        errorsOf("stagegraph: 1\ninputs:\n  vox: {channels: 1}\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                 "  bus: {type: gain}\n"
                 "connections:\n  - vox -> bus\n  - mix -> bus -> out\n");
    CHECK_THAT(e, Catch::Contains("error: channel mismatch: 'mix' sends 2 channels into 'bus.in', which already receives 1"));
    std::string e2 = errorsOf("stagegraph: 1\ninputs:\n  vox: {channels: 1}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                              "  g: {type: gain}\nconnections:\n  - vox -> g -> out\n");
    CHECK_THAT(e2, Catch::Contains("error: channel mismatch: output 'out' is declared with 2 channels, but 'g' sends 1"));
}

TEST_CASE("compiler: an unconnected required input and an unconnected output are errors", "[compiler]") {
    std::string e = errorsOf(std::string(kHeader) + "  g: {type: gain}\nconnections:\n  - g -> out\n");
    CHECK_THAT(e, Catch::Contains("test.yaml:7:3: error: node 'g': required input 'in' is not connected"));
    std::string e2 = errorsOf(std::string(kHeader) + "  g: {type: gain}\nconnections:\n  - mix -> g\n");
    CHECK_THAT(e2, Catch::Contains("test.yaml:5:3: error: output 'out' is not connected"));
}

TEST_CASE("compiler: --set overrides replace parameters and reject unknown nodes", "[compiler]") {
    Diagnostics diags;
    GraphDesc desc;
    desc.file = "x.yaml";
    NodeDesc eq;
    eq.name = "eq";
    eq.type = "peak";
    eq.params.push_back({"gain", {}, {"3 dB", {}}});
    desc.nodes.push_back(eq);
    applyOverrides(desc, {"eq.gain=-2 dB", "eq.freq=2 kHz", "nope.gain=1", "garbage"}, diags);
    REQUIRE(desc.nodes[0].params.size() == 2);
    CHECK(desc.nodes[0].params[0].value.text == "-2 dB");
    CHECK(desc.nodes[0].params[1].value.text == "2 kHz");
    CHECK(diags.errorCount() == 2);
    CHECK_THAT(diags.formatAll(), Catch::Contains("--set: error: 'nope.gain=1': the graph has no node named 'nope'"));
}

TEST_CASE("compiler: latency compensation inserts delays so parallel paths line up", "[compiler]") {
    Diagnostics diags;
    auto program = compileYaml(std::string(kHeader) + "  slow: {type: latency, samples: 100}\n"
                                                      "  slower: {type: latency, samples: 30}\n"
                                                      "  dry: {type: gain}\n"
                                                      "connections:\n  - mix -> slow -> slower -> out\n  - mix -> dry -> out\n",
                               diags);
    REQUIRE(program);
    const Schedule& s = program->schedule();
    CHECK(s.latencyFrames == 130);
    CHECK(s.insertedDelays == 1);
    CHECK(program->executor().latencyFrames() == 130);
}

TEST_CASE("compiler: null test - a latent path against its compensated inverted twin cancels to silence", "[compiler]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        CompileOptions options;
        options.sampleRate = rate;
        Diagnostics diags;
        auto program =
            compileYaml(std::string(kHeader) + "  look: {type: latency, samples: 37}\n"
                                               "  eq: {type: peak, freq: 2 kHz, gain: 4 dB}\n"
                                               "  eq2: {type: peak, freq: 2 kHz, gain: 4 dB}\n"
                                               "  flip: {type: gain, invert: 1}\n"
                                               "connections:\n  - mix -> look -> eq -> out\n  - mix -> eq2 -> flip -> out\n",
                        diags, options);
        REQUIRE(program);
        CHECK(program->executor().latencyFrames() == 37);
        const std::int64_t frames = 20000;
        std::vector<Planar> in{{noise(frames, 0.5f, 1), noise(frames, 0.5f, 2)}};
        auto out = renderFixed(program->executor(), in, frames, 333);
        double energyIn = 0, residual = 0;
        for (int c = 0; c < 2; ++c)
            for (std::int64_t n = 0; n < frames; ++n) {
                energyIn += double(in[0][std::size_t(c)][std::size_t(n)]) * in[0][std::size_t(c)][std::size_t(n)];
                residual += double(out[0][std::size_t(c)][std::size_t(n)]) * out[0][std::size_t(c)][std::size_t(n)];
            }
        CHECK(energyIn > 1000);
        CHECK(residual == 0.0); // same filter, same input, aligned: exact cancellation
    }
}

TEST_CASE("compiler: same-type nodes at one level are batched into one step and buffers are reused", "[compiler]") {
    std::string yaml = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < 8; ++i) yaml += "  t" + std::to_string(i) + ": {channels: 1}\n";
    yaml += "outputs:\n  mix: {channels: 2}\nnodes:\n";
    for (int i = 0; i < 8; ++i) {
        std::string n = std::to_string(i);
        yaml += "  hp" + n + ": {type: highpass, freq: " + std::to_string(40 + i) + " Hz}\n";
        yaml += "  eq" + n + ": {type: peak, freq: " + std::to_string(1000 + 100 * i) + " Hz, gain: 2 dB}\n";
        yaml += "  lv" + n + ": {type: gain, gain: -" + n + " dB}\n";
        yaml += "  pn" + n + ": {type: pan, pan: " + std::to_string(-70 + 20 * i) + " %}\n";
    }
    yaml += "  bus: {type: gain}\nconnections:\n";
    for (int i = 0; i < 8; ++i) {
        std::string n = std::to_string(i);
        yaml += "  - t" + n + " -> hp" + n + " -> eq" + n + " -> lv" + n + " -> pn" + n + " -> bus\n";
    }
    yaml += "  - bus -> mix\n";
    Diagnostics diags;
    CompileOptions fusedOptions;
    fusedOptions.fuse = true;
    auto batched = compileYaml(yaml, diags, fusedOptions);
    REQUIRE(batched);
    const Schedule& s = batched->schedule();
    // hp -> eq fused into one 2-section instance, x8 batched; gain x8 batched; the 8 mono-to-
    // stereo pans batched; one bus
    REQUIRE(s.steps.size() == 4);
    CHECK(s.steps[0].kernel == "biquad2");
    CHECK(s.steps[0].lanes == 8);
    CHECK(s.steps[0].nodes.size() == 16);
    CHECK(s.steps[0].stages == std::vector<int>(8, 2));
    CHECK(s.steps[1].kernel == "gain");
    CHECK(s.steps[1].lanes == 8);
    CHECK(s.steps[2].kernel == "pan");
    CHECK(s.steps[2].lanes == 16);
    CHECK_THAT(s.describe(), Catch::Contains("hp0>eq0 hp1>eq1") && Catch::Contains("(fused)"));
    CHECK(s.steps.back().sumsBefore == 2);
    CHECK(s.bufferCount < s.edgeCount);

    CompileOptions unbatchedOptions;
    unbatchedOptions.batch = false;
    auto unbatched = compileYaml(yaml, diags, unbatchedOptions);
    REQUIRE(unbatched);
    CHECK(unbatched->schedule().steps.size() == 8 * 4 + 1);
    CompileOptions unfusedOptions;
    unfusedOptions.fuse = false;
    auto unfused = compileYaml(yaml, diags, unfusedOptions);
    REQUIRE(unfused);
    CHECK(unfused->schedule().steps.size() == 5); // hp x8, eq x8, gain x8, pan x8, bus

    const std::int64_t frames = 12000;
    std::vector<Planar> in;
    for (int i = 0; i < 8; ++i) in.push_back({noise(frames, 0.3f, 10 + std::uint32_t(i))});
    auto a = renderFixed(batched->executor(), in, frames, 512);
    auto b = renderFixed(unbatched->executor(), in, frames, 100);
    std::string where;
    const bool batchedMatches = bitIdentical(a, b, &where);
    INFO("batched vs unbatched: " << where);
    CHECK(batchedMatches);
    const bool fusedMatches = bitIdentical(a, renderFixed(unfused->executor(), in, frames, 256), &where);
    INFO("fused vs unfused: " << where);
    CHECK(fusedMatches);
}

TEST_CASE("compiler: topological order is deterministic, ties by declaration order", "[compiler]") {
    Diagnostics diags;
    CompileOptions options;
    options.batch = false;
    auto program =
        compileYaml(std::string(kHeader) + "  z: {type: gain}\n  y: {type: gain}\n  x: {type: gain}\n"
                                           "connections:\n  - mix -> x -> out\n  - mix -> z -> out\n  - mix -> y -> out\n",
                    diags, options);
    REQUIRE(program);
    const Schedule& s = program->schedule();
    REQUIRE(s.topologicalOrder.size() == 3);
    CHECK(s.nodes[std::size_t(s.topologicalOrder[0])].name == "z");
    CHECK(s.nodes[std::size_t(s.topologicalOrder[1])].name == "y");
    CHECK(s.nodes[std::size_t(s.topologicalOrder[2])].name == "x");
}
