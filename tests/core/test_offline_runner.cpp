// The offline runner against independent truth: a graph whose latency is known (the `latency`
// node) must give back its input exactly once the runner has trimmed it (a null test), at every
// host block size; shorter inputs are padded with silence; a `delay` of D frames rings out for
// exactly D frames of tail; errors, stops and non-finite samples end the run where they happen.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/OfflineRunner.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>

using namespace sg;
using sg::test::Planar;

namespace {

/// Plays a planar signal; optionally fails at one read (-1), like a truncated file.
class PlanarSource final : public AudioSource {
public:
    explicit PlanarSource(Planar signal, int failAtRead = -1) : signal_(std::move(signal)), failAtRead_(failAtRead) {}
    int channels() const override { return int(signal_.size()); }
    int read(const AudioView& block) override {
        if (reads_++ == failAtRead_) return -1;
        const std::int64_t length = signal_.empty() ? 0 : std::int64_t(signal_[0].size());
        const int frames = int(std::min<std::int64_t>(block.frames, length - position_));
        for (int c = 0; c < block.channels; ++c)
            std::copy_n(signal_[std::size_t(c)].begin() + position_, frames, block.channel(c));
        position_ += frames;
        return frames;
    }
    int reads() const { return reads_; }

private:
    Planar signal_;
    int failAtRead_;
    int reads_ = 0;
    std::int64_t position_ = 0;
};

/// Plays a planar signal and lends it in place (AudioSource::borrow) where a whole block fits,
/// except on every third call, which it leaves to read() (a copy) as a source may.
class LendingSource final : public AudioSource {
public:
    explicit LendingSource(Planar signal) : signal_(std::move(signal)) {
        for (const auto& channel : signal_) length_ = std::int64_t(channel.size());
        storage_ = AudioBuffer(int(signal_.size()), int(std::max<std::int64_t>(1, length_)));
        for (std::size_t c = 0; c < signal_.size(); ++c)
            std::copy(signal_[c].begin(), signal_[c].end(), storage_.channel(int(c)));
    }
    int channels() const override { return int(signal_.size()); }
    bool borrow(int frames, ConstAudioView& out) override {
        if (++calls_ % 3 == 0 || length_ - position_ < frames) return false;
        out = storage_.view().frameRange(int(position_), frames);
        position_ += frames;
        ++lent_;
        return true;
    }
    int read(const AudioView& block) override {
        const int frames = int(std::min<std::int64_t>(block.frames, length_ - position_));
        for (int c = 0; c < block.channels; ++c) std::copy_n(storage_.channel(c) + position_, frames, block.channel(c));
        position_ += frames;
        return frames;
    }
    int lent() const { return lent_; }

private:
    Planar signal_;
    AudioBuffer storage_;
    std::int64_t length_ = 0, position_ = 0;
    int calls_ = 0, lent_ = 0;
};

/// Collects what it is given; optionally refuses its n-th write, like a full disk.
class PlanarSink final : public AudioSink {
public:
    explicit PlanarSink(int channels, int failAtWrite = -1) : signal_(std::size_t(channels)), failAtWrite_(failAtWrite) {}
    bool write(const ConstAudioView& block) override {
        if (writes_++ == failAtWrite_) return false;
        for (int c = 0; c < block.channels; ++c)
            signal_[std::size_t(c)].insert(signal_[std::size_t(c)].end(), block.channel(c), block.channel(c) + block.frames);
        return true;
    }
    const Planar& signal() const { return signal_; }
    std::int64_t frames() const { return signal_.empty() ? 0 : std::int64_t(signal_[0].size()); }
    int writes() const { return writes_; }

private:
    Planar signal_;
    int failAtWrite_;
    int writes_ = 0;
};

Planar noisePlanar(int channels, std::int64_t frames, std::uint32_t seed) {
    Planar out;
    for (int c = 0; c < channels; ++c) out.push_back(test::noise(frames, 0.5f, seed + std::uint32_t(c)));
    return out;
}

/// `signal` padded with silence (or cut) to `frames`, then delayed by `delayFrames`.
Planar shifted(const Planar& signal, std::int64_t frames, std::int64_t delayFrames) {
    Planar out;
    for (const auto& channel : signal) {
        std::vector<float> samples(std::size_t(frames), 0.0f);
        for (std::int64_t n = delayFrames; n < frames; ++n)
            if (n - delayFrames < std::int64_t(channel.size())) samples[std::size_t(n)] = channel[std::size_t(n - delayFrames)];
        out.push_back(std::move(samples));
    }
    return out;
}

/// Frames where `a` and `b` differ, over every channel (sizes must match, else -1).
std::int64_t differingSamples(const Planar& a, const Planar& b) {
    if (a.size() != b.size()) return -1;
    std::int64_t count = 0;
    for (std::size_t c = 0; c < a.size(); ++c) {
        if (a[c].size() != b[c].size()) return -1;
        for (std::size_t n = 0; n < a[c].size(); ++n) count += a[c][n] != b[c][n];
    }
    return count;
}

std::unique_ptr<Program> compileText(const std::string& yaml, int maxBlockFrames, double sampleRate = 48000) {
    Diagnostics diags;
    CompileOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = maxBlockFrames;
    auto program = test::compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    return program;
}

constexpr int kLatencyFrames = 37;
const char* kLatencyGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {look: {type: latency, samples: 37}}
connections: ["mix -> look -> out"]
)";

} // namespace

