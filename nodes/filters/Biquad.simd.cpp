// The biquad bank kernel, compiled once per architecture (see core/Simd.h and Biquad.h).
//
// Lanes are processed in passes of G batches of W doubles (W = 2, 4, 8 for SSE2, AVX2,
// AVX-512); G <= 4 independent recursions per frame hide the latency of the add/multiply chain.
// Every lane sees the same operations in the same order whatever G, W or its neighbours are.
#include "nodes/filters/Biquad.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>

namespace sg::SG_SIMD_NS {

namespace {

constexpr int kWidth = int(xsimd::batch<double, SG_SIMD_ARCH>::size);
static_assert(4 * kWidth <= biquad::kMaxPassLanes);

/// Lanes [firstLane, firstLane + G * W) with batches of W doubles of architecture Arch.
template <class Arch, int G>
void runPass(const biquad::Bank& bank, const float* const* in, float* const* out, int firstLane, int start,
             int frames) noexcept {
    using Batch = xsimd::batch<double, Arch>;
    constexpr int width = int(Batch::size);
    constexpr int span = G * width;
    const int count = std::min(span, bank.lanes - firstLane);
    const std::size_t stride = std::size_t(bank.stride);
    double* scratch = bank.scratch;
    for (int chunkStart = start; chunkStart < start + frames; chunkStart += biquad::kChunkFrames) {
        const int n = std::min(biquad::kChunkFrames, start + frames - chunkStart);
        for (int j = 0; j < count; ++j) {
            const float* src = in[firstLane + j] + chunkStart;
            for (int i = 0; i < n; ++i) scratch[i * span + j] = double(src[i]);
        }
        for (int j = count; j < span; ++j)
            for (int i = 0; i < n; ++i) scratch[i * span + j] = 0.0;

        for (int s = 0; s < bank.sections; ++s) {
            const double* c = bank.coefficients + std::size_t(s) * 5 * stride + std::size_t(firstLane);
            double* z = bank.state + std::size_t(s) * 2 * stride + std::size_t(firstLane);
            Batch b0[G], b1[G], b2[G], a1[G], a2[G], z1[G], z2[G];
            for (int g = 0; g < G; ++g) {
                b0[g] = Batch::load_unaligned(c + g * width);
                b1[g] = Batch::load_unaligned(c + stride + g * width);
                b2[g] = Batch::load_unaligned(c + 2 * stride + g * width);
                a1[g] = Batch::load_unaligned(c + 3 * stride + g * width);
                a2[g] = Batch::load_unaligned(c + 4 * stride + g * width);
                z1[g] = Batch::load_unaligned(z + g * width);
                z2[g] = Batch::load_unaligned(z + stride + g * width);
            }
            for (int i = 0; i < n; ++i) {
                double* row = scratch + i * span;
                for (int g = 0; g < G; ++g) {
                    const Batch x = Batch::load_aligned(row + g * width);
                    const Batch y = b0[g] * x + z1[g];
                    z1[g] = (b1[g] * x + z2[g]) - a1[g] * y;
                    z2[g] = b2[g] * x - a2[g] * y;
                    y.store_aligned(row + g * width);
                }
            }
            for (int g = 0; g < G; ++g) {
                z1[g].store_unaligned(z + g * width);
                z2[g].store_unaligned(z + stride + g * width);
            }
        }

        for (int j = 0; j < count; ++j) {
            float* dst = out[firstLane + j] + chunkStart;
            for (int i = 0; i < n; ++i) dst[i] = float(scratch[i * span + j]);
        }
    }
}

} // namespace

void processBiquadBank(const biquad::Bank& bank, const float* const* in, float* const* out, int start,
                       int frames) noexcept {
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
            case 1: runPass<Arch, 1>(bank, in, out, lane, start, frames); lane += kWidth; break;
            case 2: runPass<Arch, 2>(bank, in, out, lane, start, frames); lane += 2 * kWidth; break;
            case 3: runPass<Arch, 3>(bank, in, out, lane, start, frames); lane += 3 * kWidth; break;
            default: runPass<Arch, 4>(bank, in, out, lane, start, frames); lane += 4 * kWidth; break;
        }
    }
}

} // namespace sg::SG_SIMD_NS
