// The biquad bank's two layouts (nodes/filters/Biquad.simd.cpp): the wavefront layout (2 lanes,
// every section in one skewed vector) and the lanes layout must give the bits of a scalar double
// cascade written here (transposed direct form II, rounded to float where a fused chain's stage
// ends), on every SIMD architecture, for any block split, on hostile material: full-scale tones
// near Nyquist, clipped noise driven +20 dB, unclipped +20 dB, impulses with tails decaying into
// denormals, denormal input, at 44.1 and 48 kHz; lanes with different coefficients and different
// rounding points (so a lane or section mix-up cannot pass).
#include "core/Buffer.h"
#include "nodes/filters/Biquad.h"
#include "nodes/filters/BiquadDesign.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <random>
#include <vector>

using namespace sg;
using namespace sg::nodetest;
using sg::biquad::BankLayout;
using sg::biquad::Section;
using sg::biquad::Shape;

namespace {

constexpr double kPi = 3.14159265358979323846;

double threadSeconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// A bank of `lanes` lanes x `sections` sections, set up as the biquad kernel does.
class BankRig {
public:
    /// coefficients[section][lane], roundAfter[section][lane].
    BankRig(std::vector<std::vector<Section>> coefficients, std::vector<std::vector<bool>> roundAfter)
        : c_(std::move(coefficients)), round_(std::move(roundAfter)) {}

    int lanes() const { return int(c_[0].size()); }
    int sections() const { return int(c_.size()); }

    /// The whole input through the bank with `layout` on `arch`, in calls of blocks[i % size]
    /// frames (in place when `inPlace`); the thread CPU seconds of the calls into *cpuSeconds.
    Lanes run(SimdArch arch, BankLayout layout, const Lanes& input, const std::vector<int>& blocks, bool inPlace,
              double* cpuSeconds = nullptr) const {
        biquad::Bank bank;
        bank.lanes = lanes();
        bank.stride = (bank.lanes + biquad::kLanePad - 1) / biquad::kLanePad * biquad::kLanePad;
        bank.sections = sections();
        bank.layout = layout;
        const std::size_t stride = std::size_t(bank.stride), count = std::size_t(bank.sections);
        AlignedArray<double> coefficients, state, scratch, roundAfter;
        coefficients.assign(count * 5 * stride);
        state.assign(count * 2 * stride);
        scratch.assign(std::size_t(biquad::kChunkFrames) * biquad::kMaxPassLanes);
        roundAfter.assign(count * stride);
        std::vector<unsigned char> sectionRounds(count, 0);
        for (std::size_t s = 0; s < count; ++s)
            for (std::size_t l = 0; l < std::size_t(bank.lanes); ++l) {
                for (std::size_t j = 0; j < 5; ++j) coefficients.data()[(s * 5 + j) * stride + l] = c_[s][l][j];
                if (round_[s][l]) {
                    roundAfter.data()[s * stride + l] = 1;
                    sectionRounds[s] = 1;
                }
            }
        bank.coefficients = coefficients.data();
        bank.state = state.data();
        bank.scratch = scratch.data();
        bank.roundAfter = roundAfter.data();
        bank.sectionRounds = sectionRounds.data();
        const auto process = SG_SIMD_PICK(arch, processBiquadBank);

        const std::size_t frames = input[0].size();
        Lanes output(input.size(), std::vector<float>(frames));
        Lanes work = input;
        std::vector<const float*> in(input.size());
        std::vector<float*> out(input.size());
        for (std::size_t l = 0; l < input.size(); ++l) {
            in[l] = work[l].data();
            out[l] = inPlace ? work[l].data() : output[l].data();
        }
        const double t0 = threadSeconds();
        std::size_t done = 0;
        for (std::size_t b = 0; done < frames; ++b) {
            const int n = int(std::min<std::size_t>(std::size_t(blocks[b % blocks.size()]), frames - done));
            process(bank, in.data(), out.data(), int(done), n);
            done += std::size_t(n);
        }
        if (cpuSeconds) *cpuSeconds = threadSeconds() - t0;
        return inPlace ? work : output;
    }