TEST_CASE("runner: a graph with latency gives back its input, sample-aligned, at every block size", "[runner]") {
    const std::int64_t frames = 10007; // no block size below divides it
    const Planar input = noisePlanar(2, frames, 11);
    for (int block : {1, 7, 64, 1000, 8192}) {
        auto program = compileText(kLatencyGraph, block);
        REQUIRE(program->executor().latencyFrames() == kLatencyFrames);
        PlanarSource source(input);
        PlanarSink sink(2);
        AudioSource* sources[] = {&source};
        AudioSink* sinks[] = {&sink};
        OfflineRunner runner(program->executor(), {.blockFrames = block});
        const RunResult result = runner.run(sources, sinks);
        INFO("block " << block);
        CHECK(result.status == RunStatus::Finished);
        CHECK(result.inputFrames == frames);
        CHECK(result.outputFrames == frames);
        INFO("the null test: output minus input, sample by sample, must be exactly zero");
        CHECK(differingSamples(sink.signal(), input) == 0);
    }
}

TEST_CASE("runner: output is bit-identical for host blocks 1, 7, 64, 1000 and 8192", "[runner]") {
    // A limiter (lookahead latency, state that depends on every frame) after a filter.
    const char* yaml = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  hpf: {type: highpass, freq: 40 Hz, slope: 24}
  boost: {type: gain, gain: 12 dB}
  limit: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms, release: 50 ms}
connections: ["mix -> hpf -> boost -> limit -> out"]
)";
    const std::int64_t frames = 20011;
    const Planar input = noisePlanar(2, frames, 3);
    Planar reference;
    int referenceLatency = -1;
    for (int block : {8192, 1, 7, 64, 1000}) {
        auto program = compileText(yaml, block);
        PlanarSource source(input);
        PlanarSink sink(2);
        AudioSource* sources[] = {&source};
        AudioSink* sinks[] = {&sink};
        OfflineRunner runner(program->executor(), {.blockFrames = block});
        const RunResult result = runner.run(sources, sinks);
        INFO("block " << block);
        CHECK(result.status == RunStatus::Finished);
        CHECK(sink.frames() == frames);
        INFO("5 ms of lookahead at 48 kHz is 240 frames");
        CHECK(runner.latencyFrames() == 240);
        if (referenceLatency < 0) {
            reference = sink.signal();
            referenceLatency = runner.latencyFrames();
        } else {
            CHECK(differingSamples(sink.signal(), reference) == 0);
        }
    }
    // Trimmed by its lookahead, the limited output lines up with the input: the lag that
    // maximises their cross-correlation is 0.
    double best = -1;
    int bestLag = -1000;
    for (int lag = -300; lag <= 300; ++lag) {
        double sum = 0;
        for (std::int64_t n = 1000; n < frames - 1000; ++n)
            sum += double(input[0][std::size_t(n)]) * double(reference[0][std::size_t(n + lag)]);
        if (sum > best) {
            best = sum;
            bestLag = lag;
        }
    }
    INFO("best lag " << bestLag << " frames");
    CHECK(bestLag == 0);
}

