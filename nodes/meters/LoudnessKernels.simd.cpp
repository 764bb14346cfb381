// The loudness meter's kernels, compiled once per architecture (see core/Simd.h and
// LoudnessKernels.h). No FMA and a fixed order of operations per lane / per output, so every
// architecture and any split of the stream give the same bits.
#include "nodes/meters/LoudnessKernels.h"

#include <xsimd/xsimd.hpp>

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

namespace sg::SG_SIMD_NS {

namespace {

using loudness::kChunkFrames;
using loudness::kLanePad;
using loudness::KWeightBank;

/// K-weights lanes [0, bank.lanes) in groups of one batch of Arch.
template <class Arch>
void kWeightGroups(const KWeightBank& bank, const float* const* planar, int offset, int frames, double* sums) noexcept {
    using Batch = xsimd::batch<double, Arch>;
    constexpr int width = int(Batch::size);
    static_assert(kLanePad % width == 0);
    const int groups = (bank.lanes + width - 1) / width;
    double* scratch = bank.scratch;
    double* state = bank.state;
    for (int chunkStart = 0; chunkStart < frames; chunkStart += kChunkFrames) {
        const int n = std::min(kChunkFrames, frames - chunkStart);
        for (int lane = 0; lane < bank.lanes; ++lane) {
            const float* src = planar[lane] + offset + chunkStart;
            for (int i = 0; i < n; ++i) scratch[i * kLanePad + lane] = double(src[i]);
        }
        for (int g = 0; g < groups; ++g) {
            const int first = g * width;
            const auto coefficient = [&](int index) { return Batch::load_unaligned(&bank.coefficients[index][first]); };
            const Batch b0 = coefficient(0), b1 = coefficient(1), b2 = coefficient(2), a1 = coefficient(3), a2 = coefficient(4);
            const Batch h0 = coefficient(5), h1 = coefficient(6), h2 = coefficient(7), c1 = coefficient(8), c2 = coefficient(9);
            Batch x1 = Batch::load_unaligned(state + 0 * kLanePad + first);
            Batch x2 = Batch::load_unaligned(state + 1 * kLanePad + first);
            Batch s1 = Batch::load_unaligned(state + 2 * kLanePad + first);
            Batch s2 = Batch::load_unaligned(state + 3 * kLanePad + first);
            Batch k1 = Batch::load_unaligned(state + 4 * kLanePad + first);
            Batch k2 = Batch::load_unaligned(state + 5 * kLanePad + first);
            Batch sum = Batch::load_unaligned(sums + first);
            for (int i = 0; i < n; ++i) {
                const Batch x = Batch::load_unaligned(scratch + i * kLanePad + first);
                // The terms known a frame ahead first; the one on the previous output last, so the
                // recursion's critical path is one multiply and one subtraction per stage.
                const Batch s = (((b0 * x + b1 * x1) + b2 * x2) - a2 * s2) - a1 * s1;
                const Batch k = (((h0 * s + h1 * s1) + h2 * s2) - c2 * k2) - c1 * k1;
                sum = sum + k * k;
                x2 = x1;
                x1 = x;
                s2 = s1;
                s1 = s;
                k2 = k1;
                k1 = k;
            }
            x1.store_unaligned(state + 0 * kLanePad + first);
            x2.store_unaligned(state + 1 * kLanePad + first);
            s1.store_unaligned(state + 2 * kLanePad + first);
            s2.store_unaligned(state + 3 * kLanePad + first);
            k1.store_unaligned(state + 4 * kLanePad + first);
            k2.store_unaligned(state + 5 * kLanePad + first);
            sum.store_unaligned(sums + first);
        }
    }
}

/// Largest lane of a batch.
template <class Batch> float largestLane(const Batch& b) noexcept {
    alignas(64) float lanes[Batch::size];
    b.store_aligned(lanes);
    float m = lanes[0];
    for (std::size_t i = 1; i < Batch::size; ++i) m = std::max(m, lanes[i]);
    return m;
}

/// Lane-wise maximum. (xsimd::max on AVX-512 trips GCC 12's -Wmaybe-uninitialized inside
/// its own intrinsics header; a compare and blend is the same operation.)
template <class Batch> Batch larger(const Batch& a, const Batch& b) noexcept { return xsimd::select(a > b, a, b); }

/// One output of phase p, summed in tap order (the vector path sums in the same order).
inline float phaseOutput(const float* x, int n, const float* h, int taps) noexcept {
    float acc = 0.0f;
    for (int k = 0; k < taps; ++k) acc = acc + h[k] * x[n - k];
    return acc;
}

/// Polyphase peak with the phase and tap counts known at compile time (0 = run time).
template <class Arch, int Phases, int Taps>
void peakFixed(const float* x, int frames, const float* coefficients, int phases, int taps, float& samplePeak,
               float& truePeak) noexcept {
    using Batch = xsimd::batch<float, Arch>;
    constexpr int width = int(Batch::size);
    constexpr int maxPhases = Phases > 0 ? Phases : 16;
    if constexpr (Phases > 0) phases = Phases;
    if constexpr (Taps > 0) taps = Taps;
    Batch tpMax(0.0f), spMax(0.0f);
    int n = 0;
    if (phases <= maxPhases) {
        // A batch of outputs that cannot raise the true peak is skipped: |y_p[i]| <= sum_k |h_p[k]|
        // max |x| over the taps' span, and the float sum exceeds the real one by less than 1e-6
        // of it (12 to 16 products) plus a few subnormal steps; so where `bound` times the span's
        // largest |x| (plus the smallest normal float) is at most a true peak already found, every
        // output of the batch is at most it too, and the maximum, the only result, is the same
        // bits. After a limiter most batches sit well below the peak (about 9 in 10 of W1's).
        double magnitude = 0;
        for (int p = 0; p < phases; ++p) {
            double sum = 0;
            for (int k = 0; k < taps; ++k) sum += std::fabs(double(coefficients[p * taps + k]));
            magnitude = std::max(magnitude, sum);
        }
        const Batch bound(float(magnitude * (1 + 1e-5))), smallest(std::numeric_limits<float>::min());
        float found = truePeak; // a true peak reached: the incoming one, then this call's
        for (; n + width <= frames; n += width) {
            const Batch here = xsimd::abs(Batch::load_unaligned(x + n));
            spMax = larger(spMax, here);
            Batch span = here; // max |x| over x[n - taps + 1 .. n + width - 1]
            for (int o = 1 - taps; o < 0; o += width) span = larger(span, xsimd::abs(Batch::load_unaligned(x + n + o)));
            if (xsimd::all(span * bound + smallest <= Batch(found))) continue; // (NaN: never skipped)
            Batch acc[maxPhases];
            for (int p = 0; p < phases; ++p) acc[p] = Batch(0.0f);
            for (int k = 0; k < taps; ++k) {
                const Batch xv = Batch::load_unaligned(x + n - k);
                for (int p = 0; p < phases; ++p) acc[p] = acc[p] + Batch(coefficients[p * taps + k]) * xv;
            }
            for (int p = 0; p < phases; ++p) tpMax = larger(tpMax, xsimd::abs(acc[p]));
            found = std::max(found, largestLane(tpMax)); // (NaN: nothing more is skipped)
        }
    }
    float sp = std::max(samplePeak, largestLane(spMax));
    float tp = std::max(truePeak, largestLane(tpMax));
    for (; n < frames; ++n) {
        sp = std::max(sp, std::fabs(x[n]));
        for (int p = 0; p < phases; ++p) tp = std::max(tp, std::fabs(phaseOutput(x, n, coefficients + p * taps, taps)));
    }
    samplePeak = sp;
    truePeak = tp;
}

} // namespace

// The four chains live in one 4-double register (AVX2, AVX-512) or two 2-double ones (SSE2):
// the same adds and multiplies per chain either way.
#if defined(__AVX2__)
void quadSums(const float* x, int quads, double* sum, double* square) noexcept {
    __m256d s = _mm256_loadu_pd(sum), q = _mm256_loadu_pd(square);
    for (int i = 0; i < quads; ++i) {
        const __m256d v = _mm256_cvtps_pd(_mm_loadu_ps(x + 4 * i));
        s = _mm256_add_pd(s, v);
        q = _mm256_add_pd(q, _mm256_mul_pd(v, v));
    }
    _mm256_storeu_pd(sum, s);
    _mm256_storeu_pd(square, q);
}

void quadCross(const float* l, const float* r, int quads, double* cross) noexcept {
    __m256d c = _mm256_loadu_pd(cross);
    for (int i = 0; i < quads; ++i)
        c = _mm256_add_pd(c, _mm256_mul_pd(_mm256_cvtps_pd(_mm_loadu_ps(l + 4 * i)), _mm256_cvtps_pd(_mm_loadu_ps(r + 4 * i))));
    _mm256_storeu_pd(cross, c);
}
#else
void quadSums(const float* x, int quads, double* sum, double* square) noexcept {
    __m128d s0 = _mm_loadu_pd(sum), s1 = _mm_loadu_pd(sum + 2);
    __m128d q0 = _mm_loadu_pd(square), q1 = _mm_loadu_pd(square + 2);
    for (int i = 0; i < quads; ++i) {
        const __m128 f = _mm_loadu_ps(x + 4 * i);
        const __m128d v0 = _mm_cvtps_pd(f), v1 = _mm_cvtps_pd(_mm_movehl_ps(f, f));
        s0 = _mm_add_pd(s0, v0);
        s1 = _mm_add_pd(s1, v1);
        q0 = _mm_add_pd(q0, _mm_mul_pd(v0, v0));
        q1 = _mm_add_pd(q1, _mm_mul_pd(v1, v1));
    }
    _mm_storeu_pd(sum, s0);
    _mm_storeu_pd(sum + 2, s1);
    _mm_storeu_pd(square, q0);
    _mm_storeu_pd(square + 2, q1);
}

void quadCross(const float* l, const float* r, int quads, double* cross) noexcept {
    __m128d c0 = _mm_loadu_pd(cross), c1 = _mm_loadu_pd(cross + 2);
    for (int i = 0; i < quads; ++i) {
        const __m128 a = _mm_loadu_ps(l + 4 * i), b = _mm_loadu_ps(r + 4 * i);
        c0 = _mm_add_pd(c0, _mm_mul_pd(_mm_cvtps_pd(a), _mm_cvtps_pd(b)));
        c1 = _mm_add_pd(c1, _mm_mul_pd(_mm_cvtps_pd(_mm_movehl_ps(a, a)), _mm_cvtps_pd(_mm_movehl_ps(b, b))));
    }
    _mm_storeu_pd(cross, c0);
    _mm_storeu_pd(cross + 2, c1);
}
#endif

void kWeightedEnergy(const KWeightBank& bank, const float* const* planar, int offset, int frames, double* sums) noexcept {
    if (frames <= 0 || bank.lanes <= 0) return;
        // Few lanes run in the narrowest batch that holds them (same operations per lane).
#if defined(__AVX2__)
    if (bank.lanes <= 2) return kWeightGroups<xsimd::sse2>(bank, planar, offset, frames, sums);
#endif
#if defined(__AVX512F__)
    if (bank.lanes <= 4) return kWeightGroups<xsimd::avx2>(bank, planar, offset, frames, sums);
#endif
    kWeightGroups<SG_SIMD_ARCH>(bank, planar, offset, frames, sums);
}

namespace {

/// tile[i * kTimeLanes + l] = x[l * stride + at + i] for i, l in [0, 8): eight frames of the
/// eight lanes, transposed in registers (eight row loads instead of 64 single ones) and widened.
inline void laneTile(const float* x, std::ptrdiff_t stride, double* tile) noexcept {
    static_assert(loudness::kTimeLanes == 8);
#if defined(__AVX__)
    __m256 r[8];
    for (int l = 0; l < 8; ++l) r[l] = _mm256_loadu_ps(x + l * stride);
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    const __m256 c[8] = {_mm256_permute2f128_ps(u0, u4, 0x20), _mm256_permute2f128_ps(u1, u5, 0x20),
                         _mm256_permute2f128_ps(u2, u6, 0x20), _mm256_permute2f128_ps(u3, u7, 0x20),
                         _mm256_permute2f128_ps(u0, u4, 0x31), _mm256_permute2f128_ps(u1, u5, 0x31),
                         _mm256_permute2f128_ps(u2, u6, 0x31), _mm256_permute2f128_ps(u3, u7, 0x31)};
    for (int i = 0; i < 8; ++i) {
#if defined(__AVX512F__)
        _mm512_store_pd(tile + 8 * i, _mm512_cvtps_pd(c[i]));
#else
        _mm256_store_pd(tile + 8 * i, _mm256_cvtps_pd(_mm256_castps256_ps128(c[i])));
        _mm256_store_pd(tile + 8 * i + 4, _mm256_cvtps_pd(_mm256_extractf128_ps(c[i], 1)));
#endif
    }
#else
    for (int half = 0; half < 2; ++half)       // frames 4 half .. 4 half + 3
        for (int quad = 0; quad < 2; ++quad) { // lanes 4 quad .. 4 quad + 3
            __m128 r0 = _mm_loadu_ps(x + (4 * quad + 0) * stride + 4 * half);
            __m128 r1 = _mm_loadu_ps(x + (4 * quad + 1) * stride + 4 * half);
            __m128 r2 = _mm_loadu_ps(x + (4 * quad + 2) * stride + 4 * half);
            __m128 r3 = _mm_loadu_ps(x + (4 * quad + 3) * stride + 4 * half);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            const __m128 c[4] = {r0, r1, r2, r3};
            for (int i = 0; i < 4; ++i) {
                double* out = tile + 8 * (4 * half + i) + 4 * quad;
                _mm_store_pd(out, _mm_cvtps_pd(c[i]));
                _mm_store_pd(out + 2, _mm_cvtps_pd(_mm_movehl_ps(c[i], c[i])));
            }
        }
#endif
}

} // namespace

void kWeightLanes(const loudness::KWeightLaneJob& job) noexcept {
    using loudness::kTimeLanes;
    using Batch = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Batch::size);
    constexpr int groups = kTimeLanes / width; // batches of lanes, run side by side
    static_assert(kTimeLanes % width == 0);
    const double* cf = job.coefficients;
    const Batch b0(cf[0]), b1(cf[1]), b2(cf[2]), a1(cf[3]), a2(cf[4]);
    const Batch h0(cf[5]), h1(cf[6]), h2(cf[7]), c1(cf[8]), c2(cf[9]);
    Batch x1[groups], x2[groups], s1[groups], s2[groups], k1[groups], k2[groups], sum[groups];
    for (int g = 0; g < groups; ++g) x1[g] = x2[g] = s1[g] = s2[g] = k1[g] = k2[g] = sum[g] = Batch(0.0);
    alignas(64) double tile[8 * kTimeLanes];
    const int total = job.warmup + job.steps * job.stepFrames;
    int untilStep = job.warmup + job.stepFrames; // frame after the current step
    int step = 0;
    for (int j = 0; j < total; j += 8) {
        laneTile(job.x + j, job.laneStride, tile); // (reads up to 7 frames past the lanes)
        const int n = std::min(8, total - j);
        for (int i = 0; i < n; ++i) {
            const int frame = j + i;
            for (int g = 0; g < groups; ++g) {
                // The same expressions, in the same order, as kWeightGroups: a lane started from
                // rest at the stream's start gives the sequential kernel's bits.
                const Batch in = Batch::load_aligned(tile + i * kTimeLanes + g * width);
                const Batch s = (((b0 * in + b1 * x1[g]) + b2 * x2[g]) - a2 * s2[g]) - a1 * s1[g];
                const Batch k = (((h0 * s + h1 * s1[g]) + h2 * s2[g]) - c2 * k2[g]) - c1 * k1[g];
                x2[g] = x1[g];
                x1[g] = in;
                s2[g] = s1[g];
                s1[g] = s;
                k2[g] = k1[g];
                k1[g] = k;
                if (frame >= job.warmup) sum[g] = sum[g] + k * k;
            }
            if (frame + 1 == untilStep) {
                for (int g = 0; g < groups; ++g) {
                    sum[g].store_unaligned(job.sums + std::ptrdiff_t(step) * kTimeLanes + g * width);
                    sum[g] = Batch(0.0);
                }
                ++step;
                untilStep += job.stepFrames;
            }
        }
    }
}

void polyphasePeak(const float* x, int frames, const float* coefficients, int phases, int taps, float& samplePeak,
                   float& truePeak) noexcept {
    if (frames <= 0) return;
    if (phases == 4 && taps == 12)
        return peakFixed<SG_SIMD_ARCH, 4, 12>(x, frames, coefficients, phases, taps, samplePeak, truePeak);
    if (phases == 8 && taps == 16)
        return peakFixed<SG_SIMD_ARCH, 8, 16>(x, frames, coefficients, phases, taps, samplePeak, truePeak);
    peakFixed<SG_SIMD_ARCH, 0, 0>(x, frames, coefficients, phases, taps, samplePeak, truePeak);
}

} // namespace sg::SG_SIMD_NS
