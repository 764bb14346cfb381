// `stagegraph demo [--stems DIR] [--keep DIR] [--force] [--length SECONDS] [--json]`: the
// mixing-vs-mastering story, end to end, on the built-in song (host/cli/DemoSong.h).
//
// The seven stems are rendered through two mixing graphs (graphs/teaching/mix-balanced.yaml and
// mix-flawed.yaml), each composed with a master by a session graph (session-*.yaml: `use:` of
// the mix and of graphs/mastering/streaming.yaml) and rendered again with the master swapped
// (`--swap mastering=graphs/mastering/loud.yaml`), all with the same code path as
// `stagegraph render`. It prints, per mix and per master, the figures of the lessons
// (docs/teaching/): loudness, true peak, PLR, the energy of three bands relative to the whole,
// the low end's short-term loudness range and the limiter's gain reduction, then one caption per
// lesson. --json prints the same figures as one JSON object.
//
// --stems DIR writes the stems (DIR/stems/*.wav, 32-bit float) and the graphs (DIR/teaching/,
// DIR/mixing/parts/, DIR/mastering/) so `stagegraph render DIR/teaching/session-flawed.yaml
// -o master=m.wav -o mix=x.wav` works from there; --keep DIR keeps the rendered mixes and
// masters. Existing files are never replaced unless --force; every file is written through a
// temporary file and renamed into place.
#pragma once

#include "core/Buffer.h"

#include <optional>
#include <string>
#include <vector>

namespace sg::cli {

/// `stagegraph demo ARGS…`. Returns the exit status.
int runDemo(const std::vector<std::string>& args);

/// The options of `demo`.
struct DemoOptions {
    std::string stemsFolder; ///< --stems DIR ("" = none)
    std::string keepFolder;  ///< --keep DIR ("" = temporary)
    bool force = false;      ///< --force: replace existing files
    double seconds = 48;     ///< --length: song length in seconds (8 .. 60, whole bars)
    bool json = false;       ///< --json
    bool help = false;       ///< -h / --help
};

/// Parses the arguments of `demo` (host/cli/DemoArgs.cpp). Returns "" or a usage error.
std::string parseDemoArguments(const std::vector<std::string>& args, DemoOptions& options);
/// The usage text of `demo`.
const char* demoUsage();

/// The figures of the lessons, measured on one stereo file (host/cli/Demo.cpp).
struct TeachingFigures {
    double integratedLufs = 0; ///< BS.1770-5, LUFS
    double truePeakDbtp = 0;   ///< BS.1770-5 Annex 2, dBTP
    double plrDb = 0;          ///< true peak - integrated loudness, dB
    double vocalBandDb = 0;    ///< energy 500 Hz - 2.5 kHz relative to the whole, dB
    double lowBandDb = 0;      ///< energy 50 - 120 Hz relative to the whole, dB
    double harshBandDb = 0;    ///< energy 2 - 8 kHz relative to the whole, dB
    double harshLevelDb = 0;   ///< energy 2 - 8 kHz, mean square per channel in dB re full scale
    double lowRangeDb = 0;     ///< spread (P95 - P10) of the 3 s loudness below 120 Hz, dB
};
/// Band edges of the vocal and low figures, Hz (4th-order Butterworth high-pass and low-pass at
/// each edge). Harshness (2-8 kHz) and the low-end range are compare's (host/cli/CompareFigures.h).
inline constexpr double kVocalBandHz[2] = {500, 2500};
inline constexpr double kLowBandHz[2] = {50, 120};
inline constexpr double kHarshBandHz[2] = {2000, 8000};
/// The figures of `audio` (1 or 2 channels; at least 3 s).
TeachingFigures measureTeachingFigures(const AudioBuffer& audio, double sampleRate);
/// Energy of `audio` between loHz and hiHz relative to its whole energy, dB (all channels).
double bandRelativeDb(const AudioBuffer& audio, double sampleRate, double loHz, double hiHz);

/// The demo's synthetic stereo mix: `seconds` long at `sampleRate`, peak at -6 dBFS.
/// Deterministic (fixed noise seed).
AudioBuffer makeDemoMix(double sampleRate, double seconds);

/// Peak of one channel in dBFS (20 log10 max |x|; -inf for silence).
double peakDbfs(const float* samples, int frames);
/// RMS of one channel in dBFS (full-scale sine = -3.01 dBFS; -inf for silence).
double rmsDbfs(const float* samples, int frames);

/// Integrated loudness in LUFS (ITU-R BS.1770-5, gated; sg::LoudnessMeter), or nullopt when
/// nothing passes the gates or the meter cannot take the channel count (1..8).
std::optional<double> integratedLoudnessLufs(const AudioBuffer& audio, double sampleRate);
/// True peak in dBTP (BS.1770-5 Annex 2, 4x), or nullopt for silence or an unmeasurable buffer.
std::optional<double> truePeakDbtp(const AudioBuffer& audio, double sampleRate);

/// Where the shipped graphs are: $STAGEGRAPH_GRAPHS, <exe>/../graphs, <exe>/../../graphs,
/// <exe>/../share/stagegraph/graphs, and the source tree (STAGEGRAPH_SOURCE_DIR), in that order.
std::vector<std::string> graphSearchFolders();
/// The first folder of graphSearchFolders() holding `relativePath`, joined with it; "" if none.
std::string findShippedGraph(const std::string& relativePath);

} // namespace sg::cli
