#include "host/io/Dither.h"

#include "core/Simd.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

namespace sg::io {

namespace {

/// splitmix64 (Vigna): spreads any seed, 0 included, over the generators' states.
std::uint64_t splitMix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

} // namespace

void TpdfDither::reseed(std::uint64_t seed) noexcept {
    for (int lane = 0; lane < kLanes; ++lane) {
        state0_[lane] = splitMix64(seed);
        state1_[lane] = splitMix64(seed);
        if ((state0_[lane] | state1_[lane]) == 0) state1_[lane] = 1; // all-zero is a fixed point
    }
    pendingIndex_ = kLanes;
}

void TpdfDither::generate(float* out) noexcept {
    for (int lane = 0; lane < kLanes; ++lane) {
        // xorshift128+ (a, b, c = 23, 18, 5)
        std::uint64_t s1 = state0_[lane];
        const std::uint64_t s0 = state1_[lane];
        const std::uint64_t bits = s0 + s1;
        state0_[lane] = s0;
        s1 ^= s1 << 23;
        state1_[lane] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
        // Top 24 bits of each half, signed: integers in [-2^23, 2^23); their sum is exact.
        const std::int32_t high = std::int32_t(std::uint32_t(bits >> 32)) >> 8;
        const std::int32_t low = std::int32_t(std::uint32_t(bits)) >> 8;
        out[lane] = float(high + low) * 0x1p-24f;
    }
}

void TpdfDither::fill(float* out, std::size_t count) noexcept {
    std::size_t done = 0;
    while (done < count && pendingIndex_ < kLanes) out[done++] = pending_[pendingIndex_++];
    const std::size_t bulkEnd = done + (count - done) / kLanes * kLanes;
    if (done < bulkEnd) {
        // generate() on local copies of the states, which the compiler keeps in vector registers.
        std::uint64_t state0[kLanes], state1[kLanes];
        for (int lane = 0; lane < kLanes; ++lane) {
            state0[lane] = state0_[lane];
            state1[lane] = state1_[lane];
        }
        float* __restrict o = out;
        for (; done < bulkEnd; done += kLanes) {
            for (int lane = 0; lane < kLanes; ++lane) {
                std::uint64_t s1 = state0[lane];
                const std::uint64_t s0 = state1[lane];
                const std::uint64_t bits = s0 + s1;
                state0[lane] = s0;
                s1 ^= s1 << 23;
                state1[lane] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
                const std::int32_t high = std::int32_t(std::uint32_t(bits >> 32)) >> 8;
                const std::int32_t low = std::int32_t(std::uint32_t(bits)) >> 8;
                o[done + std::size_t(lane)] = float(high + low) * 0x1p-24f;
            }
        }
        for (int lane = 0; lane < kLanes; ++lane) {
            state0_[lane] = state0[lane];
            state1_[lane] = state1[lane];
        }
    }
    if (done < count) {
        generate(pending_);
        pendingIndex_ = 0;
        while (done < count) out[done++] = pending_[pendingIndex_++];
    }
}

namespace {

/// The baseline: the dither values into `d` (TpdfDither::fill), then
/// q = round-half-up(clamp(x 2^(bits-1) + d)) in double, where x 2^(bits-1) + d is exact.
std::uint64_t quantizeBaseline(const float* __restrict x, std::size_t count, int bits, std::int32_t* __restrict q,
                               float* __restrict d, TpdfDither& dither) noexcept {
    dither.fill(d, count);
    const double scale = std::ldexp(1.0, bits - 1);
    const double lowest = -scale, highest = scale - 1;
    // Rounding by truncation in a positive domain: v + 2^(bits-1) + 0.5 >= 0.5 after clamping,
    // so int conversion (truncation) is floor and the result is round-half-up. Vectorises
    // (cvttpd2dq) where lrint does not.
    const double offset = scale + 0.5;
    const auto integerOffset = std::int32_t(scale);
    const std::int32_t step = std::int32_t(1) << (32 - bits);
    for (std::size_t i = 0; i < count; ++i) {
        double v = double(x[i]) * scale + double(d[i]);
        v = v < lowest ? lowest : v;
        v = v > highest ? highest : v;
        q[i] = (std::int32_t(v + offset) - integerOffset) * step;
    }
    // x * scale > highest exactly when x > highest / scale (both exact in float for bits <= 24).
    const float lowestInput = -1.0f, highestInput = float(highest / scale);
    std::uint64_t total = 0;
    for (std::size_t start = 0; start < count; start += 1u << 20) { // 32-bit counters, vectorised
        const std::size_t end = std::min(count, start + (std::size_t(1) << 20));
        std::uint32_t clipped = 0;
        for (std::size_t i = start; i < end; ++i) clipped += std::uint32_t((x[i] < lowestInput) | (x[i] > highestInput));
        total += clipped;
    }
    return total;
}

#if defined(__x86_64__) && defined(__GNUC__)
/// AVX2, one pass: the four generators are the four 64-bit lanes of a register, and each step
/// quantises the next four samples with the baseline's operations (the dither value enters as
/// double: (high + low) 2^-24 is exact in float and in double alike), so the results are the same.
/// Samples [0, count), count a multiple of 4, the generators' states in state0 / state1.
[[gnu::target("avx2,popcnt")]] std::uint64_t quantizeAvx2(const float* x, std::size_t count, int bits, std::int32_t* q,
                                                          std::uint64_t* state0, std::uint64_t* state1) noexcept {
    const double scale = std::ldexp(1.0, bits - 1);
    const __m256d scaleV = _mm256_set1_pd(scale), lowest = _mm256_set1_pd(-scale), highest = _mm256_set1_pd(scale - 1);
    const __m256d offset = _mm256_set1_pd(scale + 0.5), unit = _mm256_set1_pd(0x1p-24);
    const __m128i integerOffset = _mm_set1_epi32(std::int32_t(scale));
    const __m128i shift = _mm_cvtsi32_si128(32 - bits);
    const __m128 lowestInput = _mm_set1_ps(-1.0f), highestInput = _mm_set1_ps(float((scale - 1) / scale));
    const __m256i evenDwords = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    __m256i s0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state0));
    __m256i s1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(state1));
    std::uint64_t clipped = 0;
    for (std::size_t i = 0; i < count; i += 4) {
        // xorshift128+ (a, b, c = 23, 18, 5) on the four generators
        __m256i a = s0;
        const __m256i b = s1;
        const __m256i sum = _mm256_add_epi64(a, b);
        s0 = b;
        a = _mm256_xor_si256(a, _mm256_slli_epi64(a, 23));
        s1 = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(_mm256_srli_epi64(a, 18), _mm256_srli_epi64(b, 5)));
        // Top 24 bits of each 32-bit half, signed, then high + low in the low half of each lane.
        const __m256i halves = _mm256_srai_epi32(sum, 8);
        const __m256i pairs = _mm256_add_epi32(halves, _mm256_srli_epi64(halves, 32));
        const __m128i dither = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(pairs, evenDwords));
        const __m256d d = _mm256_mul_pd(_mm256_cvtepi32_pd(dither), unit);
        const __m128 in = _mm_loadu_ps(x + i);
        __m256d v = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtps_pd(in), scaleV), d);
        v = _mm256_max_pd(lowest, v);  // v < lowest ? lowest : v
        v = _mm256_min_pd(highest, v); // v > highest ? highest : v
        const __m128i level = _mm_sub_epi32(_mm256_cvttpd_epi32(_mm256_add_pd(v, offset)), integerOffset);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm_sll_epi32(level, shift));
        const __m128 out = _mm_or_ps(_mm_cmplt_ps(in, lowestInput), _mm_cmpgt_ps(in, highestInput));
        clipped += std::uint64_t(__builtin_popcount(unsigned(_mm_movemask_ps(out))));
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(state0), s0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(state1), s1);
    return clipped;
}
#endif

} // namespace

