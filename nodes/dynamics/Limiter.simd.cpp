// The limiter's true-peak detector, compiled once per architecture (see core/Simd.h).
// Vectorised along time: a batch holds consecutive frames, each tap is one unaligned load of the
// input shifted by j frames times a broadcast coefficient. Taps are summed in the same order
// (j = 0..11) in the vector body and the scalar tail, without FMA, so every architecture and
// every split of the stream gives the same bits.
#include "nodes/dynamics/Limiter.h"

#include <xsimd/xsimd.hpp>

#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace sg::SG_SIMD_NS {

using Batch = xsimd::batch<float, SG_SIMD_ARCH>;

/// std::max(a, b) lane by lane, the same on every architecture (xsimd::max on AVX-512 trips a
/// false -Wmaybe-uninitialized in GCC 12's headers).
inline Batch larger(const Batch& a, const Batch& b) noexcept { return xsimd::select(a < b, b, a); }

void accumulateTruePeak(const float* samples, int frames, float* peak) noexcept {
    constexpr int width = int(Batch::size);
    int i = 0;
    for (; i + width <= frames; i += width) {
        Batch m = larger(xsimd::abs(Batch::load_unaligned(samples + i - 5)), xsimd::abs(Batch::load_unaligned(samples + i - 6)));
        for (int k = 0; k < 4; ++k) {
            Batch v = Batch(kAnnex2Phases[k][0]) * Batch::load_unaligned(samples + i);
            for (int j = 1; j < 12; ++j) v = v + Batch(kAnnex2Phases[k][j]) * Batch::load_unaligned(samples + i - j);
            m = larger(m, xsimd::abs(v));
        }
        larger(Batch::load_unaligned(peak + i), m).store_unaligned(peak + i);
    }
    for (; i < frames; ++i) {
        float m = std::max(std::fabs(samples[i - 5]), std::fabs(samples[i - 6]));
        for (int k = 0; k < 4; ++k) {
            float v = kAnnex2Phases[k][0] * samples[i];
            for (int j = 1; j < 12; ++j) v = v + kAnnex2Phases[k][j] * samples[i - j];
            m = std::max(m, std::fabs(v));
        }
        peak[i] = std::max(peak[i], m); // (peak < m) ? m : peak, as larger()
    }
}

} // namespace sg::SG_SIMD_NS

