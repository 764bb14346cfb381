// The dynamics core's peak detector (nodes/dynamics/DynamicsCore.h, SlidingMaximum) against the
// definition, max |x| over the last W frames computed by brute force, on hostile material (noise
// bursts, a full-scale square, silence, a decaying sine) for windows from 1 frame to 100 ms at
// 48 kHz and host blocks from 1 frame to whole chunks and random splits; and reset.
#include "core/Elementwise.h"
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

/// The smoothing recursion of DynamicsKernel.h on lane `l`'s targets, from rest, in the vector
/// code's operation order. Auto release (the larger of the fast and slow states) applies from
/// frame `autoFrom` on when `autoRelease`, its slow state starting there from the fast one (as
/// DynamicsCore.cpp's update() starts it); `released` counts the frames where it decides.
std::vector<float> smoothReference(const std::vector<float>& targets, const dynamics::SmoothCoefficients& k, int l,
                                   bool autoRelease, std::size_t autoFrom, std::size_t* released = nullptr) {
    std::vector<float> out(targets.size());
    double c = 0, s = 0;
    for (std::size_t n = 0; n < targets.size(); ++n) {
        const double t = double(targets[n]);
        if (autoRelease && n == autoFrom) s = c;
        const bool tiny = t < dynamics::kSnapDb;
        const double next = tiny && c < dynamics::kSnapDb ? 0.0
                            : t > c                       ? k.riseRest[l] * t + k.rise[l] * c
                                                          : k.fallRest[l] * t + k.fall[l] * c;
        const double slowNext = tiny && s < dynamics::kSnapDb ? 0.0
                                : t > s                       ? k.slowRiseRest[l] * t + k.slowRise[l] * s
                                                              : k.slowFallRest[l] * t + k.slowFall[l] * s;
        c = next;
        s = slowNext;
        const bool slowDecides = autoRelease && n >= autoFrom && next < slowNext;
        if (released && slowDecides) ++*released;
        out[n] = float(slowDecides ? slowNext : next);
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
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        for (int window : {1, 2, 3, 4, 5, 7, 15, 16, 17, 64, 481, 4800}) {
            const std::vector<float> expected = bruteForce(x, window);
            dynamics::SlidingMaximum peak;
            peak.prepare(window, arch); // its vector scans, where there are no NaN and denormals
            for (const auto& blocks : std::vector<std::vector<int>>{{1}, {3}, {7}, {window}, {512}, {4096}, random}) {
                peak.reset();
                const std::vector<float> out = run(peak, x, blocks);
                INFO(simdArchName(arch) << ", window " << window << ", first block " << blocks[0]);
                std::size_t mismatches = 0;
                for (std::size_t n = 0; n < x.size(); ++n) mismatches += out[n] != expected[n] ? 1 : 0;
                CHECK(mismatches == 0);
            }
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
                // The scalar detector's vector scans (of this architecture) leave every run with a
                // NaN or a denormal to its scalar loop, so these values are the scalar ones too.
                std::vector<std::vector<float>> expected(L);
                for (int l = 0; l < L; ++l) {
                    dynamics::SlidingMaximum peak;
                    peak.prepare(window, arch);
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

TEST_CASE("dynamics core: the attack / release recursion across lanes is the scalar formula, every lane count, split and "
          "architecture",
          "[nodes][dynamics][compressor]") {
    constexpr int L = dynamics::kSmoothLanes;
    const std::size_t frames = 3001;
    // Targets in dB: hostile material's levels turned into changes (0 .. 60 dB, long runs of 0,
    // values around the snap threshold, a NaN and an inf), different per lane.
    std::vector<std::vector<float>> targets(L);
    for (int l = 0; l < L; ++l) {
        const std::vector<float> x = hostileMaterial(std::int64_t(frames) + 50 * l);
        for (std::size_t n = 0; n < frames; ++n) {
            const float a = std::fabs(x[n + 50 * std::size_t(l)]);
            targets[std::size_t(l)].push_back(a > 0.3f ? 60.0f * (a - 0.3f) : 0.0f);
        }
        targets[std::size_t(l)][100 + 7 * std::size_t(l)] = 1e-8f; // under the snap
        targets[std::size_t(l)][900 + 3 * std::size_t(l)] = 2e-7f; // over it
        if (l == 5) targets[std::size_t(l)][2000] = std::numeric_limits<float>::quiet_NaN();
        if (l == 6) targets[std::size_t(l)][2100] = std::numeric_limits<float>::infinity();
    }
    dynamics::SmoothCoefficients k{};
    for (int l = 0; l < L; ++l) {
        const double fs = 44100.0;
        k.rise[l] = dynamics::timeConstantFactor(0.3 + 2.0 * l, fs);
        k.fall[l] = dynamics::timeConstantFactor(20.0 + 31.0 * l, fs);
        k.slowRise[l] = dynamics::timeConstantFactor(5 * (20.0 + 31.0 * l), fs);
        k.slowFall[l] = dynamics::timeConstantFactor(10 * (20.0 + 31.0 * l), fs);
        k.riseRest[l] = 1.0 - k.rise[l];
        k.fallRest[l] = 1.0 - k.fall[l];
        k.slowRiseRest[l] = 1.0 - k.slowRise[l];
        k.slowFallRest[l] = 1.0 - k.slowFall[l];
        k.autoRelease[l] = l % 3 == 1 ? 1.0 : 0.0;
    }
    // The formula of DynamicsKernel.h, lane by lane, in the vector code's operation order.
    std::vector<std::vector<float>> expected(L);
    for (int l = 0; l < L; ++l)
        expected[std::size_t(l)] = smoothReference(targets[std::size_t(l)], k, l, k.autoRelease[l] > 0, 0);
    std::mt19937 rng(5);
    std::vector<int> random;
    for (int i = 0; i < 100; ++i) random.push_back(std::uniform_int_distribution<int>(1, 70)(rng));
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto smooth = SG_SIMD_PICK(arch, smoothChanges);
        for (int lanes = 1; lanes <= L; ++lanes)
            for (const auto& blocks : std::vector<std::vector<int>>{{1}, {3}, {4}, {5}, {512}, random})
                for (const bool inPlace : {false, true}) {
                    std::vector<std::vector<float>> out(L, std::vector<float>(frames, -1.0f));
                    std::vector<std::vector<float>> in = targets;
                    const std::vector<float> zeros(frames, 0.0f);
                    std::vector<float> scratch(frames);
                    double change[L] = {}, slow[L] = {};
                    std::size_t next = 0;
                    for (std::size_t n = 0; n < frames;) {
                        const std::size_t count = std::min(std::size_t(blocks[next++ % blocks.size()]), frames - n);
                        const float* from[L];
                        float* to[L];
                        for (int l = 0; l < L; ++l) { // unused lanes: zeros in, a scratch out, as the kernel does
                            from[l] = l < lanes ? in[std::size_t(l)].data() + n : zeros.data() + n;
                            to[l] = l >= lanes ? scratch.data() + n
                                    : inPlace  ? in[std::size_t(l)].data() + n
                                               : out[std::size_t(l)].data() + n;
                        }
                        smooth(from, lanes, int(count), k, change, slow, to);
                        n += count;
                    }
                    INFO(simdArchName(arch) << ", " << lanes << " lanes, first block " << blocks[0]
                                            << (inPlace ? ", in place" : ""));
                    std::size_t mismatches = 0;
                    for (int l = 0; l < lanes; ++l)
                        for (std::size_t n = 0; n < frames; ++n)
                            mismatches += bitsOf(inPlace ? in[std::size_t(l)][n] : out[std::size_t(l)][n]) !=
                                                  bitsOf(expected[std::size_t(l)][n])
                                              ? 1
                                              : 0;
                    CHECK(mismatches == 0);
                }
    }
}

namespace {

/// changeStatistics' maximum as the scalar loop computed it before it was vectorised: one by one
/// up to a frame count that is a multiple of 8, then eight running maxima (std::max) reduced in
/// lane order, then one by one. With NaN the result depends on this order; without, it is the
/// plain maximum.
float scalarMost(const float* f, int frames, std::int64_t first, float m) {
    int n = 0;
    for (; n < frames && ((first + n) & 7) != 0; ++n) m = std::max(m, f[n]);
    float mx[8] = {m, m, m, m, m, m, m, m};
    for (; n + 8 <= frames; n += 8)
        for (int j = 0; j < 8; ++j) mx[j] = std::max(mx[j], f[n + j]);
    for (float v : mx) m = std::max(m, v);
    for (; n < frames; ++n) m = std::max(m, f[n]);
    return m;
}

} // namespace

TEST_CASE("dynamics core: changeStatisticsPair equals the frame-order sums and two changeStatistics calls, bit for bit",
          "[nodes][dynamics]") {
    // Two series of changes with hostile values: NaN (first and later), +-inf, +-0, denormals,
    // huge values, noise; split into random calls starting at every offset modulo 8. The maximum
    // against the scalar loop it replaced (with NaN its result depends on the order of the
    // comparisons), and, for a third series without NaN, against the plain maximum.
    const std::size_t frames = 1500;
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> noise(-3.0f, 40.0f);
    std::vector<float> a(frames), b(frames);
    for (std::size_t n = 0; n < frames; ++n) {
        a[n] = noise(rng);
        b[n] = noise(rng) * 1e3f;
    }
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    const float denormal = std::numeric_limits<float>::denorm_min() * 7.0f;
    a[3] = nan, a[700] = inf, a[701] = -inf, a[702] = -0.0f, a[900] = denormal, a[1201] = 3.0e38f;
    b[0] = nan, b[9] = 0.0f, b[10] = -0.0f, b[333] = -denormal, b[1100] = nan;
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto single = SG_SIMD_PICK(arch, changeStatistics);
        auto pair = SG_SIMD_PICK(arch, changeStatisticsPair);
        for (int offset = 0; offset < 8; ++offset)
            for (int seed = 0; seed < 4; ++seed) {
                std::mt19937 splits{std::uint32_t(seed)};
                std::uniform_int_distribution<int> size(1, seed == 0 ? 9 : 300);
                // The formula: each accumulator in frame order, in double.
                double expectedA[8] = {}, expectedB[8] = {};
                for (std::size_t n = 0; n < frames; ++n) {
                    expectedA[(std::size_t(offset) + n) & 7] += double(a[n]);
                    expectedB[(std::size_t(offset) + n) & 7] += double(b[n]);
                }
                double sumsA[8] = {}, sumsB[8] = {}, pairA[8] = {}, pairB[8] = {};
                float mostA = 0.5f, mostB = -1.0f, pairMostA = 0.5f, pairMostB = -1.0f, refA = 0.5f, refB = -1.0f;
                for (std::size_t n = 0; n < frames;) {
                    const int count = int(std::min<std::size_t>(std::size_t(size(splits)), frames - n));
                    const std::int64_t first = std::int64_t(offset) + std::int64_t(n);
                    single(a.data() + n, count, first, sumsA, &mostA);
                    single(b.data() + n, count, first, sumsB, &mostB);
                    pair(a.data() + n, b.data() + n, count, first, pairA, pairB, &pairMostA, &pairMostB);
                    refA = scalarMost(a.data() + n, count, first, refA);
                    refB = scalarMost(b.data() + n, count, first, refB);
                    n += std::size_t(count);
                }
                INFO(simdArchName(arch) << ", offset " << offset << ", seed " << seed);
                for (int j = 0; j < 8; ++j) {
                    CHECK(std::memcmp(&pairA[j], &expectedA[j], sizeof(double)) == 0);
                    CHECK(std::memcmp(&pairB[j], &expectedB[j], sizeof(double)) == 0);
                    CHECK(std::memcmp(&pairA[j], &sumsA[j], sizeof(double)) == 0);
                    CHECK(std::memcmp(&pairB[j], &sumsB[j], sizeof(double)) == 0);
                }
                CHECK(bitsOf(mostA) == bitsOf(refA));
                CHECK(bitsOf(mostB) == bitsOf(refB));
                CHECK(bitsOf(pairMostA) == bitsOf(mostA));
                CHECK(bitsOf(pairMostB) == bitsOf(mostB));
            }
        std::vector<float> c(frames);
        for (std::size_t n = 0; n < frames; ++n) c[n] = noise(rng);
        c[777] = 55.0f; // the largest, somewhere in the middle of a vector
        for (int offset = 0; offset < 8; ++offset) {
            double sums[8] = {}, other[8] = {};
            float most = -100.0f, otherMost = -100.0f;
            for (std::size_t n = 0; n < frames; n += 37) {
                const int count = int(std::min<std::size_t>(37, frames - n));
                pair(c.data() + n, a.data() + n, count, std::int64_t(offset) + std::int64_t(n), sums, other, &most, &otherMost);
            }
            CHECK(most == 55.0f);
        }
        // A NaN maximum stays (std::max keeps its first argument when the comparison fails).
        for (int offset = 0; offset < 8; ++offset) {
            double sums[8] = {};
            float most = nan, ref = nan;
            for (std::size_t n = 0; n < frames; n += 61) {
                const int count = int(std::min<std::size_t>(61, frames - n));
                single(c.data() + n, count, std::int64_t(offset) + std::int64_t(n), sums, &most);
                ref = scalarMost(c.data() + n, count, std::int64_t(offset) + std::int64_t(n), ref);
            }
            CHECK(std::isnan(ref));
            CHECK(bitsOf(most) == bitsOf(ref));
        }
    }
}

TEST_CASE("dynamics core: the recursion without auto release in any lane, then switched on, is the formula's",
          "[nodes][dynamics][compressor]") {
    // Calls without auto release anywhere take the path without the slow path, which rests; lanes
    // switched on later (between calls, as paramChanged does) start it from their fast state, as
    // update() does, and give the formula's values from that frame on.
    constexpr int L = dynamics::kSmoothLanes;
    const std::size_t frames = 8000, switchAt = 2203;
    std::vector<std::vector<float>> targets(L);
    for (int l = 0; l < L; ++l) {
        const std::vector<float> x = hostileMaterial(std::int64_t(frames) + 70 * l);
        for (std::size_t n = 0; n < frames; ++n) {
            const float a = std::fabs(x[n + 70 * std::size_t(l)]);
            targets[std::size_t(l)].push_back(a > 0.2f ? 40.0f * (a - 0.2f) : 0.0f);
        }
    }
    dynamics::SmoothCoefficients off{}, on{};
    for (int l = 0; l < L; ++l) {
        const double fs = 44100.0;
        off.rise[l] = dynamics::timeConstantFactor(1.0 + l, fs);
        off.fall[l] = dynamics::timeConstantFactor(5.0 + 3.0 * l, fs);
        off.slowRise[l] = dynamics::timeConstantFactor(5 * (5.0 + 3.0 * l), fs);
        off.slowFall[l] = dynamics::timeConstantFactor(10 * (5.0 + 3.0 * l), fs);
        off.riseRest[l] = 1.0 - off.rise[l];
        off.fallRest[l] = 1.0 - off.fall[l];
        off.slowRiseRest[l] = 1.0 - off.slowRise[l];
        off.slowFallRest[l] = 1.0 - off.slowFall[l];
    }
    on = off;
    for (int l = 0; l < L; ++l) on.autoRelease[l] = l % 2 == 0 ? 1.0 : 0.0;
    std::vector<std::vector<float>> expected(L);
    std::size_t released = 0; // frames where the slow path decides: the test must reach it
    for (int l = 0; l < L; ++l)
        expected[std::size_t(l)] = smoothReference(targets[std::size_t(l)], off, l, on.autoRelease[l] > 0, switchAt, &released);
    REQUIRE(released > 100);
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto smooth = SG_SIMD_PICK(arch, smoothChanges);
        for (int lanes : {1, 2, 3, 5, 8})
            for (const int block : {1, 4, 7, 512}) {
                std::vector<std::vector<float>> out(L, std::vector<float>(frames, -1.0f));
                const std::vector<float> zeros(frames, 0.0f);
                std::vector<float> scratch(frames);
                double change[L] = {}, slow[L] = {};
                for (std::size_t n = 0; n < frames;) {
                    if (n == switchAt)
                        for (int l = 0; l < L; ++l)
                            if (on.autoRelease[l] > 0) slow[l] = change[l];
                    // Calls end at the switch, as segments end at a parameter change.
                    const std::size_t end =
                        n < switchAt ? std::min(n + std::size_t(block), switchAt) : std::min(n + std::size_t(block), frames);
                    const float* from[L];
                    float* to[L];
                    for (int l = 0; l < L; ++l) {
                        from[l] = l < lanes ? targets[std::size_t(l)].data() + n : zeros.data() + n;
                        to[l] = l < lanes ? out[std::size_t(l)].data() + n : scratch.data() + n;
                    }
                    smooth(from, lanes, int(end - n), n < switchAt ? off : on, change, slow, to);
                    n = end;
                }
                INFO(simdArchName(arch) << ", " << lanes << " lanes, blocks of " << block);
                std::size_t mismatches = 0;
                for (int l = 0; l < lanes; ++l)
                    for (std::size_t n = 0; n < frames; ++n)
                        mismatches += bitsOf(out[std::size_t(l)][n]) != bitsOf(expected[std::size_t(l)][n]) ? 1 : 0;
                CHECK(mismatches == 0);
            }
    }
}

namespace {

/// Levels (before the dB) around a compressor curve's quiet bound and everywhere else: +-0,
/// subnormals, every binade, NaN, +-inf, negative values, and the floats next to `quiet`.
std::vector<float> levelsAround(float quiet) {
    std::vector<float> g = {0.0f,
                            -0.0f,
                            1e-45f,
                            1e-40f,
                            std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            1.0f,
                            -1.0f};
    for (int e = -149; e <= 127; ++e) g.push_back(std::ldexp(1.3f, e));
    if (quiet > 0) {
        float up = quiet, down = quiet;
        for (int k = 0; k < 3000; ++k) {
            g.push_back(up);
            g.push_back(down);
            g.push_back(-up);
            up = std::nextafter(up, 1e30f);
            down = std::nextafter(down, 0.0f);
        }
        for (double r = 0.5; r < 3.0; r *= 1.0007) g.push_back(float(quiet * r)); // up to +9.5 dB
        for (int d = -20; d <= 40; ++d) // runs of 64 of one level (whole runs of vectors), 0.02 dB under the bound to 0.04 over
            for (int k = 0; k < 64; ++k) g.push_back(float(quiet * std::pow(10.0, 0.001 * d / 20.0)));
    }
    std::mt19937 rng(11);
    for (int k = 0; k < 4000; ++k) g.push_back(std::ldexp(std::uniform_real_distribution<float>(0.5f, 1.0f)(rng), -(k % 40)));
    // Whole vectors of quiet levels (the short path) next to louder ones, at every offset.
    for (int k = 0; k < 64 * 40; ++k)
        g.push_back(quiet > 0 && (k / 40) % 3 != 2 ? quiet * float(k % 40) / 40.0f : 0.02f * float(k % 7));
    return g;
}

} // namespace

TEST_CASE("dynamics core: levelTargets is the dB pass and staticTargets, bit for bit, its quiet bound included",
          "[nodes][dynamics][compressor]") {
    struct CurveCase {
        float t, w, scale;
        bool expand;
        float range;
    };
    const CurveCase cases[] = {{-30, 6, 1, false, 1e30f}, {-20, 0, 1, false, 1e30f}, {-18, 6, 0.5f, false, 1e30f},
                               {0, 24, 1, false, 12},     {-60, 3, 1, false, 0},     {-235, 12, 1, false, 1e30f},
                               {-40, 6, 1, true, 30},     {-80, 0, 0.5f, true, 20}};
    for (const CurveCase& cc : cases) {
        const float slope = cc.expand ? 2.0f : 1.0f / 3.0f - 1.0f;
        const float quiet = cc.expand ? -1.0f : dynamics::quietLevel(cc.t, cc.w, cc.scale, dynamics::kFloorDb);
        INFO("t " << cc.t << ", w " << cc.w << ", scale " << cc.scale << (cc.expand ? ", expander" : "") << ", quiet " << quiet);
        if (!cc.expand && cc.t > -200) {
            REQUIRE(quiet > 0);
            // Within 0.01 dB of the knee (the margin is about 1e-3 dB): the short path is used.
            CHECK(20.0 * std::log10(double(quiet)) * cc.scale > cc.t - 0.5 * cc.w - 0.01);
        }
        const std::vector<float> g = levelsAround(quiet);
        const int frames = int(g.size());
        for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
            if (int(arch) > int(detectSimdArch())) continue;
            INFO(simdArchName(arch));
            auto fused = SG_SIMD_PICK(arch, levelTargets);
            auto curve = SG_SIMD_PICK(arch, staticTargets);
            const Elementwise& k = Elementwise::forArch(arch);
            // The reference: the two passes; both in pieces of 1 to 37 frames and 74 to 1184 (runs of
            // quiet vectors), the same pieces.
            std::vector<float> db(g.size()), expected(g.size()), out(g.size(), -1.0f);
            for (int n = 0, size = 1; n < frames; n += size, size = size < 37 ? size + 1 : size < 600 ? size * 2 : 1) {
                const int count = std::min(size, frames - n);
                k.gainToDecibelsFloored(g.data() + n, db.data() + n, count, cc.scale, float(dynamics::kFloorDb));
                curve(db.data() + n, count, cc.t, slope, cc.w, cc.range, cc.expand, expected.data() + n);
                fused(g.data() + n, count, cc.scale, float(dynamics::kFloorDb), cc.t, slope, cc.w, cc.range, cc.expand, quiet,
                      out.data() + n);
            }
            std::size_t mismatches = 0, first = 0;
            for (std::size_t n = g.size(); n-- > 0;)
                if (bitsOf(out[n]) != bitsOf(expected[n])) ++mismatches, first = n;
            INFO("first mismatch at " << first << ": level " << g[first] << ", " << out[first] << " vs " << expected[first]);
            CHECK(mismatches == 0);
            // A bound 0.02 dB too high must show (the test reaches the knee's edge) unless every
            // target is the same.
            if (quiet > 0 && cc.range > 0) { // (range 0: every target is 0)
                std::vector<float> wrong(g.size());
                for (int n = 0, size = 1; n < frames; n += size, size = size < 37 ? size + 1 : size < 600 ? size * 2 : 1)
                    fused(g.data() + n, std::min(size, frames - n), cc.scale, float(dynamics::kFloorDb), cc.t, slope, cc.w,
                          cc.range, cc.expand, float(quiet * std::pow(10.0, 0.02 / 20.0 / cc.scale)), wrong.data() + n);
                std::size_t differ = 0;
                for (std::size_t n = 0; n < g.size(); ++n) differ += bitsOf(wrong[n]) != bitsOf(expected[n]) ? 1 : 0;
                CHECK(differ > 0);
            }
        }
    }
}