TEST_CASE("runner: inputs of different lengths are padded with silence to the longest", "[runner]") {
    const char* yaml = R"(stagegraph: 1
inputs: {a: {channels: 1}, b: {channels: 2}}
outputs: {outA: {channels: 1}, outB: {channels: 2}}
nodes: {lookA: {type: latency, samples: 37}, lookB: {type: latency, samples: 5}}
connections: ["a -> lookA -> outA", "b -> lookB -> outB"]
)";
    const Planar a = noisePlanar(1, 5000, 21), b = noisePlanar(2, 12345, 22);
    for (int block : {1, 64, 8192}) {
        auto program = compileText(yaml, block);
        INFO("the graph's latency is its longest path's");
        CHECK(program->executor().latencyFrames() == 37);
        PlanarSource sourceA(a), sourceB(b);
        PlanarSink sinkA(1), sinkB(2);
        AudioSource* sources[] = {&sourceA, &sourceB};
        AudioSink* sinks[] = {&sinkA, &sinkB};
        OfflineRunner runner(program->executor(), {.blockFrames = block});
        const RunResult result = runner.run(sources, sinks);
        INFO("block " << block);
        CHECK(result.status == RunStatus::Finished);
        CHECK(result.inputFrames == 12345);
        CHECK(result.outputFrames == 12345);
        CHECK(differingSamples(sinkA.signal(), shifted(a, 12345, 0)) == 0);
        CHECK(differingSamples(sinkB.signal(), b) == 0);
    }
    SECTION("a null sink discards its output") {
        auto program = compileText(yaml, 64);
        PlanarSource sourceA(a), sourceB(b);
        PlanarSink sinkB(2);
        AudioSource* sources[] = {&sourceA, &sourceB};
        AudioSink* sinks[] = {nullptr, &sinkB};
        OfflineRunner runner(program->executor(), {.blockFrames = 64});
        CHECK(runner.run(sources, sinks).status == RunStatus::Finished);
        CHECK(differingSamples(sinkB.signal(), b) == 0);
    }
}

TEST_CASE("runner: a source that lends its frames in place gives the same output as one that copies", "[runner]") {
    // Lent blocks, copied blocks and a short last block interleave; the other input copies and
    // ends first. The null test against the inputs, and the same bits as two copying sources.
    const char* yaml = R"(stagegraph: 1
inputs: {a: {channels: 1}, b: {channels: 2}}
outputs: {outA: {channels: 1}, outB: {channels: 2}}
nodes: {lookA: {type: latency, samples: 37}, lookB: {type: latency, samples: 5}}
connections: ["a -> lookA -> outA", "b -> lookB -> outB"]
)";
    const Planar a = noisePlanar(1, 5000, 31), b = noisePlanar(2, 12345, 32);
    for (int block : {1, 7, 64, 1000, 8192}) {
        auto program = compileText(yaml, block);
        PlanarSource sourceA(a);
        LendingSource sourceB(b);
        PlanarSink sinkA(1), sinkB(2);
        AudioSource* sources[] = {&sourceA, &sourceB};
        AudioSink* sinks[] = {&sinkA, &sinkB};
        OfflineRunner runner(program->executor(), {.blockFrames = block});
        const RunResult result = runner.run(sources, sinks);
        INFO("block " << block);
        CHECK(result.status == RunStatus::Finished);
        CHECK(result.inputFrames == 12345);
        CHECK(result.outputFrames == 12345);
        CHECK(sourceB.lent() >= (block < 8192 ? 1 : 0));
        CHECK(differingSamples(sinkA.signal(), shifted(a, 12345, 0)) == 0);
        CHECK(differingSamples(sinkB.signal(), b) == 0);

        // The lending source as the only, and the longer, input of a graph with latency: the
        // frames after its end are silence, and the tail comes out whole.
        auto latency = compileText(kLatencyGraph, block);
        LendingSource lender(b);
        PlanarSink out(2);
        AudioSource* one[] = {&lender};
        AudioSink* oneSink[] = {&out};
        OfflineRunner second(latency->executor(), {.blockFrames = block, .tailFrames = 50});
        const RunResult r = second.run(one, oneSink);
        CHECK(r.status == RunStatus::Finished);
        CHECK(r.outputFrames == 12345 + 50);
        CHECK(differingSamples(out.signal(), shifted(b, 12345 + 50, 0)) == 0);
    }
}

