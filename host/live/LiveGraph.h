// One graph prepared for live playback.
//
// Built on the control thread: the YAML is loaded, `--set` overrides applied, the graph compiled
// at the session's rate and block size, and its external ports bound to the session's channels:
// the source's channels feed the graph's inputs in declaration order (a stereo file feeds one
// stereo input; a 4-channel file feeds four mono stems), and the graph's outputs, in declaration
// order, are the device's channels. All graphs of a session therefore need the same total input
// and output channel counts.
//
// Latency alignment: every graph of a session is instantiated with the session latency (the
// largest latency among them) as its minimum (InstanceOptions::minLatencyFrames), so the
// compiler's latency compensation delays its outputs to match: switching between graphs of
// different latency is time-aligned, the crossfade mixing the same moment of the music from
// both. The graph is compiled once; a new block size or alignment re-instantiates it.
//
// Processing (restart, process, setParam) belongs to the audio thread once the graph has been
// handed to the engine; the control thread may destroy it only when the engine no longer holds
// it (see LiveEngine.h: `engineUses` and the command counters).
#pragma once

#include "core/Buffer.h"
#include "core/Diagnostics.h"
#include "core/GraphDesc.h"
#include "core/GraphLimits.h"
#include "nodes/meters/LoudnessMeter.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sg {
class Program;
class CompiledGraph;
} // namespace sg

namespace sg::live {

/// The session's audio format, shared by every graph.
struct LiveFormat {
    double sampleRate = 48000; ///< Hz
    int maxBlockFrames = 256;  ///< most frames one process() call gets
    int sourceChannels = 2;    ///< channels of the file or input device
    int outputChannels = 2;    ///< device output channels; 0 = take the first graph's
    bool meters = true;        ///< prepare the loudness meter used for --match-loudness
};

/// Loudness matching state of one graph (audio thread, seeded by the control thread).
struct MatchGain {
    double targetDb = 0;  ///< gain that brings this graph to the reference loudness
    double appliedDb = 0; ///< gain applied now (slews toward targetDb)
    bool known = false;   ///< targetDb comes from a measurement (else 0 dB)
};

class LiveGraph {
public:
    ~LiveGraph();
    LiveGraph(const LiveGraph&) = delete;
    LiveGraph& operator=(const LiveGraph&) = delete;

    /// Loads, overrides and compiles `path` for `format`. Returns nullptr with the graph's
    /// errors in `diags`, or with `error` set for a port mismatch (channels that do not fit).
    static std::unique_ptr<LiveGraph> create(const std::string& path, const std::vector<std::string>& overrides,
                                             const LiveFormat& format, Diagnostics& diags, std::string& error,
                                             const LoadOptions& load = {});

    const std::string& path() const { return path_; }         ///< the YAML file
    const std::string& name() const { return name_; }         ///< the graph's name (or the file's stem)
    const std::string& fileText() const { return fileText_; } ///< the top file's text when loaded
    int latencyFrames() const { return ownLatencyFrames_; }   ///< the graph's own latency
    int inputChannels() const { return inputChannels_; }      ///< total over its inputs
    int outputChannels() const { return outputChannels_; }    ///< total over its outputs
    const GraphDesc& desc() const { return desc_; }

    /// Re-instantiates the compiled graph so its output lags its input by `sessionLatencyFrames`
    /// (>= latencyFrames(); a smaller value leaves the graph unaligned). Allocates; setup time,
    /// before the graph is handed to the engine. Returns "" or the compiler's message.
    std::string alignTo(int sessionLatencyFrames);
    /// Re-instantiates for blocks of at most `maxBlockFrames` (the device's period), keeping the
    /// alignment, without reloading the YAML. Setup time. Returns "" or the compiler's message.
    std::string setMaxBlockFrames(int maxBlockFrames);
    /// Runs a few blocks of noise through the graph (and its meters), then restart(): every
    /// buffer, table and code path of process() is touched once on the control thread, so the
    /// first callbacks take no page fault, no lazy symbol binding and no cold cache for them.
    /// Nothing of it remains in the signal (restart() clears all state). Setup time.
    void warmUp();
    /// Most frames one process() call takes (the block size it was instantiated for).
    int maxBlockFrames() const { return maxBlockFrames_; }
    /// Frames of delay added by alignTo() on top of the graph's own latency.
    int alignmentFrames() const { return alignFrames_; }

