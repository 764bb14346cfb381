// Multi-threaded execution (InstanceOptions::threads, `render --threads`): a graph run on 2 or 3
// worker threads renders bit-identically to one thread, at every block size, for every shipped
// graph, the 32-strip mix of the benchmark, a graph of sends, sidechains and latency
// compensation, and random graphs of fan-outs and sums. The oracle is the single-threaded
// executor, whose own block-size independence is tested elsewhere.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/Registry.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::Planar;

namespace {

constexpr double kRate = 44100; // not the graphs' usual 48 kHz

/// Hostile material for one input: clipped noise driven +20 dB, a tone near Nyquist, bursts
/// and a stretch of digital silence (compressors release, filters decay towards denormals).
Planar hostileInput(int channels, std::int64_t frames, std::uint32_t seed) {
    Planar out;
    for (int c = 0; c < channels; ++c) {
        std::vector<float> x = sg::test::noise(frames, 10.0f, seed + std::uint32_t(c) * 7919u);
        const std::vector<float> tone = sg::test::sine(0.49 * kRate, 0.9, kRate, frames, 0.3 * c);
        for (std::int64_t n = 0; n < frames; ++n) {
            float v = std::clamp(x[std::size_t(n)], -1.0f, 1.0f);
            if ((seed + std::uint32_t(c)) % 3 == 0) v = tone[std::size_t(n)];
            if (n > frames / 3 && n < frames / 2) v = 0.0f; // silence
            if ((n / 2205) % 5 == 4) v *= 0.01f;            // quiet bursts
            x[std::size_t(n)] = v;
        }
        out.push_back(std::move(x));
    }
    return out;
}

std::vector<Planar> inputsFor(const Executor& executor, std::int64_t frames) {
    std::vector<Planar> inputs;
    std::uint32_t seed = 11;
    for (const ExternalPort& port : executor.inputs()) inputs.push_back(hostileInput(port.channels, frames, seed++));
    return inputs;
}

std::unique_ptr<Program> instantiateAt(const CompiledGraph& compiled, int threads, int maxBlock) {
    InstanceOptions options;
    options.sampleRate = kRate;
    options.maxBlockFrames = maxBlock;
    options.threads = threads;
    Diagnostics diags;
    auto program = instantiate(compiled, options, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    return program;
}

/// Host block patterns: fixed, and an irregular one (1 frame, odd sizes, larger than the
/// executor's internal block).
std::function<int()> pattern(int which) {
    static const std::vector<int> irregular{1, 17, 300, 511, 64, 1024, 3, 777};
    auto k = std::make_shared<std::size_t>(0);
    switch (which) {
    case 0:
        return [] { return 512; };
    case 1:
        return [] { return 64; };
    default:
        return [k] { return irregular[(*k)++ % irregular.size()]; };
    }
}

/// Renders `compiled` on 1 thread (512-frame blocks) and on 2 and 3 threads at three block
/// patterns and two internal block sizes, twice each (the second run after reset()): all equal.
void checkThreadsIdentical(const CompiledGraph& compiled, std::int64_t frames, const std::string& name) {
    auto reference = instantiateAt(compiled, 1, 512);
    const std::vector<Planar> inputs = inputsFor(reference->executor(), frames);
    const std::vector<Planar> expected = sg::test::renderFixed(reference->executor(), inputs, frames, 512);
    for (int threads : {2, 3}) {
        for (int maxBlock : {512, 64}) {
            auto program = instantiateAt(compiled, threads, maxBlock);
            for (int p = 0; p < 3; ++p) {
                for (int run = 0; run < 2; ++run) {
                    program->executor().reset();
                    const std::vector<Planar> got = sg::test::renderBlocks(program->executor(), inputs, frames, pattern(p));
                    std::string where;
                    const bool same = sg::test::bitIdentical(expected, got, &where);
                    INFO(name << ": " << threads << " threads (" << program->executor().workerThreads()
                              << " used), internal block " << maxBlock << ", pattern " << p << ", run " << run << ": " << where);
                    CHECK(same);
                }
            }
        }
    }
}

std::shared_ptr<const CompiledGraph> compileFile(const std::string& path) {
    Diagnostics diags;
    auto compiled = loadAndCompile(path, {}, Registry::builtin(), diags);
    INFO(path << "\n" << diags.formatAll());
    REQUIRE(compiled);
    return compiled;
}

std::shared_ptr<const CompiledGraph> compileText(const std::string& yaml) {
    sg::test::TempDir dir;
    const std::string path = dir.write("graph.yaml", yaml);
    return compileFile(path);
}

std::string w2Path() { return sg::test::sourceDir() + "/tests/bench/graphs/w2.yaml"; }

/// A graph with what makes threads hard: strips with different latencies (compensation delays
/// inserted), a send to an effect bus, a sidechain from one strip into another's compressor,
/// fan-out of one signal to several workers, and sums of many sources.
std::string sendsAndSidechains(int strips) {
    std::string y = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < strips; ++i) y += std::string("  t") + std::to_string(i) + ": {channels: 1}\n";
    y += "outputs:\n  main: {channels: 2}\n  fx: {channels: 1}\nnodes:\n";
    for (int i = 0; i < strips; ++i) {
        const std::string n = std::to_string(i);
        y += "  hp" + n + std::string(": {type: highpass, freq: ") + std::to_string(40 + 10 * i) + " Hz}\n";
        y += "  eq" + n + std::string(": {type: peak, freq: ") + std::to_string(500 + 300 * i) + " Hz, gain: 4 dB}\n";
        if (i % 3 == 1) y += "  la" + n + std::string(": {type: latency, samples: ") + std::to_string(7 * i) + "}\n";
        y += "  cp" + n + ": {type: compressor, threshold: -24 dB, ratio: 4, attack: 2 ms, release: 60 ms, makeup: 6 dB}\n";
        y += "  pn" + n + std::string(": {type: pan, pan: ") + std::to_string(-90 + 180 * i / std::max(strips - 1, 1)) + " %}\n";
    }
    y += "  send: {type: delay, time: 7 ms}\n  wet: {type: lowshelf, freq: 200 Hz, gain: 3 dB}\n"
         "  bus: {type: compressor, threshold: -18 dB, ratio: 2, attack: 10 ms, release: 100 ms}\n"
         "  lim: {type: limiter, ceiling: -1 dBTP, lookahead: 2 ms, release: 30 ms}\nconnections:\n";
    for (int i = 0; i < strips; ++i) {
        const std::string n = std::to_string(i);
        y += "  - t" + n + " -> hp" + n + " -> eq" + n + (i % 3 == 1 ? " -> la" + n : "") + " -> cp" + n + " -> pn" + n +
             " -> bus\n";
        if (i % 2 == 0) y += "  - eq" + n + " -> send\n"; // mono sends summed into the delay
    }
    y += std::string("  - eq0 -> cp") + std::to_string(strips - 1) + ".sidechain\n"; // strip 0 keys the last strip
    y += "  - send -> wet\n  - wet -> pn0\n"                                         // the effect returns through a strip's pan
         "  - bus -> lim -> main\n  - wet -> fx\n  - eq1 -> fx\n";
    return y;
}

/// A random graph of mono nodes: every node sums 1 to 3 earlier signals (inputs or nodes), some
/// add latency (compensation delays appear), two outputs sum several nodes each.
std::string randomGraph(std::uint32_t seed) {
    std::mt19937 rng(seed);
    auto pick = [&](int n) { return int(rng() % std::uint32_t(n)); };
    const int inputs = 2 + pick(4), nodes = 12 + pick(24);
    std::string y = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < inputs; ++i) y += std::string("  i") + std::to_string(i) + ": {channels: 1}\n";
    y += "outputs:\n  a: {channels: 1}\n  b: {channels: 1}\nnodes:\n";
    std::vector<std::string> names;
    for (int i = 0; i < inputs; ++i) names.push_back(std::string("i") + std::to_string(i));
    std::string connections;
    for (int k = 0; k < nodes; ++k) {
        const std::string n = std::string("n") + std::to_string(k);
        switch (pick(6)) {
        case 0:
            y += "  " + n + std::string(": {type: gain, gain: ") + std::to_string(pick(13) - 9) + " dB}\n";
            break;
        case 1:
            y += "  " + n + std::string(": {type: peak, freq: ") + std::to_string(100 + pick(15000)) + " Hz, gain: 6 dB, q: 2}\n";
            break;
        case 2:
            y += "  " + n + std::string(": {type: highpass, freq: ") + std::to_string(20 + pick(2000)) + " Hz}\n";
            break;
        case 3:
            y += "  " + n + std::string(": {type: latency, samples: ") + std::to_string(1 + pick(100)) + "}\n";
            break;
        case 4:
            y += "  " + n + std::string(": {type: delay, time: ") + std::to_string(1 + pick(20)) + " ms}\n";
            break;
        default:
            y += "  " + n + ": {type: compressor, threshold: -20 dB, ratio: 3, attack: 1 ms, release: 50 ms}\n";
            break;
        }
        const int sources = 1 + pick(3);
        std::vector<std::string> used;
        for (int s = 0; s < sources; ++s) {
            const std::string& from = names[std::size_t(pick(int(names.size())))];
            if (std::find(used.begin(), used.end(), from) != used.end()) continue;
            used.push_back(from);
            connections += "  - " + from + " -> " + n + "\n";
        }
        names.push_back(n);
    }
    for (const char* out : {"a", "b"}) {
        std::vector<std::string> used;
        for (int s = 0; s < 4; ++s) {
            const std::string& from = names[std::size_t(inputs + pick(nodes))];
            if (std::find(used.begin(), used.end(), from) != used.end()) continue;
            used.push_back(from);
            connections += "  - " + from + " -> " + out + "\n";
        }
    }
    return y + "connections:\n" + connections;
}

