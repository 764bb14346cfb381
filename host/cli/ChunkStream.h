// Chunks of frames handed from one thread to another, in order: the render pipeline's reader ->
// runner -> writer hand-offs (host/cli/RenderPipeline.cpp) and --target's pass 2
// (host/cli/Target.cpp). A stream has kChunkSlots buffers; every slot is in exactly one queue
// (free: the producer's, full: the consumer's) or held by one thread, so a push never waits and
// nothing allocates after construction. One hand-off (mutex and condition variable: offline work)
// per chunk, so small blocks cost no more synchronisation than large ones.
#pragma once

#include "core/Buffer.h"
#include "core/OfflineRunner.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace sg::cli {

/// Chunks in flight per stream (one being filled, one being used, the rest queued).
inline constexpr int kChunkSlots = 4;

/// A FIFO of slot indices between two threads.
class SlotQueue {
public:
    SlotQueue();
    void push(int slot);
    /// The oldest slot; waits for one. -1 once closed and empty, or cancelled.
    int pop();
    /// No more pushes: pop() returns -1 once the queue is empty.
    void close();
    /// pop() returns -1 from now on, queued slots or not.
    void cancel();

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
    std::vector<AudioBuffer> buffers;     ///< per slot, chunkFrames frames
    std::vector<int> frames;              ///< per slot: frames it holds
    std::vector<std::int64_t> errorFrame; ///< per slot (sources): the frame a read failed at, -1 if none
    std::vector<std::string> errors;      ///< per slot (sources): the producer's message
    SlotQueue free, full;

    ChunkStream(int channels, int chunkFrames);
    void cancel();
};

/// Copies `frames` frames from `from` at `fromStart` to `to` at `toStart`, channel by channel.
void copyFrames(const ConstAudioView& from, int fromStart, const AudioView& to, int toStart, int frames);

/// The consumer's end of a stream that a producer thread fills. A read error is returned (-1)
/// by the first read whose block reaches the frame where the producer failed, as a sequential
/// loop would meet it.
class ChunkSource final : public AudioSource {
public:
    ChunkSource(ChunkStream& stream, int channels) : stream_(stream), channels_(channels) {}
    int channels() const override { return channels_; }
    int read(const AudioView& block) override;
    /// A view of the current chunk when it holds the whole block (the executor's blocks divide
    /// the chunks, so every block but the last): no copy. Whatever else (the end, a read error
    /// in the block, a block across two chunks) is left to read().
    bool borrow(int frames, ConstAudioView& out) override;
    /// The producer's message for a read that failed.
    const std::string& error() const { return error_; }

private:
    ChunkStream& stream_;
    int channels_;
    int slot_ = -1, offset_ = 0;
    std::int64_t position_ = 0;
    bool ended_ = false;
    std::string error_;
};

/// The producer's end of a stream that a consumer thread empties, a chunk at a time.
class ChunkSink final : public AudioSink {
public:
    ChunkSink(ChunkStream& stream, int chunkFrames, const std::atomic<bool>& consumerFailed)
        : stream_(stream), chunkFrames_(chunkFrames), consumerFailed_(consumerFailed) {}
    /// False once the consumer has failed (or the stream was cancelled).
    bool write(const ConstAudioView& block) override;
    /// In the current chunk when the block fits in it whole (the runner's blocks divide the
    /// chunks; after the latency's first block they may straddle two, once a chunk).
    bool reserve(int frames, AudioView& out) override;
    bool commit(int frames) override;
    /// Hands over what is buffered, then no more: the consumer finishes.
    void finish();

private:
    void submit();
    ChunkStream& stream_;
    int chunkFrames_;
    const std::atomic<bool>& consumerFailed_;
    int slot_ = -1, fill_ = 0;
};

/// Takes the next frames of a chunked stream; returns "" or an error (then nothing more is
/// consumed).
using ChunkConsume = std::function<std::string(const ConstAudioView&)>;

/// Takes the next `frames` frames as interleaved integers (io::quantize()'s, `channels` a frame);
/// returns "" or an error (then nothing more is consumed).
using QuantisedConsume = std::function<std::string(const std::int32_t* interleaved, int frames)>;

