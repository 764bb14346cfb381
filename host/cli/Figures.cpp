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
    return {{{kIntegratedFigure, f.integratedLufs},
             {kLoudnessRangeFigure, f.loudnessRangeLu},
             {kTruePeakFigure, f.truePeakDbtp},
             {kSamplePeakFigure, f.samplePeakDbfs},
             {kMaxMomentaryFigure, f.maxMomentaryLufs},
             {kMaxShortTermFigure, f.maxShortTermLufs},
             {kPlrFigure, f.plrDb}}};
}

} // namespace sg::cli
