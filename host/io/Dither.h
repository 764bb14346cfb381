// Sample conversion for file I/O: TPDF dither and quantisation of float samples to integer
// PCM, and (de)interleaving between planar views and the interleaved frames files hold.
//
// Triangular-PDF dither (Lipshitz, Wannamaker & Vanderkooy, "Quantization and Dither: A
// Theoretical Survey", JAES 40(5), 1992): before rounding to the integer grid, add d = u1 + u2
// where u1, u2 are independent and uniform on [-0.5, 0.5) LSB. d lies in [-1, 1) LSB, has mean
// 0 and variance 2 * (1/12) = 1/6 LSB², and makes the first two moments of the total error
// independent of the signal (no distortion, no noise modulation).
//
// The uniforms come from seeded xorshift128+ generators (Vigna, "Further scramblings of
// Marsaglia's xorshift generators", 2017), so a render with the same seed is reproducible bit
// for bit. Four generators run side by side (value k comes from generator k mod 4) so the bulk
// fill vectorises; each 64-bit draw gives both uniforms of one value (its high and low halves,
// 24 bits each, so the sum is exact in float).
#pragma once

#include "core/Buffer.h"

#include <cstddef>
#include <cstdint>

namespace sg::io {

/// Seeded TPDF dither source. Values are in LSB of the target format.
class TpdfDither {
public:
    /// The seed used when none is given (renders are reproducible by default).
    static constexpr std::uint64_t kDefaultSeed = 0x5EED'57A6'E6A0'0001ull;
    /// Generators run side by side.
    static constexpr int kLanes = 4;

    explicit TpdfDither(std::uint64_t seed = kDefaultSeed) noexcept { reseed(seed); }

    /// Restarts the sequence from `seed` (any value, 0 included).
    void reseed(std::uint64_t seed) noexcept;

    /// Next dither value in LSB: u1 + u2 with u1, u2 uniform on [-0.5, 0.5); range [-1, 1).
    float next() noexcept {
        if (pendingIndex_ == kLanes) {
            generate(pending_);
            pendingIndex_ = 0;
        }
        return pending_[pendingIndex_++];
    }
    /// The next `count` values, the same sequence next() would give.
    void fill(float* out, std::size_t count) noexcept;

private:
    friend std::uint64_t quantize(const float*, std::size_t, int, std::int32_t*, float*, TpdfDither&) noexcept;

    /// kLanes new values, one per generator.
    void generate(float* out) noexcept;

    std::uint64_t state0_[kLanes] = {};
    std::uint64_t state1_[kLanes] = {};
    float pending_[kLanes] = {};
    int pendingIndex_ = kLanes;
};

/// Quantises `count` float samples (full scale ±1.0) to `bits`-bit integers:
/// q = clamp(round(x * 2^(bits-1) + d), -2^(bits-1), 2^(bits-1) - 1) with one d per sample from
/// `dither`, in order, so the result does not depend on how a stream is split into calls. Each
/// q is stored left-justified in 32 bits (q << (32 - bits)), libsndfile's convention for int
/// samples of any depth. `bits` is 8..24. Returns how many samples clipped (x * 2^(bits-1)
/// outside the integer range before dither). `ditherScratch` holds `count` floats (the
/// baseline loop's dither values; with AVX2 the values are drawn, used and counted in one pass
/// of the same integer and double operations, so every architecture gives the same results).
std::uint64_t quantize(const float* in, std::size_t count, int bits, std::int32_t* out, float* ditherScratch,
                       TpdfDither& dither) noexcept;

/// Little-endian integer PCM of `bytes` (2, 3 or 4) bytes per sample from left-justified 32-bit
/// samples (quantize's output): the top `bytes` bytes of each, least significant first, as
/// libsndfile's int conversion writes them for WAV, RF64 and W64. out holds count * bytes.
void packLittleEndian(const std::int32_t* in, std::size_t count, int bytes, unsigned char* out) noexcept;

/// Interleaves planar float samples unchanged: out[frame * channels + channel].
void interleave(ConstAudioView in, float* out) noexcept;
/// interleave() of the samples times `factor`: out = in * factor, one float multiply a sample
/// (the same bits as a gain node's multiply, then interleave()).
void interleave(ConstAudioView in, float factor, float* out) noexcept;
/// Deinterleaves `frames` frames of `in` (in.channels interleaved) into the planar view `out`.
void deinterleave(const float* in, AudioView out) noexcept;
/// Deinterleaves quantize()'s left-justified integers (of up to 24 significant bits) into the
/// planar view `out` as the values they store: q / 2^31, exactly.
void deinterleaveStored(const std::int32_t* in, AudioView out) noexcept;

} // namespace sg::io