/// Threads that each consume, in order, every chunk the producer fills: one copy of the frames
/// for all of them (the encoding of `render --target` hands what the writer stores to the
/// loudness meter, the peak meter and the encoder). The producer writes the frames in place
/// (reserve, then commit); a slot is free again once every consumer is done with it. The frames
/// are planar floats, or (the second constructor) interleaved integers: the quantised samples an
/// encoder packs as they are and meters convert on their own threads.
class ChunkFanOut {
public:
    ChunkFanOut(int channels, int chunkFrames, std::vector<ChunkConsume> consumers);
    ChunkFanOut(int channels, int chunkFrames, std::vector<QuantisedConsume> consumers);
    ~ChunkFanOut();
    ChunkFanOut(const ChunkFanOut&) = delete;
    ChunkFanOut& operator=(const ChunkFanOut&) = delete;
    /// Where the next `frames` (1 .. chunkFrames) frames go: written by the caller, then
    /// commit(frames). False once a consumer has failed (nothing more is consumed).
    bool reserve(int frames, AudioView& out);
    /// reserve() for the integer frames: room for `count` (1 .. `frames`) interleaved frames
    /// at `out`.
    bool reserveQuantised(int frames, std::int32_t*& out, int& count);
    void commit(int frames);
    /// Hands over what is committed and waits until every consumer is done. Returns "" or the
    /// first consumer's error.
    std::string finish();
    /// Whether a consumer has failed.
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    int chunkFrames() const { return chunkFrames_; }

private:
    ChunkFanOut(int channels, int chunkFrames, std::size_t consumers, bool quantised);
    /// Takes a free slot when none is being filled; false once a consumer has failed.
    bool nextSlot(int frames);
    void submit();
    void run(std::size_t consumer);
    std::vector<ChunkConsume> consume_;
    std::vector<QuantisedConsume> consumeQuantised_;
    int channels_;
    int chunkFrames_;
    std::vector<AudioBuffer> buffers_;              ///< per slot (planar floats)
    std::vector<std::vector<std::int32_t>> ints_;   ///< per slot (interleaved integers)
    std::vector<int> frames_;                       ///< per slot: frames it holds
    std::unique_ptr<std::atomic<int>[]> remaining_; ///< per slot: consumers not yet done with it
    SlotQueue free_;                                ///< the producer's
    std::vector<std::unique_ptr<SlotQueue>> full_;  ///< per consumer
    std::atomic<bool> failed_{false};
    std::mutex errorMutex_;
    std::string error_; ///< the first consumer's error
    std::vector<std::thread> threads_;
    int slot_ = -1, fill_ = 0;
};

/// A thread that consumes, in order, what is written to sink() (keeps and measures a run's
/// result), so that the work on each side uses its own core: a ChunkFanOut of one consumer
/// behind an AudioSink.
class ChunkConsumer {
public:
    ChunkConsumer(int channels, int chunkFrames, ChunkConsume consume);
    AudioSink& sink() { return sink_; }
    /// Hands over what is buffered and waits until everything is consumed. Returns "" or the
    /// consumer's error.
    std::string finish() { return fanOut_.finish(); }

private:
    /// The runner's end: blocks written in place when they fit a chunk, else copied (write).
    class Sink final : public AudioSink {
    public:
        explicit Sink(ChunkFanOut& fanOut) : fanOut_(fanOut) {}
        /// False once the consumer has failed.
        bool write(const ConstAudioView& block) override;
        bool reserve(int frames, AudioView& out) override;
        bool commit(int frames) override;

    private:
        ChunkFanOut& fanOut_;
    };
    ChunkFanOut fanOut_;
    Sink sink_{fanOut_};
};

/// A thread that produces, in order, what source() reads (reads a scratch file ahead).
class ChunkProducer {
public:
    /// Fills the view from its first frame: returns the frames produced (fewer than asked: the
    /// end), or -1 after setting `error`.
    using Produce = std::function<std::int64_t(const AudioView&, std::string& error)>;
    ChunkProducer(int channels, int chunkFrames, Produce produce);
    ~ChunkProducer();
    ChunkProducer(const ChunkProducer&) = delete;
    ChunkProducer& operator=(const ChunkProducer&) = delete;
    ChunkSource& source() { return source_; }

private:
    void run(int chunkFrames);
    Produce produce_;
    ChunkStream stream_;
    ChunkSource source_;
    std::thread thread_;
};

} // namespace sg::cli
