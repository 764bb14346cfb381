// The dynamics core's vector kernels, compiled once per architecture (see core/Simd.h and
// DynamicsKernel.h): the static curves along time (float batches of consecutive frames) and the
// attack / release recursion across lanes (double batches of lanes, frame after frame).
#include "core/ElementwiseMath.h"
#include "core/SimdTiles.h"
#include "nodes/dynamics/DynamicsKernel.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include <immintrin.h>

namespace sg::SG_SIMD_NS {

namespace {

using Floats = xsimd::batch<float, SG_SIMD_ARCH>;
using Doubles = xsimd::batch<double, SG_SIMD_ARCH>;

/// The same on every architecture (no xsimd::min / max: their NaN handling differs).
/// smaller(a, b) = b < a ? b : a (std::min) and maxOf(a, b) = a < b ? b : a (std::max) lane by
/// lane, each one instruction: MINPS(b, a) is b < a ? b : a and MAXPS(b, a) is b > a ? b : a,
/// the second operand (a) when either is NaN or both are zero, so the same values as the
/// compare and select, NaN and signed zeros included.
inline Floats smaller(const Floats& a, const Floats& b) noexcept {
#if defined(__AVX512F__)
    return Floats(_mm512_min_ps(b, a));
#elif defined(__AVX__)
    return Floats(_mm256_min_ps(b, a));
#else
    return Floats(_mm_min_ps(b, a));
#endif
}
inline Floats maxOf(const Floats& a, const Floats& b) noexcept {
#if defined(__AVX512F__)
    return Floats(_mm512_max_ps(b, a));
#elif defined(__AVX__)
    return Floats(_mm256_max_ps(b, a));
#else
    return Floats(_mm_max_ps(b, a));
#endif
}

/// -G(x) of the compressor (expand = false) or expander curve, min(range, .); the float
/// operations of the scalar version below, one by one.
template <bool Expand> inline Floats target(const Floats& x, float t, float slope, float w, float range) noexcept {
    const Floats u = x - Floats(t);
    const Floats twice = Floats(2.0f) * u;
    const Floats d = Expand ? u - Floats(0.5f * w) : u + Floats(0.5f * w);
    const Floats knee = w > 0 ? Floats(slope) * d * d / Floats(2.0f * w) : Floats(0.0f);
    const Floats outer = Floats(slope) * u;
    Floats g;
    if (Expand)
        g = xsimd::select(twice > Floats(w), Floats(0.0f), xsimd::select(twice < Floats(-w), outer, -knee));
    else
        g = xsimd::select(twice < Floats(-w), Floats(0.0f), xsimd::select(twice > Floats(w), outer, knee));
    return smaller(Floats(range), -g);
}

template <bool Expand> inline float target(float x, float t, float slope, float w, float range) noexcept {
    const float u = x - t;
    const float twice = 2.0f * u;
    const float d = Expand ? u - 0.5f * w : u + 0.5f * w;
    const float knee = w > 0 ? slope * d * d / (2.0f * w) : 0.0f;
    const float outer = slope * u;
    float g;
    if (Expand)
        g = twice > w ? 0.0f : twice < -w ? outer : -knee;
    else
        g = twice < -w ? 0.0f : twice > w ? outer : knee;
    return -g < range ? -g : range;
}

template <bool Expand> void targets(const float* x, int frames, float t, float slope, float w, float range, float* out) noexcept {
    constexpr int width = int(Floats::size);
    int n = 0;
    for (; n + width <= frames; n += width)
        target<Expand>(Floats::load_unaligned(x + n), t, slope, w, range).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = target<Expand>(x[n], t, slope, w, range);
}

} // namespace

void staticTargets(const float* x, int frames, float t, float slope, float w, float range, bool expand, float* out) noexcept {
    if (expand)
        targets<true>(x, frames, t, slope, w, range, out);
    else
        targets<false>(x, frames, t, slope, w, range, out);
}

namespace {

/// The level's dB (Elementwise::gainToDecibelsFloored's operations) and its target, in registers.
/// Batches whose every |x| is at most `quiet` (the caller's bound, quietLevel) are below the knee:
/// their target is that of any level there, smaller(range, -0), without the log.
template <bool Expand>
void levelTargetsOf(const float* x, int frames, float scale, float floor, float t, float slope, float w, float range, float quiet,
                    float* out) noexcept {
    constexpr int width = int(Floats::size);
    // rest: target()'s value below the knee, with its operations (the sign of that zero differs
    // between xsimd's negation on AVX-512 and elsewhere; it never reaches the output).
    const Floats k(scale), low(floor), below(quiet), rest = smaller(Floats(range), -Floats(0.0f));
    const auto targetOf = [&](const Floats& g) {
        const Floats db = decibelsOf(g) * k;
        return target<Expand>(maxOf(db, low), t, slope, w, range);
    };
    // |g| <= quiet on the bits: non-negative floats order as their bits do, NaN's bits are above
    // every finite bound's, and a negative bound (-1: never) is a negative integer.
    using Ints = xsimd::batch<std::int32_t, SG_SIMD_ARCH>;
    const Ints magnitude(0x7fffffff), quietBits(xsimd::bitwise_cast<Ints>(below));
    // Tested a run of four vectors at a time, so that the log's loop carries no test (and keeps
    // its constants in registers).
    const auto quietAt = [&](int at) {
        return (xsimd::bitwise_cast<Ints>(Floats::load_unaligned(x + at)) & magnitude) <= quietBits;
    };
    int n = 0;
    for (; n + 4 * width <= frames; n += 4 * width) {
        if (xsimd::all(quietAt(n) & quietAt(n + width) & quietAt(n + 2 * width) & quietAt(n + 3 * width))) {
            for (int j = 0; j < 4; ++j) rest.store_unaligned(out + n + j * width);
            continue;
        }
        for (int j = 0; j < 4; ++j) targetOf(Floats::load_unaligned(x + n + j * width)).store_unaligned(out + n + j * width);
    }
    for (; n + width <= frames; n += width) targetOf(Floats::load_unaligned(x + n)).store_unaligned(out + n);
    if (n < frames) { // the dB of the tail padded into one more batch, as the dB pass does; the
                      // curve's scalar tail, as staticTargets does
        alignas(64) float tail[width] = {};
        std::copy(x + n, x + frames, tail);
        const Floats db = decibelsOf(Floats::load_aligned(tail)) * k;
        maxOf(db, low).store_aligned(tail);
        for (int j = 0; j < frames - n; ++j) out[n + j] = target<Expand>(tail[j], t, slope, w, range);
    }
}

} // namespace

void levelTargets(const float* x, int frames, float scale, float floor, float t, float slope, float w, float range, bool expand,
                  float quiet, float* out) noexcept {
    if (expand)
        levelTargetsOf<true>(x, frames, scale, floor, t, slope, w, range, -1.0f, out);
    else
        levelTargetsOf<false>(x, frames, scale, floor, t, slope, w, range, quiet, out);
}

namespace {

/// y = x * g for g = Elementwise::offsetDecibelsToGain's value of one batch of frames.
template <int Form> inline Floats gainAt(const Floats& db, const Floats& s, const Floats& c, const float* offset) noexcept {
    if constexpr (Form == 0) return gainOf(s * db);
    if constexpr (Form == 1) return gainOf(s * db + c);
    return gainOf(s * db + Floats::load_unaligned(offset));
}

template <int Form>
void applyGainOf(const float* x, const float* db, float sign, const float* offset, float constant, float* y,
                 int frames) noexcept {
    constexpr int width = int(Floats::size);
    const Floats s(sign), c(constant);
    int n = 0;
    for (; n + width <= frames; n += width) {
        const Floats gain = gainAt<Form>(Floats::load_unaligned(db + n), s, c, offset + (Form == 2 ? n : 0));
        (Floats::load_unaligned(x + n) * gain).store_unaligned(y + n);
    }
    if (n < frames) { // the gain's tail padded into one more batch, as the dB pass does
        alignas(64) float tail[width] = {}, tailOffset[width] = {}, tailX[width] = {};
        std::copy(db + n, db + frames, tail);
        if (Form == 2) std::copy(offset + n, offset + frames, tailOffset);
        std::copy(x + n, x + frames, tailX);
        (Floats::load_aligned(tailX) * gainAt<Form>(Floats::load_aligned(tail), s, c, tailOffset)).store_aligned(tail);
        std::copy(tail, tail + (frames - n), y + n);
    }
}

} // namespace

void applyDecibelGain(const float* x, const float* db, float sign, const float* offset, float constant, float* y,
                      int frames) noexcept {
    if (offset)
        applyGainOf<2>(x, db, sign, offset, constant, y, frames);
    else if (constant != 0.0f)
        applyGainOf<1>(x, db, sign, offset, constant, y, frames);
    else
        applyGainOf<0>(x, db, sign, offset, constant, y, frames);
}

namespace {

/// Whether Batch takes its lanes in 4-frame tiles transposed in registers (AVX2: 4 lanes,
/// AVX-512: 8 lanes as two halves); otherwise lane by lane through memory.
template <class Batch>
constexpr bool kTiled =
#if defined(__AVX512F__)
    Batch::size == 8 || Batch::size == 4;
#elif defined(__AVX__)
    Batch::size == 4;
#else
    false;
#endif

/// Frames n..n+3 of batch b's lanes (b * width ..), frame by frame.
template <class Batch> inline void gatherTile(const float* const* targets, int b, int n, Batch out[4]) noexcept {
#if defined(__AVX512F__)
    if constexpr (Batch::size == 8) {
        // Vector i: lane i's four frames in its low half, lane i + 4's in its high half; then a 4 x 4
        // transpose inside the halves: pairs of frames by unpacking, then quarters picked from two
        // vectors (exact data movement, float -> double exact).
        __m512d r[4];
        for (int i = 0; i < 4; ++i) {
            const float* const* at = targets + b * 8 + i;
            r[i] = _mm512_cvtps_pd(
                _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(at[0] + n)), _mm_loadu_ps(at[4] + n), 1));
        }
        const __m512d t0 = _mm512_unpacklo_pd(r[0], r[1]), t1 = _mm512_unpackhi_pd(r[0], r[1]),
                      t2 = _mm512_unpacklo_pd(r[2], r[3]), t3 = _mm512_unpackhi_pd(r[2], r[3]);
        const __m512i even = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), odd = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
        out[0] = Batch(_mm512_permutex2var_pd(t0, even, t2));
        out[1] = Batch(_mm512_permutex2var_pd(t1, even, t3));
        out[2] = Batch(_mm512_permutex2var_pd(t0, odd, t2));
        out[3] = Batch(_mm512_permutex2var_pd(t1, odd, t3));
        return;
    }
