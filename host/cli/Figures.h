// The loudness and peak figures of one stream, shared by `analyze`, `render --target` and
// `render --report` so the three cannot drift apart, and the one place where each figure's
// JSON key, table label and unit are defined (analyze's table and --json, the report, the
// render summary).
#pragma once

#include "nodes/meters/LoudnessMeter.h"

#include <array>
#include <cstdint>

namespace sg::cli {

/// What a figure is called and measured in, wherever it is printed.
struct FigureName {
    const char* key;   ///< JSON key: "integrated_lufs"
    const char* label; ///< table column: "integrated"
    const char* unit;  ///< unit symbol after a value: "LUFS" ("" for a plain number)
};

inline constexpr FigureName kSampleRateFigure{"sample_rate", "rate", "Hz"};
inline constexpr FigureName kChannelsFigure{"channels", "ch", ""};
inline constexpr FigureName kDurationFigure{"duration_s", "duration", "s"};
inline constexpr FigureName kIntegratedFigure{"integrated_lufs", "integrated", "LUFS"};
inline constexpr FigureName kLoudnessRangeFigure{"loudness_range_lu", "range", "LU"};
inline constexpr FigureName kTruePeakFigure{"true_peak_dbtp", "true peak", "dBTP"};
inline constexpr FigureName kSamplePeakFigure{"sample_peak_dbfs", "sample peak", "dBFS"};
inline constexpr FigureName kMaxMomentaryFigure{"max_momentary_lufs", "max momentary", "LUFS"};
inline constexpr FigureName kMaxShortTermFigure{"max_short_term_lufs", "max short-term", "LUFS"};
inline constexpr FigureName kPlrFigure{"plr_db", "PLR", "dB"};
inline constexpr FigureName kDcOffsetFigure{"dc_offset_dbfs", "DC offset", "dBFS"};
inline constexpr FigureName kStereoCorrelationFigure{"stereo_correlation", "correlation", ""};
inline constexpr FigureName kCrestFactorFigure{"crest_factor_db", "crest", "dB"};

/// -inf (kSilentLevel) where there is nothing to measure.
struct OutputFigures {
    double sampleRate = 0; ///< Hz
    int channels = 0;
    std::int64_t frames = 0;
    double integratedLufs = kSilentLevel;   ///< LUFS
    double loudnessRangeLu = 0;             ///< LU
    double truePeakDbtp = kSilentLevel;     ///< dBTP (BS.1770-5 Annex 2, 4x or the meter's 8x)
    double samplePeakDbfs = kSilentLevel;   ///< dBFS
    double maxMomentaryLufs = kSilentLevel; ///< LUFS
    double maxShortTermLufs = kSilentLevel; ///< LUFS
    double plrDb = kSilentLevel;            ///< dB, true peak - integrated
};

/// The figures a meter has measured so far.
OutputFigures figuresOf(const LoudnessMeter& meter);

/// One figure with its name.
struct FigureField {
    const FigureName& name; ///< key, label, unit
    double value;           ///< in name.unit
};
/// The level figures in the order of `analyze --json` and `--report`.
std::array<FigureField, 7> figureFields(const OutputFigures& figures);

} // namespace sg::cli
