// The live engine without an audio device: the callback driven directly, its lock-free rings,
// the command language. (The tests against a real JACK server are in test_live.cpp.)
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/live/AudioRing.h"
#include "host/live/LiveCommands.h"
#include "host/live/LiveEngine.h"
#include "host/live/LiveGraph.h"
#include "host/live/ProcessTimes.h"
#include "host/live/SpscQueue.h"
#include "live/LiveTesting.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

using namespace sg;
using namespace sg::live;

namespace {

using test::gainGraph;

/// A source (file mode) pushed whole into a ring, and the engine's output collected.
struct OfflineEngine {
    std::unique_ptr<AudioRing> ring;
    std::unique_ptr<LiveEngine> engine;
    std::vector<std::vector<float>> out; // [channel][frame]
    AudioBuffer callbackOut;

    OfflineEngine(EngineConfig config, const std::vector<std::vector<float>>& source) {
        const int frames = int(source[0].size());
        ring = std::make_unique<AudioRing>(int(source.size()), frames);
        AudioBuffer all(int(source.size()), frames);
        for (std::size_t c = 0; c < source.size(); ++c) std::copy(source[c].begin(), source[c].end(), all.channel(int(c)));
        REQUIRE(ring->write(all.view()) == frames);
        config.inputRing = ring.get();
        engine = std::make_unique<LiveEngine>(config);
        out.resize(std::size_t(config.outputChannels));
        callbackOut.resize(config.outputChannels, 8192);
    }
    /// Posts a switch to `graph` (the session's graph number `index`), taken at the next callback.
    void switchTo(LiveGraph* graph, int index) {
        EngineCommand command;
        command.kind = EngineCommand::Kind::Switch;
        command.graph = graph;
        command.graphIndex = index;
        REQUIRE(engine->post(command));
    }
    /// One callback of `frames` frames; appends its output.
    void run(int frames) {
        std::vector<float*> pointers;
        for (int c = 0; c < callbackOut.channels(); ++c) pointers.push_back(callbackOut.channel(c));
        engine->processAudio(nullptr, pointers.data(), frames, false);
        for (int c = 0; c < callbackOut.channels(); ++c)
            out[std::size_t(c)].insert(out[std::size_t(c)].end(), callbackOut.channel(c), callbackOut.channel(c) + frames);
    }
};

std::vector<std::vector<float>> constant(int channels, int frames, float value) {
    return std::vector<std::vector<float>>(std::size_t(channels), std::vector<float>(std::size_t(frames), value));
}

} // namespace

TEST_CASE("engine: one graph plays bit-identical to the executor, for any callback sizes, and ends at source + latency",
          "[live]") {
    test::TempDir dir;
    const int frames = 20000;
    LiveFormat format;
    format.maxBlockFrames = 128;
    const std::string yaml = "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                             "  hpf: {type: highpass, freq: 80 Hz, slope: 24}\n  bell: {type: peak, freq: 2 kHz, gain: 3 dB}\n"
                             "  look: {type: latency, samples: 37}\n  trim: {type: gain, gain: -2 dB}\n"
                             "connections:\n  - mix -> hpf -> bell -> look -> trim -> out\n";
    auto graph = test::makeLiveGraph(dir, "g.yaml", yaml, format);
    const int latency = graph->latencyFrames();
    REQUIRE(latency == 37);
    graph->alignTo(latency);

    std::vector<std::vector<float>> source{test::noise(frames, 0.5f, 11), test::noise(frames, 0.5f, 12)};
    EngineConfig config;
    config.maxBlockFrames = 128;
    config.sessionLatencyFrames = latency;
    config.sourceFrames = frames;
    config.warmupFrames = latency + kWarmupMarginFrames;
    OfflineEngine offline(config, source);
    offline.engine->setInitialGraph(graph.get(), 1);
    std::mt19937 random(5);
    while (!offline.engine->finished()) offline.run(int(random() % 700) + 1); // callbacks longer than the chunk too

    // The oracle: the executor alone, fed the source and then `latency` frames of silence.
    Diagnostics diags;
    GraphDesc desc = loadGraph(graph->path(), diags);
    CompileOptions options;
    options.maxBlockFrames = 512;
    auto program = compileGraph(desc, Registry::builtin(), options, diags);
    REQUIRE(program);
    test::Planar input{source[0], source[1]};
    for (auto& channel : input) channel.resize(std::size_t(frames + latency), 0.0f);
    auto expected = test::renderFixed(program->executor(), {input}, frames + latency, 512);

    REQUIRE(offline.engine->framesOut() == frames + latency);
    REQUIRE(offline.engine->underrunFrames() == 0);
    for (auto& channel : offline.out) {
        // After the end the callback sends silence.
        CHECK(std::all_of(channel.begin() + frames + latency, channel.end(), [](float v) { return v == 0.0f; }));
        channel.resize(std::size_t(frames + latency));
    }
    std::string where;
    const bool identical = test::bitIdentical({offline.out}, expected, &where);
    INFO(where);
    CHECK(identical);
}