#endif
#if defined(__AVX__)
    if constexpr (Batch::size == 4) {
        __m256d t[4];
        gatherTile4(targets, b * 4, n, t);
        for (int f = 0; f < 4; ++f) out[f] = Batch(t[f]);
    }
#endif
    (void)targets, (void)b, (void)n, (void)out;
}

template <class Batch> inline void scatterTile(const Batch in[4], float* const* out, int b, int n) noexcept {
#if defined(__AVX512F__)
    if constexpr (Batch::size == 8) {
        // gatherTile's steps backwards: the quarters back into pairs of frames, unpacked into
        // lane i's frames (low half) and lane i + 4's (high half), rounded as float(double).
        const __m512i even = _mm512_setr_epi64(0, 1, 8, 9, 4, 5, 12, 13), odd = _mm512_setr_epi64(2, 3, 10, 11, 6, 7, 14, 15);
        const __m512d t0 = _mm512_permutex2var_pd(in[0], even, in[2]), t1 = _mm512_permutex2var_pd(in[1], even, in[3]),
                      t2 = _mm512_permutex2var_pd(in[0], odd, in[2]), t3 = _mm512_permutex2var_pd(in[1], odd, in[3]);
        const __m512d r[4] = {_mm512_unpacklo_pd(t0, t1), _mm512_unpackhi_pd(t0, t1), _mm512_unpacklo_pd(t2, t3),
                              _mm512_unpackhi_pd(t2, t3)};
        for (int i = 0; i < 4; ++i) {
            float* const* at = out + b * 8 + i;
            const __m256 v = _mm512_cvtpd_ps(r[i]);
            _mm_storeu_ps(at[0] + n, _mm256_castps256_ps128(v));
            _mm_storeu_ps(at[4] + n, _mm256_extractf128_ps(v, 1));
        }
        return;
    }
#endif
#if defined(__AVX__)
    if constexpr (Batch::size == 4) {
        const __m256d t[4] = {in[0], in[1], in[2], in[3]};
        scatterTile4(t, out, b * 4, n);
    }
#endif
    (void)in, (void)out, (void)b, (void)n;
}