/// prefix, number, suffix. Appended rather than `"literal" + std::to_string(k)`, which GCC 12
/// misreads as an overlapping copy (-Wrestrict).
std::string named(const char* prefix, double number, const char* suffix = "") {
    std::string text(prefix);
    text += number == double(int(number)) ? std::to_string(int(number)) : std::to_string(number);
    text += suffix;
    return text;
}

/// The worker each node of a schedule runs on, by node name.
std::map<std::string, int> workersOf(const Schedule& schedule) {
    std::map<std::string, int> workerOf;
    for (const ScheduleStep& step : schedule.steps)
        for (int n : step.nodes) workerOf[schedule.nodes[std::size_t(n)].name] = step.worker;
    return workerOf;
}

} // namespace

TEST_CASE("threads: the 32-strip mix splits its strips between workers, a chain keeps to one", "[threads]") {
    const auto w2 = compileFile(w2Path());
    const auto one = instantiateAt(*w2, 1, 512);
    CHECK(one->executor().workerThreads() == 1);
    CHECK(one->schedule().workers == 1);
    CHECK(one->schedule().steps.size() == 4); // EQ chain, compressor, pan (32 strips each), bus

    const auto two = instantiateAt(*w2, 2, 512);
    CHECK(two->executor().workerThreads() == 2);
    REQUIRE(two->schedule().workers == 2);
    // Each worker batches its own strips' EQ, compressors and pans (3 steps each); then the bus
    // on the caller. The first 16 strips run on the other worker, so their pans' outputs are
    // the bus sum's first 16 sources: that worker adds them after its pans (2 partial sums, one
    // per channel) and only the partial sum crosses to the caller, whose bus sums it with its
    // own 16 pans in the same order as one thread (Passes.h, leadingRun).
    CHECK(two->schedule().steps.size() == 7);
    const std::map<std::string, int> workerOfNode = workersOf(two->schedule());
    for (int k = 0; k < 32; ++k) {
        INFO("s" << k);
        CHECK(workerOfNode.at(named("s", k, ".pan")) == (k < 16 ? 1 : 0));
        CHECK(workerOfNode.at(named("s", k, ".comp")) == (k < 16 ? 1 : 0));
    }
    CHECK(workerOfNode.at("bus") == 0);
    for (const ScheduleStep& step : two->schedule().steps) {
        const bool bus = step.nodes.size() == 1 && two->schedule().nodes[std::size_t(step.nodes[0])].name == "bus";
        CHECK(step.sumsAfter == (step.kernel == "pan" && step.worker == 1 ? 2 : 0));
        CHECK(step.sumsBefore == (bus ? 2 : 0));
    }
    CHECK_THAT(two->schedule().describe(), Catch::Contains("then 2 partial sums"));
    int lanes[2] = {0, 0};
    for (const ScheduleStep& step : two->schedule().steps)
        if (step.kernel == "biquad4") lanes[step.worker] += step.lanes;
    CHECK(lanes[0] == 16);
    CHECK(lanes[1] == 16);
    CHECK_THAT(two->schedule().describe(), Catch::Contains("[worker 1]"));

    // A chain has no branches: asked for, it is pipelined (see the test below); on auto only
    // when both stages are worth a hand-over per block (kAutoCostPerStage) and the blocks are
    // long enough (kAutoPipelineBlock). The mastering chain's EQ stage is not (it stays on one
    // worker), a chain of four dynamics nodes is; a chain of light nodes stays on one worker.
    const int cores = std::max(1, int(std::thread::hardware_concurrency()));
    const auto w1 = compileFile(sg::test::sourceDir() + "/tests/bench/graphs/w1.yaml");
    CHECK(instantiateAt(*w1, 0, 512)->executor().workerThreads() == 1); // auto
    const auto heavy = compileText("stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                                   "  a: {type: compressor, threshold: -20 dB}\n  b: {type: compressor, threshold: -10 dB}\n"
                                   "  c: {type: limiter, ceiling: -3 dBTP}\n  d: {type: limiter, ceiling: -1 dBTP}\n"
                                   "connections:\n  - in -> a -> b -> c -> d -> out\n");
    CHECK(instantiateAt(*heavy, 0, 512)->executor().workerThreads() == std::min(cores, 2));
    CHECK(instantiateAt(*heavy, 0, 128)->executor().workerThreads() == 1);
    const auto light = compileText("stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                                   "  a: {type: highpass, freq: 30 Hz}\n  b: {type: peak, freq: 3 kHz, q: 1, gain: 2 dB}\n"
                                   "  c: {type: gain, gain: -1 dB}\n  d: {type: lowshelf, freq: 100 Hz, gain: 1 dB}\n"
                                   "connections:\n  - in -> a -> b -> c -> d -> out\n");
    CHECK(instantiateAt(*light, 0, 512)->executor().workerThreads() == 1);
    // Auto: 2 for the mix on a machine with 2 cores or more (two workers of 16 strips keep
    // their batches wide; more would split them), else 1.
    CHECK(instantiateAt(*w2, 0, 512)->executor().workerThreads() == std::min(cores, 2));
    // More threads than strips: every worker gets at least one step, none sits idle.
    const auto many = instantiateAt(*w2, 40, 512);
    CHECK(many->executor().workerThreads() <= 33);
    CHECK(many->executor().workerThreads() > 2);
}

