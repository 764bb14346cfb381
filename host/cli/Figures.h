// The loudness and peak figures of one stream, shared by `analyze`, `render --target` and
// `render --report` so the three cannot drift apart. Named as in `analyze --json`.
#pragma once

#include "nodes/meters/LoudnessMeter.h"

#include <array>
#include <cstdint>

namespace sg::cli {

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

/// One figure under its JSON key.
struct FigureField {
    const char* key; ///< "integrated_lufs", ...
    double value;
};
/// The level figures under the keys of `analyze --json` and `--report`, in that order.
std::array<FigureField, 7> figureFields(const OutputFigures& figures);

} // namespace sg::cli
