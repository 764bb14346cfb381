// N-band Linkwitz-Riley 24 dB/oct crossover (2..6 bands) with all-pass phase compensation.
//
// Crossover k (k = 1 .. N-1, at freq_k) is LR4: LP_k = B_k^2 and HP_k = H_k^2, where B_k and H_k
// are the cookbook Butterworth low- and high-pass sections (Q = 1/sqrt 2), and LP_k + HP_k =
// AP_k, the cookbook all-pass at freq_k with Q = 1/sqrt 2 (nodes/filters/BiquadDesign.h).
// The bands split off one after another, each band keeping the all-pass of every later split:
//   band_b = LP_b HP_{b-1} ... HP_1 AP_{b+1} ... AP_{N-1} x     (b < N)
//   band_N = HP_{N-1} ... HP_1 x
// so sum_b band_b = AP_1 AP_2 ... AP_{N-1} x (by induction from the last split): the bands add up
// to an all-pass, flat in magnitude, whatever the frequencies. Outputs band(N+1)..band6 carry
// silence. Kernel: nodes/filters/SectionBank.h (the biquad bank, vectorised across lanes).
// Docs: docs/nodes/crossover.md.
#pragma once

namespace sg {

class Registry;

/// Registers `crossover`.
void registerCrossoverNodes(Registry& registry);

} // namespace sg
