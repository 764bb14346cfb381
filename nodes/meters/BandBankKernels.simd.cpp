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
using bandbank::LaneCascadeFloat;

/// Which channel feeds each lane of `Count` batches: per batch, the distinct channels and the
/// masks of their lanes, so one frame of every lane's input is gathered with a select per
/// channel.
template <class Batch, int Count> struct LaneInputs {
    using Value = typename Batch::value_type;
    int present[Count][kLanes];
    int presentCount[Count] = {};
    typename Batch::batch_bool_type masks[Count][kLanes];

    explicit LaneInputs(const Value* channel) {
        constexpr int width = int(Batch::size);
        for (int g = 0; g < Count; ++g) {
            const Batch channelOf = Batch::load_unaligned(&channel[g * width]);
            for (int lane = g * width; lane < (g + 1) * width; ++lane) {
                const int c = int(channel[lane]);
                bool seen = false;
                for (int i = 0; i < presentCount[g]; ++i) seen = seen || present[g][i] == c;
                if (seen) continue;
                masks[g][presentCount[g]] = channelOf == Batch(Value(c));
                present[g][presentCount[g]++] = c;
            }
        }
    }

    /// Frame n of batch g's lanes.
    Batch gather(int g, const Value* const* signals, int n) const {
        Batch v(signals[present[g][0]][n]);
        for (int i = 1; i < presentCount[g]; ++i) v = xsimd::select(masks[g][i], Batch(signals[present[g][i]][n]), v);
        return v;
    }
};

/// The first `Sections` sections of lanes [0, Count * width of Batch): coefficients and states
/// held in registers over a run of frames. `Bank` is LaneCascade (double) or LaneCascadeFloat.
template <class Batch, int Count, int Sections> struct CascadeRegisters {
    Batch b0[Sections][Count], b1[Sections][Count], b2[Sections][Count], a1[Sections][Count], a2[Sections][Count];
    Batch z1[Sections][Count], z2[Sections][Count];

    template <class Bank> explicit CascadeRegisters(const Bank& bank) {
        constexpr int width = int(Batch::size);
        for (int s = 0; s < Sections; ++s)
            for (int g = 0; g < Count; ++g) {
                const int first = g * width;
                b0[s][g] = Batch::load_unaligned(&bank.coefficients[s][0][first]);
                b1[s][g] = Batch::load_unaligned(&bank.coefficients[s][1][first]);
                b2[s][g] = Batch::load_unaligned(&bank.coefficients[s][2][first]);
                a1[s][g] = Batch::load_unaligned(&bank.coefficients[s][3][first]);
                a2[s][g] = Batch::load_unaligned(&bank.coefficients[s][4][first]);
                z1[s][g] = Batch::load_unaligned(&bank.state[s][0][first]);
                z2[s][g] = Batch::load_unaligned(&bank.state[s][1][first]);
            }
    }
    /// One frame of every lane through the sections, in place (transposed direct form II).
    void step(Batch (&v)[Count]) {
        for (int s = 0; s < Sections; ++s)
            for (int g = 0; g < Count; ++g) {
                const Batch y = b0[s][g] * v[g] + z1[s][g];
                z1[s][g] = (b1[s][g] * v[g] + z2[s][g]) - a1[s][g] * y;
                z2[s][g] = b2[s][g] * v[g] - a2[s][g] * y;
                v[g] = y;
            }
    }
    template <class Bank> void storeState(Bank& bank) const {
        constexpr int width = int(Batch::size);
        for (int s = 0; s < Sections; ++s)
            for (int g = 0; g < Count; ++g) {
                z1[s][g].store_unaligned(&bank.state[s][0][g * width]);
                z2[s][g].store_unaligned(&bank.state[s][1][g * width]);
            }
    }
};

/// Lanes [0, Count * width of Batch) through their cascades, the batches interleaved in one
/// loop so that their recursions overlap.
template <class Batch, int Count>
void cascadeBatches(LaneCascade& bank, const double* const* signals, int frames, double* sums, double* out) noexcept {
    constexpr int width = int(Batch::size);
    const LaneInputs<Batch, Count> inputs(bank.channel);
    CascadeRegisters<Batch, Count, kSections> cascade(bank);
    Batch sum[Count];
    for (int g = 0; g < Count; ++g) sum[g] = Batch::load_unaligned(sums + g * width);
    for (int n = 0; n < frames; ++n) {
        Batch v[Count];
        for (int g = 0; g < Count; ++g) v[g] = inputs.gather(g, signals, n);
        cascade.step(v);
        for (int g = 0; g < Count; ++g) {
            sum[g] = sum[g] + v[g] * v[g];
            if (out) v[g].store_unaligned(out + std::ptrdiff_t(n) * kLanes + g * width);
        }
    }
    cascade.storeState(bank);
    for (int g = 0; g < Count; ++g) sum[g].store_unaligned(sums + g * width);
}