/// smoothChanges on the first Used batches of lanes (compile-time, so the state stays in registers).
/// AnyAuto = false when no lane of the call has auto release: the output is C' in every lane and
/// the slow path rests (a lane whose auto release is switched on starts it from C: DynamicsCore.cpp,
/// update()), so a lane alone, the usual case, runs one chain per frame instead of two.
template <class Batch, int Used, bool AnyAuto, int first>
void smoothBatches(const float* const* allTargets, int frames, const dynamics::SmoothCoefficients& k, double* allChange,
                   double* allSlow, float* const* allOut) noexcept {
    // Lanes first.. (0 or 8: the coefficients stay aligned, and their offsets are constants).
    const float* const* targets = allTargets + first;
    float* const* out = allOut + first;
    double* change = allChange + first;
    double* slow = allSlow + first;
    constexpr int width = int(Batch::size);
    const auto larger = [](const Batch& a, const Batch& b) { return xsimd::select(a < b, b, a); };
    Batch c[Used], s[Used];
    for (int b = 0; b < Used; ++b) {
        c[b] = Batch::load_unaligned(change + b * width);
        s[b] = Batch::load_unaligned(slow + b * width);
    }
    const Batch snap(dynamics::kSnapDb), zero(0.0);
    // One frame of batch b: the state advances, the result (the change to apply) is returned.
    const auto step = [&](int b, const Batch& target) {
        const int at = first + b * width;
        const auto tiny = target < snap;
        // The products with C start at once; the comparisons run beside them.
        const Batch rising = Batch::load_aligned(k.riseRest + at) * target + Batch::load_aligned(k.rise + at) * c[b];
        const Batch falling = Batch::load_aligned(k.fallRest + at) * target + Batch::load_aligned(k.fall + at) * c[b];
        const Batch next = xsimd::select(tiny & (c[b] < snap), zero, xsimd::select(target > c[b], rising, falling));
        c[b] = next;
        if constexpr (AnyAuto) {
            const Batch slowRising =
                Batch::load_aligned(k.slowRiseRest + at) * target + Batch::load_aligned(k.slowRise + at) * s[b];
            const Batch slowFalling =
                Batch::load_aligned(k.slowFallRest + at) * target + Batch::load_aligned(k.slowFall + at) * s[b];
            const Batch slowNext =
                xsimd::select(tiny & (s[b] < snap), zero, xsimd::select(target > s[b], slowRising, slowFalling));
            s[b] = slowNext;
            return xsimd::select(Batch::load_aligned(k.autoRelease + at) > zero, larger(next, slowNext), next);
        } else {
            return next;
        }
    };
    int n = 0;
    if constexpr (kTiled<Batch>) {
        // Four frames at a time: the lanes' floats come in and go out through in-register
        // transposes; the recursion is the same, frame after frame (out may be targets: the
        // tile is read whole before it is written).
        for (; n + 4 <= frames; n += 4) {
            Batch t[Used][4], o[Used][4];
            for (int b = 0; b < Used; ++b) gatherTile(targets, b, n, t[b]);
            for (int f = 0; f < 4; ++f)
                for (int b = 0; b < Used; ++b) o[b][f] = step(b, t[b][f]); // independent chains: their latencies overlap
            for (int b = 0; b < Used; ++b) scatterTile(o[b], out, b, n);
        }
    }
    alignas(64) double t[dynamics::kSmoothLanes], o[dynamics::kSmoothLanes];
    for (; n < frames; ++n) {
        for (int l = 0; l < Used * width; ++l) t[l] = double(targets[l][n]);
        for (int b = 0; b < Used; ++b) step(b, Batch::load_aligned(t + b * width)).store_aligned(o + b * width);
        for (int l = 0; l < Used * width; ++l) out[l][n] = float(o[l]);
    }
    for (int b = 0; b < Used; ++b) {
        c[b].store_unaligned(change + b * width);
        s[b].store_unaligned(slow + b * width);
    }
}

/// Batches of lanes per pass of smoothBatches: 16 lanes on AVX-512 (two chains whose latencies
/// overlap; alone, one batch's chain of dependent operations bounds the pass), 8 below (AVX2's 16
/// registers hold two batches' state and tiles).
template <class Batch>
constexpr int kBatchesPerPass =
#if defined(__AVX512F__)
    Batch::size == 8 ? 2 : 8 / int(Batch::size);
#else
    8 / int(Batch::size);
#endif

/// One pass of smoothBatches over `lanes` lanes from lane `first` on.
template <bool AnyAuto, int first>
void smoothPass(const float* const* targets, int lanes, int frames, const dynamics::SmoothCoefficients& k, double* change,
                double* slow, float* const* out) noexcept {
    constexpr int width = int(Doubles::size), most = kBatchesPerPass<Doubles>;
    switch ((lanes + width - 1) / width) {
    case 1:
        smoothBatches<Doubles, 1, AnyAuto, first>(targets, frames, k, change, slow, out);
        break;
    case 2:
        if constexpr (most >= 2) smoothBatches<Doubles, 2, AnyAuto, first>(targets, frames, k, change, slow, out);
        break;
    case 3:
    case 4:
        if constexpr (most >= 4) smoothBatches<Doubles, 4, AnyAuto, first>(targets, frames, k, change, slow, out);
        break;
    }
}

/// One lane without auto release (a linked detector alone, as W1's stereo compressor): the
/// recursion of smoothBatches in scalar doubles, the same operations on the same values, so the
/// same bits, without the 2-lane batch's loads, stores and conversions of a lane nobody reads.
/// (smoothOneLane and compressOneLane.)
struct OneLaneRecursion {
    double rise, riseRest, fall, fallRest;
    explicit OneLaneRecursion(const dynamics::SmoothCoefficients& k) noexcept
        : rise(k.rise[0]), riseRest(k.riseRest[0]), fall(k.fall[0]), fallRest(k.fallRest[0]) {}
    /// The state after a frame of target t from state c.
    [[gnu::always_inline]] double operator()(double t, double c) const noexcept {
        const double rising = riseRest * t + rise * c;
        const double falling = fallRest * t + fall * c;
        const double next = t > c ? rising : falling;
        return t < dynamics::kSnapDb && c < dynamics::kSnapDb ? 0.0 : next;
    }
};

void smoothOneLane(const float* target, int frames, const dynamics::SmoothCoefficients& k, double* change, float* out) noexcept {
    const OneLaneRecursion step(k);
    double c = change[0];
    for (int n = 0; n < frames; ++n) {
        c = step(double(target[n]), c);
        out[n] = float(c);
    }
    change[0] = c;
}

