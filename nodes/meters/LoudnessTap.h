// loudness: a metering tap. out = in (in place, zero latency); the input is measured with
// sg::LoudnessMeter (ITU-R BS.1770-5, EBU Tech 3341/3342) and the figures are reported through
// NodeKernel::measurements (Executor::measurements(), `render --report`, live status):
//   integrated_lufs, loudness_range_lu, true_peak_dbtp, sample_peak_dbfs, max_momentary_lufs,
//   max_short_term_lufs, plr_db, momentary_lufs, short_term_lufs (the last two: current).
// A reading with nothing to measure is -infinity (kSilentLevel); JSON writers print null.
// Channel roles follow the channel count (defaultChannelWeights: 5 = L R C Ls Rs,
// 6 = L R C LFE Ls Rs with the LFE excluded, ...).
#pragma once

namespace sg {

class Registry;

/// Registers `loudness`.
void registerLoudnessTapNodes(Registry& registry);

} // namespace sg