TEST_CASE("engine: the crossfade is sin/cos over F frames and starts after the warm-up", "[live]") {
    test::TempDir dir;
    LiveFormat format;
    format.maxBlockFrames = 64;
    auto loud = test::makeLiveGraph(dir, "a.yaml", gainGraph(0), format);
    auto quiet = test::makeLiveGraph(dir, "b.yaml", gainGraph(-120), format); // 1e-6: reads the other weight alone
    const double quietGain = std::pow(10.0, -120.0 / 20.0);
    const int fade = 480, warmup = kWarmupMarginFrames;

    EngineConfig config;
    config.maxBlockFrames = 64;
    config.crossfadeFrames = fade;
    config.warmupFrames = warmup;
    config.sourceFrames = 20000;
    OfflineEngine offline(config, constant(2, 20000, 1.0f));
    offline.engine->setInitialGraph(loud.get(), 1);
    auto post = [&](LiveGraph* graph, int index) { offline.switchTo(graph, index); };
    for (int k = 0; k < 10; ++k) offline.run(64);
    post(quiet.get(), 2); // taken at the start of the next callback: frame 640
    for (int k = 0; k < 90; ++k) offline.run(64);
    post(loud.get(), 1); // frame 6400
    for (int k = 0; k < 100; ++k) offline.run(64);

    const auto& y = offline.out[0];
    const int start1 = 640 + warmup, start2 = 6400 + warmup;
    double worstOut = 0, worstIn = 0, worstPower = 0;
    for (int n = 0; n < start1; ++n) REQUIRE(y[std::size_t(n)] == 1.0f);
    for (int i = 0; i <= fade; ++i) {
        const double wOut = std::cos(M_PI / 2 * i / fade), wIn = std::sin(M_PI / 2 * i / fade);
        const double measuredOut = y[std::size_t(start1 + i)] - wIn * quietGain; // wOut * 1 + wIn * 1e-6
        const double measuredIn = y[std::size_t(start2 + i)] - wOut * quietGain; // wOut * 1e-6 + wIn * 1
        worstOut = std::max(worstOut, std::abs(measuredOut - wOut));
        worstIn = std::max(worstIn, std::abs(measuredIn - wIn));
        worstPower = std::max(worstPower, std::abs(measuredOut * measuredOut + measuredIn * measuredIn - 1.0));
    }
    CHECK(worstOut < 1e-6);
    CHECK(worstIn < 1e-6);
    CHECK(worstPower < 1e-5); // equal power: w_out^2 + w_in^2 = 1
    for (int n = start1 + fade + 1; n < start2; ++n) REQUIRE(std::abs(y[std::size_t(n)] - quietGain) < 1e-12);
    for (int n = start2 + fade + 1; n < int(y.size()); ++n) REQUIRE(y[std::size_t(n)] == 1.0f);
    CHECK(offline.engine->switchesCompleted() == 2);
    CHECK(offline.engine->currentGraph() == 1);
    CHECK(quiet->releasedByEngine());
    CHECK_FALSE(loud->releasedByEngine()); // playing
}

