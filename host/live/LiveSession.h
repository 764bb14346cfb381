// A live session: graphs played on an audio device, switched and changed while they play.
//
// Threads (see docs/live.md):
//   control (the caller): loads and compiles graphs, reads commands, draws the status line,
//     frees graphs the engine no longer holds;
//   audio (the device's callback thread): LiveEngine, real-time safe;
//   reader (file mode): keeps the input ring ahead of the audio thread;
//   tee writer (--tee): empties the output ring into the file.
//
// Timing: the output of a session lags its input by the session latency L (the largest latency
// among its graphs; every graph is aligned to it). Playing a file ends after the file's frames
// plus L, so nothing is cut, unless --loop; --duration ends it earlier. The tee holds exactly
// the frames sent to the device from the first callback to that end: for a file of N frames and
// one graph, tee[L + n] == the offline render's frame n for 0 <= n < N (the render trims L), and
// tee[0 .. L) is the graph's response to the silence before the file (zeros for a graph without
// state), all bit for bit.
#pragma once

#include "host/io/AudioFile.h"
#include "host/live/AudioDevice.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace sg::live {

inline constexpr int kLiveMinBlockFrames = 1;        ///< smallest --block
inline constexpr int kLiveMaxBlockFrames = 8192;     ///< largest --block
inline constexpr double kLiveMaxCrossfadeMs = 10000; ///< longest --crossfade

/// Everything the command line can ask for.
struct LiveOptions {
    std::vector<std::string> graphPaths;       ///< graph 1, 2, ... (switch N)
    std::string inputFile;                     ///< -i FILE ("" = an input device)
    bool useInputDevice = false;               ///< --input-device given (or no -i)
    std::string inputDevice;                   ///< index or name; "" = the default input
    std::string outputDevice;                  ///< --device: index or name; "" = the default output
    AudioApi api = AudioApi::Default;          ///< --api
    unsigned sampleRateHz = 0;                 ///< --rate; 0 = the file's, or the device's
    int blockFrames = 256;                     ///< --block: the period asked of the device
    double durationSeconds = 0;                ///< --duration; 0 = no limit
    bool loop = false;                         ///< --loop
    bool matchLoudness = false;                ///< --match-loudness
    double crossfadeMs = 50;                   ///< --crossfade
    std::string teePath;                       ///< --tee FILE
    std::optional<io::OutputFormat> teeFormat; ///< --format (default wav32f for .wav, flac24 for .flac)
    std::vector<std::string> overrides;        ///< --set node.param=VALUE (applied to every graph with the node)
    std::vector<std::string> includeDirs;      ///< --include-dir: more folders `use:` may read from
    double levelDb = 0;                        ///< monitor level at start
    double cycleSeconds = 0;                   ///< --cycle: switch to the next graph every S seconds played (0 = off)
    bool keepAwake = false;                    ///< --keep-awake: no CPU idles while the session plays (KeepAwake.h)
};

/// Where the session talks to.
struct LiveConsole {
    int commandFd = 0;         ///< commands (lines) or keys (terminal); -1 = none
    std::FILE* out = stdout;   ///< the summary
    std::FILE* err = stderr;   ///< errors, messages, the status line
    int interactive = -1;      ///< keys + status line: 1 on, 0 off, -1 = if both are terminals
    bool handleSignals = true; ///< SIGINT / SIGTERM stop the session cleanly
};

/// What a session did (for the summary and for tests).
struct LiveSummary {
    std::string apiName, outputDeviceName;
    double sampleRateHz = 0;
    int blockFrames = 0; ///< the device's period
    int sessionLatencyFrames = 0;
    std::uint64_t callbacks = 0;
    std::int64_t frames = 0; ///< frames of the program sent
    std::uint64_t xruns = 0;
    std::int64_t firstXrunFrame = -1; ///< frames sent before the first xrun (-1 = none)
    std::int64_t underrunFrames = 0;
    std::int64_t teeOverflowFrames = 0;
    std::int64_t teeFrames = 0;
    std::uint64_t nonFiniteSamples = 0;
    float largestStep = 0;              ///< largest |y[n] - y[n-1]| sent to the device (clicks, gaps, cuts)
    std::int64_t largestStepFrame = -1; ///< the frame where it happened (-1 = none)
    std::uint64_t switches = 0;         ///< crossfades completed
    int failedCompiles = 0;             ///< graphs that did not compile while live
    double meanProcessUs = 0, p50ProcessUs = 0, p99ProcessUs = 0, p999ProcessUs = 0, worstProcessUs = 0;
    // What the longest callback was made of (see CallbackProbe.h), and the gaps between callbacks.
    double worstCpuUs = 0;               ///< CPU time of the longest callback
    std::int64_t worstPageFaults = 0;    ///< page faults during it
    std::int64_t worstSwitches = 0;      ///< involuntary context switches during it
    std::int64_t worstWaits = 0;         ///< voluntary switches during it (it blocked)
    double worstAtSeconds = 0;           ///< when it ran (periods since the start)
    double heaviestCpuUs = 0;            ///< most CPU time of any one callback: its own work, at most
    double heaviestAtSeconds = 0;        ///< when it ran
    std::int64_t callbackPageFaults = 0; ///< page faults in all callbacks
    std::int64_t callbackSwitches = 0;   ///< involuntary switches in all callbacks
    std::int64_t callbackWaits = 0;      ///< voluntary switches in all callbacks (blocking)
    double longestGapUs = 0;             ///< longest time between two callback starts
    double longestGapAtSeconds = 0;      ///< when it ended
    std::uint64_t lateStarts = 0;        ///< callbacks that started over 1.5 periods after the last
    bool memoryLocked = false;           ///< mlockall succeeded: no page of the session faults in a callback
    int keptAwakeCpus = 0;               ///< --keep-awake: CPUs kept from idling (KeepAwake.h)
    double deadlineUs = 0;               ///< period / rate
    double maxMomentaryLufs = -HUGE_VAL, maxShortTermLufs = -HUGE_VAL, truePeakDbtp = -HUGE_VAL;
    std::vector<int> graphsPlayed; ///< the graph playing after each switch (1-based), starting with the first
};

/// Runs a session until the file ends, --duration passes, `quit`, or SIGINT/SIGTERM. Returns the
/// exit status: 0 done; 1 device, file or processing failure; 2 usage or graph error.
int runLiveSession(const LiveOptions& options, const LiveConsole& console, LiveSummary* summary = nullptr);

/// Prints the devices of `api` (every compiled API for Default). Returns the exit status.
int printDevices(AudioApi api, std::FILE* out, std::FILE* err);

} // namespace sg::live