TEST_CASE("dynamics core: applyDecibelGain is offsetDecibelsToGain and multiplyByCurve, bit for bit, at rest too",
          "[nodes][dynamics][compressor]") {
    // Changes with long runs of +0 and -0 (at rest: one gain, no exp), runs broken by one value,
    // hostile changes (NaN, inf, huge, subnormal) and the audio: near-Nyquist +20 dB, NaN, inf.
    const int frames = 5000;
    std::vector<float> change(frames), x(frames), offset(frames);
    const std::vector<float> noise = hostileMaterial(frames);
    for (int n = 0; n < frames; ++n) {
        const int part = n / 400;
        change[std::size_t(n)] = part % 3 == 0 ? 0.0f : part % 3 == 1 ? -0.0f : 30.0f * std::fabs(noise[std::size_t(n)]);
        x[std::size_t(n)] = float(10.0 * std::sin(3.1 * n));
        offset[std::size_t(n)] = float(n % 300) / 50.0f - 3.0f;
    }
    change[401] = 1e-30f;
    change[1207] = 5.0f;
    change[3000] = std::numeric_limits<float>::quiet_NaN();
    change[3001] = std::numeric_limits<float>::infinity();
    change[3002] = 1e-42f;
    x[3500] = std::numeric_limits<float>::infinity();
    x[3501] = std::numeric_limits<float>::quiet_NaN();
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto fused = SG_SIMD_PICK(arch, applyDecibelGain);
        const Elementwise& k = Elementwise::forArch(arch);
        for (const float sign : {-1.0f, 1.0f})
            for (const float constant : {0.0f, 3.0f, -2.5f})
                for (const bool curve : {false, true}) {
                    INFO(simdArchName(arch) << ", sign " << sign << ", makeup " << constant << (curve ? ", a curve" : ""));
                    const float* off = curve ? offset.data() : nullptr;
                    std::vector<float> gain(frames), expected(frames), out(frames, -1.0f);
                    k.offsetDecibelsToGain(change.data(), sign, off, constant, gain.data(), frames);
                    k.multiplyByCurve(x.data(), gain.data(), expected.data(), frames);
                    for (int n = 0, size = 1; n < frames; n += size, size = size % 61 + 1)
                        fused(x.data() + n, change.data() + n, sign, off ? off + n : nullptr, constant, out.data() + n,
                              std::min(size, frames - n));
                    std::size_t mismatches = 0;
                    for (int n = 0; n < frames; ++n)
                        mismatches += bitsOf(out[std::size_t(n)]) != bitsOf(expected[std::size_t(n)]) ? 1 : 0;
                    CHECK(mismatches == 0);
                    // In place (y = x), whole.
                    std::vector<float> inPlace = x;
                    fused(inPlace.data(), change.data(), sign, off, constant, inPlace.data(), frames);
                    mismatches = 0;
                    for (int n = 0; n < frames; ++n)
                        mismatches += bitsOf(inPlace[std::size_t(n)]) != bitsOf(expected[std::size_t(n)]) ? 1 : 0;
                    CHECK(mismatches == 0);
                }
    }
}

