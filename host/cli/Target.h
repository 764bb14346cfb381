// Rendering to a loudness target: `stagegraph render … --target VALUE [--ceiling dBTP]`.
//
// VALUE is a loudness ("-14LUFS", "-14 LUFS", "-24 LKFS", "-14") or a preset:
//   spotify -14 LUFS / -1 dBTP, apple -16 / -1, youtube -14 / -1, amazon -14 / -2,
//   ebu-r128 -23 / -1, atsc-a85 -24 / -2            (../shared/standards/loudness.md)
// --ceiling (with its unit, -20 .. 0 dBTP) overrides the preset's true-peak ceiling; a bare
// loudness has -1 dBTP.
//
// Two streamed passes per written output, memory bounded for any length:
//   1. the graph is rendered once into an unlinked float temp file in the output's folder
//      (TempSampleFile) while a LoudnessMeter measures it: integrated loudness I1;
//   2. the temp file is streamed through a compiled graph, `gain` (target - I1 dB) -> `limiter`
//      (ceiling = target ceiling - kLimiterMarginDb, lookahead 5 ms, release 50 ms), run by the
//      OfflineRunner (which trims the limiter's lookahead), into the writer's quantisation and
//      dither; WrittenSampleMeter measures exactly the samples stored. If the
//      integrated loudness misses by more than kLandingToleranceLu (limiting lowers it) the gain
//      is corrected (secant steps) and pass 2 runs again; if the true peak exceeds the ceiling,
//      the limiter's ceiling is lowered by the excess and pass 2 runs again; at most kMaxPass2Runs.
//   The output is committed only when it lands within kAcceptToleranceLu with its true peak at
//   or under the ceiling; otherwise the render fails (exit 1) and names what was reached.
// Every written output of a multi-output graph is delivered to the target on its own (its own
// gain and limiter): a graph with stems and a master brings each to the target.
#pragma once

