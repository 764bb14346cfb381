// Bit identity of every node and every shipped graph across the port to the node authoring kit
// (core/ParamDecl.h, core/NodeKernelBase.h, core/Elementwise.h).
//
// The constants below are FNV-1a 64-bit hashes of output float bits (and of the limiter's
// measurements), recorded by running THIS test on the code as it was before any node was ported.
// They passed there unchanged and must still pass after the port: that is the proof that the
// port changed no bit of any render. They are not a truth about the DSP (the independent tests,
// test_gain, test_biquad, test_limiter, ..., compare against formulas and oracles); a later change
// that is meant to alter a render updates the constant it moves and says why in its commit.
//
// Cases are hostile on purpose: white noise, full-scale squares and near-Nyquist sines at 44.1
// and 48 kHz; parameter changes at odd frames, some announced long before their frame, some
// out of the declared range (the kernels clamp), some on batched and fused instances; random
// block splits and several SIMD architectures, all of which must give the same hash.
//
// To print the hashes of the current code (e.g. after an intended change of a render):
//   STAGEGRAPH_PRINT_GOLDEN=1 build/tests/stagegraph_tests "[golden]"
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <numbers>
#include <random>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

// ---- hashing --------------------------------------------------------------------------------

/// FNV-1a, 64 bits, over bytes.
class Fnv1a {
public:
    void add(const void* data, std::size_t bytes) {
        const auto* p = static_cast<const unsigned char*>(data);
        for (std::size_t i = 0; i < bytes; ++i) {
            hash_ ^= p[i];
            hash_ *= 0x100000001b3ull;
        }
    }
    void addCount(std::uint64_t n) { add(&n, sizeof n); }
    void addLanes(const Lanes& lanes) {
        addCount(lanes.size());
        for (const auto& lane : lanes) {
            addCount(lane.size());
            add(lane.data(), sizeof(float) * lane.size());
        }
    }
    void addMeasurements(const std::vector<Measurement>& values) {
        for (const Measurement& m : values) {
            add(m.key.data(), m.key.size());
            add(&m.value, sizeof m.value);
        }
    }
    std::uint64_t value() const { return hash_; }

private:
    std::uint64_t hash_ = 0xcbf29ce484222325ull;
};

bool printGolden() {
    const char* env = std::getenv("STAGEGRAPH_PRINT_GOLDEN");
    return env != nullptr && *env != '\0' && *env != '0';
}

/// Checks `hash` against the recorded constant of case `name` (prints it in print mode).
void checkGolden(const std::map<std::string, std::uint64_t>& golden, const std::string& name, std::uint64_t hash) {
    if (printGolden()) {
        std::printf("    {\"%s\", 0x%016llxull},\n", name.c_str(), static_cast<unsigned long long>(hash));
    } else {
        const auto it = golden.find(name);
        INFO("case " << name << ": hash 0x" << std::hex << hash);
        REQUIRE(it != golden.end());
        CHECK(it->second == hash);
    }
}

// ---- hostile signals --------------------------------------------------------------------------

/// Signal `kind` (0 noise, 1 full-scale square, 2 near-Nyquist sine, 3 sine sweep into clipping
/// level) at `rate`, `frames` long, varied by `seed`.
std::vector<float> hostile(int kind, double rate, std::int64_t frames, std::uint32_t seed) {
    std::vector<float> s(static_cast<std::size_t>(frames));
    switch (kind % 4) {
    case 0:
        return noise(frames, 0.95f, seed);
    case 1: { // full scale, an odd period so edges fall everywhere
        const int period = 37 + int(seed % 11);
        for (std::int64_t n = 0; n < frames; ++n) s[std::size_t(n)] = (n % period) < period / 2 ? 1.0f : -1.0f;
        return s;
    }
    case 2:
        return sine(0.497 * rate, 1.0, rate, frames, 0.3 + 0.1 * double(seed % 7));
    default: { // an exponential sweep 20 Hz .. 0.45 rate at +3 dBFS (overs for the limiter)
        const double f0 = 20, f1 = 0.45 * rate, duration = double(frames) / rate;
        const double k = std::log(f1 / f0);
        for (std::int64_t n = 0; n < frames; ++n) {
            const double t = double(n) / rate;
            const double phase = 2 * std::numbers::pi * f0 * duration / k * (std::exp(t / duration * k) - 1);
            s[std::size_t(n)] = float(1.41 * std::sin(phase));
        }
        return s;
    }
    }
}

