// The vector dB conversions of core/Elementwise.simd.cpp as inline functions, for the kernels
// that fuse them with their own element-wise work (the same operations, so the same bits as the
// Elementwise passes). Only for files compiled per architecture (core/Simd.h).
#pragma once

#include "core/Simd.h"

#include <xsimd/xsimd.hpp>

#include <cstdint>

namespace sg::SG_SIMD_NS {

using DecibelBatch = xsimd::batch<float, SG_SIMD_ARCH>;

namespace decibels {

using Batch = DecibelBatch;
using Ints = xsimd::batch<std::int32_t, SG_SIMD_ARCH>;

/// 10^(x / 20) = exp(x * ln(10) / 20)
inline Batch gainOf(const Batch& x) noexcept { return xsimd::exp(x * Batch(0.11512925464970229f)); }

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

} // namespace decibels

using decibels::decibelsOf;
using decibels::gainOf;

} // namespace sg::SG_SIMD_NS