TEST_CASE("dynamics core: compressOneLane is levelTargets, the one-lane recursion and applyDecibelGain, bit for bit",
          "[nodes][dynamics][compressor]") {
    // The reference: the three passes over the whole call. Levels: hostile material at 0 and +20
    // dB (full-scale squares, silence: runs of quiet vectors, isolated overs), the levels around
    // the quiet bound, a NaN and an inf near the end; audio near Nyquist at +20 dB. Calls of every
    // length around the run (four batches) and whole, mono to three channels, in place too.
    const std::vector<float> hostile = hostileMaterial(12000);
    struct CurveCase {
        float t, w, scale, makeup, sign;
        double attackMs, releaseMs;
    };
    const CurveCase cases[] = {
        {-18, 6, 1, 2, -1, 10, 100}, {-30, 0, 1, 0, -1, 0.05, 5}, {0, 24, 0.5f, -2.5f, -1, 1, 2000}, {-40, 6, 1, 3, 1, 5, 80}};
    for (const CurveCase& cc : cases) {
        const float slope = 1.0f / 2.0f - 1.0f;
        const float quiet = dynamics::quietLevel(cc.t, cc.w, cc.scale, dynamics::kFloorDb);
        const dynamics::OneLaneCurve curve{cc.scale, float(dynamics::kFloorDb), cc.t, slope, cc.w, 1e30f, quiet};
        std::vector<float> raw;
        for (float v : hostile) raw.push_back(std::fabs(v));
        for (float v : hostile) raw.push_back(10.0f * std::fabs(v));
        for (float v : levelsAround(quiet)) raw.push_back(std::fabs(v) > 1e30f || v != v ? 0.5f : std::fabs(v));
        raw[raw.size() - 40] = std::numeric_limits<float>::quiet_NaN();
        raw[raw.size() - 20] = std::numeric_limits<float>::infinity();
        const int frames = int(raw.size());
        std::vector<std::vector<float>> audio(3, std::vector<float>(std::size_t(frames)));
        for (int c = 0; c < 3; ++c)
            for (int n = 0; n < frames; ++n) audio[std::size_t(c)][std::size_t(n)] = float(10.0 * std::sin(3.1 * n + c));
        dynamics::SmoothCoefficients k{};
        k.rise[0] = dynamics::timeConstantFactor(cc.attackMs, 48000.0);
        k.fall[0] = dynamics::timeConstantFactor(cc.releaseMs, 48000.0);
        k.riseRest[0] = 1.0 - k.rise[0];
        k.fallRest[0] = 1.0 - k.fall[0];
        for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
            if (int(arch) > int(detectSimdArch())) continue;
            auto targets = SG_SIMD_PICK(arch, levelTargets);
            auto smooth = SG_SIMD_PICK(arch, smoothChanges);
            auto apply = SG_SIMD_PICK(arch, applyDecibelGain);
            auto fused = SG_SIMD_PICK(arch, compressOneLane);
            std::vector<float> expectedChange(static_cast<std::size_t>(frames));
            targets(raw.data(), frames, cc.scale, float(dynamics::kFloorDb), cc.t, slope, cc.w, 1e30f, false, quiet,
                    expectedChange.data());
            double state[dynamics::kSmoothLanes] = {}, slow[dynamics::kSmoothLanes] = {};
            const float* from[] = {expectedChange.data()};
            float* to[] = {expectedChange.data()};
            smooth(from, 1, frames, k, state, slow, to);
            REQUIRE(std::count_if(expectedChange.begin(), expectedChange.end(), [](float v) { return v > 1.0f; }) > 1000);
            std::vector<std::vector<float>> expected(3, std::vector<float>(std::size_t(frames)));
            for (int c = 0; c < 3; ++c)
                apply(audio[std::size_t(c)].data(), expectedChange.data(), cc.sign, nullptr, cc.makeup,
                      expected[std::size_t(c)].data(), frames);
            for (int channels = 1; channels <= 3; ++channels)
                for (const int split : {0, 1, 2, 3}) { // whole; 1..200 frames; around the run; in place, 500..1500
                    INFO(simdArchName(arch) << ", threshold " << cc.t << ", " << channels << " channels, split " << split);
                    std::vector<float> change(std::size_t(frames), -1.0f);
                    std::vector<std::vector<float>> out(3, std::vector<float>(std::size_t(frames), -1.0f));
                    if (split == 3) out = audio;
                    double c = 0;
                    for (int n = 0, call = 0; n < frames; ++call) {
                        const int size = split == 0   ? frames
                                         : split == 1 ? 1 + call * 7 % 200
                                         : split == 2 ? 4 * 16 * (1 + call % 3) + (call % 5) - 2
                                                      : 500 + call * 131 % 1000;
                        const int count = std::min(size, frames - n);
                        const float* x[3];
                        float* y[3];
                        for (int ch = 0; ch < 3; ++ch) {
                            x[ch] = (split == 3 ? out : audio)[std::size_t(ch)].data() + n;
                            y[ch] = out[std::size_t(ch)].data() + n;
                        }
                        fused(raw.data() + n, count, curve, k, &c, change.data() + n, cc.sign, cc.makeup, x, y, channels);
                        n += count;
                    }
                    std::size_t mismatches = 0;
                    for (int n = 0; n < frames; ++n) {
                        mismatches += bitsOf(change[std::size_t(n)]) != bitsOf(expectedChange[std::size_t(n)]) ? 1 : 0;
                        for (int ch = 0; ch < channels; ++ch)
                            mismatches +=
                                bitsOf(out[std::size_t(ch)][std::size_t(n)]) != bitsOf(expected[std::size_t(ch)][std::size_t(n)])
                                    ? 1
                                    : 0;
                    }
                    CHECK(mismatches == 0);
                    CHECK(bitsOf(float(c)) == bitsOf(float(state[0])));
                    if (channels < 3 && split != 3) // channels past `channels` untouched
                        CHECK(bitsOf(out[2][0]) == bitsOf(-1.0f));
                }
        }
    }
}

