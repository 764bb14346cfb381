#include "host/cli/RenderPipeline.h"

#include "core/Executor.h"
#include "core/OfflineRunner.h"
#include "host/cli/CommandLine.h"
#include "host/cli/Progress.h"
#include "host/cli/RenderText.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace sg::cli {

namespace {

/// Frames a pipeline chunk holds at least.
constexpr int kPipelineChunkFrames = 16384;
/// Chunks in flight per stream (one being filled, one being used, the rest queued).
constexpr int kPipelineSlots = 4;

/// A FIFO of slot indices between two threads (mutex and condition variable: offline work, one
/// hand-off per chunk). Every slot is in exactly one queue or held by one thread, so push never
/// waits and nothing allocates after construction.
class SlotQueue {
public:
    SlotQueue() : slots_(kPipelineSlots) {}
    void push(int slot) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            slots_[std::size_t((head_ + count_) % kPipelineSlots)] = slot;
            ++count_;
        }
        ready_.notify_all();
    }
    /// The oldest slot; waits for one. -1 once closed and empty, or cancelled.
    int pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return count_ > 0 || closed_ || cancelled_; });
        if (cancelled_ || count_ == 0) return -1;
        const int slot = slots_[std::size_t(head_)];
        head_ = (head_ + 1) % kPipelineSlots;
        --count_;
        return slot;
    }
    /// No more pushes: pop() returns -1 once the queue is empty.
    void close() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }
    /// pop() returns -1 from now on, queued slots or not.
    void cancel() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            cancelled_ = true;
        }
        ready_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<int> slots_;
    int head_ = 0, count_ = 0;
    bool closed_ = false, cancelled_ = false;
};

/// Chunks of one port's frames between two threads: free slots go to the producer, full ones
/// to the consumer.
struct ChunkStream {
    std::vector<AudioBuffer> buffers;     // per slot, chunkFrames frames
    std::vector<int> frames;              // per slot: frames it holds
    std::vector<std::int64_t> errorFrame; // per slot (inputs): the frame a read failed at, -1 if none
    std::vector<std::string> errors;      // per slot (inputs): the reader's message
    SlotQueue free, full;

    ChunkStream(int channels, int chunkFrames) {
        for (int s = 0; s < kPipelineSlots; ++s) {
            buffers.emplace_back(channels, chunkFrames);
            free.push(s);
        }
        frames.assign(kPipelineSlots, 0);
        errorFrame.assign(kPipelineSlots, -1);
        errors.resize(kPipelineSlots);
    }
    void cancel() {
        free.cancel();
        full.cancel();
    }
};

/// Copies `frames` frames from `from` at `fromStart` to `to` at `toStart`, channel by channel.
void copyFrames(const ConstAudioView& from, int fromStart, const AudioView& to, int toStart, int frames) {
    for (int c = 0; c < to.channels; ++c)
        std::memcpy(to.channel(c) + toStart, from.channel(c) + fromStart, sizeof(float) * std::size_t(frames));
}