TEST_CASE("threads: a chain is cut into pipeline stages of about equal cost on consecutive workers", "[threads]") {
    // W1: EQ (four fused biquads) on one worker, the compressor and the limiter on the other
    // (the measured costs, core/passes/Partition.cpp: 4, 4.8 and 2.7 biquads); the last stage on
    // the caller, worker 0, which also copies the blocks in and out. On 3 threads, three
    // stages, one per unit, the last still on the caller.
    const auto w1 = compileFile(sg::test::sourceDir() + "/tests/bench/graphs/w1.yaml");
    const auto two = instantiateAt(*w1, 2, 512);
    REQUIRE(two->executor().workerThreads() == 2);
    const Schedule& schedule = two->schedule();
    INFO(schedule.describe());
    std::map<std::string, int> workerOf = workersOf(schedule); // node name -> worker
    REQUIRE(workerOf.count("limit"));
    REQUIRE(workerOf.count("glue"));
    REQUIRE(workerOf.count("hpf"));
    CHECK(workerOf["hpf"] == workerOf["air"]);
    CHECK(workerOf["hpf"] != workerOf["glue"]);
    CHECK(workerOf["glue"] == workerOf["limit"]);
    CHECK(workerOf["limit"] == 0);
    CHECK_THAT(schedule.describe(), Catch::Contains("[worker 1]"));
    // Deterministic: the same split every time.
    const auto again = instantiateAt(*w1, 2, 64);
    CHECK(again->schedule().describe() == instantiateAt(*w1, 2, 64)->schedule().describe());

    const auto three = instantiateAt(*w1, 3, 512);
    CHECK(three->executor().workerThreads() == 3);
    std::map<std::string, int> workerOf3 = workersOf(three->schedule());
    CHECK(workerOf3["hpf"] != workerOf3["glue"]);
    CHECK(workerOf3["glue"] != workerOf3["limit"]);
    CHECK(workerOf3["hpf"] != workerOf3["limit"]);
    CHECK(workerOf3["limit"] == 0);
    // One thread asked: one worker, never cut.
    CHECK(instantiateAt(*w1, 1, 512)->executor().workerThreads() == 1);
}

