// clipper and saturator: memoryless waveshapers run at 1x, 2x, 4x or 8x the sample rate through
// the shared oversampler (nodes/utility/Oversampler.h, processing design), so the harmonics a
// curve makes above the base Nyquist frequency are filtered out instead of folding back.
//
//   clipper:   y = out * clamp(d x, -c, c)                          (hard clip at c = 10^(ceiling/20))
//   saturator: y = out * f(d x), f = tanh(u)                         (curve 0)
//                             or f = u - 4 u^3 / 27 for |u| <= 3/2, sign(u) beyond (curve 1, cubic:
//                                  slope 1 at 0 like tanh, reaches 1 with zero slope at 3/2)
// d = 10^(drive/20), out = 10^(output/20), both ramped per base frame over 20 ms.
// With oversampling P > 1: x is interpolated by P, shaped at P fs, decimated back; latency T - 1
// base frames (115 at every factor: T = 116 taps per phase), declared.
#pragma once

namespace sg {

class Registry;

/// Registers `clipper` and `saturator`.
void registerSaturationNodes(Registry& registry);

/// The cubic soft clip of the saturator (curve 1): u - 4u^3/27, clamped to +-1 beyond |u| = 3/2.
inline float cubicSoftClip(float u) noexcept {
    if (u >= 1.5f) return 1.0f;
    if (u <= -1.5f) return -1.0f;
    return u - (4.0f / 27.0f) * u * u * u;
}

} // namespace sg
