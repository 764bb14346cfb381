// The audio-thread side of a live session: graph slots, crossfade, loudness matching, meters.
//
// The engine is the device callback. Per period it takes commands from a lock-free queue, reads
// the source (from the input ring that the file reader fills, or from the device input), runs
// the playing graph, and while a switch is under way also the incoming one, mixes them, meters
// the result, copies it to the tee ring and to the device. It never allocates, locks, logs,
// throws or touches a file: everything it needs is allocated by the constructor and by the
// control thread (graphs).
//
// Switching (equal-power crossfade, no gap): the incoming graph is restarted and first *warms
// up* silently for `warmupFrames` (the session latency plus a margin, so its delay lines hold
// real signal and filter start-up transients have decayed), then the two are mixed over F =
// crossfadeFrames frames with
//     w_in[i] = sin(pi/2 * i/F),  w_out[i] = cos(pi/2 * i/F) = w_in[F - i],   i = 0 .. F,
// so w_in^2 + w_out^2 = 1 (constant power for uncorrelated signals) and w_in + w_out >= 1 (no
// dip for correlated ones: every graph is latency-aligned, so both carry the same moment of the
// music). The weights change by at most sin(pi/(2F)) <= pi/(2F) per frame. A switch that
// arrives during a fade waits (only the latest waiting one is kept) and starts when the fade
// ends; one that arrives during the warm-up replaces the warming graph at once.
//
// Loudness matching: each graph meters its own input and output (both meters restarted with the
// graph, so they measure the same windows). Its gain target is L_in - L_out, from the
// short-term loudness once 3 s have played, from the momentary loudness after 400 ms, and
// before that the last known value (or the control thread's calibration). So every graph plays
// at the source's short-term loudness. The applied gain slews at kMatchSlewDbPerSecond; an
// incoming graph starts at its target (it is silent when the fade begins).
//
// Ownership: a graph passed in a command stays owned by the control thread. The engine counts
// the slots that hold it (`engineUses`) and the commands naming it it has taken
// (`commandsConsumed`, stored after engineUses is raised); the control thread frees a graph only
// when both show the engine is done with it (LiveGraph::releasedByEngine()).
#pragma once

#include "core/Buffer.h"
#include "host/live/AudioDevice.h"
#include "host/live/AudioRing.h"
#include "host/live/CallbackProbe.h"
#include "host/live/ProcessTimes.h"
#include "host/live/SpscQueue.h"
#include "nodes/meters/LoudnessMeter.h"

#include <atomic>
#include <cstdint>
#include <vector>

namespace sg::live {

class LiveGraph;

/// How fast an applied match gain follows its target, dB per second.
inline constexpr double kMatchSlewDbPerSecond = 3.0;
/// How fast the monitor level follows a change, dB per second.
inline constexpr double kLevelSlewDbPerSecond = 60.0;
/// Warm-up margin beyond the session latency before a crossfade starts, in frames.
inline constexpr int kWarmupMarginFrames = 2048;

/// Fixed at construction.
struct EngineConfig {
    double sampleRate = 48000;         ///< Hz
    int maxBlockFrames = 256;          ///< frames per internal chunk (callbacks may be longer)
    int sourceChannels = 2;            ///< channels read from the ring or the device input
    int outputChannels = 2;            ///< channels sent to the device
    int crossfadeFrames = 2400;        ///< F (0 = a cut)
    int warmupFrames = 2048;           ///< silent run of the incoming graph before the fade
    int sessionLatencyFrames = 0;      ///< every graph's output lags its input by this much
    AudioRing* inputRing = nullptr;    ///< file mode: the source comes from here, else from the device
    std::int64_t sourceFrames = -1;    ///< file mode without loop: frames in the file (then the tail)
    std::int64_t maxOutputFrames = -1; ///< --duration: stop after this many frames (-1 = never)
    AudioRing* teeRing = nullptr;      ///< --tee: every frame sent to the device is copied here
    bool outputMeter = true;           ///< meter the output for the status line
    bool matchLoudness = false;        ///< --match-loudness at start
    double levelDb = 0;                ///< monitor level at start
};

/// A command from the control thread.
struct EngineCommand {
    enum class Kind : std::uint8_t { Switch, SetParam, Level, Match };
    Kind kind = Kind::Switch;
    LiveGraph* graph = nullptr; ///< Switch, SetParam
    int graphIndex = 0;         ///< Switch: the session's number for the graph (for status)
    int handle = -1;            ///< SetParam
    double value = 0;           ///< SetParam (base units), Level (dB), Match (0 / 1)
};

class LiveEngine final : public AudioCallback {
public:
    /// Allocates every buffer. Control thread.
    explicit LiveEngine(const EngineConfig& config);
    ~LiveEngine() override;
    LiveEngine(const LiveEngine&) = delete;
    LiveEngine& operator=(const LiveEngine&) = delete;

    /// Control thread, before the first callback: the graph that plays from the start.
    void setInitialGraph(LiveGraph* graph, int graphIndex);
    /// Control thread: queues a command (counts it on its graph). False when the queue is full.
    bool post(const EngineCommand& command);

