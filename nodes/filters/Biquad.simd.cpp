// The biquad bank kernel, compiled once per architecture (see core/Simd.h and Biquad.h).
//
// Lanes are processed in passes of G batches of W doubles (W = 2, 4, 8 for SSE2, AVX2,
// AVX-512); the G batches times P software-pipelined sections (P = 4 for one batch, 2 for two
// or three, 1 for four) give about four independent recursions per loop iteration to hide the
// latency of the add/multiply chain. Every lane sees the same operations in the same order
// whatever G, P, W or its neighbours are.
//
// Two lanes (a stereo chain) through 2..8 sections take the wavefront layout instead (see
// Wavefront below): all sections of both lanes in one vector, skewed in time, so one operation
// per batch advances every section where the lanes layout would fill 2 of a batch's lanes.
#include "nodes/filters/Biquad.h"

#include "core/SimdTiles.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace sg::SG_SIMD_NS {

namespace {

constexpr int kWidth = int(xsimd::batch<double, SG_SIMD_ARCH>::size);
static_assert(4 * kWidth <= biquad::kMaxPassLanes);

// A double rounded to float and back, as storing into a float buffer and reading it again does
// (same conversion instructions and rounding mode as the scalar casts).
inline __m128d roundToFloat(__m128d v) noexcept { return _mm_cvtps_pd(_mm_cvtpd_ps(v)); }
#if defined(__AVX__)
inline __m256d roundToFloat(__m256d v) noexcept { return _mm256_cvtps_pd(_mm256_cvtpd_ps(v)); }
#endif
#if defined(__AVX512F__)
// (masked forms with every lane selected: GCC 12's plain ones warn about an undefined source)
inline __m512d roundToFloat(__m512d v) noexcept {
    return _mm512_mask_cvtps_pd(_mm512_setzero_pd(), 0xFF, _mm512_mask_cvtpd_ps(_mm256_setzero_ps(), 0xFF, v));
}
#endif

/// One section's coefficients and state for G batches, held in registers across a chunk.
template <class Batch, int G> struct SectionRegs {
    Batch b0[G], b1[G], b2[G], a1[G], a2[G], z1[G], z2[G];
    typename Batch::batch_bool_type roundMask[G]; ///< lanes whose output is rounded to float

    void load(const biquad::Bank& bank, int section, int firstLane) noexcept {
        constexpr int width = int(Batch::size);
        const std::size_t stride = std::size_t(bank.stride);
        const double* c = bank.coefficients + std::size_t(section) * 5 * stride + std::size_t(firstLane);
        const double* z = bank.state + std::size_t(section) * 2 * stride + std::size_t(firstLane);
        for (int g = 0; g < G; ++g) {
            b0[g] = Batch::load_unaligned(c + g * width);
            b1[g] = Batch::load_unaligned(c + stride + g * width);
            b2[g] = Batch::load_unaligned(c + 2 * stride + g * width);
            a1[g] = Batch::load_unaligned(c + 3 * stride + g * width);
            a2[g] = Batch::load_unaligned(c + 4 * stride + g * width);
            z1[g] = Batch::load_unaligned(z + g * width);
            z2[g] = Batch::load_unaligned(z + stride + g * width);
        }
        const double* r = bank.roundAfter + std::size_t(section) * stride + std::size_t(firstLane);
        for (int g = 0; g < G; ++g) roundMask[g] = Batch::load_unaligned(r + g * width) != Batch(0.0);
    }
    void store(const biquad::Bank& bank, int section, int firstLane) const noexcept {
        constexpr int width = int(Batch::size);
        const std::size_t stride = std::size_t(bank.stride);
        double* z = bank.state + std::size_t(section) * 2 * stride + std::size_t(firstLane);
        for (int g = 0; g < G; ++g) {
            z1[g].store_unaligned(z + g * width);
            z2[g].store_unaligned(z + stride + g * width);
        }
    }
    /// Transposed direct form II on one scratch row, in place; Round: the lanes in roundMask
    /// store their output rounded to float.
    template <bool Round> void step(double* row) noexcept {
        constexpr int width = int(Batch::size);
        for (int g = 0; g < G; ++g) {
            const Batch x = Batch::load_aligned(row + g * width);
            const Batch y = b0[g] * x + z1[g];
            z1[g] = (b1[g] * x + z2[g]) - a1[g] * y;
            z2[g] = b2[g] * x - a2[g] * y;
            if constexpr (Round)
                xsimd::select(roundMask[g], Batch(roundToFloat(y)), y).store_aligned(row + g * width);
            else
                y.store_aligned(row + g * width);
        }
    }
};

/// Sections [firstSection, firstSection + P) over the n rows of the scratch, software-pipelined:
/// iteration t runs frame t - k of section firstSection + k, so section k reads the row section
/// k - 1 wrote one iteration earlier and the P recursions are independent within an iteration.
/// Each section still sees its frames in order with the same operations: same bits as running
/// the sections one after another.
template <class Batch, int G, int P, bool Round>
void runSections(const biquad::Bank& bank, double* scratch, int firstLane, int firstSection, int n) noexcept {
    constexpr int span = G * int(Batch::size);
    SectionRegs<Batch, G> regs[P];
    for (int k = 0; k < P; ++k) regs[k].load(bank, firstSection + k, firstLane);
    const int steadyBegin = std::min(P - 1, n), steadyEnd = n; // all P sections active in [P-1, n)
    auto ragged = [&](int t) {
        for (int k = 0; k < P; ++k) {
            const int i = t - k;
            if (i >= 0 && i < n) regs[k].template step<Round>(scratch + i * span);
        }
    };
    int t = 0;
    for (; t < steadyBegin; ++t) ragged(t);
    for (; t < steadyEnd; ++t)
        for (int k = 0; k < P; ++k) regs[k].template step<Round>(scratch + (t - k) * span);
    for (; t < n + P - 1; ++t) ragged(t);
    for (int k = 0; k < P; ++k) regs[k].store(bank, firstSection + k, firstLane);
}

/// Lanes [firstLane, firstLane + count) of `in`, frames [chunkStart, chunkStart + n), into the
/// scratch rows (row i, column j: frame chunkStart + i of lane firstLane + j), as double. Out of
/// line (once per chunk): inlined into runPass, it makes GCC 12 misjudge runSections' loop bound.
[[gnu::noinline]] void gatherLanes(const float* const* in, int firstLane, int count, int chunkStart, int n, double* scratch,
                                   int span) noexcept {
    int j = 0;
#if defined(__AVX__)
    for (; j + 4 <= count; j += 4) { // 4 lanes x 4 frames at a time, transposed in registers
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            __m256d rows[4];
            gatherTile4(in, firstLane + j, chunkStart + i, rows);
            for (int f = 0; f < 4; ++f) _mm256_storeu_pd(scratch + (i + f) * span + j, rows[f]);
        }
        for (; i < n; ++i)
            for (int l = 0; l < 4; ++l) scratch[i * span + j + l] = double(in[firstLane + j + l][chunkStart + i]);
    }
#endif
    for (; j < count; ++j) {
        const float* src = in[firstLane + j] + chunkStart;
        for (int i = 0; i < n; ++i) scratch[i * span + j] = double(src[i]);
    }
}