std::uint64_t quantize(const float* in, std::size_t count, int bits, std::int32_t* out, float* ditherScratch,
                       TpdfDither& dither) noexcept {
#if defined(__x86_64__) && defined(__GNUC__)
    static_assert(TpdfDither::kLanes == 4, "the AVX2 loop holds the generators in one register");
    // Checked per call, so that STAGEGRAPH_SIMD lowers it as for the engine's kernels (tests).
    if (detectSimdArch() != SimdArch::Sse2) {
        const double scale = std::ldexp(1.0, bits - 1);
        const double lowest = -scale, highest = scale - 1, offset = scale + 0.5;
        const auto integerOffset = std::int32_t(scale);
        const std::int32_t step = std::int32_t(1) << (32 - bits);
        const float highestInput = float(highest / scale);
        std::uint64_t clipped = 0;
        // One sample with the next value of the sequence (values left over from the previous
        // call first, and the tail): the same operations as the loops.
        auto one = [&](std::size_t i) {
            double v = double(in[i]) * scale + double(dither.next());
            v = v < lowest ? lowest : v;
            v = v > highest ? highest : v;
            out[i] = (std::int32_t(v + offset) - integerOffset) * step;
            clipped += std::uint64_t((in[i] < -1.0f) | (in[i] > highestInput));
        };
        std::size_t done = 0;
        while (done < count && dither.pendingIndex_ < TpdfDither::kLanes) one(done++);
        const std::size_t groups = (count - done) / TpdfDither::kLanes * TpdfDither::kLanes;
        if (groups > 0) clipped += quantizeAvx2(in + done, groups, bits, out + done, dither.state0_, dither.state1_);
        for (done += groups; done < count;) one(done++);
        return clipped;
    }
#endif
    return quantizeBaseline(in, count, bits, out, ditherScratch, dither);
}