namespace sg::SG_SIMD_NS {

void accumulateMagnitude(const float* x, int frames, float* peak) noexcept {
    constexpr int width = int(Batch::size);
    int i = 0;
    for (; i + width <= frames; i += width)
        larger(Batch::load_unaligned(peak + i), xsimd::abs(Batch::load_unaligned(x + i))).store_unaligned(peak + i);
    for (; i < frames; ++i) peak[i] = std::max(peak[i], std::fabs(x[i]));
}

namespace {

/// The largest lane of m (no NaN), by a shuffle tree. Which of two lanes that compare equal
/// (signed zeros, denormals under flush-to-zero) it gives is left open: detect() only compares
/// these maxima (an upper bound of a chunk's |x|, a tile's largest bound) with a threshold.
inline float largestLane(const Batch& m) noexcept {
#if defined(__AVX512F__)
    return _mm512_reduce_max_ps(m);
#elif defined(__AVX2__)
    const __m128 half = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    const __m128 pair = _mm_max_ps(half, _mm_movehl_ps(half, half));
    return _mm_cvtss_f32(_mm_max_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
#else
    const __m128 pair = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(pair, _mm_shuffle_ps(pair, pair, 1)));
#endif
}

} // namespace

void pairBounds(const float* chunks, int tiles, const float* weights, float* bound) noexcept {
    constexpr int width = int(Batch::size), pairs = 11;
    for (int t = 0; t < tiles; t += width) {
        Batch pair[pairs];
        Batch next = Batch::load_unaligned(chunks + t);
        for (int p = 0; p < pairs; ++p) {
            const Batch after = Batch::load_unaligned(chunks + t + p + 1);
            pair[p] = larger(next, after);
            next = after;
        }
        Batch most(0.0f);
        for (int k = 0; k < 8; ++k) {
            Batch sum = Batch(weights[pairs * k]) * pair[0];
            for (int p = 1; p < pairs; ++p) sum = xsimd::fma(Batch(weights[pairs * k + p]), pair[p], sum);
            most = larger(most, sum);
        }
        most.store_unaligned(bound + t);
    }
}

void chunkMagnitudes(const float* x, int chunks, float* out) noexcept {
    constexpr int width = int(Batch::size);
    static_assert(16 % width == 0, "a chunk is whole batches");
    for (int c = 0; c < chunks; ++c) {
        const float* chunk = x + 16 * c;
        Batch m = xsimd::abs(Batch::load_unaligned(chunk));
        for (int j = width; j < 16; j += width) m = larger(m, xsimd::abs(Batch::load_unaligned(chunk + j)));
        out[c] = largestLane(xsimd::select(xsimd::isnan(m), Batch(std::numeric_limits<float>::infinity()), m));
    }
}

namespace {

/// The refinement of one 8x step: `m` with the crest of `last` (a local maximum of |z| between
/// `before` and `now`) and `now` itself, as the scalar code: m = max(m, now); if last >= before,
/// last >= now, last > 0: m = max(m, curvature > 0 ? last + slope^2 / (8 curvature) : last).
inline Batch crestStep(Batch m, const Batch& before, const Batch& last, const Batch& now) noexcept {
    m = larger(m, now);
    const auto crest = (last >= before) & (last >= now) & (last > Batch(0.0f));
    const Batch curvature = Batch(2.0f) * last - before - now;
    const Batch slope = before - now;
    const Batch refined = xsimd::select(curvature > Batch(0.0f), last + slope * slope / (Batch(8.0f) * curvature), last);
    return xsimd::select(crest, larger(m, refined), m);
}

inline float crestStep(float m, float before, float last, float now) noexcept {
    m = std::max(m, now);
    if (last >= before && last >= now && last > 0) {
        const float curvature = 2.0f * last - before - now;
        if (curvature > 0) {
            const float slope = before - now;
            m = std::max(m, last + slope * slope / (8.0f * curvature));
        } else {
            m = std::max(m, last);
        }
    }
    return m;
}

} // namespace

void accumulateCrests(const float* const* z, int frames, float* peak) noexcept {
    constexpr int width = int(Batch::size);
    int i = 0;
    for (; i + width <= frames; i += width) {
        Batch before = xsimd::abs(Batch::load_unaligned(z[6] + i - 1));
        Batch last = xsimd::abs(Batch::load_unaligned(z[7] + i - 1));
        Batch m = Batch::load_unaligned(peak + i);
        for (int k = 0; k < 8; ++k) {
            const Batch now = xsimd::abs(Batch::load_unaligned(z[k] + i));
            m = crestStep(m, before, last, now);
            before = last;
            last = now;
        }
        m.store_unaligned(peak + i);
    }
    for (; i < frames; ++i) {
        float before = std::fabs(z[6][i - 1]), last = std::fabs(z[7][i - 1]), m = peak[i];
        for (int k = 0; k < 8; ++k) {
            const float now = std::fabs(z[k][i]);
            m = crestStep(m, before, last, now);
            before = last;
            last = now;
        }
        peak[i] = m;
    }
}

void crestBound(const float* const* z, int frames, float* bound) noexcept {
    constexpr int width = int(Batch::size);
    int i = 0;
    for (; i + width <= frames; i += width) {
        Batch previous = Batch::load_unaligned(z[6] + i - 1), middle = Batch::load_unaligned(z[7] + i - 1);
        Batch most = xsimd::abs(middle), spread(0.0f);
        for (int k = 0; k < 8; ++k) {
            const Batch next = Batch::load_unaligned(z[k] + i);
            most = larger(most, xsimd::abs(next));
            spread = larger(spread, xsimd::abs(previous - next));
            previous = middle;
            middle = next;
        }
        (most + spread * Batch(0.125f)).store_unaligned(bound + i);
    }
    for (; i < frames; ++i) {
        float previous = z[6][i - 1], middle = z[7][i - 1];
        float most = std::fabs(middle), spread = 0;
        for (int k = 0; k < 8; ++k) {
            const float next = z[k][i];
            most = std::max(most, std::fabs(next));
            spread = std::max(spread, std::fabs(previous - next));
            previous = middle;
            middle = next;
        }
        bound[i] = most + spread * 0.125f;
    }
}

void attackGains(const double* sums, int frames, double divisor, double* logGain, double* floored) noexcept {
    using Doubles = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Doubles::size);
    // Clearing the 29 low mantissa bits of a positive double rounds it down to a float's precision
    // (exact for e^-23 .. 1, well inside the float's normal range).
    constexpr std::uint64_t kFloatBits = 0xFFFFFFFFE0000000ull;
    const Doubles mask(std::bit_cast<double>(kFloatBits)), d(divisor), below(1.0 - 0x1p-50), above(1.0 + 0x1p-50);
    const Doubles zero(0.0), one(1.0), unknown(-1.0);
    int i = 0;
    for (; i + width <= frames; i += width) {
        const Doubles s = Doubles::load_unaligned(sums + i);
        const Doubles x = s / d;
        x.store_unaligned(logGain + i);
        const Doubles v = xsimd::exp(x);
        const Doubles low = xsimd::bitwise_and(v * below, mask), high = xsimd::bitwise_and(v * above, mask);
        xsimd::select(s == zero, one, xsimd::select(low == high, low, unknown)).store_unaligned(floored + i);
    }
    for (; i < frames; ++i) {
        logGain[i] = sums[i] / divisor;
        floored[i] =
            sums[i] == 0.0 ? 1.0 : std::bit_cast<double>(std::bit_cast<std::uint64_t>(std::exp(logGain[i])) & kFloatBits);
    }
}