/// One input, as the reader thread decoded it. A read error is returned (-1) by the first read
/// whose block reaches the frame where the file failed, as a sequential render would meet it.
class ChunkSource final : public AudioSource {
public:
    ChunkSource(ChunkStream& stream, int channels) : stream_(stream), channels_(channels) {}
    int channels() const override { return channels_; }
    int read(const AudioView& block) override {
        const std::int64_t blockEnd = position_ + block.frames;
        int done = 0;
        while (done < block.frames) {
            if (slot_ >= 0) {
                const auto s = std::size_t(slot_);
                if (stream_.errorFrame[s] >= 0 && stream_.errorFrame[s] < blockEnd) {
                    error_ = stream_.errors[s];
                    return -1;
                }
                if (offset_ < stream_.frames[s]) {
                    const int frames = std::min(block.frames - done, stream_.frames[s] - offset_);
                    copyFrames(stream_.buffers[s].view(), offset_, block, done, frames);
                    offset_ += frames;
                    done += frames;
                    position_ += frames;
                    continue;
                }
                stream_.free.push(slot_);
                slot_ = -1;
            }
            if (ended_) break;
            slot_ = stream_.full.pop();
            offset_ = 0;
            if (slot_ < 0) ended_ = true; // the file's end (the reader closed the stream)
        }
        return done;
    }
    /// A view of the current chunk when it holds the whole block (the executor's blocks divide
    /// the chunks, so every block but the last): no copy. Whatever else (the end, a read error
    /// in the block, a block across two chunks) is left to read().
    bool borrow(int frames, ConstAudioView& out) override {
        if (ended_) return false;
        // A read error that this block reaches stays with read(), which reports it.
        if (slot_ >= 0 && stream_.errorFrame[std::size_t(slot_)] >= 0 &&
            stream_.errorFrame[std::size_t(slot_)] < position_ + frames)
            return false;
        if (slot_ >= 0 && offset_ >= stream_.frames[std::size_t(slot_)]) {
            stream_.free.push(slot_);
            slot_ = -1;
        }
        if (slot_ < 0) {
            slot_ = stream_.full.pop();
            offset_ = 0;
            if (slot_ < 0) {
                ended_ = true;
                return false;
            }
        }
        const auto s = std::size_t(slot_);
        if (stream_.errorFrame[s] >= 0 && stream_.errorFrame[s] < position_ + frames) return false;
        if (stream_.frames[s] - offset_ < frames) return false;
        out = stream_.buffers[s].view().frameRange(offset_, frames);
        offset_ += frames;
        position_ += frames;
        return true;
    }
    /// The reader's message for a read that failed.
    const std::string& error() const { return error_; }

private:
    ChunkStream& stream_;
    int channels_;
    int slot_ = -1, offset_ = 0;
    std::int64_t position_ = 0;
    bool ended_ = false;
    std::string error_;
};

/// One output, handed to the writer thread a chunk at a time.
class ChunkSink final : public AudioSink {
public:
    ChunkSink(ChunkStream& stream, int chunkFrames, const std::atomic<bool>& writerFailed)
        : stream_(stream), chunkFrames_(chunkFrames), writerFailed_(writerFailed) {}
    bool write(const ConstAudioView& block) override {
        if (writerFailed_.load(std::memory_order_acquire)) return false;
        for (int done = 0; done < block.frames;) {
            if (slot_ < 0) {
                slot_ = stream_.free.pop();
                fill_ = 0;
                if (slot_ < 0) return false; // cancelled
            }
            const int frames = std::min(block.frames - done, chunkFrames_ - fill_);
            copyFrames(block, done, stream_.buffers[std::size_t(slot_)].view(), fill_, frames);
            fill_ += frames;
            done += frames;
            if (fill_ == chunkFrames_) submit();
        }
        return true;
    }
    /// Hands over what is buffered, then no more: the writer finishes this output.
    void finish() {
        if (slot_ >= 0 && fill_ > 0) submit();
        stream_.full.close();
    }

private:
    void submit() {
        stream_.frames[std::size_t(slot_)] = fill_;
        stream_.full.push(slot_);
        slot_ = -1;
    }
    ChunkStream& stream_;
    int chunkFrames_;
    const std::atomic<bool>& writerFailed_;
    int slot_ = -1, fill_ = 0;
};

/// Owns the streams and the threads; the destructor cancels and joins whatever still runs, so
/// every early return stops them before the files and meters they use go away.
struct Pipeline {
    std::vector<std::unique_ptr<ChunkStream>> inputStreams, outputStreams; // output: null if not written
    std::vector<std::unique_ptr<ChunkSource>> sources;
    std::vector<std::unique_ptr<ChunkSink>> sinks;
    std::thread readerThread, writerThread;
    std::atomic<bool> writerFailed{false};
    std::string writerError; // set before writerFailed, read after the join

    ~Pipeline() {
        for (auto& stream : inputStreams) stream->cancel();
        for (auto& stream : outputStreams)
            if (stream) stream->cancel();
        if (readerThread.joinable()) readerThread.join();
        if (writerThread.joinable()) writerThread.join();
    }
    /// Lets the writer finish what is queued and waits for it. True if every write succeeded.
    bool finishWriting() {
        for (auto& sink : sinks)
            if (sink) sink->finish();
        if (writerThread.joinable()) writerThread.join();
        return !writerFailed.load(std::memory_order_acquire);
    }
};

