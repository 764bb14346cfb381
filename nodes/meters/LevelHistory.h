// levelhistory: a pass-through tap that records the level over time, for reports and plots.
//
// Two series, one value per 100 ms step (steps end at frames round(k fs / 10), as the loudness
// meter's; at 44.1, 48 and 96 kHz every step is fs/10 frames):
//   momentary_lufs    the momentary loudness (ITU-R BS.1770-5, 400 ms window, sg::LoudnessMeter)
//                     as of the end of the step; reduction "last"
//   sample_peak_dbfs  20 log10 of the largest |sample| of any channel within the step; reduction
//                     "max" (merged steps keep the larger peak)
// -inf (silence) is null in JSON. Long renders keep their whole length in bounded memory
// (core/SeriesRecorder.h: beyond 65,536 values two neighbours merge and the step doubles).
// Scalar readings: max_momentary_lufs and sample_peak_dbfs over the render.
#pragma once

namespace sg {

class Registry;

/// Registers `levelhistory`.
void registerLevelHistoryNodes(Registry& registry);

} // namespace sg
