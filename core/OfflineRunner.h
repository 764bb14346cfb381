// Runs an executor over sources and sinks, offline: the one block loop every host shares.
//
// The output is sample-aligned with the input: the first latencyFrames() output frames are
// dropped and latencyFrames() frames of silence are fed after the inputs end, so output frame n
// is the graph's response to input frame n. The output is as long as the longest input; shorter
// inputs are padded with silence. With a tail (tailFrames > 0, e.g. tailFramesOf(schedule)),
// that many more frames are rendered after the longest input so reverbs and filters ring out.
// With a fixed duration (durationFrames >= 0) the output is exactly that long instead: the way
// a graph of sources only (noise, sine, sweep) is rendered.
//
// Sources and sinks are per external port, in the executor's port order. The runner owns one
// block of every input and output (allocated in the constructor): run() copies each source's
// frames into it (or takes a view of them where the source lends one, AudioSource::borrow), calls Executor::process once per
// block, and hands every sink the trimmed frames. run() never allocates; what it calls (sources, sinks, onProgress) decides
// whether the whole run is real-time safe.
#pragma once

#include "core/Buffer.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace sg {

class Executor;
struct Schedule;

/// Frames for one external input.
class AudioSource {
public:
    virtual ~AudioSource() = default;
    /// Channels of every block this source fills.
    virtual int channels() const = 0;
    /// Fills the first frames of `block` (block.channels == channels()) with the next frames.
    /// Returns the frames read: block.frames until the end, fewer only at the end (then 0 on
    /// every later call), or -1 on an error (the run stops; the source keeps its message).
    virtual int read(const AudioView& block) = 0;
    /// Optional, instead of read(): the next `frames` frames where the source already holds
    /// them, without a copy. True: `out` views exactly `frames` frames (block.channels ==
    /// channels()), valid until the next call of borrow() or read(), and the source has advanced.
    /// False (the default): nothing advanced, read() is called for these frames.
    virtual bool borrow(int frames, ConstAudioView& out) {
        (void)frames;
        (void)out;
        return false;
    }
};

/// Where the frames of one external output go.
class AudioSink {
public:
    virtual ~AudioSink() = default;
    /// Takes the next frames of the output (any count >= 1). Returns false on an error (the
    /// run stops after this block; the sink keeps its message).
    virtual bool write(const ConstAudioView& block) = 0;
    /// Where the next `frames` frames may be written in place, when the sink's own buffer holds
    /// them whole (so the runner's executor writes there, and nothing is copied); then commit()
    /// takes them as write() would. False: write() them. Until commit, nothing is taken.
    virtual bool reserve(int frames, AudioView& out) {
        (void)frames;
        (void)out;
        return false;
    }
    /// Takes the `frames` frames written where reserve() said. Returns false on an error, as write().
    virtual bool commit(int frames) {
        (void)frames;
        return true;
    }
};

/// Frames of tail of a compiled schedule: ceil(tailSeconds * sampleRate).
std::int64_t tailFramesOf(const Schedule& schedule);

/// How a run goes.
struct RunnerOptions {
    int blockFrames = 1024;      ///< frames per Executor::process call (>= 1; the executor cuts larger ones)
    std::int64_t tailFrames = 0; ///< frames rendered after the longest input ends (beyond the latency)
    /// >= 0: write exactly this many output frames, whatever the inputs (shorter ones are padded
    /// with silence, longer ones are not read to their end; tailFrames is ignored). A graph with
    /// no inputs (sources only) needs it. -1: as long as the longest input, plus the tail.
    std::int64_t durationFrames = -1;
    /// Polled before every block; true stops the run (RunStatus::Stopped). May be null.
    const std::atomic<bool>* stop = nullptr;
    /// Stop at the first block whose outputs held a non-finite sample (RunStatus::NonFinite);
    /// that block is not written.
    bool stopOnNonFinite = true;
    /// Called after every block with the output frames written so far. May be empty.
    std::function<void(std::int64_t outputFrames)> onProgress = {};
};

/// How a run ended.
enum class RunStatus {
    Finished,     ///< every input consumed, latency (and tail) rendered, everything written
    Stopped,      ///< the stop flag was raised
    SourceFailed, ///< a source returned -1 (failedPort names it)
    SinkFailed,   ///< a sink returned false (failedPort names it)
    NonFinite,    ///< the graph produced NaN or infinity (nonFiniteFrame says where)
    Mismatch,     ///< sources or sinks do not fit the executor's ports (nothing was run)
};

/// What a run did.
struct RunResult {
    RunStatus status = RunStatus::Finished;
    std::int64_t inputFrames = 0;    ///< frames of the longest input (so far, if it did not finish)
    std::int64_t outputFrames = 0;   ///< frames written to each sink
    int failedPort = -1;             ///< SourceFailed: input index; SinkFailed: output index
    std::int64_t nonFiniteFrame = 0; ///< NonFinite: first affected frame, in output (= input) frames
    std::string mismatch;            ///< Mismatch: what does not fit
};

/// One executor, its block buffers, and the loop over them.
class OfflineRunner {
public:
    /// Allocates one block of every input and output of `executor` (which must outlive the runner).
    OfflineRunner(Executor& executor, const RunnerOptions& options);
    ~OfflineRunner();
    OfflineRunner(const OfflineRunner&) = delete;
    OfflineRunner& operator=(const OfflineRunner&) = delete;

    /// Resets the executor and runs it from frame 0 until every source has ended and the latency
    /// (and tail) has been rendered. sources[i] feeds executor input i; sinks[o] takes output o
    /// (a null sink discards it). Never allocates.
    RunResult run(std::span<AudioSource* const> sources, std::span<AudioSink* const> sinks);

    /// Whole-graph latency trimmed from the output, in frames.
    int latencyFrames() const;
    /// The options given to the constructor.
    const RunnerOptions& options() const { return options_; }

private:
    Executor& executor_;
    RunnerOptions options_;
    std::vector<AudioBuffer> inputBlocks_, outputBlocks_;
    std::vector<ConstAudioView> inputViews_, inputBlockViews_; ///< per input: this block's frames, borrowed or read
    std::vector<AudioView> outputViews_;
    std::vector<char> outputReserved_; ///< per output: this block is written in its sink's buffer
    std::vector<char> inputEnded_;
};

} // namespace sg