/// A chain with a sidechain and latency compensation in front of its cut: the detector path
/// has a latency node, so the compiler delays the main path; the compressor and the limiter
/// after it form the chain that is cut.
std::string sidechainChain() {
    return "stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
           "  hp: {type: highpass, freq: 30 Hz, slope: 12}\n"
           "  eq: {type: peak, freq: 15 kHz, q: 0.7, gain: 9 dB}\n"
           "  det: {type: highpass, freq: 2 kHz}\n"
           "  la: {type: latency, samples: 23}\n"
           "  cp: {type: compressor, threshold: -30 dB, ratio: 6, attack: 1 ms, release: 40 ms, makeup: 12 dB}\n"
           "  lim: {type: limiter, ceiling: -1 dBTP, lookahead: 3 ms, release: 40 ms}\n"
           "connections:\n  - in -> hp -> eq -> cp -> lim -> out\n  - eq -> det -> la -> cp.sidechain\n";
}

TEST_CASE("threads: pipelined chains render bit-identically to one thread at any block size", "[threads]") {
    const auto w1 = compileFile(sg::test::sourceDir() + "/tests/bench/graphs/w1.yaml");
    checkThreadsIdentical(*w1, 30000, "w1.yaml");

    const auto chain = compileText(sidechainChain());
    const auto program = instantiateAt(*chain, 2, 512);
    const Schedule& schedule = program->schedule();
    INFO(schedule.describe());
    CHECK(program->executor().workerThreads() == 2);
    CHECK(schedule.insertedDelays > 0);
    std::map<std::string, int> workerOf = workersOf(schedule);
    CHECK(workerOf["cp"] != workerOf["lim"]);
    checkThreadsIdentical(*chain, 30000, "sidechain chain");
}

