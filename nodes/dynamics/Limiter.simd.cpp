// The limiter's true-peak detector, compiled once per architecture (see core/Simd.h).
// Vectorised along time: a batch holds consecutive frames, each tap is one unaligned load of the
// input shifted by j frames times a broadcast coefficient. Taps are summed in the same order
// (j = 0..11) in the vector body and the scalar tail, without FMA, so every architecture and
// every split of the stream gives the same bits.
#include "nodes/dynamics/Limiter.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>

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
