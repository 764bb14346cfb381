// Element-wise kernels, compiled once per architecture (see core/Simd.h and Elementwise.h).
// Unaligned loads and a scalar tail for the one-operation kernels: lane pointers may start
// anywhere, and the scalar float operation rounds exactly like the vector one, so every
// architecture gives the same bits. The dB conversions pad their tail into one more batch, so
// every frame goes through the same vector exp / log whatever the split.
#include "core/Elementwise.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>

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

void mix(const float* x, float a, const float* y, float b, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    const Batch ka(a), kb(b);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(x + n) * ka + Batch::load_unaligned(y + n) * kb).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = x[n] * a + y[n] * b;
}

void sum(const float* x, const float* y, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(x + n) + Batch::load_unaligned(y + n)).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = x[n] + y[n];
}

namespace {

/// out[n] = f(in[n]) batch by batch; the last partial batch is padded with zeros.
template <class F> void mapBatches(const float* in, float* out, int frames, F&& f) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width) f(Batch::load_unaligned(in + n)).store_unaligned(out + n);
    if (n < frames) {
        alignas(64) float tail[width] = {};
        std::copy(in + n, in + frames, tail);
        f(Batch::load_aligned(tail)).store_aligned(tail);
        std::copy(tail, tail + (frames - n), out + n);
    }
}

} // namespace

void decibelsToGain(const float* db, float* out, int frames) noexcept {
    // 10^(x / 20) = exp(x * ln(10) / 20)
    mapBatches(db, out, frames, [](const Batch& x) { return xsimd::exp(x * Batch(0.11512925464970229f)); });
}

void gainToDecibels(const float* gain, float* out, int frames) noexcept {
    // 20 log10 |g| = ln|g| * 20 / ln(10)
    mapBatches(gain, out, frames, [](const Batch& g) { return xsimd::log(xsimd::abs(g)) * Batch(8.685889638065037f); });
}

} // namespace sg::SG_SIMD_NS