template <bool AnyAuto>
void smoothLanes(const float* const* targets, int lanes, int frames, const dynamics::SmoothCoefficients& k, double* change,
                 double* slow, float* const* out) noexcept {
    constexpr int width = int(Doubles::size), most = kBatchesPerPass<Doubles>;
    static_assert(most * width <= dynamics::kSmoothLanes && most <= 4, "a pass fits in a call");
    // Outside the if constexpr below: a false static_assert in its discarded branch is an error
    // to clang (the fuzz build) even when that branch is not taken.
    static_assert(most * width == dynamics::kSmoothLanes || 2 * most * width == dynamics::kSmoothLanes, "one or two passes");
    // Only the batches that hold a used lane run, and one or two lanes (a mono or stereo
    // instance alone) run on 2-lane batches whatever the architecture: the same operations on
    // the same lanes, so the same bits. The caller points the rest of the lanes it passes
    // (up to a whole batch) at zeros (targets) and a scratch (out).
    using Pair = xsimd::batch<double, xsimd::sse2>;
    if constexpr (!AnyAuto) {
        if (lanes == 1) return smoothOneLane(targets[0], frames, k, change, out[0]);
    }
    if (lanes <= 2) return smoothBatches<Pair, 1, AnyAuto, 0>(targets, frames, k, change, slow, out);
    smoothPass<AnyAuto, 0>(targets, std::min(lanes, most * width), frames, k, change, slow, out);
    if constexpr (most * width < dynamics::kSmoothLanes) {
        if (lanes > most * width) smoothPass<AnyAuto, most * width>(targets, lanes - most * width, frames, k, change, slow, out);
    }
}

} // namespace

void smoothChanges(const float* const* targets, int lanes, int frames, const dynamics::SmoothCoefficients& k, double* change,
                   double* slow, float* const* out) noexcept {
    static_assert(dynamics::kSmoothLanes % int(Doubles::size) == 0, "whole batches of lanes");
    lanes = std::clamp(lanes, 1, dynamics::kSmoothLanes);
    // Decided per call (the coefficients only change between segments): without auto release in
    // any lane the output select is left out, the same values.
    bool anyAuto = false;
    for (int l = 0; l < dynamics::kSmoothLanes; ++l) anyAuto = anyAuto || k.autoRelease[l] > 0;
    if (anyAuto)
        smoothLanes<true>(targets, lanes, frames, k, change, slow, out);
    else
        smoothLanes<false>(targets, lanes, frames, k, change, slow, out);
}

namespace {

/// compressOneLane with the gain's form of applyGainOf (0: sign * change, 1: + constant).
template <int Form>
void compressOneLaneOf(const float* raw, int frames, const dynamics::OneLaneCurve& curve, const dynamics::SmoothCoefficients& k,
                       double* change, float* changes, float sign, float constant, const float* const* x, float* const* y,
                       int channels) noexcept {
    constexpr int width = int(Floats::size), run = 4 * width; // levelTargetsOf's runs
    const int runs = frames / run;
    if (runs >= 2) {
        // levelTargetsOf's operations, a run at a time.
        const Floats scale(curve.scale), low(curve.floor);
        const Floats rest = smaller(Floats(curve.range), -Floats(0.0f));
        using Ints = xsimd::batch<std::int32_t, SG_SIMD_ARCH>;
        const Ints magnitude(0x7fffffff), quietBits(xsimd::bitwise_cast<Ints>(Floats(curve.quiet)));
        const auto quietAt = [&](int at) {
            return (xsimd::bitwise_cast<Ints>(Floats::load_unaligned(raw + at)) & magnitude) <= quietBits;
        };
        const auto targetAt = [&](int at) { // the run's batch at `at`
            const Floats db = decibelsOf(Floats::load_unaligned(raw + at)) * scale;
            target<false>(maxOf(db, low), curve.threshold, curve.slope, curve.knee, curve.range).store_unaligned(changes + at);
        };
        // smoothOneLane's operations, a batch of frames at a time.
        const OneLaneRecursion step(k);
        double c = change[0];
        // applyGainOf's operations on one batch of every channel.
        const Floats s(sign), offset(constant);
        const auto applyAt = [&](int at) {
            const Floats gain = gainAt<Form>(Floats::load_unaligned(changes + at), s, offset, nullptr);
            for (int ch = 0; ch < channels; ++ch) (Floats::load_unaligned(x[ch] + at) * gain).store_unaligned(y[ch] + at);
        };
        const auto quietRun = [&](int at) {
            return xsimd::all(quietAt(at) & quietAt(at + width) & quietAt(at + 2 * width) & quietAt(at + 3 * width));
        };
        const auto targetsOfRun = [&](int at) {
            if (quietRun(at)) {
                for (int j = 0; j < 4; ++j) rest.store_unaligned(changes + at + j * width);
            } else {
                for (int j = 0; j < 4; ++j) targetAt(at + j * width);
            }
        };
        targetsOfRun(0);
        for (int r = 0; r < runs; ++r) {
            const int at = r * run;
            // The next run's targets (their quiet test first), this run's recursion and the last
            // run's gain, a batch of each in turn: the chain's frames and the vector work sit
            // side by side in the core's window.
            const bool next = r + 1 < runs;
            const bool nextQuiet = next && quietRun(at + run);
            for (int j = 0; j < 4; ++j) {
                if (next) {
                    if (nextQuiet)
                        rest.store_unaligned(changes + at + run + j * width);
                    else
                        targetAt(at + run + j * width);
                }
                const int first = at + j * width;
                for (int n = first; n < first + width; ++n) {
                    c = step(double(changes[n]), c);
                    changes[n] = float(c);
                }
                if (r > 0) applyAt(at - run + j * width);
            }
        }
        change[0] = c;
        for (int j = 0; j < 4; ++j) applyAt((runs - 1) * run + j * width);
    }
    // The rest as the passes take it (a split changes none of their values).
    const int done = runs >= 2 ? runs * run : 0;
    if (done == frames) return;
    levelTargetsOf<false>(raw + done, frames - done, curve.scale, curve.floor, curve.threshold, curve.slope, curve.knee,
                          curve.range, curve.quiet, changes + done);
    smoothOneLane(changes + done, frames - done, k, change, changes + done);
    for (int ch = 0; ch < channels; ++ch)
        applyGainOf<Form>(x[ch] + done, changes + done, sign, nullptr, constant, y[ch] + done, frames - done);
}

} // namespace

