// Element-wise SIMD kernels shared by nodes: each output frame depends only on the same frame of
// the inputs, so they vectorise along time (batches of consecutive frames).
//
// Compiled once per architecture (core/Elementwise.simd.cpp, see core/Simd.h). Unaligned loads:
// lane pointers may start anywhere (a segment's first frame). No FMA, and the scalar tails round
// exactly like the vector bodies (one IEEE operation per step), so multiply, mix and sum give
// the same bits on every architecture and for every split of a stream. The dB conversions run
// every frame, tail included, through the same vector exp/log, so they too are split-independent.
// `out` may alias an input in every kernel.
#pragma once

#include <cstdint>

#include "core/Simd.h"

// out[n] = in[n] * factor, n < frames.
SG_SIMD_DECLARE(void multiplyByConstant(const float* in, float* out, int frames, float factor) noexcept)
// out[n] = in[n] * curve[n], n < frames.
SG_SIMD_DECLARE(void multiplyByCurve(const float* in, const float* curve, float* out, int frames) noexcept)
// out[n] = a * x[n] + b * y[n] (two roundings and an add, no FMA), n < frames.
SG_SIMD_DECLARE(void mix(const float* x, float a, const float* y, float b, float* out, int frames) noexcept)
// out[n] = x[n] + y[n], n < frames.
SG_SIMD_DECLARE(void sum(const float* x, const float* y, float* out, int frames) noexcept)
// out[n] = (((sources[0][n] + sources[1][n]) + sources[2][n]) + ...) + sources[count - 1][n],
// n < frames, count >= 1: the bits of adding the sources one at a time into out, in one pass
// (each frame's partial sum stays in a register). `out` must not alias a source.
SG_SIMD_DECLARE(void sumSources(const float* const* sources, int count, float* out, int frames) noexcept)
// out[n] = in[n], n < frames (`out` must not alias `in` unless equal); returns whether any in[n]
// is infinite or NaN, found in the same pass.
SG_SIMD_DECLARE(bool copyFlaggingNonFinite(const float* in, float* out, int frames) noexcept)
// Whether any x[n], n < frames, is infinite or NaN.
SG_SIMD_DECLARE(bool anyNonFinite(const float* x, int frames) noexcept)
// out[n] = 10^(db[n] / 20) (amplitude factor), in float, n < frames; relative error below 2e-6
// (2e-5 dB) over -120 .. +40 dB, most of it from the float exponent db * ln(10) / 20.
SG_SIMD_DECLARE(void decibelsToGain(const float* db, float* out, int frames) noexcept)
// out[n] = 20 log10(|gain[n]|) (dB), in float, n < frames; -inf for 0, +inf for inf, NaN for NaN;
// within half an ulp + 1e-6 dB of exact for every nonzero float, subnormals included (a short
// series on the float's bits, independent of FTZ / DAZ).
SG_SIMD_DECLARE(void gainToDecibels(const float* gain, float* out, int frames) noexcept)
// out[n] = std::max(gainToDecibels(gain[n]) * scale, floor): the same float operations as the
// two passes, in one.
SG_SIMD_DECLARE(void gainToDecibelsFloored(const float* gain, float* out, int frames, float scale, float floor) noexcept)
// out[n] = decibelsToGain(sign * db[n] + offset[n]) (offset non-null), decibelsToGain(sign * db[n]
// + constant) (constant != 0) or decibelsToGain(sign * db[n]): the same float operations as a
// pass that forms the dB and one that converts them.
SG_SIMD_DECLARE(void offsetDecibelsToGain(const float* db, float sign, const float* offset, float constant, float* out,
                                          int frames) noexcept)

namespace sg {

/// The element-wise kernels of one architecture, as function pointers picked at setup.
struct Elementwise {
    void (*multiplyByConstant)(const float* in, float* out, int frames, float factor) noexcept;
    void (*multiplyByCurve)(const float* in, const float* curve, float* out, int frames) noexcept;
    void (*mix)(const float* x, float a, const float* y, float b, float* out, int frames) noexcept;
    void (*sum)(const float* x, const float* y, float* out, int frames) noexcept;
    void (*sumSources)(const float* const* sources, int count, float* out, int frames) noexcept;
    bool (*copyFlaggingNonFinite)(const float* in, float* out, int frames) noexcept;
    bool (*anyNonFinite)(const float* x, int frames) noexcept;
    void (*decibelsToGain)(const float* db, float* out, int frames) noexcept;
    void (*gainToDecibels)(const float* gain, float* out, int frames) noexcept;
    void (*gainToDecibelsFloored)(const float* gain, float* out, int frames, float scale, float floor) noexcept;
    void (*offsetDecibelsToGain)(const float* db, float sign, const float* offset, float constant, float* out,
                                 int frames) noexcept;

    /// The table for `arch` (static, never null).
    static const Elementwise& forArch(SimdArch arch);

    /// A left and a right gain that follow one ramped parameter (pan, balance): out = in x gain
    /// on both sides over `frames` frames from absolute `position`. gains(value, left, right)
    /// gives the pair for a parameter value; while `ramp` moves, each frame's pair comes from its
    /// own position (block-split independent) through the two curves (>= frames long).
    template <class Ramp, class Gains>
    void stereoGains(const Ramp& ramp, std::int64_t position, int frames, Gains&& gains, const float* inLeft,
                     const float* inRight, float* outLeft, float* outRight, float* leftCurve, float* rightCurve) const noexcept {
        if (ramp.settledAt(position)) {
            double left = 0, right = 0;
            gains(ramp.target(), left, right);
            multiplyByConstant(inLeft, outLeft, frames, float(left));
            multiplyByConstant(inRight, outRight, frames, float(right));
            return;
        }
        for (int n = 0; n < frames; ++n) {
            double left = 0, right = 0;
            gains(ramp.valueAt(position + n), left, right);
            leftCurve[n] = float(left);
            rightCurve[n] = float(right);
        }
        multiplyByCurve(inLeft, leftCurve, outLeft, frames);
        multiplyByCurve(inRight, rightCurve, outRight, frames);
    }
};

} // namespace sg