#if defined(__x86_64__) && defined(__GNUC__)
namespace {

// GCC 12's VBMI intrinsics initialise their "undefined" vector from itself (__m512i __Y = __Y),
// which -Wmaybe-uninitialized reports: a false positive in a system header (as in CMakeLists.txt
// for the engine's SIMD kernels).
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
/// AVX-512 VBMI: 16 samples at a time, their top `bytes` (2 or 3) bytes gathered by one byte
/// permutation into 32 or 48 bytes, stored under a mask (nothing past the end). The same bytes as
/// the scalar loop, in a tenth of the instructions. Returns the samples packed (a multiple of 16).
[[gnu::target("avx512f,avx512bw,avx512vbmi")]] std::size_t packVbmi(const std::int32_t* in, std::size_t count, int bytes,
                                                                    unsigned char* out) noexcept {
    alignas(64) unsigned char index[64] = {};
    // Output byte j is byte b of sample i (j = bytes i + b): input byte 4 i + (4 - bytes) + b.
    for (int i = 0; i < 16; ++i)
        for (int b = 0; b < bytes; ++b) index[i * bytes + b] = static_cast<unsigned char>(4 * i + (4 - bytes) + b);
    const __m512i permutation = _mm512_load_si512(index);
    const __mmask64 kept = bytes == 3 ? (__mmask64(1) << 48) - 1 : (__mmask64(1) << 32) - 1;
    const std::size_t step = 16 * std::size_t(bytes);
    std::size_t i = 0;
    for (; i + 16 <= count; i += 16, out += step)
        _mm512_mask_storeu_epi8(out, kept, _mm512_permutexvar_epi8(permutation, _mm512_loadu_si512(in + i)));
    return i;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/// Two channels, 16 frames at a time (AVX-512): the same values moved, so the same bits; Scaled:
/// each times `factor` first (one float multiply a sample, as a gain node's). Return the frames
/// done (a multiple of 16).
template <bool Scaled>
[[gnu::target("avx512f")]] int interleavePair(const float* left, const float* right, int frames, float factor,
                                              float* out) noexcept {
    const __m512i low = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i high = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    const __m512 k = _mm512_set1_ps(factor);
    int f = 0;
    for (; f + 16 <= frames; f += 16) {
        __m512 l = _mm512_loadu_ps(left + f), r = _mm512_loadu_ps(right + f);
        if constexpr (Scaled) {
            l = _mm512_mul_ps(l, k);
            r = _mm512_mul_ps(r, k);
        }
        _mm512_storeu_ps(out + 2 * f, _mm512_permutex2var_ps(l, low, r));
        _mm512_storeu_ps(out + 2 * f + 16, _mm512_permutex2var_ps(l, high, r));
    }
    return f;
}
[[gnu::target("avx512f")]] int deinterleavePair(const float* in, int frames, float* left, float* right) noexcept {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    int f = 0;
    for (; f + 16 <= frames; f += 16) {
        const __m512 a = _mm512_loadu_ps(in + 2 * f), b = _mm512_loadu_ps(in + 2 * f + 16);
        _mm512_storeu_ps(left + f, _mm512_permutex2var_ps(a, even, b));
        _mm512_storeu_ps(right + f, _mm512_permutex2var_ps(a, odd, b));
    }
    return f;
}

// (GCC 12's _mm512_undefined_ps in _mm512_cvtepi32_ps: the false positive above.)
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
/// deinterleavePair of left-justified integers, each converted to float and scaled by 2^-31.
[[gnu::target("avx512f")]] int deinterleaveStoredPair(const std::int32_t* in, int frames, float* left, float* right) noexcept {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    const __m512 k = _mm512_set1_ps(0x1p-31f);
    int f = 0;
    for (; f + 16 <= frames; f += 16) {
        const __m512 a = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(in + 2 * f)), k);
        const __m512 b = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_loadu_si512(in + 2 * f + 16)), k);
        _mm512_storeu_ps(left + f, _mm512_permutex2var_ps(a, even, b));
        _mm512_storeu_ps(right + f, _mm512_permutex2var_ps(a, odd, b));
    }
    return f;
}
#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

bool hasVbmi() noexcept {
    static const bool vbmi = __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512bw");
    return vbmi;
}

} // namespace
#endif