void compressOneLane(const float* raw, int frames, const dynamics::OneLaneCurve& curve, const dynamics::SmoothCoefficients& k,
                     double* change, float* changes, float sign, float constant, const float* const* x, float* const* y,
                     int channels) noexcept {
    if (constant != 0.0f)
        compressOneLaneOf<1>(raw, frames, curve, k, change, changes, sign, constant, x, y, channels);
    else
        compressOneLaneOf<0>(raw, frames, curve, k, change, changes, sign, constant, x, y, channels);
}

namespace {

/// `Doubles::size` floats from p, converted (exactly) in registers: a conversion through memory
/// would stall store forwarding.
inline Doubles widen(const float* p) noexcept {
#if defined(__AVX512F__)
    return Doubles(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#elif defined(__AVX__)
    return Doubles(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#else
    return Doubles(_mm_cvtps_pd(_mm_castsi128_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)))));
#endif
}

} // namespace

/// Eight floats' running maxima in vectors: std::max(m, v) lane by lane is m < v ? v : m, which
/// MAXPS(v, m) gives exactly (NaN and signed zeros alike, see maxOf), where the scalar loop
/// stayed scalar.
#if defined(__AVX__)
using Eight = xsimd::batch<float, xsimd::avx2>;
#else
using Eight = xsimd::batch<float, xsimd::sse2>;
#endif
constexpr int kEights = 8 / int(Eight::size);

inline void runningMaxima(Eight (&most)[kEights], const float* f) noexcept {
    for (int q = 0; q < kEights; ++q) {
        const Eight v = Eight::load_unaligned(f + q * int(Eight::size));
#if defined(__AVX__)
        most[q] = Eight(_mm256_max_ps(v, most[q])); // std::max(most, v), as maxOf
#else
        most[q] = Eight(_mm_max_ps(v, most[q]));
#endif
    }
}

/// The eight maxima into m, in lane order (as the scalar reduction over float[8] did).
inline float reduceMaxima(float m, const Eight (&most)[kEights]) noexcept {
    alignas(32) float mx[8];
    for (int q = 0; q < kEights; ++q) most[q].store_aligned(mx + q * int(Eight::size));
    for (float v : mx) m = std::max(m, v);
    return m;
}

void changeStatistics(const float* f, int frames, std::int64_t first, double* sums, float* most) noexcept {
    constexpr int width = int(Doubles::size);
    static_assert(8 % width == 0, "eight sums are whole batches");
    float m = *most;
    int n = 0;
    // Up to the next frame whose count is a multiple of 8, one by one.
    for (; n < frames && ((first + n) & 7) != 0; ++n) {
        m = std::max(m, f[n]);
        sums[(first + n) & 7] += double(f[n]);
    }
    Doubles s[8 / width];
    for (int b = 0; b < 8 / width; ++b) s[b] = Doubles::load_unaligned(sums + b * width);
    Eight mx[kEights];
    for (Eight& q : mx) q = Eight(m);
    for (; n + 8 <= frames; n += 8) {
        runningMaxima(mx, f + n);
        for (int b = 0; b < 8 / width; ++b) s[b] = s[b] + widen(f + n + b * width);
    }
    for (int b = 0; b < 8 / width; ++b) s[b].store_unaligned(sums + b * width);
    m = reduceMaxima(m, mx);
    for (; n < frames; ++n) {
        m = std::max(m, f[n]);
        sums[(first + n) & 7] += double(f[n]);
    }
    *most = m;
}

void changeStatisticsPair(const float* f0, const float* f1, int frames, std::int64_t first, double* sums0, double* sums1,
                          float* most0, float* most1) noexcept {
    constexpr int width = int(Doubles::size);
    float m0 = *most0, m1 = *most1;
    int n = 0;
    for (; n < frames && ((first + n) & 7) != 0; ++n) {
        m0 = std::max(m0, f0[n]);
        sums0[(first + n) & 7] += double(f0[n]);
        m1 = std::max(m1, f1[n]);
        sums1[(first + n) & 7] += double(f1[n]);
    }
    Doubles s0[8 / width], s1[8 / width];
    for (int b = 0; b < 8 / width; ++b) {
        s0[b] = Doubles::load_unaligned(sums0 + b * width);
        s1[b] = Doubles::load_unaligned(sums1 + b * width);
    }
    Eight mx0[kEights], mx1[kEights];
    for (int q = 0; q < kEights; ++q) mx0[q] = Eight(m0), mx1[q] = Eight(m1);
    for (; n + 8 <= frames; n += 8) {
        runningMaxima(mx0, f0 + n);
        runningMaxima(mx1, f1 + n);
        for (int b = 0; b < 8 / width; ++b) {
            s0[b] = s0[b] + widen(f0 + n + b * width);
            s1[b] = s1[b] + widen(f1 + n + b * width);
        }
    }
    for (int b = 0; b < 8 / width; ++b) {
        s0[b].store_unaligned(sums0 + b * width);
        s1[b].store_unaligned(sums1 + b * width);
    }
    m0 = reduceMaxima(m0, mx0);
    m1 = reduceMaxima(m1, mx1);
    for (; n < frames; ++n) {
        m0 = std::max(m0, f0[n]);
        sums0[(first + n) & 7] += double(f0[n]);
        m1 = std::max(m1, f1[n]);
        sums1[(first + n) & 7] += double(f1[n]);
    }
    *most0 = m0;
    *most1 = m1;
}

namespace {

/// applyGainOf<Form> and changeStatistics of db from a frame count that is a multiple of 8: the
/// apply's vectors and the statistics' groups of 8 frames in one loop, each in its own order.
template <int Form>
void applyGainMeasuredOf(const float* x, const float* db, float sign, const float* offset, float constant, float* y, int frames,
                         double* sums, float* most) noexcept {
    constexpr int width = int(Floats::size), group = width > 8 ? width : 8, pairs = int(Doubles::size);
    static_assert(group % width == 0 && group % 8 == 0, "whole vectors and whole groups of 8");
    const Floats s(sign), c(constant);
    float m = *most;
    Doubles sum[8 / pairs];
    for (int b = 0; b < 8 / pairs; ++b) sum[b] = Doubles::load_unaligned(sums + b * pairs);
    Eight mx[kEights];
    for (Eight& q : mx) q = Eight(m);
    int n = 0;
    for (; n + group <= frames; n += group) {
        for (int v = n; v < n + group; v += width) {
            const Floats gain = gainAt<Form>(Floats::load_unaligned(db + v), s, c, offset + (Form == 2 ? v : 0));
            (Floats::load_unaligned(x + v) * gain).store_unaligned(y + v);
        }
        for (int e = n; e < n + group; e += 8) {
            runningMaxima(mx, db + e);
            for (int b = 0; b < 8 / pairs; ++b) sum[b] = sum[b] + widen(db + e + b * pairs);
        }
    }
    // The rest (less than a group): the apply's own tail; the statistics' groups of 8, then frame
    // by frame, as changeStatistics goes on.
    applyGainOf<Form>(x + n, db + n, sign, Form == 2 ? offset + n : offset, constant, y + n, frames - n);
    for (; n + 8 <= frames; n += 8) {
        runningMaxima(mx, db + n);
        for (int b = 0; b < 8 / pairs; ++b) sum[b] = sum[b] + widen(db + n + b * pairs);
    }
    for (int b = 0; b < 8 / pairs; ++b) sum[b].store_unaligned(sums + b * pairs);
    m = reduceMaxima(m, mx);
    for (; n < frames; ++n) {
        m = std::max(m, db[n]);
        sums[n & 7] += double(db[n]);
    }
    *most = m;
}

} // namespace