TEST_CASE("runner: a zero-length input gives a zero-length output, or just the tail", "[runner]") {
    auto program = compileText(kLatencyGraph, 64);
    PlanarSource source(Planar(2));
    PlanarSink sink(2);
    AudioSource* sources[] = {&source};
    AudioSink* sinks[] = {&sink};
    OfflineRunner runner(program->executor(), {.blockFrames = 64});
    const RunResult result = runner.run(sources, sinks);
    CHECK(result.status == RunStatus::Finished);
    CHECK(result.inputFrames == 0);
    CHECK(result.outputFrames == 0);
    CHECK(sink.writes() == 0);

    OfflineRunner withTail(program->executor(), {.blockFrames = 64, .tailFrames = 100});
    PlanarSource again(Planar(2));
    PlanarSink tailSink(2);
    AudioSource* tailSources[] = {&again};
    AudioSink* tailSinks[] = {&tailSink};
    const RunResult tailResult = withTail.run(tailSources, tailSinks);
    CHECK(tailResult.status == RunStatus::Finished);
    CHECK(tailResult.outputFrames == 100);
    INFO("silence in, silence out");
    CHECK(differingSamples(tailSink.signal(), Planar(2, std::vector<float>(100, 0.0f))) == 0);
}

TEST_CASE("runner: the tail of a delay rings out for exactly its length", "[runner]") {
    // `delay` is an intended delay: no latency, a tail of D frames. At 44.1 kHz D / rate * rate
    // is not exactly D in floating point, which must not cost or add a frame.
    const char* yaml = R"(stagegraph: 1
inputs: {mix: {channels: 1}}
outputs: {out: {channels: 1}}
nodes: {echo: {type: delay, samples: 100}}
connections: ["mix -> echo -> out"]
)";
    const std::int64_t frames = 3001;
    const Planar input = noisePlanar(1, frames, 5);
    for (int block : {1, 7, 1000}) {
        auto program = compileText(yaml, block, 44100);
        INFO("block " << block);
        CHECK(program->executor().latencyFrames() == 0);
        CHECK(tailFramesOf(program->schedule()) == 100);
        PlanarSource source(input), plainSource(input);
        PlanarSink sink(1), plainSink(1);
        AudioSource* sources[] = {&source};
        AudioSink* sinks[] = {&sink};
        OfflineRunner runner(program->executor(), {.blockFrames = block, .tailFrames = tailFramesOf(program->schedule())});
        const RunResult result = runner.run(sources, sinks);
        CHECK(result.status == RunStatus::Finished);
        CHECK(result.outputFrames == frames + 100);
        INFO("the whole input, 100 frames late");
        CHECK(differingSamples(sink.signal(), shifted(input, frames + 100, 100)) == 0);

        AudioSource* plainSources[] = {&plainSource};
        AudioSink* plainSinks[] = {&plainSink};
        OfflineRunner noTail(program->executor(), {.blockFrames = block});
        CHECK(noTail.run(plainSources, plainSinks).outputFrames == frames);
        INFO("without the tail: as long as the input");
        CHECK(differingSamples(plainSink.signal(), shifted(input, frames, 100)) == 0);
    }
}

