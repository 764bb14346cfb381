// gain: a level change in dB with polarity, y[n] = g[n] * x[n].
//
// g is the signed linear factor (-1 if inverted) * 10^(gainDb / 20). A change of either
// parameter ramps g linearly over 20 ms in absolute frames (sg::LinearRamp), so a polarity
// flip passes through zero instead of clicking, and output is identical for any block split.
//
// The element-wise multiply kernels are shared with other element-wise nodes (pan).
#pragma once

#include "core/Simd.h"

namespace sg {

class Registry;

/// Registers `gain`.
void registerGainNodes(Registry& registry);

} // namespace sg

// out[n] = in[n] * factor, n < frames. `out` may alias `in`.
SG_SIMD_DECLARE(void multiplyByConstant(const float* in, float* out, int frames, float factor) noexcept)
// out[n] = in[n] * curve[n], n < frames. `out` may alias `in`.
SG_SIMD_DECLARE(void multiplyByCurve(const float* in, const float* curve, float* out, int frames) noexcept)