/// Decodes every input into its stream, round robin, until each file has ended or failed.
void readInputs(RenderPlan& plan, Pipeline& pipeline, int chunkFrames) {
    const std::size_t count = pipeline.inputStreams.size();
    std::vector<char> done(count, 0);
    for (std::size_t finished = 0; finished < count;) {
        for (std::size_t k = 0; k < count; ++k) {
            if (done[k]) continue;
            ChunkStream& stream = *pipeline.inputStreams[k];
            io::AudioFileReader& reader = plan.readers[std::size_t(plan.inputSlot[k])];
            const int slot = stream.free.pop();
            if (slot < 0) return; // cancelled
            const auto s = std::size_t(slot);
            const std::int64_t start = reader.position();
            const int frames = int(std::min<std::int64_t>(chunkFrames, reader.frames() - start));
            std::int64_t got = frames > 0 ? reader.read(stream.buffers[s].view().frameRange(0, frames)) : 0;
            stream.errorFrame[s] = -1;
            if (got < 0) {
                stream.errorFrame[s] = reader.position();
                stream.errors[s] = reader.error();
                got = std::clamp<std::int64_t>(reader.position() - start, 0, frames);
            }
            stream.frames[s] = int(got);
            stream.full.push(slot);
            if (stream.errorFrame[s] >= 0 || got < chunkFrames || reader.position() >= reader.frames()) {
                stream.full.close();
                done[k] = 1;
                ++finished;
            }
        }
    }
}

/// Dithers, encodes and meters every written output, chunk by chunk, in order.
void writeOutputs(RenderOutputs& outputs, Pipeline& pipeline) {
    std::vector<const float*> meterPointers(kLoudnessMaxChannels);
    const std::size_t count = pipeline.outputStreams.size();
    std::vector<char> done(count, 0);
    std::size_t finished = 0;
    // Writes and meters frames of output k (at the output rate).
    auto deliver = [&](std::size_t k, const ConstAudioView& out) {
        std::string error;
        if (outputs.targeting) {
            error = outputs.pass1Files[k]->write(out);
            for (int c = 0; c < out.channels; ++c) meterPointers[std::size_t(c)] = out.channel(c);
            outputs.pass1Meters[k]->process(meterPointers.data(), out.frames);
        } else {
            error = outputs.writers[k].write(out);
            if (outputs.meters[k]) outputs.meters[k]->process(out);
        }
        if (!error.empty()) {
            pipeline.writerError = std::move(error);
            pipeline.writerFailed.store(true, std::memory_order_release);
        }
    };
    for (std::size_t k = 0; k < count; ++k)
        if (!pipeline.outputStreams[k]) done[k] = 1, ++finished;
    while (finished < count) {
        for (std::size_t k = 0; k < count; ++k) {
            if (done[k]) continue;
            ChunkStream& stream = *pipeline.outputStreams[k];
            const int slot = stream.full.pop();
            if (slot < 0) {
                // --output-rate: the resampler's tail, up to exactly round(frames * out/in) frames.
                if (outputs.resamplers[k])
                    for (ConstAudioView tail = outputs.resamplers[k]->flush(); tail.frames > 0 && !pipeline.writerFailed.load();
                         tail = outputs.resamplers[k]->flush())
                        deliver(k, tail);
                done[k] = 1;
                ++finished;
                continue;
            }
            const auto s = std::size_t(slot);
            if (!pipeline.writerFailed.load(std::memory_order_relaxed)) {
                const ConstAudioView out(stream.buffers[s].view().frameRange(0, stream.frames[s]));
                deliver(k, outputs.resamplers[k] ? outputs.resamplers[k]->process(out) : out);
            }
            stream.free.push(slot); // after a failure: keep recycling, write nothing
        }
    }
}

} // namespace