// ---- nodes alone ------------------------------------------------------------------------------

struct NodeEvent {
    std::int64_t position;
    int instance;
    const char* param;
    double value;
};

struct NodeCase {
    std::string name; ///< unique within the type
    std::string type;
    std::vector<std::pair<const char*, double>> params; ///< non-default values
    std::vector<int> channels;                          ///< per instance
    std::vector<NodeEvent> events;                      ///< sorted by position
};

/// Every node type of the library before the port, with default parameters, with other
/// parameters, and with changes at odd frames (some beyond the declared range).
std::vector<NodeCase> nodeCases() {
    std::vector<NodeCase> cases;
    auto add = [&](NodeCase c) { cases.push_back(std::move(c)); };
    add({"default", "gain", {}, {2}, {}});
    add({"set", "gain", {{"gain", -7.3}, {"invert", 1}}, {3, 1}, {}});
    add({"changes",
         "gain",
         {{"gain", 4.5}},
         {2, 1},
         {{1237, 0, "gain", -20},
          {1500, 1, "invert", 1},
          {3001, 0, "invert", 1},
          {3002, 0, "gain", 60},
          {7777, 1, "gain", -200},
          {7778, 1, "gain", 12},
          {9001, 0, "invert", 0}}});

    add({"default", "pan", {}, {1, 2}, {}});
    add({"set", "pan", {{"pan", -63}}, {2, 1}, {}});
    add({"changes",
         "pan",
         {{"pan", 30}},
         {1, 2},
         {{999, 0, "pan", -100}, {1001, 1, "pan", 100}, {4567, 0, "pan", 250}, {4568, 1, "pan", -17}, {8191, 0, "pan", 0}}});

    add({"default", "delay", {}, {2}, {}});
    add({"set", "delay", {{"time", 3.3}, {"samples", 17}}, {2, 1}, {}});
    add({"changes",
         "delay",
         {{"time", 40}, {"samples", 5}},
         {1, 2},
         {{1313, 0, "time", 10},
          {2500, 1, "samples", 1000000},
          {4001, 0, "samples", 2.6},
          {6007, 1, "time", 5},
          {6008, 1, "samples", 0},
          {9999, 0, "time", 80}}});
    add({"default", "latency", {}, {2}, {}});
    add({"changes", "latency", {{"time", 1.5}, {"samples", 3}}, {2, 1}, {{2000, 0, "time", 5}, {3000, 1, "samples", 50}}});

    for (const char* shape : {"lowpass", "highpass", "bandpass", "notch", "allpass", "peak", "lowshelf", "highshelf"}) {
        const bool slope = std::string(shape) == "lowpass" || std::string(shape) == "highpass";
        const bool gain = std::string(shape) == "peak" || std::string(shape) == "lowshelf" || std::string(shape) == "highshelf";
        add({"default", shape, {}, {2, 1}, {}});
        NodeCase set{"set", shape, {{"freq", 19000}, {"q", 3.7}}, {1, 2}, {}};
        if (gain) set.params.push_back({"gain", -11});
        add(set);
        NodeCase changes{"changes",
                         shape,
                         {{"freq", 250}, {"q", 0.5}},
                         {2, 1},
                         {{701, 0, "freq", 23000},
                          {702, 1, "q", 12},
                          {3001, 1, "freq", 5},
                          {5003, 0, "q", 100},
                          {5004, 0, "freq", 40},
                          {9000, 1, "freq", 30000}}};
        if (gain) {
            changes.events.push_back({9100, 0, "gain", 14});
            changes.events.push_back({9101, 1, "gain", -45});
        }
        add(changes);
        if (slope) {
            add({"slope24", shape, {{"slope", 24}, {"freq", 3000}}, {2, 1}, {{2222, 0, "freq", 60}, {6666, 1, "q", 9}}});
            add({"slope48",
                 shape,
                 {{"slope", 48}, {"freq", 60}},
                 {1, 2},
                 {{1111, 1, "freq", 12000}, {4444, 0, "slope", 12}, {7000, 0, "freq", 400}}});
        }
    }

    add({"default", "loudness", {}, {2}, {}});
    add({"set", "loudness", {{"oversampling", 8}}, {5, 1}, {}});

    add({"default", "limiter", {}, {2}, {}});
    add({"set", "limiter", {{"ceiling", -6}, {"lookahead", 0.5}, {"release", 3}}, {1, 2}, {}});
    add({"changes",
         "limiter",
         {{"ceiling", -3}, {"lookahead", 7}, {"release", 200}},
         {2, 1},
         {{1234, 0, "ceiling", -12},
          {1235, 1, "release", 1},
          {5000, 0, "lookahead", 1},
          {6001, 1, "ceiling", 5},
          {7003, 0, "release", 5000},
          {8009, 0, "ceiling", -40}}});
    return cases;
}