void packLittleEndian(const std::int32_t* in, std::size_t count, int bytes, unsigned char* out) noexcept {
    constexpr bool littleEndianHost = std::endian::native == std::endian::little; // stores below are in that order
    if (bytes == 4 && littleEndianHost) {
        std::memcpy(out, in, count * 4);
        return;
    }
#if defined(__x86_64__) && defined(__GNUC__)
    // Checked per call, so that STAGEGRAPH_SIMD lowers it as for the engine's kernels (tests).
    if ((bytes == 2 || bytes == 3) && detectSimdArch() == SimdArch::Avx512 && hasVbmi()) {
        const std::size_t done = packVbmi(in, count, bytes, out);
        in += done;
        out += done * std::size_t(bytes);
        count -= done;
    }
#endif
    const int shift = 32 - 8 * bytes;
    if (bytes == 3 && count > 0 && littleEndianHost) {
        // Four bytes stored per sample, each store overlapping the next sample's first byte,
        // which that sample's store then writes: one shift and one store per sample.
        for (std::size_t i = 0; i + 1 < count; ++i) {
            const std::uint32_t v = std::uint32_t(in[i]) >> shift;
            std::memcpy(out + 3 * i, &v, 4);
        }
        const std::uint32_t last = std::uint32_t(in[count - 1]) >> shift;
        for (int b = 0; b < 3; ++b) out[3 * (count - 1) + std::size_t(b)] = (unsigned char)(last >> (8 * b));
        return;
    }
    for (std::size_t i = 0; i < count; ++i) {
        const std::uint32_t v = std::uint32_t(in[i]) >> shift;
        for (int b = 0; b < bytes; ++b) out[i * std::size_t(bytes) + std::size_t(b)] = (unsigned char)(v >> (8 * b));
    }
}

namespace {

/// interleave(), Scaled: of the samples times `factor`.
template <bool Scaled> void interleaveOf(ConstAudioView in, float factor, float* out) noexcept {
    const auto value = [factor](float x) { return Scaled ? x * factor : x; };
    const int channels = in.channels;
    if (channels == 1 && !Scaled) {
        std::copy_n(in.data, in.frames, out);
        return;
    }
    if (channels == 2) {
        const float* left = in.channel(0);
        const float* right = in.channel(1);
        int frame = 0;
#if defined(__x86_64__) && defined(__GNUC__)
        if (detectSimdArch() == SimdArch::Avx512) frame = interleavePair<Scaled>(left, right, in.frames, factor, out);
#endif
        for (; frame < in.frames; ++frame) {
            out[2 * frame] = value(left[frame]);
            out[2 * frame + 1] = value(right[frame]);
        }
        return;
    }
    for (int c = 0; c < channels; ++c) {
        const float* src = in.channel(c);
        float* dst = out + c;
        for (int frame = 0; frame < in.frames; ++frame) dst[std::size_t(frame) * std::size_t(channels)] = value(src[frame]);
    }
}

} // namespace

void interleave(ConstAudioView in, float* out) noexcept { interleaveOf<false>(in, 1.0f, out); }

void interleave(ConstAudioView in, float factor, float* out) noexcept { interleaveOf<true>(in, factor, out); }

void deinterleaveStored(const std::int32_t* in, AudioView out) noexcept {
    constexpr float kScale = 0x1p-31f; // q / 2^31, exact in float for q of up to 24 significant bits
    const int channels = out.channels;
    int frame = 0;
    if (channels == 2) {
        float* left = out.channel(0);
        float* right = out.channel(1);
#if defined(__x86_64__) && defined(__GNUC__)
        if (detectSimdArch() == SimdArch::Avx512) frame = deinterleaveStoredPair(in, out.frames, left, right);
#endif
        for (; frame < out.frames; ++frame) {
            left[frame] = float(in[2 * frame]) * kScale;
            right[frame] = float(in[2 * frame + 1]) * kScale;
        }
        return;
    }
    for (int c = 0; c < channels; ++c) {
        const std::int32_t* src = in + c;
        float* dst = out.channel(c);
        for (int f = 0; f < out.frames; ++f) dst[f] = float(src[std::size_t(f) * std::size_t(channels)]) * kScale;
    }
}

void deinterleave(const float* in, AudioView out) noexcept {
    const int channels = out.channels;
    if (channels == 1) {
        std::copy_n(in, out.frames, out.data);
        return;
    }
    if (channels == 2) {
        float* left = out.channel(0);
        float* right = out.channel(1);
        int frame = 0;
#if defined(__x86_64__) && defined(__GNUC__)
        if (detectSimdArch() == SimdArch::Avx512) frame = deinterleavePair(in, out.frames, left, right);
#endif
        for (; frame < out.frames; ++frame) {
            left[frame] = in[2 * frame];
            right[frame] = in[2 * frame + 1];
        }
        return;
    }
    for (int c = 0; c < channels; ++c) {
        const float* src = in + c;
        float* dst = out.channel(c);
        for (int frame = 0; frame < out.frames; ++frame) dst[frame] = src[std::size_t(frame) * std::size_t(channels)];
    }
}

} // namespace sg::io