TEST_CASE("threads: inputs copied block by block and outputs taken from another worker stay bit-identical", "[threads]") {
    // One input read on both workers (the caller copies a round's blocks in while the other
    // worker runs), one output written by the other worker alone (the caller waits for it
    // before taking the block) and one summed from both.
    const auto graph =
        compileText("stagegraph: 1\ninputs:\n  in: {channels: 2}\n"
                    "outputs:\n  a: {channels: 2}\n  b: {channels: 2}\n  both: {channels: 2}\nnodes:\n"
                    "  x: {type: compressor, threshold: -30 dB, ratio: 6, attack: 1 ms, release: 40 ms, makeup: 12 dB}\n"
                    "  y: {type: limiter, ceiling: -1 dBTP, lookahead: 3 ms, release: 40 ms}\n"
                    "connections:\n  - in -> x -> a\n  - in -> y -> b\n  - x -> both\n  - y -> both\n");
    const auto program = instantiateAt(*graph, 2, 64);
    const Schedule& schedule = program->schedule();
    INFO(schedule.describe());
    REQUIRE(program->executor().workerThreads() == 2);
    std::map<std::string, int> workerOf = workersOf(schedule);
    CHECK(workerOf["x"] != workerOf["y"]);
    checkThreadsIdentical(*graph, 30000, "two branches from one input");
}

TEST_CASE("threads: the partition splits batches in whole SIMD vectors, keeps each strip on one worker and "
          "the bus on the caller",
          "[threads]") {
    const auto w2 = compileFile(w2Path());
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        for (int threads : {2, 3, 4}) {
            // The vector counted: the SIMD width, or the largest power of two that still gives
            // every worker a whole one (32 strips on 3 threads: 8).
            int width = 1;
            while (width * 2 <= std::min(simdWidth(arch), 32 / threads)) width *= 2;
            InstanceOptions options;
            options.sampleRate = kRate;
            options.maxBlockFrames = 512;
            options.threads = threads;
            options.simd = arch;
            Diagnostics diags;
            const auto program = instantiate(*w2, options, diags);
            REQUIRE(program);
            const Schedule& schedule = program->schedule();
            INFO(simdArchName(arch) << ", " << threads << " threads:\n" << schedule.describe());
            // The strips' per-lane kernels: every worker's batch a whole number of vectors
            // (32 strips on 2 threads are 2 vectors of 16, 4 of 8, 8 of 4).
            std::map<std::string, std::vector<int>> lanesOf; // kernel -> lanes per worker
            std::map<std::string, int> workerOfStrip;        // "s7" -> the worker of its EQ chain
            int busWorker = -1;
            for (const ScheduleStep& step : schedule.steps) {
                for (int n : step.nodes) {
                    const std::string& name = schedule.nodes[std::size_t(n)].name;
                    if (name == "bus") busWorker = step.worker;
                    if (name == "bus" || step.kernel == "pan") continue; // pan: 2 output lanes each
                    const std::string strip = name.substr(0, name.find('.'));
                    // Chains are never cut: EQ and compressor of a strip on one worker (its pan
                    // below).
                    if (!workerOfStrip.count(strip)) workerOfStrip[strip] = step.worker;
                    CHECK(workerOfStrip[strip] == step.worker);
                }
                const bool bus = step.nodes.size() == 1 && schedule.nodes[std::size_t(step.nodes[0])].name == "bus";
                if (step.kernel != "pan" && !bus) {
                    lanesOf[step.kernel].resize(std::size_t(schedule.workers), 0);
                    lanesOf[step.kernel][std::size_t(step.worker)] += step.lanes;
                }
            }
            CHECK(workerOfStrip.size() == 32);
            REQUIRE(busWorker >= 0);
            // The bus sum's leading run: its first sources (strips in declaration order) from
            // one worker other than the bus's, at least two.
            int run = 0;
            while (run < 32 && workerOfStrip[named("s", run)] == workerOfStrip["s0"]) ++run;
            if (workerOfStrip["s0"] == busWorker || run < 2) run = 0;
            // A pan widens mono to stereo: it runs on the worker of the bus it feeds, so its
            // strip's mono signal crosses between the workers, not its two channels; but the
            // pans of the leading run stay with their strips, whose worker sums them, so only
            // that partial sum crosses.
            int partialSums = 0;
            for (const ScheduleStep& step : schedule.steps) {
                if (step.sumsAfter > 0) {
                    CHECK(step.worker == workerOfStrip["s0"]);
                    CHECK(step.kernel == "pan");
                }
                partialSums += step.sumsAfter;
                if (step.kernel != "pan") continue;
                for (int n : step.nodes) {
                    const std::string& name = schedule.nodes[std::size_t(n)].name;
                    const int k = std::stoi(name.substr(1, name.find('.') - 1));
                    INFO(name);
                    CHECK(step.worker == (k < run ? workerOfStrip[name.substr(0, name.find('.'))] : busWorker));
                }
            }
            CHECK(partialSums == (run > 0 ? 2 : 0)); // one per channel of the bus
            // The first strips go to another worker than the bus's (the heads of branches from
            // the inputs take the last worker on a tie), a whole vector of them at least, and
            // consecutive strips stay together up to an even share in whole vectors: on two
            // workers strips 0-15 at every SIMD width, a run of 16.
            if (schedule.workers == 2) CHECK(workerOfStrip["s0"] != busWorker);
            if (workerOfStrip["s0"] != busWorker) CHECK(run >= width);
            if (schedule.workers == 2) CHECK(run == 16);
            for (const auto& [kernel, lanes] : lanesOf) {
                INFO(kernel);
                int total = 0, most = 0, least = 32;
                for (int l : lanes) {
                    CHECK(l % width == 0);
                    total += l;
                    most = std::max(most, l);
                    least = std::min(least, l);
                }
                CHECK(total == 32);
                // Two workers and 2 or 4 vectors: the strips split evenly.
                if (schedule.workers == 2 && width >= 8) CHECK(most == least);
            }
            // Two even workers: the bus, a merge, runs on the caller (worker 0), so that no other
            // worker waits for the caller.
            if (schedule.workers == 2 && width >= 8) CHECK(busWorker == 0);
        }
    }
}

