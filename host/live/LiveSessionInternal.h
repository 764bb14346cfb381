// Internal to host/live/LiveSession*.cpp and Live{Setup,Control,Status}.cpp: the Session class
// behind runLiveSession, split by concern:
//   LiveSetup.cpp    the source (file or input device), the graphs, the stream, the tee;
//   LiveControl.cpp  keys and stdin commands while playing: switch, set, reload, level, match;
//   LiveStatus.cpp   messages, the status line and the summary at the end.
#pragma once

#include "host/live/LiveSession.h"

#include "host/cli/CommandLine.h"

#include "core/Compiler.h"
#include "core/GraphLoader.h"
#include "host/live/AudioRing.h"
#include "host/live/FileStreams.h"
#include "host/live/KeepAwake.h"
#include "host/live/LiveCommands.h"
#include "host/live/LiveEngine.h"
#include "host/live/LiveGraph.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sg::live::detail {

using cli::kExitFailure;
using cli::kExitOk;
using cli::kExitUsage;

/// Seconds of audio the input and tee rings hold: the reader and the writer may stall this
/// long (disk, scheduler) before the audio thread notices. They poll every kPollMilliseconds.
constexpr double kRingSeconds = 1.5;
/// Calibration excerpt for --match-loudness (file mode: from a third into the file, at most 30 s in).
constexpr double kCalibrationSeconds = 10.0;
/// Status line redraws per second.
constexpr int kStatusPerSecond = 10;
/// A stream that calls back no more for this long has stopped: RtAudio's JACK back end closes
/// the stream when the server goes away and reports it on stderr only, not through its error
/// callback, so the control thread watches the callbacks themselves (any API, any cause).
constexpr double kStallSeconds = 3.0;

/// Locks every page the process has mapped now into memory (mlockall(MCL_CURRENT)), so the
/// audio thread takes no page fault on them. False without the privilege or under the limit.
bool lockMemory();
/// Undoes lockMemory() (a session run inside a longer process leaves nothing locked).
void unlockMemory();

/// 'text', for names in messages.
inline std::string quoted(const std::string& text) { return "'" + text + "'"; }

/// "-23.4 LUFS", "-inf dBTP": a level with one decimal and its unit.
std::string formatLevel(double value, const char* unit);
/// The whole content of a file ("" if it cannot be read): a graph file, to notice it changed.
std::string readText(const std::string& path);
/// Deterministic pink noise at about -20 dBFS RMS, the same on every channel: the calibration
/// signal for --match-loudness with an input device.
AudioBuffer pinkNoise(int channels, int frames);

/// The device's callback before the engine exists: silence. The stream is opened first (it
/// decides the period the engine is built for) and started only once the engine is set.
class CallbackSlot final : public AudioCallback {
public:
    void set(AudioCallback* target) { target_.store(target, std::memory_order_release); }
    void processAudio(const float* const* input, float* const* output, int frames, bool xrun) noexcept override {
        // The stream starts after set(), so there is always a target; without one, play nothing.
        if (AudioCallback* target = target_.load(std::memory_order_acquire)) target->processAudio(input, output, frames, xrun);
    }

private:
    std::atomic<AudioCallback*> target_{nullptr};
};

/// One graph of the command line, as the control thread keeps it.
struct GraphEntry {
    std::string path;
    std::vector<std::string> overrides;          // --set lines for this graph
    std::map<std::string, std::string> liveSets; // `set` commands, kept across reloads
    std::unique_ptr<LiveGraph> instance;         // the compiled graph that `switch N` plays
};

class Session {
public:
    Session(const LiveOptions& options, const LiveConsole& console) : options_(options), console_(console) {}
    int run(LiveSummary* summary);

private:
    // setup
    int prepareSource();
    int prepareGraphs();
    int fitGraphsToDevice(int blockFrames);
    std::unique_ptr<LiveGraph> compile(GraphEntry& entry, Diagnostics& diags, std::string& error) const;
    void calibrate(LiveGraph& graph) const;
    // while playing
    void controlLoop();
    void handleInput();
    void cycle(); // --cycle: the next switch when it is due
    void handleLine(const std::string& line);
    void execute(const LiveCommand& command);
    bool recompile(int index, const char* why);
    void switchTo(int index);
    void collectGarbage();
    void reportSwitches();
    void drawStatus(bool force);
    std::string statusText();
    void message(const std::string& text);
    void error(const std::string& text);
    int finish(int status, LiveSummary* summary);

    LiveOptions options_;
    LiveConsole console_;
    bool interactive_ = false;

    // source
    FileFeeder feeder_;
    bool fileMode_ = false;
    double sampleRate_ = 0;
    int sourceChannels_ = 0;
    std::int64_t sourceFrames_ = -1;
    AudioBuffer calibration_;

    // graphs
    LiveFormat format_;
    std::vector<GraphEntry> graphs_;
    std::vector<std::unique_ptr<LiveGraph>> graveyard_;
    int sessionLatency_ = 0;
    int failedCompiles_ = 0;
    std::int64_t nextCycleFrame_ = 0; // --cycle: frames played at the next switch (0 = not set yet)

    // audio
    CallbackSlot callbackSlot_;
    std::unique_ptr<AudioRing> inputRing_, teeRing_;
    std::unique_ptr<LiveEngine> engine_;
    AudioStream stream_;
    StreamInfo streamInfo_;
    TeeWriter tee_;
    bool teeOpen_ = false;
    bool memoryLocked_ = false;  // mlockall before the stream started
    KeepAwake keepAwake_;        // --keep-awake: from before the stream starts to after it closes
    bool deviceStopped_ = false; // no callback for kStallSeconds: the session ended on it

    // control state
    double levelDb_ = 0;
    bool quit_ = false;
    bool commandsOpen_ = true;
    std::string lineBuffer_;
    bool prompting_ = false;
    std::string prompt_;
    std::uint64_t switchesSeen_ = 0;
    std::vector<int> graphsPlayed_;
    bool statusShown_ = false;
    std::chrono::steady_clock::time_point lastStatus_{};
    std::uint64_t lastCallbacks_ = 0;
    std::int64_t lastTotalNs_ = 0;
    double shownLoadPercent_ = 0, shownPeakPercent_ = 0;
};

} // namespace sg::live::detail
