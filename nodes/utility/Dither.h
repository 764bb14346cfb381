// dither: quantises to a 16- or 24-bit grid with optional TPDF dither and noise shaping, for
// graphs that end in a fixed word length (the file writer's own dither is host/io/Dither).
//
// With S = 2^(bits-1) and e[n] the quantiser's error in LSB (dither included):
//   v[n] = S x[n] + a1 e[n-1] + a2 e[n-2],  r[n] = floor(v[n] + d[n] + 1/2),  e[n] = r[n] - v[n],
//   y[n] = clamp(r[n], -S, S - 1) / S,
// so S y - S x = e[n] + a1 e[n-1] + a2 e[n-2]: the error e filtered by the noise transfer function
// NTF(z) = 1 + a1 z^-1 + a2 z^-2 (error feedback; Lipshitz, Vanderkooy & Wannamaker, "Minimally
// audible noise shaping", JAES 39(11), 1991). d is TPDF dither, u1 + u2 on [-1, 1) LSB
// (Lipshitz, Wannamaker & Vanderkooy, JAES 40(5), 1992), which makes e white with variance
// 1/6 + 1/12 = 1/4 LSB^2 and independent of the signal. The error fed back is taken before the
// clamp, so it stays within [-1.5, 1.5] LSB and the loop cannot run away when the input clips.
#pragma once

namespace sg {

class Registry;

/// Registers `dither`.
void registerDitherNodes(Registry& registry);

} // namespace sg
