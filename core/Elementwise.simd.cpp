// Element-wise kernels, compiled once per architecture (see core/Simd.h and Elementwise.h).
// Unaligned loads and a scalar tail for the one-operation kernels: lane pointers may start
// anywhere, and the scalar float operation rounds exactly like the vector one, so every
// architecture gives the same bits. The dB conversions pad their tail into one more batch, so
// every frame goes through the same vector exp / log whatever the split.
#include "core/Elementwise.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdint>

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

namespace {

/// 10^(x / 20) = exp(x * ln(10) / 20)
inline Batch gainOf(const Batch& x) noexcept { return xsimd::exp(x * Batch(0.11512925464970229f)); }
using Ints = xsimd::batch<std::int32_t, SG_SIMD_ARCH>;

/// 20 log10 |g| in float, within 0.5 ulp + 1e-6 dB of exact (tested): |g| = 2^e m, m in
/// [sqrt(1/2), sqrt(2)), from the bits; 20 log10 m = (40 / ln 10) atanh(s), s = (m - 1) / (m + 1),
/// |s| <= 0.1716, by its series to s^7 (the next term is below 3e-7 dB); e 20 log10(2) with the
/// constant split so that e times its high part is exact. Integer operations on the bits for the
/// exponent, zero, subnormals (exactly: bits x 2^-149), infinity and NaN, so flush-to-zero and
/// denormals-are-zero modes do not change the result. Plain IEEE operations, no FMA: the same bits
/// on every architecture.
inline Batch decibelsOf(const Batch& g) noexcept {
    Ints bits = xsimd::bitwise_cast<Ints>(g) & Ints(0x7fffffff);
    const Ints magnitude = bits;
    const auto subnormal = bits < Ints(0x00800000);
    bits = xsimd::select(subnormal, xsimd::bitwise_cast<Ints>(xsimd::to_float(bits)), bits);
    Ints e = xsimd::select(subnormal, Ints(-149 - 127), Ints(-127));
    bits = bits + Ints(0x3f800000 - 0x3f3504f3); // m >= sqrt(2) moves to the next exponent
    e = e + (bits >> 23);
    const Batch m = xsimd::bitwise_cast<Batch>((bits & Ints(0x007fffff)) + Ints(0x3f3504f3));
    const Batch f = m - Batch(1.0f);
    const Batch s = f / (Batch(2.0f) + f);
    const Batch sc = s * Batch(17.37177927613007f); // s 40 / ln 10
    const Batch z2 = s * s;
    const Batch series = ((Batch(1.0f / 7.0f) * z2 + Batch(1.0f / 5.0f)) * z2 + Batch(1.0f / 3.0f)) * z2;
    const Batch small = sc + sc * series;
    const Batch ef = xsimd::to_float(e);
    // 20 log10(2) = 6.0205078125 (12 fraction bits: e times it is exact) + 9.21007796e-5.
    const Batch r = ef * Batch(6.0205078125f) + (ef * Batch(9.2100779624e-5f) + small);
    Ints out = xsimd::bitwise_cast<Ints>(r);
    out = xsimd::select(magnitude == Ints(0), Ints(int(0xff800000u)), out); // 0: -inf
    out = xsimd::select(magnitude >= Ints(0x7f800000), magnitude, out);     // inf: inf, NaN: NaN
    return xsimd::bitwise_cast<Batch>(out);
}

} // namespace

void decibelsToGain(const float* db, float* out, int frames) noexcept { mapBatches(db, out, frames, gainOf); }

void gainToDecibels(const float* gain, float* out, int frames) noexcept { mapBatches(gain, out, frames, decibelsOf); }

void gainToDecibelsFloored(const float* gain, float* out, int frames, float scale, float floor) noexcept {
    const Batch k(scale), low(floor);
    mapBatches(gain, out, frames, [&](const Batch& g) {
        const Batch db = decibelsOf(g) * k;
        return xsimd::select(db < low, low, db); // std::max(db, floor)
    });
}

void offsetDecibelsToGain(const float* db, float sign, const float* offset, float constant, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    const Batch s(sign), c(constant);
    if (!offset) {
        if (constant != 0.0f)
            mapBatches(db, out, frames, [&](const Batch& x) { return gainOf(s * x + c); });
        else
            mapBatches(db, out, frames, [&](const Batch& x) { return gainOf(s * x); });
        return;
    }
    int n = 0;
    for (; n + width <= frames; n += width)
        gainOf(s * Batch::load_unaligned(db + n) + Batch::load_unaligned(offset + n)).store_unaligned(out + n);
    if (n < frames) { // the tail padded into one more batch, as mapBatches does
        alignas(64) float tail[width] = {}, tailOffset[width] = {};
        std::copy(db + n, db + frames, tail);
        std::copy(offset + n, offset + frames, tailOffset);
        gainOf(s * Batch::load_aligned(tail) + Batch::load_aligned(tailOffset)).store_aligned(tail);
        std::copy(tail, tail + (frames - n), out + n);
    }
}

} // namespace sg::SG_SIMD_NS