void applyDecibelGainMeasured(const float* x, const float* db, float sign, const float* offset, float constant, float* y,
                              int frames, std::int64_t first, double* sums, float* most) noexcept {
    if ((first & 7) != 0) {
        changeStatistics(db, frames, first, sums, most);
        applyDecibelGain(x, db, sign, offset, constant, y, frames);
    } else if (offset) {
        applyGainMeasuredOf<2>(x, db, sign, offset, constant, y, frames, sums, most);
    } else if (constant != 0.0f) {
        applyGainMeasuredOf<1>(x, db, sign, offset, constant, y, frames, sums, most);
    } else {
        applyGainMeasuredOf<0>(x, db, sign, offset, constant, y, frames, sums, most);
    }
}

namespace {

/// A 4 x 4 transpose inside each 128-bit quarter of the vectors (its own inverse): the vectors
/// r[i] = (lane q + i, frames 0..3) in quarter q become (frame i, lanes q..q + 3).
inline void transposeQuarters(Floats r[4]) noexcept {
#if defined(__AVX512F__)
    const __m512 t0 = _mm512_unpacklo_ps(r[0], r[1]), t1 = _mm512_unpackhi_ps(r[0], r[1]), t2 = _mm512_unpacklo_ps(r[2], r[3]),
                 t3 = _mm512_unpackhi_ps(r[2], r[3]);
    r[0] = Floats(_mm512_shuffle_ps(t0, t2, 0x44));
    r[1] = Floats(_mm512_shuffle_ps(t0, t2, 0xee));
    r[2] = Floats(_mm512_shuffle_ps(t1, t3, 0x44));
    r[3] = Floats(_mm512_shuffle_ps(t1, t3, 0xee));
#elif defined(__AVX__)
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]), t2 = _mm256_unpacklo_ps(r[2], r[3]),
                 t3 = _mm256_unpackhi_ps(r[2], r[3]);
    r[0] = Floats(_mm256_shuffle_ps(t0, t2, 0x44));
    r[1] = Floats(_mm256_shuffle_ps(t0, t2, 0xee));
    r[2] = Floats(_mm256_shuffle_ps(t1, t3, 0x44));
    r[3] = Floats(_mm256_shuffle_ps(t1, t3, 0xee));
#else
    __m128 t0 = r[0], t1 = r[1], t2 = r[2], t3 = r[3];
    _MM_TRANSPOSE4_PS(t0, t1, t2, t3);
    r[0] = Floats(t0), r[1] = Floats(t1), r[2] = Floats(t2), r[3] = Floats(t3);
#endif
}

/// Frames n..n+3 of the lanes first.. first + Floats::size - 1, as one vector of lanes per frame:
/// quarter q of vector i loads lane first + 4 q + i, and one transpose inside the quarters turns
/// them (exact data movement; full-width shuffles, no inserts after the transpose).
inline void loadTile(const float* const* x, int first, int n, Floats out[4]) noexcept {
    for (int i = 0; i < 4; ++i) {
        const float* const* at = x + first + i;
#if defined(__AVX512F__)
        __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(at[0] + n));
        v = _mm512_insertf32x4(v, _mm_loadu_ps(at[4] + n), 1);
        v = _mm512_insertf32x4(v, _mm_loadu_ps(at[8] + n), 2);
        out[i] = Floats(_mm512_insertf32x4(v, _mm_loadu_ps(at[12] + n), 3));
#elif defined(__AVX__)
        out[i] = Floats(_mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(at[0] + n)), _mm_loadu_ps(at[4] + n), 1));
#else
        out[i] = Floats(_mm_loadu_ps(at[0] + n));
#endif
    }
    transposeQuarters(out);
}

/// The inverse of loadTile: in[f] (the lanes of frame n + f) into out[l][n..n+3].
inline void storeTile(const Floats in[4], float* const* out, int first, int n) noexcept {
    Floats r[4] = {in[0], in[1], in[2], in[3]};
    transposeQuarters(r);
    for (int i = 0; i < 4; ++i) {
        float* const* at = out + first + i;
#if defined(__AVX512F__)
        _mm_storeu_ps(at[0] + n, _mm512_castps512_ps128(r[i]));
        _mm_storeu_ps(at[4] + n, _mm512_extractf32x4_ps(r[i], 1));
        _mm_storeu_ps(at[8] + n, _mm512_extractf32x4_ps(r[i], 2));
        _mm_storeu_ps(at[12] + n, _mm512_extractf32x4_ps(r[i], 3));
#elif defined(__AVX__)
        _mm_storeu_ps(at[0] + n, _mm256_castps256_ps128(r[i]));
        _mm_storeu_ps(at[4] + n, _mm256_extractf128_ps(r[i], 1));
#else
        _mm_storeu_ps(at[0] + n, r[i]);
#endif
    }
}

} // namespace