/// The float cascades: lanes [0, Count * width of Batch), the first `Sections` sections.
template <class Batch, int Count, int Sections>
void cascadeFloatBatches(LaneCascadeFloat& bank, const float* const* signals, int frames, double* sums) noexcept {
    constexpr int width = int(Batch::size);
    const LaneInputs<Batch, Count> inputs(bank.channel);
    CascadeRegisters<Batch, Count, Sections> cascade(bank);
    constexpr int kRun = LaneCascadeFloat::kRun;
    Batch sum[Count];
    for (int g = 0; g < Count; ++g) sum[g] = Batch::load_unaligned(&bank.partial[g * width]);
    alignas(64) float partial[kLanes];
    for (int start = 0; start < frames;) {
        const int end = std::min(frames, start + (kRun - bank.phase));
        for (int n = start; n < end; ++n) {
            Batch v[Count];
            for (int g = 0; g < Count; ++g) v[g] = inputs.gather(g, signals, n);
            cascade.step(v);
            for (int g = 0; g < Count; ++g) sum[g] = sum[g] + v[g] * v[g];
        }
        bank.phase += end - start;
        start = end;
        if (bank.phase == kRun) {
            bank.phase = 0;
            for (int g = 0; g < Count; ++g) {
                sum[g].store_aligned(partial);
                for (int i = 0; i < width; ++i) sums[g * width + i] += double(partial[i]);
                sum[g] = Batch(0.0f);
            }
        }
    }
    for (int g = 0; g < Count; ++g) sum[g].store_unaligned(&bank.partial[g * width]);
    cascade.storeState(bank);
}

template <class Batch, int Count>
void cascadeFloatSections(LaneCascadeFloat& bank, const float* const* signals, int frames, double* sums) noexcept {
    switch (bank.sections) {
    case 1:
        return cascadeFloatBatches<Batch, Count, 1>(bank, signals, frames, sums);
    case 2:
        return cascadeFloatBatches<Batch, Count, 2>(bank, signals, frames, sums);
    case 3:
        return cascadeFloatBatches<Batch, Count, 3>(bank, signals, frames, sums);
    case 4:
        return cascadeFloatBatches<Batch, Count, 4>(bank, signals, frames, sums);
    case 5:
        return cascadeFloatBatches<Batch, Count, 5>(bank, signals, frames, sums);
    default:
        return cascadeFloatBatches<Batch, Count, kSections>(bank, signals, frames, sums);
    }
}

} // namespace

void laneCascadeFloat(LaneCascadeFloat& bank, const float* const* in, int frames, double* sums) noexcept {
    if (frames <= 0 || bank.lanes <= 0) return;
    using Wide = xsimd::batch<float, SG_SIMD_ARCH>;
    constexpr int width = int(Wide::size);
    static_assert(kLanes % width == 0 && kLanes / width <= 4);
    constexpr int most = kLanes / width;
    const int batches = (bank.lanes + width - 1) / width;
#if defined(__AVX512F__)
    if (bank.lanes <= 4) return cascadeFloatSections<xsimd::batch<float, xsimd::sse2>, 1>(bank, in, frames, sums);
    if (bank.lanes <= 8) return cascadeFloatSections<xsimd::batch<float, xsimd::avx2>, 1>(bank, in, frames, sums);
#elif defined(__AVX2__)
    if (bank.lanes <= 4) return cascadeFloatSections<xsimd::batch<float, xsimd::sse2>, 1>(bank, in, frames, sums);
#endif
    if (batches <= 1) return cascadeFloatSections<Wide, 1>(bank, in, frames, sums);
    if constexpr (most >= 2)
        if (batches == 2) return cascadeFloatSections<Wide, 2>(bank, in, frames, sums);
    if constexpr (most >= 3)
        if (batches == 3) return cascadeFloatSections<Wide, 3>(bank, in, frames, sums);
    if constexpr (most >= 4) return cascadeFloatSections<Wide, most>(bank, in, frames, sums);
}

void laneCascade(LaneCascade& bank, const double* const* in, int frames, double* sums, double* out) noexcept {
    if (frames <= 0 || bank.lanes <= 0) return;
    // Lanes past bank.lanes are padding (kLanes wide), computed and never read back.
    using Wide = xsimd::batch<double, SG_SIMD_ARCH>;
    constexpr int width = int(Wide::size);
    const int batches = (bank.lanes + width - 1) / width;
#if defined(__AVX512F__)
    if (bank.lanes <= 2) return cascadeBatches<xsimd::batch<double, xsimd::sse2>, 1>(bank, in, frames, sums, out);
    if (bank.lanes <= 4) return cascadeBatches<xsimd::batch<double, xsimd::avx2>, 1>(bank, in, frames, sums, out);
#elif defined(__AVX2__)
    if (bank.lanes <= 2) return cascadeBatches<xsimd::batch<double, xsimd::sse2>, 1>(bank, in, frames, sums, out);
#endif
    static_assert(kLanes % width == 0 && kLanes / width <= 8);
    // Only batch counts that fit the padded lanes are instantiated (with 8-wide AVX-512 batches,
    // 3 or 4 would index past kLanes; they can never be asked for).
    constexpr int most = kLanes / width;
    if (batches <= 1) return cascadeBatches<Wide, 1>(bank, in, frames, sums, out);
    if constexpr (most >= 2)
        if (batches == 2) return cascadeBatches<Wide, 2>(bank, in, frames, sums, out);
    if constexpr (most >= 3)
        if (batches == 3) return cascadeBatches<Wide, 3>(bank, in, frames, sums, out);
    if constexpr (most >= 4)
        if (batches == 4) return cascadeBatches<Wide, 4>(bank, in, frames, sums, out);
    if constexpr (most > 4) return cascadeBatches<Wide, most>(bank, in, frames, sums, out);
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
