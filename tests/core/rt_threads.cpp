// Real-time safety of the multi-threaded executor: once instantiated (threads started), a
// process() shared between worker threads allocates nothing on any of them, at any block
// size, while parameters change, across reset() (counted by tests/support/RtAllocations).
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

using namespace sg;

TEST_CASE("rt: processing on several worker threads allocates nothing, at any block size", "[rt][threads]") {
    // The counter itself must work, and count on other threads too, or the test proves nothing.
    REQUIRE(sg::test::allocationsDuring([] { std::thread([] { delete new int(3); }).join(); }) >= 2);

    std::string yaml = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < 8; ++i) yaml += std::string("  t") + std::to_string(i) + ": {channels: 1}\n";
    yaml += "outputs:\n  out: {channels: 2}\nnodes:\n";
    for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(i);
        yaml += "  hp" + n + ": {type: highpass, freq: 80 Hz}\n  eq" + n + std::string(": {type: peak, freq: ") +
                std::to_string(300 * (i + 1)) + " Hz, gain: 3 dB}\n  cp" + n +
                ": {type: compressor, threshold: -30 dB, ratio: 3}\n  pn" + n + std::string(": {type: pan, pan: ") +
                std::to_string(-80 + 20 * i) + " %}\n";
    }
    yaml += "  look: {type: latency, samples: 32}\n  bus: {type: compressor, threshold: -20 dB, ratio: 2}\nconnections:\n";
    for (int i = 0; i < 8; ++i) {
        const std::string n = std::to_string(i);
        yaml +=
            "  - t" + n + " -> hp" + n + " -> eq" + n + " -> cp" + n + " -> pn" + n + (i == 3 ? " -> look" : "") + " -> bus\n";
    }
    yaml += "  - eq0 -> cp7.sidechain\n  - bus -> out\n";
    Diagnostics diags;
    CompileOptions options;
    options.threads = 2;
    auto program = sg::test::compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    Executor& ex = program->executor();
    REQUIRE(ex.workerThreads() == 2);
    std::string error;
    const int gain = ex.findParam("eq6", "gain", error);
    REQUIRE(gain >= 0);

    std::vector<AudioBuffer> in;
    for (int i = 0; i < 8; ++i) {
        in.emplace_back(1, 8192);
        auto x = sg::test::noise(8192, 1.0f, std::uint32_t(i + 1));
        std::copy(x.begin(), x.end(), in.back().channel(0));
    }
    AudioBuffer out(2, 8192);
    std::vector<ConstAudioView> inViews;
    for (auto& b : in) inViews.push_back(b.view());

    const long allocations = sg::test::allocationsDuring([&] {
        for (int block : {1, 17, 64, 512, 8192}) {
            for (int i = 0; i < 20; ++i) {
                ConstAudioView slices[8];
                for (int k = 0; k < 8; ++k) slices[k] = inViews[std::size_t(k)].frameRange(0, block);
                AudioView outSlice = out.view().frameRange(0, block);
                if (i == 5) ex.setParam(gain, -6.0 + block % 7, ex.position());
                ex.process(std::span<const ConstAudioView>(slices, 8), std::span<const AudioView>(&outSlice, 1));
            }
            // Long enough between blocks for the worker to go from spinning to sleeping.
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ex.reset();
    });
    CHECK(allocations == 0);
}

TEST_CASE("rt: a chain pipelined over two workers allocates nothing, at any block size", "[rt][threads]") {
    Diagnostics diags;
    CompileOptions options;
    options.threads = 2;
    auto program = sg::test::compileYaml(
        "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  master: {channels: 2}\nnodes:\n"
        "  hpf: {type: highpass, freq: 30 Hz, slope: 12}\n  tone: {type: peak, freq: 3 kHz, q: 1, gain: -1.5 dB}\n"
        "  glue: {type: compressor, threshold: -18 dB, ratio: 2, attack: 10 ms, release: 100 ms, makeup: 2 dB}\n"
        "  limit: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms, release: 50 ms}\n"
        "connections:\n  - mix -> hpf -> tone -> glue -> limit -> master\n",
        diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    Executor& ex = program->executor();
    REQUIRE(ex.workerThreads() == 2); // the limiter is a stage of its own
    std::string error;
    const int gain = ex.findParam("tone", "gain", error);
    REQUIRE(gain >= 0);
    AudioBuffer in(2, 8192), out(2, 8192);
    for (int c = 0; c < 2; ++c) {
        auto x = sg::test::noise(8192, 10.0f, std::uint32_t(c + 3)); // +20 dB into the limiter
        std::copy(x.begin(), x.end(), in.channel(c));
    }
    const long allocations = sg::test::allocationsDuring([&] {
        for (int block : {1, 17, 64, 512, 8192}) {
            for (int i = 0; i < 20; ++i) {
                const ConstAudioView slice = in.view().frameRange(0, block);
                AudioView outSlice = out.view().frameRange(0, block);
                if (i == 5) ex.setParam(gain, -6.0 + block % 7, ex.position());
                ex.process(std::span<const ConstAudioView>(&slice, 1), std::span<const AudioView>(&outSlice, 1));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        ex.reset();
    });
    CHECK(allocations == 0);
}

TEST_CASE("rt: inputs read in place, copied, routed straight out or overwritten by the outputs allocate nothing",
          "[rt][threads]") {
    // One input read on both workers and routed straight to an output; calls whose views cover
    // the padded block (read in place), end before it (copied) or whose output is the input's
    // own memory (copied on several threads, in place on one).
    for (int threads : {1, 2}) {
        Diagnostics diags;
        CompileOptions options;
        options.threads = threads;
        auto program = sg::test::compileYaml(
            "stagegraph: 1\ninputs:\n  in: {channels: 2}\noutputs:\n  dry: {channels: 2}\n  wet: {channels: 2}\nnodes:\n"
            "  x: {type: compressor, threshold: -30 dB, ratio: 6, attack: 1 ms, release: 40 ms, makeup: 12 dB}\n"
            "  y: {type: compressor, threshold: -10 dB, ratio: 20, attack: 0.1 ms, release: 10 ms}\n"
            "connections:\n  - in -> x -> wet\n  - in -> y -> wet\n  - in -> dry\n",
            diags, options);
        INFO(diags.formatAll());
        REQUIRE(program);
        Executor& ex = program->executor();
        REQUIRE(ex.workerThreads() == threads);
        std::vector<float> memory(2 * 8192); // the caller's: no padding after the views
        const auto x = sg::test::noise(2 * 8192, 10.0f, 5u);
        std::copy(x.begin(), x.end(), memory.begin());
        AudioBuffer dry(2, 8192), wet(2, 8192);
        const long allocations = sg::test::allocationsDuring([&] {
            for (int block : {1, 17, 100, 512, 8192}) {
                for (int i = 0; i < 10; ++i) {
                    const ConstAudioView in{memory.data(), 8192, 2, block};
                    AudioView outs[2] = {dry.view().frameRange(0, block), wet.view().frameRange(0, block)};
                    if (i % 2 == 1) outs[1] = AudioView{memory.data(), 8192, 2, block}; // wet over the input
                    ex.process(std::span<const ConstAudioView>(&in, 1), std::span<const AudioView>(outs, 2));
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            ex.reset();
        });
        CHECK(allocations == 0);
    }
}