void slidingMaximumLanes(dynamics::MaxLanesState& state, const float* const* x, int frames, float* const* out) noexcept {
    constexpr int L = dynamics::kMaxLanes, width = int(Floats::size), B = L / width;
    static_assert(L % width == 0, "kMaxLanes must be a whole number of batches");
    const int w = state.window;
    float* chunk = state.chunk;
    float* suffix = state.suffix;
    alignas(64) float tile[4][L];
    for (int n = 0; n < frames;) {
        const int end = state.at + std::min(frames - n, w - state.at);
        Floats prefix[B];
        for (int b = 0; b < B; ++b) prefix[b] = Floats::load_unaligned(state.prefix + b * width);
        int j = state.at;
        for (; j + 4 <= end; j += 4, n += 4) {
            for (int b = 0; b < B; ++b) { // frames x lanes, transposed in registers
                const int o = b * width;
                Floats v[4], r[4];
                loadTile(x, o, n, v);
                const Floats v0 = xsimd::abs(v[0]), v1 = xsimd::abs(v[1]), v2 = xsimd::abs(v[2]), v3 = xsimd::abs(v[3]);
                v0.store_unaligned(chunk + j * L + o);
                v1.store_unaligned(chunk + (j + 1) * L + o);
                v2.store_unaligned(chunk + (j + 2) * L + o);
                v3.store_unaligned(chunk + (j + 3) * L + o);
                const Floats v01 = maxOf(v0, v1), v012 = maxOf(v01, v2), v0123 = maxOf(v012, v3);
                r[0] = maxOf(Floats::load_unaligned(suffix + (j + 1) * L + o), maxOf(prefix[b], v0));
                r[1] = maxOf(Floats::load_unaligned(suffix + (j + 2) * L + o), maxOf(prefix[b], v01));
                r[2] = maxOf(Floats::load_unaligned(suffix + (j + 3) * L + o), maxOf(prefix[b], v012));
                prefix[b] = maxOf(prefix[b], v0123);
                r[3] = maxOf(Floats::load_unaligned(suffix + (j + 4) * L + o), prefix[b]);
                storeTile(r, out, o, n); // after every load of this tile's lanes: out may be x
            }
        }
        for (; j < end; ++j, ++n) {
            for (int l = 0; l < L; ++l) tile[0][l] = x[l][n];
            for (int b = 0; b < B; ++b) {
                const int o = b * width;
                const Floats v = xsimd::abs(Floats::load_aligned(tile[0] + o));
                v.store_unaligned(chunk + j * L + o);
                prefix[b] = maxOf(prefix[b], v);
                maxOf(Floats::load_unaligned(suffix + (j + 1) * L + o), prefix[b]).store_aligned(tile[0] + o);
            }
            for (int l = 0; l < L; ++l) out[l][n] = tile[0][l];
        }
        for (int b = 0; b < B; ++b) prefix[b].store_unaligned(state.prefix + b * width);
        state.at = end;
        if (state.at == w) { // the chunk is complete: its suffix maxima serve the next one
            for (int b = 0; b < B; ++b) {
                const int o = b * width;
                Floats most(0.0f);
                int k = w;
                for (; k >= 4; k -= 4) {
                    const Floats v3 = Floats::load_unaligned(chunk + (k - 1) * L + o),
                                 v23 = maxOf(Floats::load_unaligned(chunk + (k - 2) * L + o), v3),
                                 v123 = maxOf(Floats::load_unaligned(chunk + (k - 3) * L + o), v23),
                                 v0123 = maxOf(Floats::load_unaligned(chunk + (k - 4) * L + o), v123);
                    maxOf(most, v3).store_unaligned(suffix + (k - 1) * L + o);
                    maxOf(most, v23).store_unaligned(suffix + (k - 2) * L + o);
                    maxOf(most, v123).store_unaligned(suffix + (k - 3) * L + o);
                    most = maxOf(most, v0123);
                    most.store_unaligned(suffix + (k - 4) * L + o);
                }
                for (; k >= 1; --k) {
                    most = maxOf(most, Floats::load_unaligned(chunk + (k - 1) * L + o));
                    most.store_unaligned(suffix + (k - 1) * L + o);
                }
                Floats(0.0f).store_unaligned(state.prefix + o);
            }
            state.at = 0;
        }
    }
}

