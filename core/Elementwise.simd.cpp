// Element-wise kernels, compiled once per architecture (see core/Simd.h and Elementwise.h).
// Unaligned loads and a scalar tail for the one-operation kernels: lane pointers may start
// anywhere, and the scalar float operation rounds exactly like the vector one, so every
// architecture gives the same bits. The dB conversions pad their tail into one more batch, so
// every frame goes through the same vector exp / log whatever the split.
#include "core/Elementwise.h"
#include "core/ElementwiseMath.h"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sg::SG_SIMD_NS {

using Batch = DecibelBatch;

void multiplyByConstant(const float* in, float* out, int frames, float factor) noexcept {
    constexpr int width = int(Batch::size);
    const Batch k(factor);
    int n = 0;
    for (; n + width <= frames; n += width) (Batch::load_unaligned(in + n) * k).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = in[n] * factor;
}

void multiplyByCurve(const float* in, const float* curve, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(in + n) * Batch::load_unaligned(curve + n)).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = in[n] * curve[n];
}

void mix(const float* x, float a, const float* y, float b, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    const Batch ka(a), kb(b);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(x + n) * ka + Batch::load_unaligned(y + n) * kb).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = x[n] * a + y[n] * b;
}

void sum(const float* x, const float* y, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width)
        (Batch::load_unaligned(x + n) + Batch::load_unaligned(y + n)).store_unaligned(out + n);
    for (; n < frames; ++n) out[n] = x[n] + y[n];
}

void sumSources(const float* const* sources, int count, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + 2 * width <= frames; n += 2 * width) { // two independent chains
        Batch a = Batch::load_unaligned(sources[0] + n), b = Batch::load_unaligned(sources[0] + n + width);
        for (int s = 1; s < count; ++s) {
            a += Batch::load_unaligned(sources[s] + n);
            b += Batch::load_unaligned(sources[s] + n + width);
        }
        a.store_unaligned(out + n);
        b.store_unaligned(out + n + width);
    }
    for (; n < frames; ++n) {
        float a = sources[0][n];
        for (int s = 1; s < count; ++s) a += sources[s][n];
        out[n] = a;
    }
}

// x - x is 0 for every finite x and NaN for an infinity or a NaN, so a running sum of it is NaN
// once a non-finite value went by: two float operations a batch, no integer compares. Four
// batches an iteration, so the loads and stores, not the adds' latency, set the pace.
bool copyFlaggingNonFinite(const float* in, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    Batch a(0.0f), b(0.0f);
    int n = 0;
    for (; n + 4 * width <= frames; n += 4 * width) {
        const Batch v0 = Batch::load_unaligned(in + n), v1 = Batch::load_unaligned(in + n + width);
        const Batch v2 = Batch::load_unaligned(in + n + 2 * width), v3 = Batch::load_unaligned(in + n + 3 * width);
        v0.store_unaligned(out + n);
        v1.store_unaligned(out + n + width);
        v2.store_unaligned(out + n + 2 * width);
        v3.store_unaligned(out + n + 3 * width);
        a += (v0 - v0) + (v1 - v1);
        b += (v2 - v2) + (v3 - v3);
    }
    for (; n + width <= frames; n += width) {
        const Batch v = Batch::load_unaligned(in + n);
        v.store_unaligned(out + n);
        a += v - v;
    }
    bool found = xsimd::any(xsimd::isnan(a + b));
    for (; n < frames; ++n) {
        out[n] = in[n];
        found |= !std::isfinite(in[n]);
    }
    return found;
}

bool anyNonFinite(const float* x, int frames) noexcept {
    constexpr int width = int(Batch::size);
    Batch a(0.0f), b(0.0f);
    int n = 0;
    for (; n + 2 * width <= frames; n += 2 * width) {
        const Batch v0 = Batch::load_unaligned(x + n), v1 = Batch::load_unaligned(x + n + width);
        a += v0 - v0;
        b += v1 - v1;
    }
    for (; n + width <= frames; n += width) {
        const Batch v = Batch::load_unaligned(x + n);
        a += v - v;
    }
    bool found = xsimd::any(xsimd::isnan(a + b));
    for (; n < frames; ++n) found |= !std::isfinite(x[n]);
    return found;
}

namespace {

/// out[n] = f(in[n]) batch by batch; the last partial batch is padded with zeros.
template <class F> void mapBatches(const float* in, float* out, int frames, F&& f) noexcept {
    constexpr int width = int(Batch::size);
    int n = 0;
    for (; n + width <= frames; n += width) f(Batch::load_unaligned(in + n)).store_unaligned(out + n);
    if (n < frames) {
        alignas(64) float tail[width] = {};
        std::copy(in + n, in + frames, tail);
        f(Batch::load_aligned(tail)).store_aligned(tail);
        std::copy(tail, tail + (frames - n), out + n);
    }
}

} // namespace

void decibelsToGain(const float* db, float* out, int frames) noexcept { mapBatches(db, out, frames, gainOf); }

void gainToDecibels(const float* gain, float* out, int frames) noexcept { mapBatches(gain, out, frames, decibelsOf); }

void gainToDecibelsFloored(const float* gain, float* out, int frames, float scale, float floor) noexcept {
    const Batch k(scale), low(floor);
    mapBatches(gain, out, frames, [&](const Batch& g) {
        const Batch db = decibelsOf(g) * k;
        return xsimd::select(db < low, low, db); // std::max(db, floor)
    });
}

void offsetDecibelsToGain(const float* db, float sign, const float* offset, float constant, float* out, int frames) noexcept {
    constexpr int width = int(Batch::size);
    const Batch s(sign), c(constant);
    if (!offset) {
        if (constant != 0.0f)
            mapBatches(db, out, frames, [&](const Batch& x) { return gainOf(s * x + c); });
        else
            mapBatches(db, out, frames, [&](const Batch& x) { return gainOf(s * x); });
        return;
    }
    int n = 0;
    for (; n + width <= frames; n += width)
        gainOf(s * Batch::load_unaligned(db + n) + Batch::load_unaligned(offset + n)).store_unaligned(out + n);
    if (n < frames) { // the tail padded into one more batch, as mapBatches does
        alignas(64) float tail[width] = {}, tailOffset[width] = {};
        std::copy(db + n, db + frames, tail);
        std::copy(offset + n, offset + frames, tailOffset);
        gainOf(s * Batch::load_aligned(tail) + Batch::load_aligned(tailOffset)).store_aligned(tail);
        std::copy(tail, tail + (frames - n), out + n);
    }
}

} // namespace sg::SG_SIMD_NS