/// The hash of one node case at `rate` through `arch` with host blocks from `blockSizes`.
std::uint64_t renderNodeCase(const NodeCase& c, double rate, SimdArch arch, const std::vector<int>& blockSizes) {
    constexpr std::int64_t kFrames = 12000;
    constexpr int kMaxBlock = 256;
    const NodeType* type = Registry::builtin().find(c.type);
    REQUIRE(type != nullptr);
    std::vector<InstanceSetup> instances;
    for (int channels : c.channels) {
        ParamValues params = type->defaults();
        for (const auto& [id, value] : c.params) params[std::size_t(type->paramIndex(id))] = value;
        instances.push_back(instanceOf(c.type, params, channels));
    }
    auto kernel = preparedKernel(c.type, {rate, kMaxBlock, arch}, instances);
    Lanes input;
    for (int l = 0; l < inputLanes(instances); ++l) input.push_back(hostile(l, rate, kFrames, std::uint32_t(l + 1)));
    RenderPlan plan;
    plan.blockSizes = blockSizes;
    for (const NodeEvent& e : c.events) {
        const int index = type->paramIndex(e.param);
        REQUIRE(index >= 0);
        plan.events.push_back({e.position, e.instance, index, e.value});
    }
    const Lanes out = render(*kernel, input, outputLanes(instances), kMaxBlock, plan);
    Fnv1a hash;
    hash.addLanes(out);
    if (c.type != "loudness") // the meter's figures are the loudness tests' business
        for (int i = 0; i < int(instances.size()); ++i) {
            std::vector<Measurement> values;
            kernel->measurements(i, values);
            hash.addMeasurements(values);
        }
    return hash.value();
}

// ---- shipped graphs ---------------------------------------------------------------------------

struct GraphEvent {
    std::int64_t announce; ///< frame before which Executor::setParam is called
    std::int64_t position; ///< frame the change takes effect
    const char* node;
    const char* param;
    double value;
};

struct GraphCase {
    const char* path; ///< under graphs/
    std::vector<GraphEvent> events;
};

std::vector<GraphCase> graphCases() {
    return {
        {"mastering/streaming.yaml",
         {{2500, 2500, "hpf", "freq", 45},
          {100, 4001, "trim", "gain", 8},
          {6007, 6007, "tone", "gain", 6},
          {6007, 6008, "tone", "freq", 5000},
          {9000, 9003, "limit", "ceiling", -3},
          {12000, 12001, "limit", "release", 20},
          {12000, 14005, "air", "q", 2.5}}},
        {"mastering/loud.yaml",
         {{3001, 3001, "drive", "gain", 14},
          {3001, 5001, "limit", "ceiling", -0.3},
          {7000, 7777, "shine", "freq", 6000},
          {9001, 9001, "smile", "q", 2},
          {11000, 11000, "drive", "gain", -30}}},
        {"mixing/four-stems.yaml",
         {{3333, 3333, "bus_hpf", "freq", 60},
          {5001, 5001, "guitar_ch.pan", "pan", 60},
          {1000, 7003, "vocal_ch.fader", "gain", -12},
          {9001, 9001, "kick_ch.eq", "freq", 90},
          {9001, 9002, "vocal_ch.lowcut", "freq", 200},
          {11111, 11111, "slap", "time", 40},
          {13001, 13001, "slap_lvl", "gain", 0},
          {13002, 13002, "bass_ch.hpf", "q", 4}}},
        {"mixing/parts/vocal-strip.yaml",
         {{2001, 2001, "panner", "pan", -100},
          {4000, 4003, "fader", "gain", 6},
          {6007, 6007, "harsh", "freq", 5000},
          {8009, 8009, "mud", "q", 3},
          {8009, 10001, "panner", "pan", 100}}},
    };
}