TEST_CASE("threads: the 32-strip mix renders bit-identically on 1, 2 and 3 threads at any block size", "[threads]") {
    const auto w2 = compileFile(w2Path());
    checkThreadsIdentical(*w2, 20000, "w2.yaml");
}

TEST_CASE("threads: every shipped graph renders bit-identically on 1, 2 and 3 threads", "[threads]") {
    std::vector<std::string> graphs;
    for (const auto& entry : fs::recursive_directory_iterator(sg::test::sourceDir() + "/graphs"))
        if (entry.is_regular_file() && entry.path().extension() == ".yaml" && entry.path().parent_path().filename() != "parts")
            graphs.push_back(entry.path().string());
    std::sort(graphs.begin(), graphs.end());
    REQUIRE(graphs.size() >= 15);
    for (const std::string& path : graphs) {
        SECTION(fs::path(path).filename().string()) {
            const auto compiled = compileFile(path);
            checkThreadsIdentical(*compiled, 12000, path);
        }
    }
}

TEST_CASE("threads: sends, a sidechain and latency compensation across workers stay bit-identical", "[threads]") {
    const auto compiled = compileText(sendsAndSidechains(9));
    const auto program = instantiateAt(*compiled, 3, 512);
    CHECK(program->executor().workerThreads() == 3);
    CHECK(program->schedule().insertedDelays > 0);
    checkThreadsIdentical(*compiled, 16000, "sends and sidechains");
}

TEST_CASE("threads: random graphs of fan-outs, sums and latencies are bit-identical on 1 to 4 threads", "[threads]") {
    int split = 0;
    for (std::uint32_t seed = 1; seed <= 24; ++seed) {
        const std::string yaml = randomGraph(seed);
        CAPTURE(seed, yaml);
        const auto compiled = compileText(yaml);
        auto reference = instantiateAt(*compiled, 1, 256);
        const std::int64_t frames = 6000;
        const std::vector<Planar> inputs = inputsFor(reference->executor(), frames);
        const std::vector<Planar> expected = sg::test::renderFixed(reference->executor(), inputs, frames, 256);
        for (int threads = 2; threads <= 4; ++threads) {
            auto program = instantiateAt(*compiled, threads, 128);
            if (program->executor().workerThreads() > 1) ++split;
            const std::vector<Planar> got = sg::test::renderBlocks(program->executor(), inputs, frames, pattern(2));
            std::string where;
            const bool same = sg::test::bitIdentical(expected, got, &where);
            INFO(threads << " threads: " << where);
            CHECK(same);
        }
    }
    CHECK(split > 12); // many of them really ran on several threads
}