TEST_CASE("engine: a switch during the warm-up replaces the incoming graph, during a fade it waits", "[live]") {
    test::TempDir dir;
    LiveFormat format;
    format.maxBlockFrames = 64;
    auto a = test::makeLiveGraph(dir, "a.yaml", gainGraph(0), format);
    auto b = test::makeLiveGraph(dir, "b.yaml", gainGraph(-6), format);
    auto c = test::makeLiveGraph(dir, "c.yaml", gainGraph(-12), format);
    const float gainB = float(std::pow(10.0, -6.0 / 20.0)), gainC = float(std::pow(10.0, -12.0 / 20.0));
    const int fade = 480, warmup = kWarmupMarginFrames;
    EngineConfig config;
    config.maxBlockFrames = 64;
    config.crossfadeFrames = fade;
    config.warmupFrames = warmup;
    config.sourceFrames = 40000;
    OfflineEngine offline(config, constant(1, 40000, 1.0f));
    offline.engine->setInitialGraph(a.get(), 1);
    auto post = [&](LiveGraph* graph, int index) { offline.switchTo(graph, index); };
    auto runFrames = [&](int frames) {
        for (int k = 0; k < frames / 64; ++k) offline.run(64);
    };
    auto level = [&](int frame) { return offline.out[0][std::size_t(frame)]; };

    post(b.get(), 2); // taken at frame 0: b warms up
    runFrames(1024);
    CHECK(offline.engine->targetGraph() == 2);
    post(c.get(), 3); // taken at 1024, still warming: c replaces b, its warm-up starts over
    runFrames(1024);
    CHECK(b->releasedByEngine());
    CHECK(offline.engine->targetGraph() == 3);
    runFrames(warmup + fade); // c's fade began at 1024 + warmup
    const int cFadeEnd = 1024 + warmup + fade;
    CHECK(level(1024 + warmup - 1) == 1.0f); // nothing of b was ever heard
    CHECK(level(cFadeEnd) == gainC);
    CHECK(offline.engine->switchesCompleted() == 1);

    const int aCommand = int(offline.out[0].size());
    post(a.get(), 1);
    runFrames(warmup + 128); // a is fading in
    post(b.get(), 2);        // mid-fade: waits
    offline.run(64);
    CHECK(offline.engine->targetGraph() == 2);
    CHECK(offline.engine->currentGraph() == 3);
    runFrames(fade + warmup + fade + 256);
    // The fade to a ends at aCommand + warmup + fade; the waiting switch starts at the end of that
    // chunk (64-frame callbacks here).
    const int aFadeEnd = aCommand + warmup + fade, bStart = (aFadeEnd + 63) / 64 * 64;
    CHECK(level(aFadeEnd) == 1.0f);                // the fade to a finished first ...
    CHECK(level(bStart + warmup - 1) == 1.0f);     // ... b warmed up under it ...
    CHECK(level(bStart + warmup + fade) == gainB); // ... then faded in
    CHECK(offline.engine->switchesCompleted() == 3);
    CHECK(offline.engine->currentGraph() == 2);
    CHECK(a->releasedByEngine());
    CHECK(c->releasedByEngine());
    CHECK_FALSE(b->releasedByEngine());
}

