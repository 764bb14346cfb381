// The dynamics core's peak detector (nodes/dynamics/DynamicsCore.h, SlidingMaximum) against the
// definition, max |x| over the last W frames computed by brute force, on hostile material (noise
// bursts, a full-scale square, silence, a decaying sine) for windows from 1 frame to 100 ms at
// 48 kHz and host blocks from 1 frame to whole chunks and random splits; and reset.
#include "nodes/dynamics/DynamicsCore.h"
#include "nodes/dynamics/DynamicsKernel.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

using namespace sg;

namespace {

std::vector<float> hostileMaterial(std::int64_t frames) {
    std::vector<float> x = sg::test::noise(frames, 1.0f, 17);
    for (std::int64_t n = 0; n < frames; ++n) {
        const auto i = std::size_t(n);
        const std::int64_t part = n / 2500;
        if (part % 4 == 1) x[i] = (n / 37) % 2 ? 1.0f : -1.0f;                                            // full-scale square
        if (part % 4 == 2) x[i] = 0.0f;                                                                   // silence
        if (part % 4 == 3) x[i] = float(std::exp(-double(n % 2500) / 300.0) * std::sin(0.3 * double(n))); // decay
        if (n % 997 == 0) x[i] *= 8.0f;                                                                   // isolated overs
    }
    return x;
}

std::vector<float> bruteForce(const std::vector<float>& x, int window) {
    std::vector<float> out(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) {
        float most = 0;
        for (std::size_t k = n + 1 > std::size_t(window) ? n + 1 - std::size_t(window) : 0; k <= n; ++k)
            most = std::max(most, std::fabs(x[k]));
        out[n] = most;
    }
    return out;
}

std::vector<float> run(dynamics::SlidingMaximum& peak, const std::vector<float>& x, const std::vector<int>& blocks) {
    std::vector<float> out(x.size());
    std::size_t next = 0;
    for (std::size_t n = 0; n < x.size();) {
        const std::size_t frames = std::min(std::size_t(blocks[next++ % blocks.size()]), x.size() - n);
        peak.process(x.data() + n, int(frames), out.data() + n);
        n += frames;
    }
    return out;
}

} // namespace

TEST_CASE("dynamics core: the sliding maximum is max |x| over the last W frames, for every window and split",
          "[nodes][dynamics][compressor]") {
    const std::vector<float> x = hostileMaterial(12000);
    std::mt19937 rng(3);
    std::vector<int> random;
    for (int i = 0; i < 300; ++i) random.push_back(std::uniform_int_distribution<int>(1, 700)(rng));
    for (int window : {1, 2, 3, 4, 5, 7, 64, 481, 4800}) {
        const std::vector<float> expected = bruteForce(x, window);
        dynamics::SlidingMaximum peak;
        peak.prepare(window);
        for (const auto& blocks : std::vector<std::vector<int>>{{1}, {3}, {7}, {window}, {512}, {4096}, random}) {
            peak.reset();
            const std::vector<float> out = run(peak, x, blocks);
            INFO("window " << window << ", first block " << blocks[0]);
            std::size_t mismatches = 0;
            for (std::size_t n = 0; n < x.size(); ++n) mismatches += out[n] != expected[n] ? 1 : 0;
            CHECK(mismatches == 0);
        }
    }
}

TEST_CASE("dynamics core: reset forgets the history; the output may overwrite the input", "[nodes][dynamics][compressor]") {
    const std::vector<float> x = hostileMaterial(3000);
    dynamics::SlidingMaximum peak;
    peak.prepare(100);
    std::vector<float> first = run(peak, x, {64});
    peak.reset();
    std::vector<float> again = x;
    for (std::size_t n = 0; n < again.size(); n += 50) peak.process(again.data() + n, 50, again.data() + n);
    CHECK(again == first);
    CHECK(first == bruteForce(x, 100));
}

namespace {

/// Bits of a float, so NaN compares equal to the same NaN.
std::uint32_t bitsOf(float v) {
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

} // namespace

TEST_CASE("dynamics core: sliding maxima across lanes equal the scalar SlidingMaximum bit for bit, NaN and inf included",
          "[nodes][dynamics][compressor]") {
    constexpr int L = dynamics::kMaxLanes;
    const std::size_t frames = 9000;
    // Every lane different: hostile material, scaled, shifted, with NaN, +-inf, -0 and
    // denormals sprinkled at different positions per lane (a NaN inside a group of 4 frames,
    // first or later, is where a reordered max would differ).
    std::vector<std::vector<float>> x(L);
    for (int l = 0; l < L; ++l) {
        const std::vector<float> base = hostileMaterial(std::int64_t(frames) + 100 * l);
        x[std::size_t(l)].assign(base.begin() + 100 * l, base.end());
        std::mt19937 rng(unsigned(40 + l));
        for (int k = 0; k < 40; ++k) {
            const std::size_t at = std::uniform_int_distribution<std::size_t>(0, frames - 1)(rng);
            const float special[] = {std::numeric_limits<float>::quiet_NaN(),
                                     -std::numeric_limits<float>::quiet_NaN(),
                                     std::numeric_limits<float>::infinity(),
                                     -std::numeric_limits<float>::infinity(),
                                     -0.0f,
                                     1e-42f,
                                     20.0f};
            x[std::size_t(l)][at] = special[k % 7];
        }
    }
    std::mt19937 rng(9);
    std::vector<int> random;
    for (int i = 0; i < 200; ++i) random.push_back(std::uniform_int_distribution<int>(1, 600)(rng));
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto lanesKernel = SG_SIMD_PICK(arch, slidingMaximumLanes);
        for (int window : {1, 2, 3, 4, 5, 7, 64, 481, 4800, 12000}) {
            std::vector<float> chunk(std::size_t(window * L)), suffix(std::size_t((window + 1) * L)), prefix(L);
            for (const auto& blocks : std::vector<std::vector<int>>{{1}, {3}, {7}, {window}, {512}, {4096}, random}) {
                // The scalar detector with the same split: with NaN its values depend on where the
                // groups of 4 frames start, so on the split (without NaN they do not, see above).
                std::vector<std::vector<float>> expected(L);
                for (int l = 0; l < L; ++l) {
                    dynamics::SlidingMaximum peak;
                    peak.prepare(window);
                    expected[std::size_t(l)] = run(peak, x[std::size_t(l)], blocks);
                }
                std::fill(suffix.begin(), suffix.end(), 0.0f);
                std::fill(prefix.begin(), prefix.end(), 0.0f);
                dynamics::MaxLanesState state{window, 0, chunk.data(), suffix.data(), prefix.data()};
                std::vector<std::vector<float>> out(L, std::vector<float>(frames));
                std::size_t next = 0;
                for (std::size_t n = 0; n < frames;) {
                    const std::size_t count = std::min(std::size_t(blocks[next++ % blocks.size()]), frames - n);
                    const float* in[L];
                    float* to[L];
                    for (int l = 0; l < L; ++l) {
                        in[l] = x[std::size_t(l)].data() + n;
                        to[l] = out[std::size_t(l)].data() + n;
                    }
                    lanesKernel(state, in, int(count), to);
                    n += count;
                }
                INFO(simdArchName(arch) << ", window " << window << ", first block " << blocks[0]);
                std::size_t mismatches = 0;
                for (int l = 0; l < L; ++l)
                    for (std::size_t n = 0; n < frames; ++n)
                        mismatches += bitsOf(out[std::size_t(l)][n]) != bitsOf(expected[std::size_t(l)][n]) ? 1 : 0;
                CHECK(mismatches == 0);
            }
        }
    }
}
