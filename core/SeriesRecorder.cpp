#include "core/SeriesRecorder.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#elif defined(__SSE__)
#include <xmmintrin.h>
#endif

namespace sg {

namespace {

/// most[j] = std::max(most[j], values[k + j]) for the frames k = 0, 4, 8, .. < count (count a
/// multiple of 4): four chains, one per frame modulo 4. On SSE in one register: MAXPS(v, m) is
/// v > m ? v : m, which is std::max(m, v) = m < v ? v : m lane by lane, NaN and signed zeros
/// included (either NaN gives the second operand, m; equal values give m).
void maxChainsSerial(const float* values, std::size_t count, float (&most)[4]) noexcept {
#if defined(__SSE__)
    __m128 m = _mm_loadu_ps(most);
    std::size_t k = 0;
    for (; k + 16 <= count; k += 16) { // the same chain, four steps per iteration
        m = _mm_max_ps(_mm_loadu_ps(values + k), m);
        m = _mm_max_ps(_mm_loadu_ps(values + k + 4), m);
        m = _mm_max_ps(_mm_loadu_ps(values + k + 8), m);
        m = _mm_max_ps(_mm_loadu_ps(values + k + 12), m);
    }
    for (; k < count; k += 4) m = _mm_max_ps(_mm_loadu_ps(values + k), m);
    _mm_storeu_ps(most, m);
#else
    for (std::size_t k = 0; k < count; k += 4)
        for (int j = 0; j < 4; ++j) most[j] = std::max(most[j], values[k + std::size_t(j)]);
#endif
}

#if defined(__SSE2__)
/// Whether a lane of m is +-0 or a denormal (by the bits: whatever the floating-point mode).
bool anyTiny(__m128 m) noexcept {
    const __m128i magnitude = _mm_and_si128(_mm_castps_si128(m), _mm_set1_epi32(0x7fffffff));
    return _mm_movemask_epi8(_mm_cmpgt_epi32(_mm_set1_epi32(0x00800000), magnitude)) != 0;
}
#endif

/// maxChainsSerial's result with four independent accumulators per chain (the serial chain is
/// bound by the latency of MAXPS, one value in flight): each chain's maxima over the frames
/// 16 i + 4 q + j from the same start, combined by std::max. A chain keeps its first value of
/// the largest ones and never takes a NaN unless it starts with one (then every accumulator
/// holds it, and so does the combination), so the combination has the serial chain's value, and
/// its bits wherever equal values have equal bits: everywhere except among +-0 and, with
/// denormals-are-zero (the engine's processing mode), the denormals. So where a chain's maximum
/// is such a value the serial chain runs again (and runs alone when a chain starts with one: a
/// gain change at rest stays there).
void maxChains(const float* values, std::size_t count, float (&most)[4]) noexcept {
#if defined(__SSE2__)
    const __m128 start = _mm_loadu_ps(most);
    if (count < 64 || anyTiny(start)) return maxChainsSerial(values, count, most);
    __m128 a0 = start, a1 = start, a2 = start, a3 = start;
    std::size_t k = 0;
    for (; k + 16 <= count; k += 16) {
        a0 = _mm_max_ps(_mm_loadu_ps(values + k), a0);
        a1 = _mm_max_ps(_mm_loadu_ps(values + k + 4), a1);
        a2 = _mm_max_ps(_mm_loadu_ps(values + k + 8), a2);
        a3 = _mm_max_ps(_mm_loadu_ps(values + k + 12), a3);
    }
    __m128 m = _mm_max_ps(_mm_max_ps(a3, a2), _mm_max_ps(a1, a0)); // std::max(std::max(a0, a1), std::max(a2, a3))
    if (anyTiny(m)) {
        _mm_storeu_ps(most, start);
        maxChainsSerial(values, k, most);
        m = _mm_loadu_ps(most);
    }
    for (; k < count; k += 4) m = _mm_max_ps(_mm_loadu_ps(values + k), m);
    _mm_storeu_ps(most, m);
#else
    maxChainsSerial(values, count, most);
#endif
}

} // namespace

void SeriesRecorder::add(const float* values, std::size_t count) noexcept {
    for (std::size_t i = 0; i < count;) {
        const auto take = std::size_t(std::min<std::int64_t>(std::int64_t(count - i), window_ - inWindow_));
        double accumulator = accumulator_;
        std::size_t k = i;
        if (inWindow_ == 0 && reduction_ != Reduction::Mean) accumulator = values[k++];
        switch (reduction_) {
        case Reduction::Max: { // four chains, as exact as one (a NaN first value still wins)
            // In float: the accumulator only ever holds a float's value, and floats compare
            // as their doubles do, so the chains pick the same values (one vector of 4).
            const float first = float(accumulator);
            float most[4] = {first, first, first, first};
            const std::size_t whole = (i + take - k) & ~std::size_t(3);
            maxChains(values + k, whole, most);
            k += whole;
            for (; k < i + take; ++k) most[0] = std::max(most[0], values[k]);
            accumulator = double(std::max(std::max(most[0], most[1]), std::max(most[2], most[3])));
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
        if (inWindow_ == window_) push(float(reduction_ == Reduction::Mean ? accumulator_ / double(window_) : accumulator_));
    }
}

} // namespace sg
