#include "host/io/Dither.h"

#include <algorithm>
#include <cmath>

namespace sg::io {

namespace {

/// splitmix64 (Vigna): spreads any seed, 0 included, over the generators' states.
std::uint64_t splitMix64(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

} // namespace

void TpdfDither::reseed(std::uint64_t seed) noexcept {
    for (int lane = 0; lane < kLanes; ++lane) {
        state0_[lane] = splitMix64(seed);
        state1_[lane] = splitMix64(seed);
        if ((state0_[lane] | state1_[lane]) == 0) state1_[lane] = 1; // all-zero is a fixed point
    }
    pendingIndex_ = kLanes;
}

void TpdfDither::generate(float* out) noexcept {
    for (int lane = 0; lane < kLanes; ++lane) {
        // xorshift128+ (a, b, c = 23, 18, 5)
        std::uint64_t s1 = state0_[lane];
        const std::uint64_t s0 = state1_[lane];
        const std::uint64_t bits = s0 + s1;
        state0_[lane] = s0;
        s1 ^= s1 << 23;
        state1_[lane] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
        // Top 24 bits of each half, signed: integers in [-2^23, 2^23); their sum is exact.
        const std::int32_t high = std::int32_t(std::uint32_t(bits >> 32)) >> 8;
        const std::int32_t low = std::int32_t(std::uint32_t(bits)) >> 8;
        out[lane] = float(high + low) * 0x1p-24f;
    }
}

void TpdfDither::fill(float* out, std::size_t count) noexcept {
    std::size_t done = 0;
    while (done < count && pendingIndex_ < kLanes) out[done++] = pending_[pendingIndex_++];
    const std::size_t bulkEnd = done + (count - done) / kLanes * kLanes;
    if (done < bulkEnd) {
        // generate() on local copies of the states, which the compiler keeps in vector registers.
        std::uint64_t state0[kLanes], state1[kLanes];
        for (int lane = 0; lane < kLanes; ++lane) {
            state0[lane] = state0_[lane];
            state1[lane] = state1_[lane];
        }
        float* __restrict o = out;
        for (; done < bulkEnd; done += kLanes) {
            for (int lane = 0; lane < kLanes; ++lane) {
                std::uint64_t s1 = state0[lane];
                const std::uint64_t s0 = state1[lane];
                const std::uint64_t bits = s0 + s1;
                state0[lane] = s0;
                s1 ^= s1 << 23;
                state1[lane] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
                const std::int32_t high = std::int32_t(std::uint32_t(bits >> 32)) >> 8;
                const std::int32_t low = std::int32_t(std::uint32_t(bits)) >> 8;
                o[done + std::size_t(lane)] = float(high + low) * 0x1p-24f;
            }
        }
        for (int lane = 0; lane < kLanes; ++lane) {
            state0_[lane] = state0[lane];
            state1_[lane] = state1[lane];
        }
    }
    if (done < count) {
        generate(pending_);
        pendingIndex_ = 0;
        while (done < count) out[done++] = pending_[pendingIndex_++];
    }
}

std::uint64_t quantize(const float* in, std::size_t count, int bits, std::int32_t* out, float* ditherScratch,
                       TpdfDither& dither) noexcept {
    dither.fill(ditherScratch, count);
    const float* __restrict x = in;
    const float* __restrict d = ditherScratch;
    std::int32_t* __restrict q = out;
    const double scale = std::ldexp(1.0, bits - 1);
    const double lowest = -scale, highest = scale - 1;
    // Rounding by truncation in a positive domain: v + 2^(bits-1) + 0.5 >= 0.5 after clamping,
    // so int conversion (truncation) is floor and the result is round-half-up. Vectorises
    // (cvttpd2dq) where lrint does not.
    const double offset = scale + 0.5;
    const auto integerOffset = std::int32_t(scale);
    const std::int32_t step = std::int32_t(1) << (32 - bits);
    for (std::size_t i = 0; i < count; ++i) {
        double v = double(x[i]) * scale + double(d[i]);
        v = v < lowest ? lowest : v;
        v = v > highest ? highest : v;
        q[i] = (std::int32_t(v + offset) - integerOffset) * step;
    }
    // x * scale > highest exactly when x > highest / scale (both exact in float for bits <= 24).
    const float lowestInput = -1.0f, highestInput = float(highest / scale);
    std::uint32_t clipped = 0;
    std::uint64_t total = 0;
    for (std::size_t start = 0; start < count; start += 1u << 20) { // 32-bit counters, vectorised
        const std::size_t end = std::min(count, start + (std::size_t(1) << 20));
        clipped = 0;
        for (std::size_t i = start; i < end; ++i) clipped += std::uint32_t((x[i] < lowestInput) | (x[i] > highestInput));
        total += clipped;
    }
    return total;
}

void interleave(ConstAudioView in, float* out) noexcept {
    const int channels = in.channels;
    if (channels == 1) {
        std::copy_n(in.data, in.frames, out);
        return;
    }
    if (channels == 2) {
        const float* left = in.channel(0);
        const float* right = in.channel(1);
        for (int frame = 0; frame < in.frames; ++frame) {
            out[2 * frame] = left[frame];
            out[2 * frame + 1] = right[frame];
        }
        return;
    }
    for (int c = 0; c < channels; ++c) {
        const float* src = in.channel(c);
        float* dst = out + c;
        for (int frame = 0; frame < in.frames; ++frame) dst[std::size_t(frame) * std::size_t(channels)] = src[frame];
    }
}

void deinterleave(const float* in, AudioView out) noexcept {
    const int channels = out.channels;
    if (channels == 1) {
        std::copy_n(in, out.frames, out.data);
        return;
    }
    if (channels == 2) {
        float* left = out.channel(0);
        float* right = out.channel(1);
        for (int frame = 0; frame < out.frames; ++frame) {
            left[frame] = in[2 * frame];
            right[frame] = in[2 * frame + 1];
        }
        return;
    }
    for (int c = 0; c < channels; ++c) {
        const float* src = in + c;
        float* dst = out.channel(c);
        for (int frame = 0; frame < out.frames; ++frame) dst[frame] = src[std::size_t(frame) * std::size_t(channels)];
    }
}

} // namespace sg::io
