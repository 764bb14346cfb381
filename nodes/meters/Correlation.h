// correlation: a stereo pass-through tap that measures the correlation and balance of L and R.
//
// Over any stretch of frames, with sums over frames:
//   r = sum(L R) / sqrt(sum(L^2) sum(R^2))           correlation, -1 .. +1 (uncentred: the
//       phase-correlation meter's definition; a DC offset counts as correlated content)
//   balance = 10 log10(sum(L^2) / sum(R^2)) dB       positive: left louder
// Measurements: `correlation` and `balance_db` over the whole render; `min_correlation`, the
// lowest r over 400 ms windows that advance in 100 ms steps (blocks of round(fs/10) frames,
// on absolute frame positions); series `correlation` and `balance_db`, one value per 100 ms
// step, each the window of the last 400 ms (fewer at the start). A window where L or R is silent
// has no correlation: it is NaN in the series (null in JSON) and skipped by the minimum.
#pragma once

namespace sg {

class Registry;

/// Registers `correlation`.
void registerCorrelationNodes(Registry& registry);

} // namespace sg
