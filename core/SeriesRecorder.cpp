#include "core/SeriesRecorder.h"

#include <bit>

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace sg {

namespace {

/// most[j] = std::max(most[j], values[k + j]) for the frames k = 0, 4, 8, .. < count (count a
/// multiple of 4), in four accumulators per j so that MAXPS's latency overlaps, combined at the
/// end. The value is the largest (a NaN start stays, a NaN value is passed over: MAXPS(v, m) is
/// v > m ? v : m); which of several equal values' bits it carries is left to add(), which
/// selects the frame among them.
void maxChains(const float* values, std::size_t count, float (&most)[4]) noexcept {
#if defined(__SSE__)
    const __m128 start = _mm_loadu_ps(most);
    __m128 a0 = start, a1 = start, a2 = start, a3 = start;
    std::size_t k = 0;
    for (; k + 16 <= count; k += 16) {
        a0 = _mm_max_ps(_mm_loadu_ps(values + k), a0);
        a1 = _mm_max_ps(_mm_loadu_ps(values + k + 4), a1);
        a2 = _mm_max_ps(_mm_loadu_ps(values + k + 8), a2);
        a3 = _mm_max_ps(_mm_loadu_ps(values + k + 12), a3);
    }
    __m128 m = _mm_max_ps(_mm_max_ps(a3, a2), _mm_max_ps(a1, a0));
    for (; k < count; k += 4) m = _mm_max_ps(_mm_loadu_ps(values + k), m);
    _mm_storeu_ps(most, m);
#else
    for (std::size_t k = 0; k < count; k += 4)
        for (int j = 0; j < 4; ++j) most[j] = std::max(most[j], values[k + std::size_t(j)]);
#endif
}

/// Whether `bits` is +-0 or a denormal: the only values that compare equal to others with other
/// bits (under denormals-are-zero, a denormal equals a zero).
constexpr bool tiny(std::uint32_t bits) noexcept { return (bits & 0x7fffffffu) < 0x00800000u; }

} // namespace

void SeriesRecorder::add(const float* values, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count;) {
        const auto take = std::size_t(std::min<std::int64_t>(std::int64_t(count - i), window_ - inWindow_));
        double accumulator = accumulator_;
        std::size_t k = i;
        switch (reduction_) {
        case Reduction::Max: {
            // The largest value by four chains, then the first frame that equals it (std::max's
            // rule, as add(value) keeps it; only +-0 and denormals can equal it with other bits).
            const std::uint32_t firstBits = inWindow_ == 0 ? std::bit_cast<std::uint32_t>(values[i]) : mostBits_;
            const float first = std::bit_cast<float>(firstBits);
            if (inWindow_ == 0) ++k;
            const std::size_t from = k;
            float most[4] = {first, first, first, first};
            const std::size_t whole = (i + take - k) & ~std::size_t(3);
            maxChains(values + k, whole, most);
            k += whole;
            for (; k < i + take; ++k) most[0] = std::max(most[0], values[k]);
            const float m = std::max(std::max(most[0], most[1]), std::max(most[2], most[3]));
            std::uint32_t bits = std::bit_cast<std::uint32_t>(m);
            if (!(first < m)) {
                bits = firstBits; // a start as large as the rest comes first; a NaN start stays
            } else if (tiny(bits)) {
                for (std::size_t j = from; j < i + take; ++j)
                    if (values[j] == m) {
                        bits = std::bit_cast<std::uint32_t>(values[j]);
                        break;
                    }
            }
            mostBits_ = bits;
            break;
        }
        case Reduction::Mean:
            for (; k < i + take; ++k) accumulator += values[k];
            break;
        case Reduction::Last:
            accumulator = values[i + take - 1];
            break;
        }
        accumulator_ = accumulator;
        inWindow_ += std::int64_t(take);
        i += take;
        if (inWindow_ == window_) push(windowValue(window_));
    }
}

} // namespace sg