TEST_CASE("threads: measurements and parameter changes reach the workers' kernels", "[threads]") {
    // setParam between blocks from the caller's thread, meters read after: as on one thread,
    // listed in the same order.
    const auto compiled = compileText(sendsAndSidechains(6));
    const std::int64_t frames = 9000;
    std::vector<std::vector<Executor::NodeMeasurements>> meters;
    std::vector<std::vector<Planar>> outputs;
    for (int threads : {1, 2}) {
        auto program = instantiateAt(*compiled, threads, 512);
        Executor& ex = program->executor();
        std::string error;
        const int gain = ex.findParam("eq5", "gain", error);
        REQUIRE(gain >= 0);
        const std::vector<Planar> inputs = inputsFor(ex, frames);
        std::vector<Planar> first = sg::test::renderFixed(ex, inputs, frames / 2, 333);
        ex.setParam(gain, -12.0, ex.position() + 10);
        // The second half of the inputs.
        std::vector<Planar> rest = inputs;
        for (auto& in : rest)
            for (auto& ch : in) ch.erase(ch.begin(), ch.begin() + frames / 2);
        std::vector<Planar> second = sg::test::renderFixed(ex, rest, frames - frames / 2, 333);
        for (std::size_t o = 0; o < first.size(); ++o)
            for (std::size_t c = 0; c < first[o].size(); ++c)
                first[o][c].insert(first[o][c].end(), second[o][c].begin(), second[o][c].end());
        outputs.push_back(std::move(first));
        meters.push_back(ex.measurements());
    }
    std::string where;
    const bool same = sg::test::bitIdentical(outputs[0], outputs[1], &where);
    INFO(where);
    CHECK(same);
    REQUIRE(meters[0].size() == meters[1].size());
    REQUIRE(!meters[0].empty()); // the compressors and the limiter report
    for (std::size_t m = 0; m < meters[0].size(); ++m) {
        CHECK(meters[0][m].node == meters[1][m].node);
        REQUIRE(meters[0][m].values.size() == meters[1][m].values.size());
        for (std::size_t v = 0; v < meters[0][m].values.size(); ++v)
            CHECK(std::memcmp(&meters[0][m].values[v].value, &meters[1][m].values[v].value, sizeof(double)) == 0);
    }
}

namespace {

/// Renders through views of the caller's own memory, as a host that lends its buffers: every
/// input is one allocation of exactly channels x frames samples (nothing after the last
/// channel's last frame: a read past a view's end is a sanitizer error), fed in calls of
/// nextBlock() frames. With `inPlace`, output `aliasOutput` is written over input
/// `aliasInput`'s memory (same channel count), as a host that processes in place.
std::vector<Planar> renderFromCallerMemory(Executor& executor, const std::vector<Planar>& inputs, std::int64_t frames,
                                           const std::function<int()>& nextBlock, bool inPlace = false,
                                           std::size_t aliasInput = 0, std::size_t aliasOutput = 0) {
    std::vector<std::vector<float>> memory;
    for (const Planar& in : inputs) {
        memory.emplace_back();
        memory.back().reserve(in.size() * std::size_t(frames)); // no spare capacity after the end
        for (const auto& channel : in) memory.back().insert(memory.back().end(), channel.begin(), channel.end());
    }
    std::vector<Planar> outputs;
    for (const auto& port : executor.outputs())
        outputs.emplace_back(std::size_t(port.channels), std::vector<float>(std::size_t(frames)));
    std::vector<AudioBuffer> outBuffers;
    for (const auto& port : executor.outputs()) outBuffers.emplace_back(port.channels, 16384);
    for (std::int64_t done = 0; done < frames;) {
        const int block = int(std::min<std::int64_t>({std::max(1, nextBlock()), frames - done, 16384}));
        std::vector<ConstAudioView> inViews;
        for (std::size_t i = 0; i < inputs.size(); ++i)
            inViews.push_back({memory[i].data() + done, std::size_t(frames), int(inputs[i].size()), block});
        std::vector<AudioView> outViews;
        for (std::size_t o = 0; o < outBuffers.size(); ++o) {
            if (inPlace && o == aliasOutput)
                outViews.push_back({memory[aliasInput].data() + done, std::size_t(frames), outBuffers[o].channels(), block});
            else
                outViews.push_back(outBuffers[o].view().frameRange(0, block));
        }
        executor.process(inViews, outViews);
        for (std::size_t o = 0; o < outViews.size(); ++o)
            for (int c = 0; c < outViews[o].channels; ++c)
                std::memcpy(outputs[o][std::size_t(c)].data() + done, outViews[o].channel(c), sizeof(float) * std::size_t(block));
        done += block;
    }
    return outputs;
}

} // namespace

