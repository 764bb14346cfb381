// The biquad bank kernel, compiled once per architecture (see core/Simd.h and Biquad.h).
//
// Lanes are processed in passes of G batches of W doubles (W = 2, 4, 8 for SSE2, AVX2,
// AVX-512); the G batches times P software-pipelined sections (P = 4 for one batch, 2 for two
// or three, 1 for four) give about four independent recursions per loop iteration to hide the
// latency of the add/multiply chain. Every lane sees the same operations in the same order
// whatever G, P, W or its neighbours are.
#include "nodes/filters/Biquad.h"

#include "core/SimdTiles.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>

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

} // namespace

void processBiquadBank(const biquad::Bank& bank, const float* const* in, float* const* out, int start, int frames) noexcept {
    using Arch = SG_SIMD_ARCH;
    // A few lanes run in the narrowest batch that holds them: less padding work, same numbers
    // (the operations per lane are the same whatever the batch width).
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
