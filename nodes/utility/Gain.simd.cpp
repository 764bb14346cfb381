// Element-wise multiply kernels, compiled once per architecture (see core/Simd.h).
// Unaligned loads and a scalar tail: lane pointers may start anywhere, and the scalar float
// multiply rounds exactly like the vector one, so every architecture gives the same bits.
#include "nodes/utility/Gain.h"

#include <xsimd/xsimd.hpp>

namespace sg::SG_SIMD_NS {

using Batch = xsimd::batch<float, SG_SIMD_ARCH>;

void multiplyByConstant(const float* in, float* out, int frames, float factor) noexcept {
    constexpr int width = int(Batch::size);
    const Batch k(factor);
    int n = 0;
    for (; n + width <= frames; n += width) (Batch::load_unaligned(in + n) * k).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = in[n] * factor;
}

void multiplyByCurve(const float* in, const float* curve, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(in + n) * Batch::load_unaligned(curve + n)).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = in[n] * curve[n];
}

} // namespace sg::SG_SIMD_NS