    /// The device callback (also callable directly, e.g. by tests and benchmarks).
    void processAudio(const float* const* input, float* const* output, int frames, bool xrun) noexcept override;

    // ---- readings, any thread ------------------------------------------------------------------
    const EngineConfig& config() const { return config_; }
    bool finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    int currentGraph() const noexcept { return currentIndex_.load(std::memory_order_relaxed); } ///< playing (or fading out)
    int targetGraph() const noexcept {
        return targetIndex_.load(std::memory_order_relaxed);
    } ///< where a switch is going (= current if none)
    std::uint64_t switchesCompleted() const noexcept { return switches_.load(std::memory_order_relaxed); }
    std::uint64_t callbacks() const noexcept { return callbacks_.load(std::memory_order_relaxed); }
    std::int64_t framesOut() const noexcept { return framesOut_.load(std::memory_order_relaxed); } ///< frames of the program sent
    std::uint64_t xruns() const noexcept { return xruns_.load(std::memory_order_relaxed); } ///< callbacks the driver flagged
    /// Frames sent before the first flagged callback (-1 = none): where the first xrun was heard.
    std::int64_t firstXrunFrame() const noexcept { return firstXrunFrame_.load(std::memory_order_relaxed); }
    std::int64_t underrunFrames() const noexcept {
        return underrunFrames_.load(std::memory_order_relaxed);
    } ///< source frames missing (reader late)
    std::int64_t teeOverflowFrames() const noexcept {
        return teeOverflow_.load(std::memory_order_relaxed);
    } ///< frames the tee ring could not take
    std::uint64_t nonFiniteSamples() const noexcept { return nonFinite_.load(std::memory_order_relaxed); }
    /// The largest |y[n] - y[n-1]| of any output channel so far (y[-1] = 0): a click, a gap or a cut
    /// shows here. Frame: where it happened (the later sample), -1 = none yet.
    float largestStep() const noexcept { return largestStepShown_.load(std::memory_order_relaxed); }
    std::int64_t largestStepFrame() const noexcept { return largestStepFrame_.load(std::memory_order_relaxed); }
    double matchGainDb() const noexcept { return matchDb_.load(std::memory_order_relaxed); }  ///< applied to the playing graph
    double levelDb() const noexcept { return levelShownDb_.load(std::memory_order_relaxed); } ///< monitor level target
    bool matching() const noexcept { return matchShown_.load(std::memory_order_relaxed); }
    /// Longest callback since the last call, ns (resets the figure).
    std::int64_t takeRecentWorstNanoseconds() noexcept { return recentWorstNs_.exchange(0, std::memory_order_relaxed); }
    /// Process times of every callback.
    const ProcessTimes& processTimes() const { return times_; }
    /// The longest callback's CPU time, page faults and preemptions, and the gaps between callbacks.
    CallbackReport callbackReport() const noexcept { return probe_.report(); }
    /// The output meter's last published readings (momentary, short-term, true peak, ...).
    LoudnessSnapshot outputLoudness() const noexcept;

private:
    void takeCommands() noexcept;
    void beginSwitch(LiveGraph* graph, int index) noexcept;
    void hold(LiveGraph* graph) noexcept;
    void release(LiveGraph*& slot) noexcept;
    void runChunk(const float* const* input, float* const* output, int offset, int frames) noexcept;
    void updateMatch(LiveGraph& graph, int frames) noexcept;

    EngineConfig config_;
    SpscQueue<EngineCommand> commands_;
    AudioBuffer source_, mixA_, mixB_;
    std::vector<float> fadeTable_; // sin(pi/2 * i/F), i = 0..F
    std::vector<const float*> meterPointers_;
    std::vector<float> lastOutput_; // per output channel: the last sample sent
    float largestStep_ = 0;
    LoudnessMeter outputMeter_;
    bool outputMetered_ = false;

    // audio-thread state
    LiveGraph* current_ = nullptr;
    LiveGraph* next_ = nullptr;
    LiveGraph* pending_ = nullptr;
    int currentIdx_ = 0, nextIdx_ = 0, pendingIdx_ = 0;
    std::int64_t fadePosition_ = 0; // < 0 while warming up; 0..F during the fade
    bool matchEnabled_ = false;
    double levelTargetDb_ = 0, levelAppliedDb_ = 0;
    std::int64_t sourcePosition_ = 0; // source frames consumed
    std::int64_t tailPlayed_ = 0;     // frames played after the source ended
    std::int64_t framesPlayed_ = 0;

    // published
    std::atomic<bool> finished_{false};
    std::atomic<int> currentIndex_{0}, targetIndex_{0};
    std::atomic<std::uint64_t> switches_{0}, callbacks_{0}, xruns_{0}, nonFinite_{0};
    std::atomic<std::int64_t> framesOut_{0}, underrunFrames_{0}, teeOverflow_{0}, recentWorstNs_{0}, firstXrunFrame_{-1};
    std::atomic<double> matchDb_{0}, levelShownDb_{0};
    std::atomic<float> largestStepShown_{0};
    std::atomic<std::int64_t> largestStepFrame_{-1};
    std::atomic<bool> matchShown_{false};
    ProcessTimes times_;
    CallbackProbe probe_;
};

} // namespace sg::live
