#include "host/cli/Figures.h"

namespace sg::cli {

OutputFigures figuresOf(const LoudnessMeter& meter) {
    OutputFigures f;
    f.sampleRate = meter.sampleRate();
    f.channels = meter.channels();
    f.frames = meter.framesProcessed();
    f.integratedLufs = meter.integratedLufs();
    f.loudnessRangeLu = meter.loudnessRangeLu();
    f.truePeakDbtp = meter.truePeakDbtp();
    f.samplePeakDbfs = meter.samplePeakDbfs();
    f.maxMomentaryLufs = meter.maxMomentaryLufs();
    f.maxShortTermLufs = meter.maxShortTermLufs();
    f.plrDb = meter.plrDb();
    return f;
}

std::array<FigureField, 7> figureFields(const OutputFigures& f) {
    return {{{"integrated_lufs", f.integratedLufs},
             {"loudness_range_lu", f.loudnessRangeLu},
             {"true_peak_dbtp", f.truePeakDbtp},
             {"sample_peak_dbfs", f.samplePeakDbfs},
             {"max_momentary_lufs", f.maxMomentaryLufs},
             {"max_short_term_lufs", f.maxShortTermLufs},
             {"plr_db", f.plrDb}}};
}

} // namespace sg::cli