TEST_CASE("engine: graphs of different latency are aligned, so the crossfade mixes the same moment", "[live]") {
    test::TempDir dir;
    LiveFormat format;
    format.maxBlockFrames = 128;
    auto direct = test::makeLiveGraph(dir, "a.yaml", gainGraph(0), format);
    auto late = test::makeLiveGraph(dir, "b.yaml", gainGraph(0, 100), format);
    const int session = std::max(direct->latencyFrames(), late->latencyFrames());
    REQUIRE(session == 100);
    direct->alignTo(session);
    late->alignTo(session);
    CHECK(direct->alignmentFrames() == 100);
    CHECK(late->alignmentFrames() == 0);

    const int frames = 16000, fade = 960;
    auto s = test::sine(440, 0.5, 48000, frames);
    EngineConfig config;
    config.maxBlockFrames = 128;
    config.crossfadeFrames = fade;
    config.warmupFrames = session + kWarmupMarginFrames;
    config.sessionLatencyFrames = session;
    config.sourceFrames = frames;
    OfflineEngine offline(config, {s, s});
    offline.engine->setInitialGraph(direct.get(), 1);
    offline.run(1024);
    offline.switchTo(late.get(), 2);
    while (!offline.engine->finished()) offline.run(128);

    // Both graphs give s[n - 100]; during the fade the output is (w_out + w_in) s[n - 100].
    const int fadeStart = 1024 + config.warmupFrames;
    double worst = 0;
    for (int n = session; n < frames + session; ++n) {
        const int i = std::clamp(n - fadeStart, 0, fade);
        const double weight =
            (n < fadeStart || n > fadeStart + fade) ? 1.0 : std::cos(M_PI / 2 * i / fade) + std::sin(M_PI / 2 * i / fade);
        worst = std::max(worst, std::abs(offline.out[0][std::size_t(n)] - weight * s[std::size_t(n - session)]));
    }
    CHECK(worst < 1e-6);
    CHECK(offline.engine->switchesCompleted() == 1);
}

TEST_CASE("engine: --match-loudness brings graphs of different gain to the source's loudness", "[live]") {
    test::TempDir dir;
    LiveFormat format;
    format.maxBlockFrames = 512;
    auto up = test::makeLiveGraph(dir, "up.yaml", gainGraph(+6), format);
    auto down = test::makeLiveGraph(dir, "down.yaml", gainGraph(-9), format);
    const int frames = 48000 * 10;
    auto left = test::noise(frames, 0.25f, 3), right = test::noise(frames, 0.25f, 4);
    EngineConfig config;
    config.maxBlockFrames = 512;
    config.sourceFrames = frames;
    config.matchLoudness = true;
    OfflineEngine offline(config, {left, right});
    offline.engine->setInitialGraph(up.get(), 1);
    while (offline.engine->framesOut() < 48000 * 5) offline.run(512);
    // After 5 s the short-term estimate has settled at -6 dB (slewing 3 dB/s from 0).
    CHECK(std::abs(offline.engine->matchGainDb() - -6.0) < 0.3);
    offline.switchTo(down.get(), 2);
    while (!offline.engine->finished()) offline.run(512);
    CHECK(std::abs(offline.engine->matchGainDb() - 9.0) < 0.3);

    // Independent check on the output: the RMS of the last second equals the source's.
    auto rms = [&](const std::vector<float>& x, int from, int to) {
        double sum = 0;
        for (int n = from; n < to; ++n) sum += double(x[std::size_t(n)]) * x[std::size_t(n)];
        return std::sqrt(sum / (to - from));
    };
    const double outDb = 20 * std::log10(rms(offline.out[0], frames - 48000, frames));
    const double inDb = 20 * std::log10(rms(left, frames - 48000, frames));
    CHECK(std::abs(outDb - inDb) < 0.5);
}