TEST_CASE("runner: a stop, a failing source or sink, and non-finite samples end the run there", "[runner]") {
    auto program = compileText(kLatencyGraph, 64);
    const Planar input = noisePlanar(2, 1000, 9);
    PlanarSink sink(2);
    AudioSink* sinks[] = {&sink};

    SECTION("the stop flag, raised after the first block") {
        std::atomic<bool> stop{false};
        PlanarSource source(input);
        AudioSource* sources[] = {&source};
        RunnerOptions options{.blockFrames = 64, .stop = &stop};
        options.onProgress = [&](std::int64_t) { stop = true; };
        OfflineRunner runner(program->executor(), options);
        const RunResult result = runner.run(sources, sinks);
        CHECK(result.status == RunStatus::Stopped);
        INFO("one block of 64 frames, less the 37 of latency");
        CHECK(result.outputFrames == 64 - kLatencyFrames);
        CHECK(sink.frames() == 64 - kLatencyFrames);
    }
    SECTION("a source that fails at its third read") {
        PlanarSource source(input, 2);
        AudioSource* sources[] = {&source};
        OfflineRunner runner(program->executor(), {.blockFrames = 64});
        const RunResult result = runner.run(sources, sinks);
        CHECK(result.status == RunStatus::SourceFailed);
        CHECK(result.failedPort == 0);
        CHECK(result.outputFrames == 2 * 64 - kLatencyFrames);
    }
    SECTION("a sink that fails at its second write") {
        PlanarSource source(input);
        AudioSource* sources[] = {&source};
        PlanarSink failing(2, 1);
        AudioSink* failingSinks[] = {&failing};
        OfflineRunner runner(program->executor(), {.blockFrames = 64});
        const RunResult result = runner.run(sources, failingSinks);
        CHECK(result.status == RunStatus::SinkFailed);
        CHECK(result.failedPort == 0);
        CHECK(failing.writes() == 2);
        CHECK(result.outputFrames == 64 - kLatencyFrames);
    }
    SECTION("a NaN in the input, reported at its input frame") {
        Planar poisoned = input;
        poisoned[1][500] = std::numeric_limits<float>::quiet_NaN();
        PlanarSource source(poisoned);
        AudioSource* sources[] = {&source};
        OfflineRunner runner(program->executor(), {.blockFrames = 64});
        const RunResult result = runner.run(sources, sinks);
        CHECK(result.status == RunStatus::NonFinite);
        CHECK(result.nonFiniteFrame == 500);
        INFO("the NaN leaves the graph at frame 537, in the block 512..575, which is not written");
        CHECK(result.outputFrames == 512 - kLatencyFrames);
    }
    SECTION("a source of the wrong channel count runs nothing") {
        PlanarSource mono(noisePlanar(1, 1000, 9));
        AudioSource* sources[] = {&mono};
        OfflineRunner runner(program->executor(), {.blockFrames = 64});
        const RunResult result = runner.run(sources, sinks);
        CHECK(result.status == RunStatus::Mismatch);
        CHECK(mono.reads() == 0);
        CHECK(sink.writes() == 0);
    }
}

TEST_CASE("runner: a second run starts again from frame 0", "[runner]") {
    auto program = compileText(kLatencyGraph, 64);
    const Planar input = noisePlanar(2, 777, 13);
    OfflineRunner runner(program->executor(), {.blockFrames = 64});
    for (int run = 0; run < 2; ++run) {
        PlanarSource source(input);
        PlanarSink sink(2);
        AudioSource* sources[] = {&source};
        AudioSink* sinks[] = {&sink};
        INFO("run " << run);
        CHECK(runner.run(sources, sinks).status == RunStatus::Finished);
        CHECK(differingSamples(sink.signal(), input) == 0);
    }
}
