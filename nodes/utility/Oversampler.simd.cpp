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