/// The inverse of gatherLanes, rounded to float.
[[gnu::noinline]] void scatterLanes(const double* scratch, int span, int firstLane, int count, int chunkStart, int n,
                                    float* const* out) noexcept {
    int j = 0;
#if defined(__AVX__)
    for (; j + 4 <= count; j += 4) {
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            const __m256d rows[4] = {_mm256_loadu_pd(scratch + i * span + j), _mm256_loadu_pd(scratch + (i + 1) * span + j),
                                     _mm256_loadu_pd(scratch + (i + 2) * span + j),
                                     _mm256_loadu_pd(scratch + (i + 3) * span + j)};
            scatterTile4(rows, out, firstLane + j, chunkStart + i);
        }
        for (; i < n; ++i)
            for (int l = 0; l < 4; ++l) out[firstLane + j + l][chunkStart + i] = float(scratch[i * span + j + l]);
    }
#endif
    for (; j < count; ++j) {
        float* dst = out[firstLane + j] + chunkStart;
        for (int i = 0; i < n; ++i) dst[i] = float(scratch[i * span + j]);
    }
}

/// Lanes [firstLane, firstLane + G * W) with batches of W doubles of architecture Arch.
template <class Arch, int G>
void runPass(const biquad::Bank& bank, const float* const* in, float* const* out, int firstLane, int start, int frames) noexcept {
    using Batch = xsimd::batch<double, Arch>;
    constexpr int width = int(Batch::size);
    constexpr int span = G * width;
    // Sections in flight per iteration: about four independent recursions in all.
    constexpr int pipeline = G >= 4 ? 1 : G == 3 ? 2 : G == 2 ? 2 : 4;
    const int count = std::min(span, bank.lanes - firstLane);
    double* scratch = bank.scratch;
    for (int chunkStart = start; chunkStart < start + frames; chunkStart += biquad::kChunkFrames) {
        const int n = std::min(biquad::kChunkFrames, start + frames - chunkStart);
        gatherLanes(in, firstLane, count, chunkStart, n, scratch, span);
        for (int pad = count; pad < span; ++pad)
            for (int i = 0; i < n; ++i) scratch[i * span + pad] = 0.0;

        for (int s = 0; s < bank.sections;) {
            const int p = std::min(pipeline, bank.sections - s);
            // Rounding between fused stages only where some section of this group needs it.
            const bool round =
                std::any_of(bank.sectionRounds + s, bank.sectionRounds + s + p, [](unsigned char r) { return r != 0; });
            switch (p + (round ? 4 : 0)) {
            case 1:
                runSections<Batch, G, 1, false>(bank, scratch, firstLane, s, n);
                break;
            case 2:
                runSections<Batch, G, 2, false>(bank, scratch, firstLane, s, n);
                break;
            case 3:
                runSections<Batch, G, 3, false>(bank, scratch, firstLane, s, n);
                break;
            case 4:
                runSections<Batch, G, 4, false>(bank, scratch, firstLane, s, n);
                break;
            case 5:
                runSections<Batch, G, 1, true>(bank, scratch, firstLane, s, n);
                break;
            case 6:
                runSections<Batch, G, 2, true>(bank, scratch, firstLane, s, n);
                break;
            case 7:
                runSections<Batch, G, 3, true>(bank, scratch, firstLane, s, n);
                break;
            default:
                runSections<Batch, G, 4, true>(bank, scratch, firstLane, s, n);
                break;
            }
            s += p;
        }

        scatterLanes(scratch, span, firstLane, count, chunkStart, n, out);
    }
}

