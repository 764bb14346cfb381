// `stagegraph analyze`: loudness and level figures of audio files.
//
//   stagegraph analyze FILE… [--json] [--oversampling 4|8] [--figures loudness|all]
//
// Each file is streamed through sg::LoudnessMeter (BS.1770-5 / EBU R 128, see
// nodes/meters/LoudnessMeter.h) in blocks, so memory does not grow with the file. Besides the
// meter's figures it reports the DC offset (largest |mean| of a channel), the stereo correlation
// (sum LR / sqrt(sum L^2 sum R^2), 2-channel files only) and the crest factor (sample peak over
// the RMS of all samples).
//
// Output: an aligned table, one row per file; with --json a JSON array with one object per file
// on its own line, keys: file, sample_rate, channels, duration_s, integrated_lufs,
// loudness_range_lu, true_peak_dbtp, sample_peak_dbfs, max_momentary_lufs, max_short_term_lufs,
// plr_db, dc_offset_dbfs, stereo_correlation, crest_factor_db, then the balance figures of
// host/cli/CompareFigures.h: band_31_5hz_db .. band_16khz_db, harshness_db,
// low_end_stability_lu, low_end_range_lu, correlation_min (docs/compare.md); the table prints
// them as a second table. A figure with nothing to measure (-inf: silence, everything gated) and
// stereo_correlation of a file that is not stereo are null.
//
// --figures loudness (AnalyzeFigures::Loudness) measures only what libebur128 would: the meter's
// figures (integrated, LRA, true and sample peak, max momentary / short-term, PLR) and the
// per-channel sums' (DC offset, crest factor, stereo correlation), without the balance bank.
// Those keys read exactly what the full analysis reads; the balance keys (band_*, harshness_db,
// low_end_*, correlation_min) are left out of the JSON object (not null: null means measured,
// with nothing to measure), and the table prints no balance table. On two cores this thread
// reads and measures half the channels' true peaks while a worker K-weights the same blocks,
// sums them per channel and measures the other half's peaks.
//
// Exit status: 0 all files analysed; 1 a file could not be read (its error names it on stderr;
// the other files are still analysed and printed); 2 usage error.
#pragma once

#include "core/Buffer.h"
#include "host/cli/CompareFigures.h"
#include "host/cli/Figures.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sg::cli {

/// Which figures analyze measures (--figures).
enum class AnalyzeFigures {
    All,      ///< loudness, level and balance figures (default)
    Loudness, ///< BS.1770 / R 128 and the per-channel sums only: no balance bank
};

/// What analyze measures of one file: the meter's figures (shared with render's --target and
/// --report) and a few more. Levels that have nothing to measure are -inf.
struct FileAnalysis : OutputFigures {
    std::string file;             ///< path as given
    double durationSeconds = 0;   ///< frames / sampleRate
    double dcOffsetDbfs = 0;      ///< dBFS of the largest |mean| of a channel
    double stereoCorrelation = 0; ///< -1 .. 1; NaN if not stereo or a channel is silent
    double crestFactorDb = 0;     ///< dB, sample peak / RMS of all samples
    /// Not silent but shorter than one 400 ms gating block: integrated loudness, max momentary
    /// and PLR are not defined (NaN: "-" in the table, null in JSON), which is not silent (-inf).
    bool shorterThanLoudnessBlock = false;
    /// Which figures were measured (balance is left at its defaults with Loudness).
    AnalyzeFigures figures = AnalyzeFigures::All;
    /// Octave-band balance, harshness, low-end stability, 400 ms correlation (host/cli/CompareFigures.h).
    BalanceFigures balance;
    /// Loudness and waveform over time (only with AnalyzeOptions::keepSeries).
    SignalSeries series;
};

/// Options of one analysis.
struct AnalyzeOptions {
    int truePeakOversampling = 4; ///< 4 or 8
    bool showProgress = true;     ///< a progress bar on stderr when it is a terminal
    bool keepSeries = false;      ///< record FileAnalysis::series (for --html; needs All)
    AnalyzeFigures figures = AnalyzeFigures::All;
};

/// Streams `path` through the meter. Returns "" or an error message naming the file.
std::string analyzeFile(const std::string& path, const AnalyzeOptions& options, FileAnalysis& out);

/// The same figures of a signal in memory (planar channels at `sampleRate` Hz), measured in the
/// same blocks as a file, so a file and its samples give the same figures. `out.file` stays "".
/// Returns "" or an error (a channel count the meter does not take, non-finite samples, series
/// asked of a loudness-only analysis).
std::string analyzeSignal(const ConstAudioView& signal, double sampleRate, const AnalyzeOptions& options, FileAnalysis& out);

/// The JSON object of one analysis, on one line (no trailing newline).
std::string analysisJson(const FileAnalysis& analysis);

/// `stagegraph analyze ARGS…`. Returns the exit status.
int runAnalyze(const std::vector<std::string>& args);

/// The usage text of `analyze`.
const char* analyzeUsage();

} // namespace sg::cli