int firstNonzero(const double* x, int n) noexcept {
    using Doubles = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Doubles::size);
    int i = 0;
    for (; i + 4 * width <= n; i += 4 * width) {
        // All zero (a NaN is not: == is false for it, as in the loop; xsimd's != would say "equal").
        const Doubles zero(0.0);
        const auto zeros = (Doubles::load_unaligned(x + i) == zero) & (Doubles::load_unaligned(x + i + width) == zero) &
                           (Doubles::load_unaligned(x + i + 2 * width) == zero) &
                           (Doubles::load_unaligned(x + i + 3 * width) == zero);
        if (!xsimd::all(zeros)) break;
    }
    while (i < n && x[i] == 0.0) ++i;
    return i;
}

int endOfNonzero(const double* x, int n) noexcept {
    using Doubles = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Doubles::size);
    int end = n;
    for (; end >= 4 * width; end -= 4 * width) {
        const Doubles zero(0.0);
        const double* at = x + end - 4 * width;
        const auto zeros = (Doubles::load_unaligned(at) == zero) & (Doubles::load_unaligned(at + width) == zero) &
                           (Doubles::load_unaligned(at + 2 * width) == zero) & (Doubles::load_unaligned(at + 3 * width) == zero);
        if (!xsimd::all(zeros)) break;
    }
    while (end > 0 && x[end - 1] == 0.0) --end;
    return end;
}

int firstAbove(const float* x, int n, float threshold) noexcept {
    constexpr int width = int(Batch::size);
    const Batch limit(threshold);
    int i = 0;
    for (; i + 4 * width <= n; i += 4 * width) {
        const auto any = (Batch::load_unaligned(x + i) > limit) | (Batch::load_unaligned(x + i + width) > limit) |
                         (Batch::load_unaligned(x + i + 2 * width) > limit) | (Batch::load_unaligned(x + i + 3 * width) > limit);
        if (xsimd::any(any)) break;
    }
    while (i < n && !(x[i] > threshold)) ++i;
    return i;
}

bool allUnity(const float* x, int n) noexcept {
    constexpr int width = int(Batch::size);
    const Batch one(1.0f);
    int i = 0;
    for (; i + 4 * width <= n; i += 4 * width) {
        const auto all = (Batch::load_unaligned(x + i) == one) & (Batch::load_unaligned(x + i + width) == one) &
                         (Batch::load_unaligned(x + i + 2 * width) == one) & (Batch::load_unaligned(x + i + 3 * width) == one);
        if (!xsimd::all(all)) return false;
    }
    for (; i < n; ++i)
        if (!(x[i] == 1.0f)) return false;
    return true;
}

void tileMaxima(const float* x, int n, float* out) noexcept {
    constexpr int width = int(Batch::size);
    static_assert(16 % width == 0, "a tile is whole batches");
    int t = 0;
    for (; 16 * (t + 1) <= n; ++t) {
        const float* tile = x + 16 * t;
        Batch most = Batch::load_unaligned(tile);
        auto nan = xsimd::isnan(most);
        for (int j = width; j < 16; j += width) {
            const Batch v = Batch::load_unaligned(tile + j);
            most = larger(most, v);
            nan = nan | xsimd::isnan(v);
        }
        out[t] = xsimd::any(nan) ? std::numeric_limits<float>::quiet_NaN() : largestLane(most);
    }
    if (16 * t < n) {
        float m = x[16 * t];
        bool nan = false;
        for (int i = 16 * t; i < n; ++i) {
            nan = nan || x[i] != x[i];
            m = std::max(m, x[i]);
        }
        out[t] = nan ? std::numeric_limits<float>::quiet_NaN() : m;
    }
}

} // namespace sg::SG_SIMD_NS