TEST_CASE("threads: inputs lent by the caller (read in place on one thread, copied on several) give the bits of copied inputs",
          "[threads]") {
    // One stereo input read by steps on both workers (and summed with another signal before a
    // step: sums run to the padded length) and routed straight to an output as well; one mono
    // input through a chain whose steps may overwrite its slot after its last read.
    const auto graph = compileText(
        "stagegraph: 1\ninputs:\n  in: {channels: 2}\n  side: {channels: 1}\n"
        "outputs:\n  dry: {channels: 2}\n  wet: {channels: 2}\n  chain: {channels: 1}\n  level: {channels: 2}\nnodes:\n"
        "  x: {type: compressor, threshold: -30 dB, ratio: 6, attack: 1 ms, release: 40 ms, makeup: 12 dB}\n"
        "  y: {type: compressor, threshold: -10 dB, ratio: 20, attack: 0.1 ms, release: 10 ms, makeup: 20 dB}\n"
        "  g: {type: gain, gain: -6 dB}\n  hp: {type: highpass, freq: 15 kHz}\n  eq: {type: peak, freq: 21 kHz, gain: 12 dB, q: "
        "4}\n"
        "  cp: {type: compressor, threshold: -40 dB, ratio: 8, attack: 0.5 ms, release: 30 ms}\n"
        "connections:\n  - in -> x -> wet\n  - in -> y -> wet\n  - in -> dry\n"
        "  - side -> hp -> eq -> cp -> chain\n  - in -> g -> level\n  - y -> g\n");
    {
        const auto program = instantiateAt(*graph, 2, 100);
        const Schedule& schedule = program->schedule();
        INFO(schedule.describe());
        REQUIRE(program->executor().workerThreads() == 2);
        std::map<std::string, int> workerOf = workersOf(schedule);
        CHECK(workerOf["x"] != workerOf["y"]); // the input is read on both workers
    }
    const std::int64_t frames = 40000; // more than two rounds of 16384 frames
    // The reference copies every block into the slots: one thread, calls of 7 frames, views
    // that end before the padded length.
    auto reference = instantiateAt(*graph, 1, 512);
    const std::vector<Planar> inputs = inputsFor(reference->executor(), frames);
    const std::vector<Planar> expected = renderFromCallerMemory(reference->executor(), inputs, frames, [] { return 7; });
    REQUIRE(reference->executor().latencyFrames() == 0);
    CHECK(expected[0] == inputs[0]); // the input routed straight out, unchanged

    int variants = 0;
    for (int threads : {1, 2, 3}) {
        for (int maxBlock : {100, 512}) { // 100: blocks that do not divide a chunk, nor are padded
            auto program = instantiateAt(*graph, threads, maxBlock);
            Executor& ex = program->executor();
            const std::vector<std::function<int()>> feeds{
                [] { return 16384; },   // one chunk per call, as render does on several threads
                [] { return 1 << 30; }, // everything at once (clamped to 16384 per call)
                pattern(2),             // irregular: in place where a block fits, copied where not
            };
            for (std::size_t f = 0; f < feeds.size(); ++f) {
                for (bool inPlace : {false, true}) {
                    ex.reset();
                    const std::vector<Planar> got = renderFromCallerMemory(ex, inputs, frames, feeds[f], inPlace, 0, 1);
                    std::string where;
                    const bool same = sg::test::bitIdentical(expected, got, &where);
                    INFO(threads << " threads, internal block " << maxBlock << ", feed " << f
                                 << (inPlace ? ", wet written over the input" : "") << ": " << where);
                    CHECK(same);
                    ++variants;
                }
            }
        }
    }
    CHECK(variants == 36);
}

TEST_CASE("threads: strips summed straight into an external output hand over one partial sum, bit-identically", "[threads]") {
    // 12 strips (EQ, compressor, pan) connected to the output itself, no bus node: the caller
    // sums the output after each block, and the first strips' pans are its leading run.
    std::string yaml = "stagegraph: 1\ninputs:\n";
    for (int k = 0; k < 12; ++k) yaml += named("  t", k, ": {channels: 1}\n");
    yaml += "outputs:\n  mix: {channels: 2}\nnodes:\n";
    std::string connections;
    for (int k = 0; k < 12; ++k) {
        const std::string s = named("s", k);
        yaml += "  " + s + named("_eq: {type: peak, freq: ", 200 + 150 * k, " Hz, q: 1, gain: 4 dB}\n");
        yaml += "  " + s + "_comp: {type: compressor, threshold: -24 dB, ratio: 3}\n";
        yaml += "  " + s + named("_pan: {type: pan, pan: ", -1.0 + k / 5.5, "}\n");
        connections += named("  - t", k, " -> ") + s + "_eq -> " + s + "_comp -> " + s + "_pan -> mix\n";
    }
    yaml += "connections:\n" + connections;
    const auto compiled = compileText(yaml);
    const auto two = instantiateAt(*compiled, 2, 512);
    REQUIRE(two->executor().workerThreads() == 2);
    const Schedule& schedule = two->schedule();
    INFO(schedule.describe());
    const std::map<std::string, int> workerOf = workersOf(schedule);
    // The first strips run on the other worker, which adds their pans (one partial per channel).
    REQUIRE(workerOf.at("s0_pan") == 1);
    int partials = 0;
    for (const ScheduleStep& step : schedule.steps) {
        partials += step.sumsAfter;
        if (step.sumsAfter) CHECK(step.worker == 1);
    }
    CHECK(partials == 2);
    checkThreadsIdentical(*compiled, 9000, "strips into the output");
}
