// The oversampler's FIR, compiled once per architecture (see core/Simd.h). Vectorised along
// time: a batch holds consecutive frames; each tap is one unaligned load of the input shifted by
// j frames times a broadcast coefficient, summed in tap order without FMA, so the vector body and
// the scalar tail round alike.
#include "nodes/utility/Oversampler.h"

#include <xsimd/xsimd.hpp>

namespace sg::SG_SIMD_NS {

using Batch = xsimd::batch<float, SG_SIMD_ARCH>;

void firAlongTime(const float* x, int frames, const float* c, int taps, float* out, bool accumulate) noexcept {
    constexpr int width = int(Batch::size);
    int i = 0;
    // Four batches of outputs at a time: four independent sums share each coefficient broadcast,
    // so the additions' latency overlaps instead of forming one chain per batch (about 4x faster
    // on long filters). Each output's sum still runs over the taps in order: the same bits.
    for (; i + 4 * width <= frames; i += 4 * width) {
        const Batch c0(c[0]);
        Batch v0 = c0 * Batch::load_unaligned(x + i);
        Batch v1 = c0 * Batch::load_unaligned(x + i + width);
        Batch v2 = c0 * Batch::load_unaligned(x + i + 2 * width);
        Batch v3 = c0 * Batch::load_unaligned(x + i + 3 * width);
        for (int j = 1; j < taps; ++j) {
            const Batch cj(c[j]);
            const float* xj = x + i - j;
            v0 = v0 + cj * Batch::load_unaligned(xj);
            v1 = v1 + cj * Batch::load_unaligned(xj + width);
            v2 = v2 + cj * Batch::load_unaligned(xj + 2 * width);
            v3 = v3 + cj * Batch::load_unaligned(xj + 3 * width);
        }
        if (accumulate) {
            v0 = Batch::load_unaligned(out + i) + v0;
            v1 = Batch::load_unaligned(out + i + width) + v1;
            v2 = Batch::load_unaligned(out + i + 2 * width) + v2;
            v3 = Batch::load_unaligned(out + i + 3 * width) + v3;
        }
        v0.store_unaligned(out + i);
        v1.store_unaligned(out + i + width);
        v2.store_unaligned(out + i + 2 * width);
        v3.store_unaligned(out + i + 3 * width);
    }
    for (; i + width <= frames; i += width) {
        Batch v = Batch(c[0]) * Batch::load_unaligned(x + i);
        for (int j = 1; j < taps; ++j) v = v + Batch(c[j]) * Batch::load_unaligned(x + i - j);
        if (accumulate) v = Batch::load_unaligned(out + i) + v;
        v.store_unaligned(out + i);
    }
    for (; i < frames; ++i) {
        float v = c[0] * x[i];
        for (int j = 1; j < taps; ++j) v = v + c[j] * x[i - j];
        out[i] = accumulate ? out[i] + v : v;
    }
}

} // namespace sg::SG_SIMD_NS