int runRenderPipeline(const RenderRequest& request, RenderPlan& plan, RenderOutputs& outputs, StreamedRender& streamed) {
    Executor& executor = plan.program->executor();
    const auto& execInputs = executor.inputs();
    const auto& execOutputs = executor.outputs();
    const int block = request.blockFrames;
    const int chunkFrames = block * ((kPipelineChunkFrames + block - 1) / block);

    std::int64_t totalFrames = 0;
    for (const auto& reader : plan.readers) totalFrames = std::max(totalFrames, reader.frames());
    if (plan.durationFrames >= 0) totalFrames = plan.durationFrames; // --duration: exactly this long
    ProgressBar progress(outputs.targeting ? "pass 1" : "rendering", totalFrames, stderr,
                         request.showProgress && ProgressBar::isTerminal(stderr));
    streamed.started = std::chrono::steady_clock::now();

    Pipeline pipeline;
    std::vector<AudioSource*> sources;
    std::vector<AudioSink*> sinks;
    for (const auto& port : execInputs) {
        pipeline.inputStreams.push_back(std::make_unique<ChunkStream>(port.channels, chunkFrames));
        pipeline.sources.push_back(std::make_unique<ChunkSource>(*pipeline.inputStreams.back(), port.channels));
        sources.push_back(pipeline.sources.back().get());
    }
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        if (!outputs.writes[k]) {
            pipeline.outputStreams.push_back(nullptr);
            pipeline.sinks.push_back(nullptr);
            sinks.push_back(nullptr);
            continue;
        }
        pipeline.outputStreams.push_back(std::make_unique<ChunkStream>(execOutputs[k].channels, chunkFrames));
        pipeline.sinks.push_back(std::make_unique<ChunkSink>(*pipeline.outputStreams.back(), chunkFrames, pipeline.writerFailed));
        sinks.push_back(pipeline.sinks.back().get());
    }
    pipeline.readerThread = std::thread([&] { readInputs(plan, pipeline, chunkFrames); });
    pipeline.writerThread = std::thread([&] { writeOutputs(outputs, pipeline); });

    std::atomic<bool> stop{*interruptFlag() != 0};
    RunnerOptions options;
    // On several threads, a chunk per call: the executor hands its workers a round of blocks
    // at a time, so they meet once per chunk rather than twice per block (same output).
    options.blockFrames = executor.workerThreads() > 1 ? chunkFrames : block;
    options.durationFrames = plan.durationFrames;
    options.stop = &stop;
    options.onProgress = [&](std::int64_t outputFrames) {
        progress.update(outputFrames);
        if (*interruptFlag()) stop.store(true, std::memory_order_relaxed);
    };
    OfflineRunner runner(executor, options);
    const RunResult result = runner.run(sources, sinks);

    // A failure at a block: what came before is written first, and a write error there is the
    // one the single-threaded loop would have met first.
    auto fail = [&](const std::string& message) {
        const bool written = pipeline.finishWriting();
        progress.finish();
        printRenderError(written ? message : pipeline.writerError);
        return kExitFailure;
    };
    switch (result.status) {
    case RunStatus::Finished:
        break;
    case RunStatus::Stopped:
        progress.finish();
        printRenderError("interrupted; no output written");
        return kExitInterrupted;
    case RunStatus::SourceFailed:
        return fail(pipeline.sources[std::size_t(result.failedPort)]->error());
    case RunStatus::SinkFailed:
        return fail(pipeline.writerError);
    case RunStatus::NonFinite: {
        std::string names;
        for (const auto& port : execOutputs) names += (names.empty() ? "" : ", ") + quotedText(port.name);
        char when[64];
        std::snprintf(when, sizeof when, " (%.3f s)", double(result.nonFiniteFrame) / plan.sampleRate);
        return fail(std::string("the graph produced non-finite samples (NaN or infinity) at ") +
                    (execOutputs.size() == 1 ? "output " : "one of the outputs ") + names + ", first at frame " +
                    std::to_string(result.nonFiniteFrame) + when + "; no output written");
    }
    case RunStatus::Mismatch:
        return fail("internal: " + result.mismatch);
    }
    if (!pipeline.finishWriting()) return fail(pipeline.writerError);
    progress.finish();
    if (*interruptFlag()) {
        printRenderError("interrupted; no output written");
        return kExitInterrupted;
    }
    streamed.frames = result.outputFrames;
    streamed.pass1Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - streamed.started).count();
    return kExitOk;
}

} // namespace sg::cli