    /// Resolves "node.param" and a value written as in YAML ("-3 dB", "2 kHz") to a handle for
    /// setParam() and the value in base units. Returns "" or a message. Control thread.
    std::string resolveParam(const std::string& target, const std::string& valueText, int& handle, double& value) const;
    /// The node parameters "node.param" names: itself, or for a template or file parameter
    /// ("vocal_ch.level") every node parameter it reaches unchanged (GraphDesc::paramBindings).
    std::vector<std::string> paramTargets(const std::string& target) const;

    /// Runs `seconds`-long excerpt `source` (sourceChannels x frames) through the graph and
    /// returns the gain in dB that brings its output's integrated loudness to the source's (a
    /// first estimate for --match-loudness), or nullopt if either is silent. Then restarts.
    /// Control thread, before the graph is handed to the engine.
    std::optional<double> calibrateMatchGain(const AudioBuffer& source);

    // ---- audio thread ----------------------------------------------------------------------

    /// Clears all signal state (nodes, meters) and restarts at position 0.
    void restart() noexcept;
    /// Processes source (sourceChannels x frames) into out (outputChannels x frames).
    void process(const AudioView& source, const AudioView& out) noexcept;
    /// Sets a parameter from the current position on (smoothed as the node declares).
    void setParam(int handle, double value) noexcept;
    /// Frames processed since restart().
    std::int64_t playedFrames() const noexcept { return playedFrames_; }
    /// Non-finite output samples replaced by silence since restart().
    std::uint64_t nonFiniteSamples() const noexcept;

    /// Feeds the loudness meters used by --match-loudness: the source block this graph just
    /// processed and its output, so both meters see the same windows (reset together).
    void measure(const ConstAudioView& source, const ConstAudioView& out) noexcept;
    /// Loudness of this graph's input and output since restart() (momentary or short-term).
    const LoudnessMeter& inputMeter() const { return inputMeter_; }
    const LoudnessMeter& outputMeter() const { return outputMeter_; }
    /// True when both meters could be prepared (at most kLoudnessMaxChannels each way).
    bool metered() const { return metered_; }
    MatchGain match; ///< --match-loudness state (audio thread)

    // ---- ownership handshake (see LiveEngine.h) --------------------------------------------
    std::atomic<int> engineUses{0};                 ///< slots of the engine that hold this graph
    std::atomic<std::uint64_t> commandsConsumed{0}; ///< engine: commands naming this graph taken
    std::uint64_t commandsPosted = 0;               ///< control thread: commands naming this graph sent
    /// Control thread: true when the engine neither holds this graph nor has a command for it.
    bool releasedByEngine() const;

private:
    LiveGraph();

    std::string path_, name_, fileText_;
    GraphDesc desc_;
    std::shared_ptr<const CompiledGraph> compiled_;
    std::unique_ptr<Program> program_;
    double sampleRate_ = 48000;
    int ownLatencyFrames_ = 0;
    int inputChannels_ = 0, outputChannels_ = 0;
    std::vector<int> inputFirstChannel_, outputFirstChannel_; // per executor port
    std::vector<ConstAudioView> inputViews_;
    std::vector<AudioView> outputViews_;
    int maxBlockFrames_ = 0;
    int alignFrames_ = 0;
    LoudnessMeter inputMeter_, outputMeter_;
    bool metered_ = false;
    std::vector<const float*> inputPointers_, outputPointers_;
    std::int64_t playedFrames_ = 0;
};

} // namespace sg::live
