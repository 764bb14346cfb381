// The dynamics core's vector kernels, compiled once per architecture (see core/Simd.h and
// DynamicsKernel.h): the static curves along time (float batches of consecutive frames) and the
// attack / release recursion across lanes (double batches of lanes, frame after frame).
#include "nodes/dynamics/DynamicsKernel.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>

namespace sg::SG_SIMD_NS {

namespace {

using Floats = xsimd::batch<float, SG_SIMD_ARCH>;
using Doubles = xsimd::batch<double, SG_SIMD_ARCH>;

/// The same on every architecture (no xsimd::min / max: their NaN handling differs).
inline Floats smaller(const Floats& a, const Floats& b) noexcept { return xsimd::select(b < a, b, a); }
inline Doubles larger(const Doubles& a, const Doubles& b) noexcept { return xsimd::select(a < b, b, a); }

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

void smoothChanges(const double* targets, int frames, const dynamics::SmoothCoefficients& k, double* change, double* slow,
                   double* out) noexcept {
    constexpr int width = int(Doubles::size);
    constexpr int batches = dynamics::kSmoothLanes / width;
    static_assert(dynamics::kSmoothLanes % width == 0, "whole batches of lanes");
    Doubles c[batches], s[batches];
    for (int b = 0; b < batches; ++b) {
        c[b] = Doubles::load_unaligned(change + b * width);
        s[b] = Doubles::load_unaligned(slow + b * width);
    }
    const Doubles snap(dynamics::kSnapDb), zero(0.0);
    for (int n = 0; n < frames; ++n) {
        const double* t = targets + std::size_t(n) * dynamics::kSmoothLanes;
        double* o = out + std::size_t(n) * dynamics::kSmoothLanes;
        for (int b = 0; b < batches; ++b) { // independent chains: their latencies overlap
            const int at = b * width;
            const Doubles target = Doubles::load_unaligned(t + at);
            const auto tiny = target < snap;
            // The products with C start at once; the comparisons run beside them.
            const Doubles rising = Doubles::load_aligned(k.riseRest + at) * target + Doubles::load_aligned(k.rise + at) * c[b];
            const Doubles falling = Doubles::load_aligned(k.fallRest + at) * target + Doubles::load_aligned(k.fall + at) * c[b];
            const Doubles next = xsimd::select(tiny & (c[b] < snap), zero, xsimd::select(target > c[b], rising, falling));
            const Doubles slowRising =
                Doubles::load_aligned(k.slowRiseRest + at) * target + Doubles::load_aligned(k.slowRise + at) * s[b];
            const Doubles slowFalling =
                Doubles::load_aligned(k.slowFallRest + at) * target + Doubles::load_aligned(k.slowFall + at) * s[b];
            const Doubles slowNext =
                xsimd::select(tiny & (s[b] < snap), zero, xsimd::select(target > s[b], slowRising, slowFalling));
            c[b] = next;
            s[b] = slowNext;
            xsimd::select(Doubles::load_aligned(k.autoRelease + at) > zero, larger(next, slowNext), next).store_unaligned(o + at);
        }
    }
    for (int b = 0; b < batches; ++b) {
        c[b].store_unaligned(change + b * width);
        s[b].store_unaligned(slow + b * width);
    }
}

} // namespace sg::SG_SIMD_NS
