// The band-balance bank's kernels, compiled once per architecture (see core/Simd.h and
// BandBankKernels.h). No FMA and a fixed order of operations per lane / per output, so every
// architecture gives the same bits.
#include "nodes/meters/BandBankKernels.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>

namespace sg::SG_SIMD_NS {

namespace {

using bandbank::kLanes;
using bandbank::kSections;
using bandbank::LaneCascade;

/// Lanes [first, first + width of Batch) through their cascades.
template <class Batch>
void cascadeGroup(LaneCascade& bank, int first, const double* in, int frames, double* sums, double* out) noexcept {
    Batch b0[kSections], b1[kSections], b2[kSections], a1[kSections], a2[kSections], z1[kSections], z2[kSections];
    for (int s = 0; s < kSections; ++s) {
        b0[s] = Batch::load_unaligned(&bank.coefficients[s][0][first]);
        b1[s] = Batch::load_unaligned(&bank.coefficients[s][1][first]);
        b2[s] = Batch::load_unaligned(&bank.coefficients[s][2][first]);
        a1[s] = Batch::load_unaligned(&bank.coefficients[s][3][first]);
        a2[s] = Batch::load_unaligned(&bank.coefficients[s][4][first]);
        z1[s] = Batch::load_unaligned(&bank.state[s][0][first]);
        z2[s] = Batch::load_unaligned(&bank.state[s][1][first]);
    }
    Batch sum = Batch::load_unaligned(sums + first);
    for (int n = 0; n < frames; ++n) {
        Batch v = Batch::load_unaligned(in + std::ptrdiff_t(n) * kLanes + first);
        for (int s = 0; s < kSections; ++s) {
            const Batch y = b0[s] * v + z1[s];
            z1[s] = (b1[s] * v + z2[s]) - a1[s] * y;
            z2[s] = b2[s] * v - a2[s] * y;
            v = y;
        }
        sum = sum + v * v;
        if (out) v.store_unaligned(out + std::ptrdiff_t(n) * kLanes + first);
    }
    for (int s = 0; s < kSections; ++s) {
        z1[s].store_unaligned(&bank.state[s][0][first]);
        z2[s].store_unaligned(&bank.state[s][1][first]);
    }
    sum.store_unaligned(sums + first);
}

} // namespace

void laneCascade(LaneCascade& bank, const double* in, int frames, double* sums, double* out) noexcept {
    if (frames <= 0 || bank.lanes <= 0) return;
    using Wide = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Wide::size);
    int first = 0;
    for (; first + width <= bank.lanes; first += width) cascadeGroup<Wide>(bank, first, in, frames, sums, out);
        // The rest in the narrowest batches that hold it (the same operations per lane; lanes past
        // bank.lanes are padding, never read back).
#if defined(__AVX512F__)
    if (bank.lanes - first > 2) {
        cascadeGroup<xsimd::batch<double, xsimd::avx2>>(bank, first, in, frames, sums, out);
        first += 4;
    }
#endif
#if defined(__AVX2__)
    for (; first < bank.lanes; first += 2) cascadeGroup<xsimd::batch<double, xsimd::sse2>>(bank, first, in, frames, sums, out);
#else
    for (; first < bank.lanes; first += width) cascadeGroup<Wide>(bank, first, in, frames, sums, out);
#endif
}

void halfbandDecimate(const double* even, const double* odd, int outFrames, const double* g, int pairCount, double centre,
                      double* y) noexcept {
    using Batch = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Batch::size);
    const int p = pairCount;
    int m = 0;
    const Batch c(centre);
    for (; m + width <= outFrames; m += width) {
        Batch acc = c * Batch::load_unaligned(even + m - p + 1);
        for (int j = 0; j < p; ++j)
            acc = acc + Batch(g[j]) * (Batch::load_unaligned(odd + m - p + 1 + j) + Batch::load_unaligned(odd + m - p - j));
        acc.store_unaligned(y + m);
    }
    for (; m < outFrames; ++m) {
        double acc = centre * even[m - p + 1];
        for (int j = 0; j < p; ++j) acc = acc + g[j] * (odd[m - p + 1 + j] + odd[m - p - j]);
        y[m] = acc;
    }
}

} // namespace sg::SG_SIMD_NS