    /// The scalar reference: each lane through its sections one after another over the whole
    /// signal, in double, rounded to float after the sections that round, float at the end.
    Lanes reference(const Lanes& input) const {
        Lanes out;
        for (int l = 0; l < lanes(); ++l) {
            std::vector<double> signal(input[std::size_t(l)].begin(), input[std::size_t(l)].end());
            for (int s = 0; s < sections(); ++s) {
                const Section& c = c_[std::size_t(s)][std::size_t(l)];
                double z1 = 0, z2 = 0;
                for (double& v : signal) {
                    const double x = v, y = c[0] * x + z1;
                    z1 = (c[1] * x + z2) - c[3] * y;
                    z2 = c[2] * x - c[4] * y;
                    v = round_[std::size_t(s)][std::size_t(l)] ? double(float(y)) : y;
                }
            }
            out.emplace_back(signal.begin(), signal.end());
        }
        return out;
    }

private:
    std::vector<std::vector<Section>> c_;
    std::vector<std::vector<bool>> round_;
};

/// `sections` sections, one per stage (rounded after each but the last) like a fused EQ chain,
/// the shapes cycling through highpass, low shelf, peak, high shelf, notch, allpass; lane 1's
/// frequencies 7 % higher. With `lastStageSteep`, the last four sections are one 48 dB/oct
/// highpass stage (no rounding inside it).
BankRig eqChain(int sections, double fs, std::uint32_t seed, bool lastStageSteep = false) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> unit(0, 1);
    const Shape shapes[] = {Shape::Highpass, Shape::LowShelf, Shape::Peak, Shape::HighShelf, Shape::Notch, Shape::Allpass};
    std::vector<std::vector<Section>> c(std::size_t(sections), std::vector<Section>(2));
    std::vector<std::vector<bool>> round(std::size_t(sections), std::vector<bool>(2));
    const int plain = lastStageSteep ? sections - 4 : sections;
    for (int lane = 0; lane < 2; ++lane) {
        for (int s = 0; s < plain; ++s) {
            const double freq = (30.0 * std::pow(600.0, unit(rng))) * (lane ? 1.07 : 1.0); // 30 Hz .. 18 kHz
            designSections(shapes[s % 6], 1, freq, 0.3 + 4 * unit(rng), -12 + 24 * unit(rng), fs,
                           &c[std::size_t(s)][std::size_t(lane)]);
            round[std::size_t(s)][std::size_t(lane)] = s + 1 < sections;
        }
        if (lastStageSteep) {
            Section steep[4];
            designSections(Shape::Highpass, 4, 40.0 * (lane ? 1.07 : 1.0), 0.7071, 0, fs, steep);
            for (int k = 0; k < 4; ++k) c[std::size_t(plain + k)][std::size_t(lane)] = steep[k];
        }
    }
    return BankRig(std::move(c), std::move(round));
}

/// Hostile material for 2 lanes, `segment` frames each: full-scale tones near Nyquist, clipped
/// noise at +20 dB, unclipped +20 dB noise, impulses whose tails decay into denormals, denormal
/// and tiny input, silence.
Lanes hostile(double fs, std::int64_t segment, std::uint32_t seed) {
    Lanes out(2);
    const Lanes noise = noiseLanes(2, segment, seed, 1.0f);
    for (int l = 0; l < 2; ++l) {
        std::vector<float>& x = out[std::size_t(l)];
        const double nearNyquist = (l ? 0.4999 : 0.49) * fs; // Hz
        for (std::int64_t i = 0; i < segment; ++i) x.push_back(float(std::sin(2 * kPi * nearNyquist / fs * double(i))));
        for (std::int64_t i = 0; i < segment; ++i)
            x.push_back(float(std::clamp(10.0f * noise[std::size_t(l)][std::size_t(i)], -1.0f, 1.0f)));
        for (std::int64_t i = 0; i < segment; ++i) x.push_back(10.0f * noise[std::size_t(l)][std::size_t(i)]);
        for (std::int64_t i = 0; i < 3 * segment; ++i) x.push_back(i % (segment + 17 * l) == 0 ? (l ? -1.0f : 1.0f) : 0.0f);
        for (std::int64_t i = 0; i < segment; ++i) x.push_back((i % 3 ? 1 : -1) * 1e-40f * float(1 + i % 5)); // denormal
        for (std::int64_t i = 0; i < segment; ++i) x.push_back(1e-30f * noise[std::size_t(l)][std::size_t(i)]);
        for (std::int64_t i = 0; i < segment; ++i) x.push_back(0.0f);
    }
    return out;
}

} // namespace