// ---- the wavefront layout (2 lanes) ---------------------------------------------------------

/// Steps between a section's output and the next section's use of it (see Wavefront): 1 leaves
/// the hand-over's latency on every step (about 2x slower); 3 and 4 were the fastest measured.
constexpr int kSkew = 3;

/// Moves every section's output pair up by one section (section k - 1's into section k's place)
/// and puts `in` into section 0's: x = (in, h[0..1], h[2..3], ...) for the doubles of h[0..R).
template <int R> inline void shiftSections(const __m128d (&h)[R], __m128d in, __m128d (&x)[R]) noexcept {
    x[0] = in;
    for (int r = 1; r < R; ++r) x[r] = h[r - 1];
}
inline __m128d sectionPair(__m128d y, int) noexcept { return y; }
#if defined(__AVX__)
template <int R> inline void shiftSections(const __m256d (&h)[R], __m128d in, __m256d (&x)[R]) noexcept {
    x[0] = _mm256_permute2f128_pd(_mm256_castpd128_pd256(in), h[0], 0x20);           // (in, h[0].lo)
    for (int r = 1; r < R; ++r) x[r] = _mm256_permute2f128_pd(h[r - 1], h[r], 0x21); // (h[r-1].hi, h[r].lo)
}
inline __m128d sectionPair(__m256d y, int pair) noexcept {
    return pair == 0 ? _mm256_castpd256_pd128(y) : _mm256_extractf128_pd(y, 1);
}
#endif
#if defined(__AVX512F__)
template <int R> inline void shiftSections(const __m512d (&h)[R], __m128d in, __m512d (&x)[R]) noexcept {
    // alignr(a, b, 6) = (b[6], b[7], a[0], ..., a[5]); `in` broadcast puts it in b[6..7]
    x[0] =
        _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(h[0]), _mm512_castpd_si512(_mm512_broadcast_f64x2(in)), 6));
    for (int r = 1; r < R; ++r)
        x[r] = _mm512_castsi512_pd(_mm512_alignr_epi64(_mm512_castpd_si512(h[r]), _mm512_castpd_si512(h[r - 1]), 6));
}
inline __m128d sectionPair(__m512d y, int pair) noexcept {
    switch (pair) {
    case 0:
        return _mm512_castpd512_pd128(y);
    case 1:
        return _mm512_extractf64x2_pd(y, 1);
    case 2:
        return _mm512_extractf64x2_pd(y, 2);
    default:
        return _mm512_extractf64x2_pd(y, 3);
    }
}
#endif