namespace {

/// Lane i of the result: lane max(i - k, 0) of v (shift towards the last lane, the first lane
/// repeated: a running maximum does not mind the repeat).
template <int k> inline Floats shiftUp(const Floats& v) noexcept {
#if defined(__AVX512F__)
    const __m512i index = _mm512_setr_epi32(
        0, 1 - k < 0 ? 0 : 1 - k, 2 - k < 0 ? 0 : 2 - k, 3 - k < 0 ? 0 : 3 - k, 4 - k < 0 ? 0 : 4 - k, 5 - k < 0 ? 0 : 5 - k,
        6 - k < 0 ? 0 : 6 - k, 7 - k < 0 ? 0 : 7 - k, 8 - k < 0 ? 0 : 8 - k, 9 - k < 0 ? 0 : 9 - k, 10 - k < 0 ? 0 : 10 - k,
        11 - k < 0 ? 0 : 11 - k, 12 - k < 0 ? 0 : 12 - k, 13 - k < 0 ? 0 : 13 - k, 14 - k < 0 ? 0 : 14 - k, 15 - k);
    return Floats(_mm512_permutexvar_ps(index, v));
#elif defined(__AVX2__)
    const __m256i index = _mm256_setr_epi32(0, 1 - k < 0 ? 0 : 1 - k, 2 - k < 0 ? 0 : 2 - k, 3 - k < 0 ? 0 : 3 - k,
                                            4 - k < 0 ? 0 : 4 - k, 5 - k < 0 ? 0 : 5 - k, 6 - k < 0 ? 0 : 6 - k, 7 - k);
    return Floats(_mm256_permutevar8x32_ps(v, index));
#else
    if constexpr (k == 1) return Floats(_mm_shuffle_ps(v, v, _MM_SHUFFLE(2, 1, 0, 0)));
    return Floats(_mm_shuffle_ps(v, v, _MM_SHUFFLE(1, 0, 0, 0)));
#endif
}

/// Lane i of the result: lane min(i + k, width - 1) of v.
template <int k> inline Floats shiftDown(const Floats& v) noexcept {
    constexpr int last = int(Floats::size) - 1;
#if defined(__AVX512F__)
    const __m512i index = _mm512_setr_epi32(
        k, 1 + k, 2 + k > last ? last : 2 + k, 3 + k > last ? last : 3 + k, 4 + k > last ? last : 4 + k,
        5 + k > last ? last : 5 + k, 6 + k > last ? last : 6 + k, 7 + k > last ? last : 7 + k, 8 + k > last ? last : 8 + k,
        9 + k > last ? last : 9 + k, 10 + k > last ? last : 10 + k, 11 + k > last ? last : 11 + k, 12 + k > last ? last : 12 + k,
        13 + k > last ? last : 13 + k, 14 + k > last ? last : 14 + k, last);
    return Floats(_mm512_permutexvar_ps(index, v));
#elif defined(__AVX2__)
    const __m256i index =
        _mm256_setr_epi32(k, 1 + k, 2 + k > last ? last : 2 + k, 3 + k > last ? last : 3 + k, 4 + k > last ? last : 4 + k,
                          5 + k > last ? last : 5 + k, 6 + k > last ? last : 6 + k, last);
    return Floats(_mm256_permutevar8x32_ps(v, index));
#else
    (void)last;
    if constexpr (k == 1) return Floats(_mm_shuffle_ps(v, v, _MM_SHUFFLE(3, 3, 2, 1)));
    return Floats(_mm_shuffle_ps(v, v, _MM_SHUFFLE(3, 3, 3, 2)));
#endif
}

/// Running maximum along the lanes, from the first (Up) or from the last lane.
template <bool Up> inline Floats runningMax(Floats v) noexcept {
    const auto step = [&v](auto k) {
        constexpr int by = decltype(k)::value;
        if constexpr (by < int(Floats::size)) v = maxOf(v, Up ? shiftUp<by>(v) : shiftDown<by>(v));
    };
    step(std::integral_constant<int, 1>{});
    step(std::integral_constant<int, 2>{});
    step(std::integral_constant<int, 4>{});
    step(std::integral_constant<int, 8>{});
    return v;
}

/// Every lane: the last (or first) lane of v.
inline Floats lastLane(const Floats& v) noexcept {
#if defined(__AVX512F__)
    return Floats(_mm512_permutexvar_ps(_mm512_set1_epi32(15), v));
#elif defined(__AVX2__)
    return Floats(_mm256_permutevar8x32_ps(v, _mm256_set1_epi32(7)));
#else
    return Floats(_mm_shuffle_ps(v, v, 0xFF));
#endif
}
inline float firstValue(const Floats& v) noexcept {
#if defined(__AVX512F__)
    return _mm512_cvtss_f32(v);
#elif defined(__AVX2__)
    return _mm256_cvtss_f32(v);
#else
    return _mm_cvtss_f32(v);
#endif
}
inline Floats firstLane(const Floats& v) noexcept {
#if defined(__AVX512F__)
    return Floats(_mm512_broadcastss_ps(_mm512_castps512_ps128(v)));
#elif defined(__AVX2__)
    return Floats(_mm256_broadcastss_ps(_mm256_castps256_ps128(v)));
#else
    return Floats(_mm_shuffle_ps(v, v, 0x00));
#endif
}

/// Whether a lane of a (non-negative: |x|) holds a NaN or a denormal, from the bits (integer
/// compares: the flush-to-zero mode does not touch them).
inline bool anyNaNOrDenormal(const Floats& a) noexcept {
#if defined(__AVX512F__)
    const __m512i bits = _mm512_castps_si512(a);
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(bits, _mm512_set1_epi32(0x7F800000));
    const __mmask16 tiny =
        _mm512_cmpgt_epi32_mask(bits, _mm512_setzero_si512()) & _mm512_cmplt_epi32_mask(bits, _mm512_set1_epi32(0x00800000));
    return (nan | tiny) != 0;
#elif defined(__AVX2__)
    const __m256i bits = _mm256_castps_si256(a);
    const __m256i nan = _mm256_cmpgt_epi32(bits, _mm256_set1_epi32(0x7F800000));
    const __m256i tiny = _mm256_and_si256(_mm256_cmpgt_epi32(bits, _mm256_setzero_si256()),
                                          _mm256_cmpgt_epi32(_mm256_set1_epi32(0x00800000), bits));
    return _mm256_movemask_epi8(_mm256_or_si256(nan, tiny)) != 0;
#else
    const __m128i bits = _mm_castps_si128(a);
    const __m128i nan = _mm_cmpgt_epi32(bits, _mm_set1_epi32(0x7F800000));
    const __m128i tiny =
        _mm_and_si128(_mm_cmpgt_epi32(bits, _mm_setzero_si128()), _mm_cmplt_epi32(bits, _mm_set1_epi32(0x00800000)));
    return _mm_movemask_epi8(_mm_or_si128(nan, tiny)) != 0;
#endif
}

} // namespace

int slidingMaximumRun(const float* x, int count, float* chunk, const float* suffixNext, float& prefix, float* out) noexcept {
    constexpr int width = int(Floats::size);
    static_assert(width % 4 == 0, "whole groups of 4 frames, as the scalar loop's");
    // Without NaN and denormals every maximum here is the largest of a set of ordinary
    // non-negative floats (|x| has no -0): the same value in any order.
    if (anyNaNOrDenormal(Floats(prefix)) || !(prefix >= 0.0f)) return 0;
    Floats running(prefix);
    int i = 0;
    for (; i + width <= count; i += width) {
        const Floats v = xsimd::abs(Floats::load_unaligned(x + i));
        if (anyNaNOrDenormal(v)) break;
        v.store_unaligned(chunk + i);
        const Floats through = maxOf(runningMax<true>(v), running);
        maxOf(Floats::load_unaligned(suffixNext + i), through).store_unaligned(out + i); // std::max(suffix, .)
        running = lastLane(through);
    }
    prefix = firstValue(running); // every lane holds it
    return i;
}

bool slidingMaximumSuffix(const float* chunk, int w, float* suffix) noexcept {
    constexpr int width = int(Floats::size);
    const int head = w % width; // chunk[0 .. head): the scalar loop below, last; then whole batches
    for (int k = head; k + width <= w; k += width)
        if (anyNaNOrDenormal(xsimd::abs(Floats::load_unaligned(chunk + k)))) return false;
    for (int k = 0; k < head; ++k) {
        const std::uint32_t bits = std::bit_cast<std::uint32_t>(chunk[k]) & 0x7FFFFFFFu;
        if (bits > 0x7F800000u || (bits != 0 && bits < 0x00800000u)) return false;
    }
    // Chunk values are |x| >= +0, so max(0, .) is the value itself; most = 0 starts the scan.
    Floats most(0.0f);
    for (int k = w - width; k >= head; k -= width) {
        const Floats through = maxOf(runningMax<false>(Floats::load_unaligned(chunk + k)), most);
        through.store_unaligned(suffix + k);
        most = firstLane(through);
    }
    float m = firstValue(most); // every lane holds it
    for (int k = head - 1; k >= 0; --k) suffix[k] = m = std::max(m, chunk[k]);
    return true;
}

} // namespace sg::SG_SIMD_NS