/// The hash of one shipped graph's render (outputs and the limiter's measurements) at `rate`,
/// every input fed a hostile signal starting at `kind`, with the case's changes.
std::uint64_t renderGraphCase(const GraphCase& c, double rate, int kind, bool batch, SimdArch arch) {
    const std::int64_t frames = std::llround(0.4 * rate);
    Diagnostics diags;
    const GraphDesc desc = loadGraph(sourceDir() + "/graphs/" + c.path, diags);
    CompileOptions options;
    options.sampleRate = rate;
    options.batch = batch;
    options.simd = arch;
    auto program = compileGraph(desc, Registry::builtin(), options, diags);
    REQUIRE(program != nullptr);
    Executor& executor = program->executor();
    std::vector<Planar> inputs;
    std::uint32_t seed = 1;
    for (const ExternalPort& port : executor.inputs()) {
        Planar planar;
        for (int ch = 0; ch < port.channels; ++ch, ++seed) planar.push_back(hostile(kind + int(seed), rate, frames, seed));
        inputs.push_back(std::move(planar));
    }
    std::vector<int> handles;
    for (const GraphEvent& e : c.events) {
        std::string error;
        handles.push_back(executor.findParam(e.node, e.param, error));
        INFO(e.node << "." << e.param << ": " << error);
        REQUIRE(handles.back() >= 0);
    }
    std::mt19937 rng(kind * 7919 + int(rate));
    std::uniform_int_distribution<int> blockSize(1, 700); // beyond maxBlockFrames too: the executor cuts
    std::size_t next = 0;
    const auto outputs = renderBlocks(executor, inputs, frames, [&] {
        const int block = blockSize(rng);
        const std::int64_t end = executor.position() + block;
        for (; next < c.events.size() && c.events[next].announce < end; ++next)
            executor.setParam(handles[next], c.events[next].value, c.events[next].position);
        return block;
    });
    Fnv1a hash;
    for (const Planar& output : outputs) hash.addLanes(output);
    for (const auto& node : executor.measurements())
        if (node.type != "loudness") hash.addMeasurements(node.values);
    return hash.value();
}