/// S sections of lanes 0 and 1 as one vector of R batches: doubles 2k and 2k + 1 are section k
/// of lane 0 and lane 1 (sections from S up to the padding pass through, never read). Step t runs
/// frame t - kSkew k of section k, so one operation per batch advances every section; section
/// k's input at step t is what section k - 1 handed over at step t - kSkew (its output, rounded to
/// float where the chain rounds), shifted up by one section. Each section sees its frames in order
/// with the same operations as the lanes layout: the same bits. With kSkew > 1 the hand-over
/// (round, shift, multiply, add) of one step overlaps the next steps' recursions instead of
/// pacing every step. The first and last kSkew (S - 1) steps of a call are ragged: lanes whose
/// section has no frame there keep their state (masked), and their outputs go nowhere.
template <class Batch, int S> struct Wavefront {
    using Reg = typename Batch::register_type;
    static constexpr int width = int(Batch::size), pairs = width / 2, R = (S + pairs - 1) / pairs, V = R * width;
    static constexpr int lag = kSkew * (S - 1), last = (S - 1) / pairs, lastPair = (S - 1) % pairs;

    Batch b0[R], b1[R], b2[R], a1[R], a2[R], z1[R], z2[R];
    Batch skewOf[R];                              ///< kSkew k for section k's doubles
    typename Batch::batch_bool_type roundMask[R]; ///< doubles handed over rounded to float
    Reg handed[kSkew][R];                         ///< handed[t % kSkew]: step t - kSkew's hand-over, then step t's
    bool rounds = false;                          ///< some section rounds

    /// One step through slot h; Ragged: some section has no frame at t (its state is kept).
    template <bool Ragged>
    [[gnu::always_inline]] inline void step(int t, Reg (&h)[R], const float* in0, const float* in1, float* out0, float* out1,
                                            int n) noexcept {
        __m128d pair = _mm_setzero_pd();
        if (!Ragged || t < n) pair = _mm_cvtps_pd(_mm_unpacklo_ps(_mm_load_ss(in0 + t), _mm_load_ss(in1 + t)));
        Reg x[R];
        shiftSections(h, pair, x);
        for (int r = 0; r < R; ++r) {
            const Batch xr(x[r]);
            const Batch y = b0[r] * xr + z1[r];
            const Batch nextZ1 = (b1[r] * xr + z2[r]) - a1[r] * y;
            const Batch nextZ2 = b2[r] * xr - a2[r] * y;
            if constexpr (Ragged) {
                const auto active = (skewOf[r] <= Batch(double(t))) & (skewOf[r] > Batch(double(t - n))); // 0 <= t - skew k < n
                z1[r] = xsimd::select(active, nextZ1, z1[r]);
                z2[r] = xsimd::select(active, nextZ2, z2[r]);
            } else {
                z1[r] = nextZ1;
                z2[r] = nextZ2;
            }
            h[r] = rounds ? Reg(xsimd::select(roundMask[r], Batch(roundToFloat(Reg(y))), y)) : Reg(y);
            if (r == last) {
                const int frame = t - lag;
                if (!Ragged || (frame >= 0 && frame < n)) {
                    const __m128 f = _mm_cvtpd_ps(sectionPair(Reg(y), lastPair));
                    _mm_store_ss(out0 + frame, f);
                    _mm_store_ss(out1 + frame, _mm_shuffle_ps(f, f, 1));
                }
            }
        }
    }
};

