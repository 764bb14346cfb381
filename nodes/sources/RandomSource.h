// Seeded uniform random numbers for nodes that make noise (noise, dither): one xorshift128+
// generator (Vigna, "Further scramblings of Marsaglia's xorshift generators", 2017) per lane,
// its state spread from (seed, channel) by splitmix64, so every channel of an instance has its
// own reproducible sequence whatever the batching, and the sequence advances one value per frame
// whatever the block split. The same generator as the file writer's dither (host/io/Dither),
// one generator per channel instead of four interleaved ones.
#pragma once

#include <cstdint>

namespace sg {

class RandomSource {
public:
    /// Restarts the sequence of channel `channel` of a node seeded with `seed`.
    void reseed(std::uint64_t seed, int channel) noexcept {
        std::uint64_t x = seed ^ (0xA0761D6478BD642Full * std::uint64_t(channel + 1));
        state0_ = splitMix64(x);
        state1_ = splitMix64(x);
        if ((state0_ | state1_) == 0) state1_ = 1; // all-zero is a fixed point
    }
    /// The next 64 random bits.
    std::uint64_t nextBits() noexcept {
        std::uint64_t s1 = state0_;
        const std::uint64_t s0 = state1_;
        const std::uint64_t bits = s0 + s1;
        state0_ = s0;
        s1 ^= s1 << 23;
        state1_ = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
        return bits;
    }
    /// Uniform on [-0.5, 0.5) with 24-bit resolution (exact in float).
    double uniform() noexcept { return double(std::int32_t(std::uint32_t(nextBits() >> 32)) >> 8) * 0x1p-24; }
    /// TPDF value u1 + u2 on [-1, 1): the two 24-bit halves of one draw (as host/io/Dither).
    double triangular() noexcept {
        const std::uint64_t bits = nextBits();
        const std::int32_t high = std::int32_t(std::uint32_t(bits >> 32)) >> 8;
        const std::int32_t low = std::int32_t(std::uint32_t(bits)) >> 8;
        return double(high + low) * 0x1p-24;
    }

private:
    static std::uint64_t splitMix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::uint64_t state0_ = 1, state1_ = 2;
};

} // namespace sg