// Recorded on the code before the port (see the comment at the top).
// clang-format off
const std::map<std::string, std::uint64_t> kGoldenNodes = {
    {"gain default 44100", 0x0c52adf46a4a23f9ull},
    {"gain default 48000", 0x0c52adf46a4a23f9ull},
    {"gain set 44100", 0x3dbcc614778bef30ull},
    {"gain set 48000", 0x544d97e87caa43e5ull},
    {"gain changes 44100", 0xe073edc928045f36ull},
    {"gain changes 48000", 0x7fecaa1723d0a26aull},
    {"pan default 44100", 0x221001dfcac54e01ull},
    {"pan default 48000", 0x221001dfcac54e01ull},
    {"pan set 44100", 0x0e07ce69fc52864cull},
    {"pan set 48000", 0x0e07ce69fc52864cull},
    {"pan changes 44100", 0x898e0fc71d3acc54ull},
    {"pan changes 48000", 0x595e68b3eb5f1a4cull},
    {"delay default 44100", 0x0c52adf46a4a23f9ull},
    {"delay default 48000", 0x0c52adf46a4a23f9ull},
    {"delay set 44100", 0x10f4b10b20504851ull},
    {"delay set 48000", 0x18b26f3400c6ab1dull},
    {"delay changes 44100", 0x93559d227fc82013ull},
    {"delay changes 48000", 0x2d7b872fc682876dull},
    {"latency default 44100", 0x0c52adf46a4a23f9ull},
    {"latency default 48000", 0x0c52adf46a4a23f9ull},
    {"latency changes 44100", 0xbca9326f5443b205ull},
    {"latency changes 48000", 0x160b9b6551ba5dcaull},
    {"lowpass default 44100", 0x921ee513cf75f52dull},
    {"lowpass default 48000", 0x0be9582e3710a7d1ull},
    {"lowpass set 44100", 0x023aa839634a0e00ull},
    {"lowpass set 48000", 0x2b93570657ce143full},
    {"lowpass changes 44100", 0x9f31a5413ce70914ull},
    {"lowpass changes 48000", 0xff43c23cd9a39be1ull},
    {"lowpass slope24 44100", 0x31ebcca01cc59ffcull},
    {"lowpass slope24 48000", 0xcbefaa00e5b0b476ull},
    {"lowpass slope48 44100", 0xa23f500dbd5364f8ull},
    {"lowpass slope48 48000", 0xc436b1931313055aull},
    {"highpass default 44100", 0xae580b7f6430ac87ull},
    {"highpass default 48000", 0xe678c6e212ce158aull},
    {"highpass set 44100", 0xa3f9a2c287bd9e4dull},
    {"highpass set 48000", 0x0f3e3df95840a729ull},
    {"highpass changes 44100", 0x26f2c50c3a14c007ull},
    {"highpass changes 48000", 0x2b5e076a39a6182full},
    {"highpass slope24 44100", 0x0d9fda4b22e2f82dull},
    {"highpass slope24 48000", 0x6c1d595841a1cc85ull},
    {"highpass slope48 44100", 0x08a10b2c9de0d4bfull},
    {"highpass slope48 48000", 0x5d9519792ab8590bull},
    {"bandpass default 44100", 0x42f9a92068a3a75bull},
    {"bandpass default 48000", 0xc6dbffffce267e3cull},
    {"bandpass set 44100", 0xf9be27fe06d3d940ull},
    {"bandpass set 48000", 0x6f6a5a2ffb4462c6ull},
    {"bandpass changes 44100", 0xc8be91c85f761de2ull},
    {"bandpass changes 48000", 0xe7c46a2b404fe987ull},
    {"notch default 44100", 0x60d70f42d2428e2dull},
    {"notch default 48000", 0x157297da82b79c2dull},
    {"notch set 44100", 0xb2151061b065702eull},
    {"notch set 48000", 0x530e635e84aff0eaull},
    {"notch changes 44100", 0x2c292ab0fb85e0f6ull},
    {"notch changes 48000", 0x23f13a7382ecb7b8ull},
    {"allpass default 44100", 0xe387229afd855e19ull},
    {"allpass default 48000", 0x9ad006a62b22d88full},
    {"allpass set 44100", 0xb10b03f2cb04f1eaull},
    {"allpass set 48000", 0xbde974df77415c17ull},
    {"allpass changes 44100", 0x154c548eda369a73ull},
    {"allpass changes 48000", 0x4e76c48462bd298dull},
    {"peak default 44100", 0x9846fb238f627ebaull},
    {"peak default 48000", 0x9846fb238f627ebaull},
    {"peak set 44100", 0x321d0eda576feeecull},
    {"peak set 48000", 0x5525209102a6182full},
    {"peak changes 44100", 0x806d9994f7422940ull},
    {"peak changes 48000", 0x38f0cd01b617fd06ull},
    {"lowshelf default 44100", 0x9846fb238f627ebaull},
    {"lowshelf default 48000", 0x9846fb238f627ebaull},
    {"lowshelf set 44100", 0x2eadb4e6570cd3edull},
    {"lowshelf set 48000", 0xb8e2b1255550e0c5ull},
    {"lowshelf changes 44100", 0x39281b181d19b059ull},
    {"lowshelf changes 48000", 0x8db7edd0ec042eb1ull},
    {"highshelf default 44100", 0x9846fb238f627ebaull},
    {"highshelf default 48000", 0x9846fb238f627ebaull},
    {"highshelf set 44100", 0xb557cbfc5bdd60aeull},
    {"highshelf set 48000", 0xe2603a9400d3f13cull},
    {"highshelf changes 44100", 0x7c50a1d4e06be9ceull},
    {"highshelf changes 48000", 0x1cf1250ffb17ef0aull},
    {"loudness default 44100", 0x0c52adf46a4a23f9ull},
    {"loudness default 48000", 0x0c52adf46a4a23f9ull},
    {"loudness set 44100", 0x37c130ac581acab0ull},
    {"loudness set 48000", 0xe4bd4d4d3a16847full},
    {"limiter default 44100", 0x03daab348efde139ull},
    {"limiter default 48000", 0xc13194b0bf961cdeull},
    {"limiter set 44100", 0x6d455c92bd134063ull},
    {"limiter set 48000", 0x8ae1881f4b7115edull},
    {"limiter changes 44100", 0x9876f0805634c5b0ull},
    {"limiter changes 48000", 0xa6c5501beaa59d71ull},
};