/// Steps [t, end) of a call, kSkew at a time (t % kSkew == 0, so each step's slot is known at
/// compile time), on a copy of `w` that the compiler keeps in registers: the state never goes
/// through memory. Ragged: some sections have no frame in these steps (see Wavefront); the last
/// group may run up to kSkew - 1 steps past the call's end, in which no section has a frame
/// (nothing is read, written or changed). Out of line, so that the ragged and the steady loops
/// get their own register allocation.
template <bool Ragged, class W>
[[gnu::noinline]] void wavefrontSteps(W& w, int t, int end, const float* in0, const float* in1, float* out0, float* out1,
                                      int n) noexcept {
    W local = w;
    for (; t < end; t += kSkew) {
#pragma GCC unroll 8
        for (int d = 0; d < kSkew; ++d) local.template step<Ragged>(t + d, local.handed[d], in0, in1, out0, out1, n);
    }
    w = local;
}

/// Lanes 0 and 1 of `bank` (2 <= S <= 8 sections), frames [start, start + n), as a wavefront
/// (see Wavefront): packs coefficients, state and rounding into the vector's order, runs the
/// ragged first steps, the steady ones and the ragged last ones, and stores the state back.
template <class Batch, int S>
void runWavefront(const biquad::Bank& bank, const float* const* in, float* const* out, int start, int n) noexcept {
    using W = Wavefront<Batch, S>;
    constexpr int width = W::width, R = W::R, V = W::V, lag = W::lag;
    static_assert(kSkew >= 1 && kSkew <= 8);
    const std::size_t stride = std::size_t(bank.stride);
    alignas(64) double buf[9][V];
    for (int v = 0; v < V; ++v) {
        const std::size_t k = std::size_t(v / 2), lane = std::size_t(v % 2);
        const bool real = int(k) < S;
        for (std::size_t j = 0; j < 5; ++j)
            buf[j][v] = real ? bank.coefficients[(k * 5 + j) * stride + lane] : j == 0 ? 1.0 : 0.0;
        buf[5][v] = real ? bank.state[k * 2 * stride + lane] : 0.0;
        buf[6][v] = real ? bank.state[(k * 2 + 1) * stride + lane] : 0.0;
        buf[7][v] = real ? bank.roundAfter[k * stride + lane] : 0.0;
        buf[8][v] = double(kSkew * int(k));
    }
    W w;
    for (int k = 0; k < S; ++k) w.rounds |= bank.sectionRounds[k] != 0;
    for (int r = 0; r < R; ++r) {
        w.b0[r] = Batch::load_aligned(buf[0] + r * width);
        w.b1[r] = Batch::load_aligned(buf[1] + r * width);
        w.b2[r] = Batch::load_aligned(buf[2] + r * width);
        w.a1[r] = Batch::load_aligned(buf[3] + r * width);
        w.a2[r] = Batch::load_aligned(buf[4] + r * width);
        w.z1[r] = Batch::load_aligned(buf[5] + r * width);
        w.z2[r] = Batch::load_aligned(buf[6] + r * width);
        w.roundMask[r] = Batch::load_aligned(buf[7] + r * width) != Batch(0.0);
        w.skewOf[r] = Batch::load_aligned(buf[8] + r * width);
        for (int d = 0; d < kSkew; ++d) w.handed[d][r] = Batch(0.0);
    }
    const float *in0 = in[0] + start, *in1 = in[1] + start;
    float *out0 = out[0] + start, *out1 = out[1] + start;
    // every section has a frame in steps [lag, n); lag is a multiple of kSkew
    const int steadyEnd = n > lag ? lag + (n - lag) / kSkew * kSkew : lag;
    wavefrontSteps<true>(w, 0, lag, in0, in1, out0, out1, n);
    if (steadyEnd > lag) wavefrontSteps<false>(w, lag, steadyEnd, in0, in1, out0, out1, n);
    wavefrontSteps<true>(w, steadyEnd, n + lag, in0, in1, out0, out1, n);

    for (int r = 0; r < R; ++r) {
        w.z1[r].store_aligned(buf[5] + r * width);
        w.z2[r].store_aligned(buf[6] + r * width);
    }
    for (std::size_t k = 0; k < std::size_t(S); ++k)
        for (std::size_t lane = 0; lane < 2; ++lane) {
            bank.state[k * 2 * stride + lane] = buf[5][2 * k + lane];
            bank.state[(k * 2 + 1) * stride + lane] = buf[6][2 * k + lane];
        }
}