#include "core/Buffer.h"
#include "host/cli/Figures.h"
#include "host/io/AudioFile.h"
#include "host/io/Dither.h"
#include "nodes/meters/LoudnessMeter.h"

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sg::cli {

/// A delivery target: integrated loudness and true-peak ceiling.
struct LoudnessTarget {
    std::string name;            ///< preset name ("spotify"), or "" for a bare loudness
    double integratedLufs = -14; ///< LUFS
    double ceilingDbtp = -1;     ///< dBTP
    double maxGainDb = 20;       ///< --max-gain: the most gain pass 2 may apply, dB (more is refused)
};

inline constexpr double kMinTargetLufs = -60;        ///< quietest --target
inline constexpr double kMaxTargetLufs = -1;         ///< loudest --target
inline constexpr double kMinCeilingDbtp = -20;       ///< lowest --ceiling
inline constexpr double kMaxCeilingDbtp = 0;         ///< highest --ceiling
inline constexpr double kLandingToleranceLu = 0.02;  ///< pass 2 is repeated while further off
inline constexpr double kAcceptToleranceLu = 0.1;    ///< the promise: the file lands within this
inline constexpr double kLimiterMarginDb = 0.02;     ///< the limiter aims this far under the ceiling
inline constexpr int kMaxPass2Runs = 8;              ///< most runs of pass 2 per output
inline constexpr double kHeavyLimitingDb = 3;        ///< mean gain reduction that earns a warning
inline constexpr double kDefaultMaxGainDb = 20;      ///< --max-gain default, dB
inline constexpr double kMaxMaxGainDb = 60;          ///< largest --max-gain, dB
inline constexpr double kLoudnessBlockSeconds = 0.4; ///< BS.1770 gating block: shorter has no loudness

/// The presets, in the order of the usage text.
const std::vector<LoudnessTarget>& loudnessPresets();
/// Parses a --target value (preset names are case-insensitive). Returns "" or a usage error.
std::string parseLoudnessTarget(const std::string& text, LoudnessTarget& out);
/// Parses a --ceiling value: a true-peak level with its unit ("-1dBTP", "-1 dBTP"), within
/// kMinCeilingDbtp .. kMaxCeilingDbtp. Returns "" or a usage error.
std::string parseCeiling(const std::string& text, double& ceilingDbtp);

/// Parses a --max-gain value: a gain in dB ("20dB", "20 dB", "20") from 0 to kMaxMaxGainDb.
/// Returns "" or a usage error.
std::string parseMaxGain(const std::string& text, double& maxGainDb);

/// Measures exactly the samples an io::AudioFileWriter stores for the same views in the same
/// order: for integer formats the same TPDF dither sequence (same seed) and quantisation
/// (io::quantize), read back as q / 2^(bits-1); for wav32f the floats themselves.
class WrittenSampleMeter {
public:
    /// Prepares for `channels` at `sampleRate` (meter limits: 1..8 channels, 8..768 kHz).
    /// Returns "" or an error.
    std::string prepare(double sampleRate, int channels, io::OutputFormat format,
                        std::uint64_t ditherSeed = io::TpdfDither::kDefaultSeed);
    /// Measures the frames of `view` as the writer will store them.
    void process(const ConstAudioView& view);
    /// The meter (its readings cover everything processed).
    const LoudnessMeter& meter() const { return meter_; }

private:
    LoudnessMeter meter_;
    io::TpdfDither dither_;
    int bits_ = 0; ///< 0 = float samples
    int channels_ = 0;
    std::vector<float> interleaved_, ditherScratch_;
    std::vector<std::int32_t> quantised_;
    AudioBuffer planar_;
};

/// An interleaved float32 scratch file in a given folder, unlinked as soon as it is created (so
/// nothing is left behind on any exit path, even a crash); the open descriptor keeps it alive.
class TempSampleFile {
public:
    TempSampleFile() = default;
    ~TempSampleFile();
    TempSampleFile(const TempSampleFile&) = delete;
    TempSampleFile& operator=(const TempSampleFile&) = delete;

    /// Creates the file in `folder` for `channels` channels. Returns "" or an error.
    std::string create(const std::string& folder, int channels);
    /// Appends the frames of `view`. Returns "" or an error (e.g. disk full).
    std::string write(const ConstAudioView& view);
    /// Moves back to the first frame for reading.
    std::string rewind();
    /// Reads up to view.frames frames; returns the frames read (0 at the end) or -1 on error.
    std::int64_t read(const AudioView& view);
    std::int64_t frames() const { return frames_; } ///< frames written
    int channels() const { return channels_; }      ///< as created

private:
    std::FILE* file_ = nullptr;
    int channels_ = 0;
    std::int64_t frames_ = 0;
    std::vector<float> interleaved_;
};

/// What delivering one output to the target did.
struct TargetResult {
    OutputFigures before;           ///< the graph's output (pass 1)
    OutputFigures after;            ///< the written file
    double gainDb = 0;              ///< gain applied before the limiter
    double limiterCeilingDbtp = 0;  ///< the limiter's ceiling in the last pass
    double maxGainReductionDb = 0;  ///< the limiter's, last pass
    double meanGainReductionDb = 0; ///< over all frames
    double limitedPercent = 0;      ///< share of frames limited
    int pass2Runs = 0;              ///< runs of pass 2 (1 .. kMaxPass2Runs)
    double pass2Seconds = 0;        ///< time of all runs of pass 2
};

/// Pass 2 for one output: streams `source` (rewound here) through gain + limiter into `writer`
/// (opened here on `path`; left uncommitted on success so that the caller commits every output
/// together). `before` holds the pass-1 figures of `source`. `interrupted` is polled between
/// blocks. Returns "" or an error; on error `writer` holds nothing.
std::string deliverToTarget(TempSampleFile& source, const OutputFigures& before, const LoudnessTarget& target,
                            const std::string& path, io::OutputFormat format, const std::vector<std::string>& protectedPaths,
                            io::AudioFileWriter& writer, TargetResult& result, bool showProgress,
                            const volatile std::sig_atomic_t* interrupted);

} // namespace sg::cli