TEST_CASE("dynamics core: applyDecibelGainMeasured is changeStatistics and applyDecibelGain, bit for bit",
          "[nodes][dynamics][compressor]") {
    // Hostile changes (NaN first in a group of 8 and later, +-inf, +-0 runs, denormals, huge) and
    // hostile audio (+20 dB near Nyquist, inf, NaN), in calls of 1 to 70 frames and of 1024, whose
    // first frame counts fall on every residue modulo 8 (the fused path and the two calls), with
    // and without a makeup curve, in place too. The reference: the two kernels on the same calls;
    // and, for a series without NaN, the frame-order sums and the plain maximum.
    const int frames = 6000;
    const std::vector<float> noise = hostileMaterial(frames);
    std::vector<float> change(frames), clean(frames), x(frames), offset(frames);
    for (int n = 0; n < frames; ++n) {
        const int part = n / 500;
        clean[std::size_t(n)] = part % 3 == 0 ? 0.0f : part % 3 == 1 ? -0.0f : 30.0f * std::fabs(noise[std::size_t(n)]);
        x[std::size_t(n)] = float(10.0 * std::sin(3.1 * n));
        offset[std::size_t(n)] = float(n % 300) / 50.0f - 3.0f;
    }
    change = clean;
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    change[1000] = nan, change[1003] = -nan, change[2017] = inf, change[2018] = -inf, change[2019] = 1e-42f;
    change[4001] = 3.0e38f, change[4002] = -0.0f, change[5000] = nan;
    clean[2019] = 1e-42f, clean[4001] = 3.0e38f;
    x[3500] = inf, x[3501] = nan;
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(detectSimdArch())) continue;
        auto measured = SG_SIMD_PICK(arch, applyDecibelGainMeasured);
        auto apply = SG_SIMD_PICK(arch, applyDecibelGain);
        auto statistics = SG_SIMD_PICK(arch, changeStatistics);
        for (const bool withNan : {true, false})
            for (const float constant : {0.0f, 3.0f})
                for (const bool curve : {false, true})
                    for (const int lead : {0, 1, 5, 8}) { // frames before the first call of 1024
                        INFO(simdArchName(arch) << (withNan ? ", NaN" : "") << ", makeup " << constant
                                                << (curve ? ", a curve" : "") << ", lead " << lead);
                        const std::vector<float>& f = withNan ? change : clean;
                        const float* off = curve ? offset.data() : nullptr;
                        std::vector<float> out(frames, -1.0f), expected(frames, -2.0f), inPlace = x;
                        double sums[8] = {}, expectedSums[8] = {}, placeSums[8] = {};
                        float most = 0, expectedMost = 0, placeMost = 0;
                        std::vector<int> sizes;
                        if (lead > 0) sizes.push_back(lead);
                        for (int k = 0; k < 3; ++k) sizes.push_back(1024);
                        for (int size = 1; size <= 70; ++size) sizes.push_back(size);
                        for (int n = 0, k = 0; n < frames; ++k) {
                            const int count = std::min(k < int(sizes.size()) ? sizes[std::size_t(k)] : 1024, frames - n);
                            const float* offsetAt = off ? off + n : nullptr;
                            measured(x.data() + n, f.data() + n, -1.0f, offsetAt, constant, out.data() + n, count, n, sums,
                                     &most);
                            measured(inPlace.data() + n, f.data() + n, -1.0f, offsetAt, constant, inPlace.data() + n, count, n,
                                     placeSums, &placeMost);
                            statistics(f.data() + n, count, n, expectedSums, &expectedMost);
                            apply(x.data() + n, f.data() + n, -1.0f, offsetAt, constant, expected.data() + n, count);
                            n += count;
                        }
                        std::size_t mismatches = 0, placeMismatches = 0;
                        for (int n = 0; n < frames; ++n) {
                            mismatches += bitsOf(out[std::size_t(n)]) != bitsOf(expected[std::size_t(n)]) ? 1 : 0;
                            placeMismatches += bitsOf(inPlace[std::size_t(n)]) != bitsOf(expected[std::size_t(n)]) ? 1 : 0;
                        }
                        CHECK(mismatches == 0);
                        CHECK(placeMismatches == 0);
                        CHECK(bitsOf(most) == bitsOf(expectedMost));
                        CHECK(bitsOf(placeMost) == bitsOf(expectedMost));
                        CHECK(std::memcmp(sums, expectedSums, sizeof sums) == 0);
                        CHECK(std::memcmp(placeSums, expectedSums, sizeof sums) == 0);
                        if (!withNan) { // the definition: frame-order sums by frame modulo 8, the maximum
                            double formula[8] = {};
                            float top = 0;
                            for (int n = 0; n < frames; ++n) {
                                formula[n & 7] += double(f[std::size_t(n)]);
                                top = std::max(top, f[std::size_t(n)]);
                            }
                            CHECK(std::memcmp(sums, formula, sizeof sums) == 0);
                            CHECK(most == top);
                        }
                    }
    }
}