/// The wavefront layout in batches of Arch for S = sections (2..kMaxWavefrontSections).
template <class Arch>
void runWavefrontOf(const biquad::Bank& bank, const float* const* in, float* const* out, int start, int frames) noexcept {
    using Batch = xsimd::batch<double, Arch>;
    switch (bank.sections) {
    case 2:
        return runWavefront<Batch, 2>(bank, in, out, start, frames);
    case 3:
        return runWavefront<Batch, 3>(bank, in, out, start, frames);
    case 4:
        return runWavefront<Batch, 4>(bank, in, out, start, frames);
    case 5:
        return runWavefront<Batch, 5>(bank, in, out, start, frames);
    case 6:
        return runWavefront<Batch, 6>(bank, in, out, start, frames);
    case 7:
        return runWavefront<Batch, 7>(bank, in, out, start, frames);
    default:
        return runWavefront<Batch, 8>(bank, in, out, start, frames);
    }
}

} // namespace

void processBiquadBank(const biquad::Bank& bank, const float* const* in, float* const* out, int start, int frames) noexcept {
    using Arch = SG_SIMD_ARCH;
    // Two lanes through 2..8 sections: the wavefront, where it is the faster (thread CPU time of
    // the biquad layouts bench, docs/performance-eq.md). Its setup and ragged first and last steps
    // cost about 50 frames' worth per call: calls of 128 frames or more (64 with 512-bit batches,
    // one register for 4 sections); in 128-bit batches (2 sections per register) it runs out of
    // registers beyond 2 sections. Both layouts keep the state in the same place, so consecutive
    // calls may take different ones.
    constexpr int wavefrontUpTo = kWidth == 2 ? 2 : biquad::kMaxWavefrontSections;
    constexpr int wavefrontFrom = kWidth == 8 ? biquad::kWavefrontMinFrames / 2 : biquad::kWavefrontMinFrames;
    bool wavefront = false;
    if (bank.layout == biquad::BankLayout::Wavefront)
        wavefront = bank.sections <= biquad::kMaxWavefrontSections && frames > 0;
    else if (bank.layout == biquad::BankLayout::Auto)
        wavefront = bank.sections <= wavefrontUpTo && frames >= wavefrontFrom;
    if (bank.lanes == 2 && bank.sections >= 2 && wavefront) {
        runWavefrontOf<Arch>(bank, in, out, start, frames);
        return;
    }
    // Else a few lanes run in the narrowest batch that holds them: less padding work, same
    // numbers (the operations per lane are the same whatever the batch width).
#if defined(__AVX2__)
    if (bank.lanes <= 2) return runPass<xsimd::sse2, 1>(bank, in, out, 0, start, frames);
#endif
#if defined(__AVX512F__)
    if (bank.lanes <= 4) return runPass<xsimd::avx2, 1>(bank, in, out, 0, start, frames);
#endif
    for (int lane = 0; lane < bank.lanes;) {
        const int batches = (bank.lanes - lane + kWidth - 1) / kWidth;
        switch (std::min(batches, 4)) {
        case 1:
            runPass<Arch, 1>(bank, in, out, lane, start, frames);
            lane += kWidth;
            break;
        case 2:
            runPass<Arch, 2>(bank, in, out, lane, start, frames);
            lane += 2 * kWidth;
            break;
        case 3:
            runPass<Arch, 3>(bank, in, out, lane, start, frames);
            lane += 3 * kWidth;
            break;
        default:
            runPass<Arch, 4>(bank, in, out, lane, start, frames);
            lane += 4 * kWidth;
            break;
        }
    }
}

} // namespace sg::SG_SIMD_NS