TEST_CASE("biquad layouts: wavefront and lanes equal a scalar cascade bit for bit on hostile material", "[nodes][biquad]") {
    const std::vector<std::vector<int>> plans{{1}, {3}, {63}, {4097}, {1, 3, 63, 4097, 2, 700}, {1 << 20}};
    int checked = 0;
    for (double fs : {44100.0, 48000.0})
        for (int sections = 1; sections <= biquad::kMaxWavefrontSections + 1; ++sections)
            for (bool steep : {false, true}) {
                if (steep && sections < 5) continue;
                const BankRig rig = eqChain(sections, fs, std::uint32_t(sections * 10 + (steep ? 1 : 0)), steep);
                const Lanes input = hostile(fs, 3000, std::uint32_t(sections));
                const Lanes expected = rig.reference(input);
                // The material is hostile, not broken: finite output, tails reach denormals.
                for (const auto& lane : expected)
                    for (float v : lane) REQUIRE(std::isfinite(v));
                for (SimdArch arch : availableArchs())
                    for (BankLayout layout : {BankLayout::Lanes, BankLayout::Wavefront, BankLayout::Auto})
                        for (std::size_t p = 0; p < plans.size(); ++p) {
                            CAPTURE(fs, sections, steep, simdArchName(arch), int(layout), p);
                            REQUIRE(sameBits(rig.run(arch, layout, input, plans[p], p % 2 == 0), expected));
                            ++checked;
                        }
            }
    CHECK(checked > 0);
}

TEST_CASE("biquad layouts: lanes that round at different sections and differ in coefficients stay apart", "[nodes][biquad]") {
    // Lane 0 rounds after every section, lane 1 after none; lane 1 is silent on its input while
    // lane 0 is not: any mixing of lanes or sections shows.
    for (int sections : {2, 3, 4, 7, 8}) {
        std::vector<std::vector<Section>> c(std::size_t(sections), std::vector<Section>(2));
        std::vector<std::vector<bool>> round(std::size_t(sections), std::vector<bool>(2));
        for (int s = 0; s < sections; ++s) {
            c[std::size_t(s)][0] = biquad::cookbookSection(Shape::Peak, 500.0 * (s + 1), 2, 6, 48000);
            c[std::size_t(s)][1] = biquad::cookbookSection(Shape::LowShelf, 80.0 * (s + 1), 0.7, -4, 48000);
            round[std::size_t(s)][0] = true;
            round[std::size_t(s)][1] = false;
        }
        const BankRig rig(c, round);
        Lanes input = noiseLanes(2, 5000, 3, 0.9f);
        std::fill(input[1].begin(), input[1].begin() + 2000, 0.0f);
        const Lanes expected = rig.reference(input);
        for (SimdArch arch : availableArchs()) {
            CAPTURE(sections, simdArchName(arch));
            const Lanes wave = rig.run(arch, BankLayout::Wavefront, input, {1, 3, 63, 4097}, false);
            REQUIRE(sameBits(wave, expected));
            REQUIRE(sameBits(wave, rig.run(arch, BankLayout::Lanes, input, {64}, true)));
            CHECK(std::all_of(wave[1].begin(), wave[1].begin() + 2000, [](float v) { return v == 0.0f; }));
        }
    }
}

TEST_CASE("biquad layouts: speed of the wavefront and the lanes layout (thread CPU ns per stereo frame)", "[.][bench]") {
    const int frames = 1 << 21;
    const Lanes input = noiseLanes(2, frames, 11, 0.5f);
    for (SimdArch arch : availableArchs())
        for (int block : {32, 64, 128, 256, 1024})
            for (int sections : {2, 4, 6, 8}) {
                const BankRig rig = eqChain(sections, 48000, 5);
                double took[2][7];
                for (int run = 0; run < 7; ++run)
                    for (int k = 0; k < 2; ++k) { // alternated
                        double seconds = 0;
                        rig.run(arch, k ? BankLayout::Wavefront : BankLayout::Lanes, input, {block}, true, &seconds);
                        took[k][run] = seconds / frames * 1e9;
                    }
                for (auto& t : took) std::sort(t, t + 7);
                std::printf("%-6s blocks of %4d, %d sections: lanes %.2f ns/frame, wavefront %.2f ns/frame (medians of 7)\n",
                            simdArchName(arch), block, sections, took[0][3], took[1][3]);
            }
}
