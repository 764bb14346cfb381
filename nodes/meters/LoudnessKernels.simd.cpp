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