const std::map<std::string, std::uint64_t> kGoldenGraphs = {
    {"mastering/streaming.yaml 44100 signal 0", 0x74aee2b566d5770cull},
    {"mastering/streaming.yaml 44100 signal 1", 0x453785766316618bull},
    {"mastering/streaming.yaml 44100 signal 2", 0x4a29400ed4dded2aull},
    {"mastering/streaming.yaml 44100 signal 3", 0x16e5683da2fabaa2ull},
    {"mastering/streaming.yaml 48000 signal 0", 0x330b537a5bd668c2ull},
    {"mastering/streaming.yaml 48000 signal 1", 0x5ab1c044110335c2ull},
    {"mastering/streaming.yaml 48000 signal 2", 0xe422c1918feed7d9ull},
    {"mastering/streaming.yaml 48000 signal 3", 0x1bfb63b38fc4ac6bull},
    {"mastering/loud.yaml 44100 signal 0", 0xc20f10494406984full},
    {"mastering/loud.yaml 44100 signal 1", 0x228eb148f69b9cf4ull},
    {"mastering/loud.yaml 44100 signal 2", 0x1a76ed27c1a45d68ull},
    {"mastering/loud.yaml 44100 signal 3", 0x359eef6f96ad4dc5ull},
    {"mastering/loud.yaml 48000 signal 0", 0xb4bbe4633f71cfe7ull},
    {"mastering/loud.yaml 48000 signal 1", 0x043460b9fb2061bcull},
    {"mastering/loud.yaml 48000 signal 2", 0x430ee7a3d5bee841ull},
    {"mastering/loud.yaml 48000 signal 3", 0x5b4704cc1e1bfbc1ull},
    {"mixing/four-stems.yaml 44100 signal 0", 0x5c6c9939c1ac97dcull},
    {"mixing/four-stems.yaml 44100 signal 1", 0xd7a6bf9bd9c282f8ull},
    {"mixing/four-stems.yaml 44100 signal 2", 0xeaced8ab8cb5abeaull},
    {"mixing/four-stems.yaml 44100 signal 3", 0x54889566421929f9ull},
    {"mixing/four-stems.yaml 48000 signal 0", 0x9aba530e5b2070aeull},
    {"mixing/four-stems.yaml 48000 signal 1", 0x144fced4e93f292dull},
    {"mixing/four-stems.yaml 48000 signal 2", 0x45f56c4de286c830ull},
    {"mixing/four-stems.yaml 48000 signal 3", 0xd3cec1d98a5df3e3ull},
    {"mixing/parts/vocal-strip.yaml 44100 signal 0", 0xcda12f9390c9c743ull},
    {"mixing/parts/vocal-strip.yaml 44100 signal 1", 0x1a2f046f48ec1755ull},
    {"mixing/parts/vocal-strip.yaml 44100 signal 2", 0x478720bb733a55b0ull},
    {"mixing/parts/vocal-strip.yaml 44100 signal 3", 0xb25701fcc39950ddull},
    {"mixing/parts/vocal-strip.yaml 48000 signal 0", 0x45f8f6fc04e85704ull},
    {"mixing/parts/vocal-strip.yaml 48000 signal 1", 0xe4c615f7883f82adull},
    {"mixing/parts/vocal-strip.yaml 48000 signal 2", 0x103d22f5d13e3010ull},
    {"mixing/parts/vocal-strip.yaml 48000 signal 3", 0x701c1cf2f78ac81eull},
};
// clang-format on

} // namespace

TEST_CASE("port identity: every node type renders as before the kit port", "[nodes][golden]") {
    const std::vector<std::vector<int>> plans{splitPlans(256, 11).back(), {7}};
    for (const NodeCase& c : nodeCases())
        for (double rate : {44100.0, 48000.0}) {
            const std::string name = c.type + " " + c.name + " " + std::to_string(int(rate));
            const std::uint64_t reference = renderNodeCase(c, rate, SimdArch::Sse2, plans[0]);
            checkGolden(kGoldenNodes, name, reference);
            for (SimdArch arch : availableArchs())
                for (const auto& plan : plans) {
                    INFO(name << " on " << simdArchName(arch) << ", " << plan.size() << " block sizes");
                    CHECK(renderNodeCase(c, rate, arch, plan) == reference);
                }
        }
}

TEST_CASE("port identity: every shipped graph renders as before the kit port", "[nodes][golden]") {
    for (const GraphCase& c : graphCases())
        for (double rate : {44100.0, 48000.0})
            for (int kind = 0; kind < 4; ++kind) {
                const std::string name =
                    std::string(c.path) + " " + std::to_string(int(rate)) + " signal " + std::to_string(kind);
                const std::uint64_t reference = renderGraphCase(c, rate, kind, true, detectSimdArch());
                checkGolden(kGoldenGraphs, name, reference);
                INFO(name << " unbatched, SSE2");
                CHECK(renderGraphCase(c, rate, kind, false, SimdArch::Sse2) == reference);
            }
}