TEST_CASE("engine: SpscQueue and AudioRing hand every item over in order between two threads", "[live]") {
    SpscQueue<std::uint64_t> queue(64);
    const std::uint64_t count = 200000;
    std::thread producer([&] {
        for (std::uint64_t i = 1; i <= count;)
            if (queue.push(i)) ++i;
    });
    std::uint64_t expected = 1, item = 0, errors = 0;
    while (expected <= count)
        if (queue.pop(item)) errors += item != expected++;
    producer.join();
    CHECK(errors == 0);
    CHECK(queue.size() == 0);

    // Frame f of channel c carries f * 2 + c (exact in float below 2^24).
    AudioRing ring(2, 1000);
    CHECK(ring.capacityFrames() == 1024);
    const int total = 300000;
    std::thread writer([&] {
        AudioBuffer block(2, 333);
        std::mt19937 random(1);
        for (int f = 0; f < total;) {
            const int n = std::min(int(random() % 333) + 1, total - f);
            for (int i = 0; i < n; ++i)
                for (int c = 0; c < 2; ++c) block.channel(c)[i] = float((f + i) * 2 + c);
            int done = 0;
            while (done < n) done += ring.write(block.view().frameRange(done, n - done));
            f += n;
        }
    });
    AudioBuffer block(2, 500);
    std::mt19937 random(2);
    long mismatches = 0;
    for (int f = 0; f < total;) {
        const int got = ring.read(block.view().frameRange(0, int(random() % 500) + 1));
        for (int i = 0; i < got; ++i)
            for (int c = 0; c < 2; ++c) mismatches += block.channel(c)[i] != float((f + i) * 2 + c);
        f += got;
    }
    writer.join();
    CHECK(mismatches == 0);
    CHECK(ring.framesRead() == total);
}

TEST_CASE("engine: process-time percentiles never under-report", "[live]") {
    ProcessTimes times;
    std::vector<std::int64_t> values;
    std::mt19937 random(3);
    for (int i = 0; i < 5000; ++i) values.push_back(std::int64_t(random() % 2'000'000)); // 0 .. 2 ms
    for (auto v : values) times.record(v);
    std::sort(values.begin(), values.end());
    CHECK(times.count() == 5000);
    CHECK(times.worstNanoseconds() == values.back());
    for (double p : {0.5, 0.9, 0.99, 0.999}) {
        const std::int64_t exact = values[std::size_t(std::ceil(p * 5000)) - 1];
        const std::int64_t reported = times.percentileNanoseconds(p);
        CHECK(reported >= exact);
        CHECK(reported <= exact + (exact < 1'000'000 ? 50 : 10'000)); // one bin
    }
}

TEST_CASE("commands: lines and keys", "[live]") {
    std::string error;
    auto c = parseCommandLine("switch 2", error);
    REQUIRE(c);
    CHECK(c->kind == LiveCommand::Kind::Switch);
    CHECK(c->graph == 2);
    c = parseCommandLine("  3 ", error);
    REQUIRE(c);
    CHECK((c->kind == LiveCommand::Kind::Switch && c->graph == 3));
    c = parseCommandLine("set tone.gain -3dB", error);
    REQUIRE(c);
    CHECK((c->kind == LiveCommand::Kind::Set && c->target == "tone.gain" && c->value == "-3dB"));
    c = parseCommandLine("set vocal.eq.freq 2 kHz", error);
    REQUIRE(c);
    CHECK((c->target == "vocal.eq.freq" && c->value == "2 kHz"));
    c = parseCommandLine("set trim.gain=-1.5 dB", error);
    REQUIRE(c);
    CHECK((c->target == "trim.gain" && c->value == "-1.5 dB"));
    c = parseCommandLine("level -6dB", error);
    REQUIRE(c);
    CHECK((c->kind == LiveCommand::Kind::Level && c->levelDb == -6.0 && !c->relative));
    c = parseCommandLine("reload", error);
    REQUIRE(c);
    CHECK((c->kind == LiveCommand::Kind::Reload && c->graph == 0));
    c = parseCommandLine("# a comment", error);
    REQUIRE(c);
    CHECK(c->kind == LiveCommand::Kind::None);
    CHECK(parseCommandLine("match on", error)->on);
    CHECK(parseCommandLine("quit", error)->kind == LiveCommand::Kind::Quit);
    for (const char* bad :
         {"switch", "switch 0", "switch two", "set tone.gain", "set gain -3dB", "level loud", "match maybe", "dance"}) {
        error.clear();
        CHECK_FALSE(parseCommandLine(bad, error));
        CHECK_FALSE(error.empty());
    }
    CHECK(commandForKey('4', false).graph == 4);
    CHECK(commandForKey('+', false).relative);
    CHECK(commandForKey('m', true).on == false);
    CHECK(commandForKey('x', false).kind == LiveCommand::Kind::None);
}
