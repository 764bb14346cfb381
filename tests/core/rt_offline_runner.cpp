// Real-time safety of the offline runner: run() performs no heap allocation, whatever the block
// size and however long the input (counted by tests/support/RtAllocations).
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/OfflineRunner.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sg;

namespace {

/// A stereo noise source over a fixed buffer; reads allocate nothing.
class BufferSource final : public AudioSource {
public:
    BufferSource(const AudioBuffer& buffer, bool lend) : buffer_(buffer), lend_(lend) {}
    int channels() const override { return buffer_.channels(); }
    /// Lends whole blocks in place when asked to (AudioSource::borrow), as the render pipeline does.
    bool borrow(int frames, ConstAudioView& out) override {
        if (!lend_ || buffer_.frames() - position_ < frames) return false;
        out = buffer_.view().frameRange(position_, frames);
        position_ += frames;
        return true;
    }
    int read(const AudioView& block) override {
        const int frames = std::min(block.frames, buffer_.frames() - position_);
        for (int c = 0; c < block.channels; ++c) std::copy_n(buffer_.channel(c) + position_, frames, block.channel(c));
        position_ += frames;
        return frames;
    }

private:
    const AudioBuffer& buffer_;
    bool lend_;
    int position_ = 0;
};

/// Counts frames and keeps a running sum, so the output is used; allocates nothing.
class SumSink final : public AudioSink {
public:
    bool write(const ConstAudioView& block) override {
        for (int c = 0; c < block.channels; ++c)
            for (int n = 0; n < block.frames; ++n) sum += double(block.channel(c)[n]);
        frames += block.frames;
        return true;
    }
    double sum = 0;
    long frames = 0;
};

} // namespace

TEST_CASE("rt: the offline runner allocates nothing while it runs", "[rt][runner]") {
    int* probe = nullptr;
    REQUIRE(sg::test::allocationsDuring([&] { probe = new int(3); }) == 1);
    delete probe;

    const char* yaml = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  hpf: {type: highpass, freq: 40 Hz}
  limit: {type: limiter, ceiling: -1 dBTP, lookahead: 5 ms}
  echo: {type: delay, time: 3 ms}
connections: ["mix -> hpf -> limit -> echo -> out"]
)";
    AudioBuffer input(2, 30000);
    for (int c = 0; c < 2; ++c) {
        const auto x = sg::test::noise(30000, 0.5f, std::uint32_t(c + 1));
        std::copy(x.begin(), x.end(), input.channel(c));
    }
    for (const bool lend : {false, true})
        for (int block : {1, 64, 8192}) {
            Diagnostics diags;
            CompileOptions options;
            options.maxBlockFrames = block;
            auto program = sg::test::compileYaml(yaml, diags, options);
            INFO(diags.formatAll());
            REQUIRE(program);
            long progressCalls = 0;
            RunnerOptions runnerOptions;
            runnerOptions.blockFrames = block;
            runnerOptions.tailFrames = tailFramesOf(program->schedule());
            runnerOptions.onProgress = [&progressCalls](std::int64_t) { ++progressCalls; };
            OfflineRunner runner(program->executor(), runnerOptions);
            BufferSource source(input, lend);
            SumSink sink;
            AudioSource* sources[] = {&source};
            AudioSink* sinks[] = {&sink};
            RunResult result;
            const long allocations = sg::test::allocationsDuring([&] { result = runner.run(sources, sinks); });
            INFO("block " << block << (lend ? ", lent in place" : ", copied"));
            CHECK(result.status == RunStatus::Finished);
            INFO("the input, then the schedule's tail (at least the delay's 3 ms, 144 frames)");
            CHECK(runnerOptions.tailFrames >= 144);
            CHECK(sink.frames == 30000 + runnerOptions.tailFrames);
            CHECK(progressCalls > 0);
            CHECK(allocations == 0);
        }
}