namespace {

/// Limiter material that crosses the ceiling in every way the detector's shortcuts can meet:
/// a music-like mix (kick, bright noise, saw bass, near-Nyquist tone) whose level sweeps from
/// 36 dB under full scale to 8 dB over and back, lane `lane` phase-shifted, and a clipped noise
/// burst, so frames lie far below, just below, at and far above the ceiling.
std::vector<float> straddlingLevels(double rate, std::int64_t frames, int lane) {
    std::vector<float> x(static_cast<std::size_t>(frames));
    std::uint32_t seed = 991 + std::uint32_t(lane);
    double previous = 0;
    for (std::int64_t n = 0; n < frames; ++n) {
        const double t = double(n) / rate, position = double(n) / double(frames);
        const double levelDb = -36.0 + 44.0 * std::sin(std::numbers::pi * position); // -36 .. +8 .. -36
        seed = seed * 1664525u + 1013904223u;
        const double white = double(seed >> 8) / 8388608.0 - 1.0;
        const double bright = white - previous;
        previous = white;
        const double kick = std::sin(2 * std::numbers::pi * (55 * t + 0.4 * lane)) * std::exp(-std::fmod(t, 0.25) / 0.08);
        double bass = 0;
        for (int k = 1; k <= 12; ++k) bass += std::sin(2 * std::numbers::pi * k * 82.4 * t + lane) / k;
        const double nyquist = std::sin(2 * std::numbers::pi * 0.47 * rate * t + 0.3 * lane);
        double v = (0.6 * kick + 0.25 * bright + 0.2 * bass + 0.2 * nyquist) * std::pow(10.0, levelDb / 20.0);
        if (position > 0.62 && position < 0.68) v = std::clamp(4.0 * white, -1.0, 1.0); // clipped noise
        x[std::size_t(n)] = float(v);
    }
    return x;
}

/// The hash of a stereo and a mono limiter (batched) over straddlingLevels, with a ceiling change.
std::uint64_t renderStraddling(double rate, SimdArch arch, const std::vector<int>& blockSizes) {
    const std::int64_t frames = std::llround(0.75 * rate);
    constexpr int kMaxBlock = 512;
    std::vector<InstanceSetup> instances{instanceOf("limiter", paramsOf("limiter", {{"ceiling", -1}}), 2),
                                         instanceOf("limiter", paramsOf("limiter", {{"ceiling", -6}, {"release", 5}}), 1)};
    auto kernel = preparedKernel("limiter", {rate, kMaxBlock, arch}, instances);
    Lanes input;
    for (int l = 0; l < 3; ++l) input.push_back(straddlingLevels(rate, frames, l));
    RenderPlan plan;
    plan.blockSizes = blockSizes;
    plan.events.push_back({frames / 3 + 7, 0, Registry::builtin().find("limiter")->paramIndex("ceiling"), -0.2});
    const Lanes out = render(*kernel, input, 3, kMaxBlock, plan);
    Fnv1a hash;
    hash.addLanes(out);
    for (int i = 0; i < 2; ++i) {
        std::vector<Measurement> values;
        kernel->measurements(i, values);
        hash.addMeasurements(values);
    }
    return hash.value();
}

// Recorded on the limiter before its detection skipped frames that a bound proves quiet: the
// shortcut must not move a bit.
// clang-format off
const std::map<std::string, std::uint64_t> kGoldenStraddling = {
    {"limiter straddling 44100", 0x14e2dd08ade7b65cull},
    {"limiter straddling 48000", 0xc270fd3ddac45667ull},
};
// clang-format on

} // namespace

TEST_CASE("port identity: the limiter around its ceiling renders as with full detection on every frame",
          "[nodes][golden][limiter]") {
    for (double rate : {44100.0, 48000.0}) {
        const std::string name = "limiter straddling " + std::to_string(int(rate));
        const std::uint64_t reference = renderStraddling(rate, SimdArch::Sse2, {512});
        checkGolden(kGoldenStraddling, name, reference);
        for (SimdArch arch : availableArchs())
            for (const auto& plan : std::vector<std::vector<int>>{{7}, splitPlans(512, 5).back()}) {
                INFO(name << " on " << simdArchName(arch) << ", " << plan.size() << " block sizes");
                CHECK(renderStraddling(rate, arch, plan) == reference);
            }
    }
}
