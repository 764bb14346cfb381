// 4 x 4 tiles between planar float lanes and a [frame][lane] double layout, transposed in
// registers: for the `*.simd.cpp` kernels that run recursions across lanes (the biquad bank,
// the dynamics' attack / release). Exact data movement: float -> double is exact and double ->
// float rounds as float(double) does, so a kernel gives the same bits as through scalar loops.
// Only for files compiled per architecture (core/Simd.h); empty below AVX.
#pragma once

#if defined(__AVX__)
#include <immintrin.h>

namespace sg::SG_SIMD_NS {

/// Frames n..n+3 of lanes first..first+3 of `lanes` (planar float), converted to double and
/// transposed: out[f] holds lanes first..first+3 of frame n + f.
inline void gatherTile4(const float* const* lanes, int first, int n, __m256d out[4]) noexcept {
    const __m256d r0 = _mm256_cvtps_pd(_mm_loadu_ps(lanes[first] + n)), r1 = _mm256_cvtps_pd(_mm_loadu_ps(lanes[first + 1] + n)),
                  r2 = _mm256_cvtps_pd(_mm_loadu_ps(lanes[first + 2] + n)),
                  r3 = _mm256_cvtps_pd(_mm_loadu_ps(lanes[first + 3] + n));
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1), t2 = _mm256_unpacklo_pd(r2, r3),
                  t3 = _mm256_unpackhi_pd(r2, r3);
    out[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    out[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    out[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    out[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/// The inverse of gatherTile4: in[f] lanes first..first+3 of frame n + f, rounded to float
/// (the same rounding as float(double)) into out[first + l][n..n+3].
inline void scatterTile4(const __m256d in[4], float* const* out, int first, int n) noexcept {
    const __m256d t0 = _mm256_unpacklo_pd(in[0], in[1]), t1 = _mm256_unpackhi_pd(in[0], in[1]),
                  t2 = _mm256_unpacklo_pd(in[2], in[3]), t3 = _mm256_unpackhi_pd(in[2], in[3]);
    _mm_storeu_ps(out[first] + n, _mm256_cvtpd_ps(_mm256_permute2f128_pd(t0, t2, 0x20)));
    _mm_storeu_ps(out[first + 1] + n, _mm256_cvtpd_ps(_mm256_permute2f128_pd(t1, t3, 0x20)));
    _mm_storeu_ps(out[first + 2] + n, _mm256_cvtpd_ps(_mm256_permute2f128_pd(t0, t2, 0x31)));
    _mm_storeu_ps(out[first + 3] + n, _mm256_cvtpd_ps(_mm256_permute2f128_pd(t1, t3, 0x31)));
}

} // namespace sg::SG_SIMD_NS
#endif
