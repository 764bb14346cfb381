// Loudness meter properties: readings independent of how the stream is split into blocks,
// silence, reset and setup errors, and a snapshot that stays consistent while the audio thread
// publishes.
#include "tests/nodes/LoudnessTesting.h"

#include "nodes/meters/LoudnessKernels.h"
#include "nodes/meters/TruePeakFilter.h"
#include "tests/nodes/KernelHarness.h"
#include <catch2/catch.hpp>

#include <atomic>
#include <cmath>
#include <functional>
#include <optional>
#include <thread>

using namespace sg;
using namespace sg::loudnesstest;

namespace {

/// The figures compared between runs.
struct Figures {
    double integrated, range, truePeak, samplePeak, maxMomentary, maxShortTerm, momentary, shortTerm;
    bool operator==(const Figures&) const = default;
};
Figures figuresOf(const LoudnessMeter& m) {
    return {m.integratedLufs(),   m.loudnessRangeLu(),  m.truePeakDbtp(),  m.samplePeakDbfs(),
            m.maxMomentaryLufs(), m.maxShortTermLufs(), m.momentaryLufs(), m.shortTermLufs()};
}

} // namespace

// ---- properties ------------------------------------------------------------------------------------

TEST_CASE("loudness: readings do not depend on how the stream is split", "[loudness]") {
    for (double rate : {44100.0, 48000.0}) {
        CAPTURE(rate);
        const Planar x = musicLike(rate, 40, 7);
        const Figures whole = figuresOf(measured(x, rate, int(x[0].size())));
        CHECK(std::isfinite(whole.integrated));
        for (const auto& plan : nodetest::splitPlans(8192)) {
            if (plan.size() == 1 && plan[0] == 1 && rate != 48000) continue; // one rate frame-by-frame is enough
            LoudnessMeter meter;
            REQUIRE(meter.prepare(rate, 2) == "");
            std::size_t next = 0;
            for (std::size_t start = 0; start < x[0].size();) {
                const std::size_t n = std::min<std::size_t>(std::size_t(plan[next++ % plan.size()]), x[0].size() - start);
                const float* pointers[2] = {x[0].data() + start, x[1].data() + start};
                meter.process(pointers, int(n));
                start += n;
            }
            CAPTURE(plan.size(), plan[0]);
            CHECK(figuresOf(meter) == whole);
        }
    }
}

TEST_CASE("loudness: the halves of process() on two meters, cut differently, read what one meter reads", "[loudness]") {
    // processLoudness on one meter and processPeaks on another (as analyze --figures loudness
    // runs them on two threads), each in its own blocks, then mergePeaks: every reading equals
    // process() on one meter, bit for bit; so do both halves on one meter, in either order.
    for (double rate : {44100.0, 48000.0}) {
        for (int oversampling : {4, 8}) {
            CAPTURE(rate, oversampling);
            Planar x = musicLike(rate, 20, 9);
            for (std::size_t n = 0; n < x[0].size(); n += 997) x[1][n] = n % 2 ? 1.0f : -1.0f; // full-scale clicks
            const Figures whole = figuresOf(measured(x, rate, 4096, oversampling));
            LoudnessOptions options;
            options.truePeakOversampling = oversampling;
            LoudnessMeter loudness, peaks, both;
            REQUIRE(loudness.prepare(rate, 2, options) == "");
            REQUIRE(peaks.prepare(rate, 2, options) == "");
            REQUIRE(both.prepare(rate, 2, options) == "");
            const auto run = [&](int block, const std::function<void(const float* const*, int)>& f) {
                for (std::size_t start = 0; start < x[0].size(); start += std::size_t(block)) {
                    const int n = int(std::min<std::size_t>(std::size_t(block), x[0].size() - start));
                    const float* pointers[2] = {x[0].data() + start, x[1].data() + start};
                    f(pointers, n);
                }
            };
            run(4800, [&](const float* const* p, int n) { loudness.processLoudness(p, n); });
            run(7, [&](const float* const* p, int n) { peaks.processPeaks(p, n); });
            CHECK(loudness.truePeakDbtp() == kSilentLevel); // not measured by this half
            CHECK(peaks.integratedLufs() == kSilentLevel);
            loudness.mergePeaks(peaks);
            CHECK(figuresOf(loudness) == whole);
            CHECK(loudness.snapshot().truePeakDbtp == whole.truePeak); // published
            run(8192, [&](const float* const* p, int n) {
                both.processPeaks(p, n);
                both.processLoudness(p, n);
            });
            CHECK(figuresOf(both) == whole);
            for (int c = 0; c < 2; ++c) CHECK(loudness.truePeakDbtp(c) == both.truePeakDbtp(c));
        }
    }
}

TEST_CASE("loudness: silence, reset and setup errors", "[loudness]") {
    LoudnessMeter meter;
    CHECK(meter.integratedLufs() == kSilentLevel); // not prepared: still answers
    REQUIRE(meter.prepare(48000, 2) == "");
    const Planar silence(2, std::vector<float>(48000 * 5, 0.0f));
    feed(meter, silence, 512);
    CHECK(meter.integratedLufs() == kSilentLevel);
    CHECK(meter.momentaryLufs() == kSilentLevel);
    CHECK(meter.shortTermLufs() == kSilentLevel);
    CHECK(meter.maxMomentaryLufs() == kSilentLevel);
    CHECK(meter.truePeakDbtp() == kSilentLevel);
    CHECK(meter.samplePeakDbfs() == kSilentLevel);
    CHECK(meter.loudnessRangeLu() == 0);
    CHECK(meter.plrDb() == kSilentLevel);
    CHECK(std::isinf(kSilentLevel));
    CHECK(kSilentLevel < 0);

    // A quiet tone below the absolute gate reads momentary but no integrated loudness.
    feed(meter, stereoOf(steppedTone(1000, {{-75, 5}}, 48000)), 512);
    CHECK(meter.momentaryLufs() == Approx(-75).margin(0.1));
    CHECK(meter.integratedLufs() == kSilentLevel);

    // reset() forgets everything. (Here the three blocks that straddle the step from -75 dB
    // pass the gates too and pull the reading 0.13 LU down.)
    feed(meter, stereoOf(steppedTone(1000, {{-23, 5}}, 48000)), 512);
    CHECK(meter.integratedLufs() == Approx(-23.13).margin(0.05));
    meter.reset();
    CHECK(meter.framesProcessed() == 0);
    CHECK(meter.integratedLufs() == kSilentLevel);
    CHECK(meter.truePeakDbtp() == kSilentLevel);
    CHECK(meter.snapshot().integratedLufs == kSilentLevel);
    const LoudnessMeter again = measured(stereoOf(steppedTone(1000, {{-23, 5}}, 48000)), 48000, 512);
    feed(meter, stereoOf(steppedTone(1000, {{-23, 5}}, 48000)), 512);
    CHECK(figuresOf(meter) == figuresOf(again));

    LoudnessMeter bad;
    CHECK(bad.prepare(48000, 0) != "");
    CHECK(bad.prepare(48000, 9) != "");
    CHECK(bad.prepare(1000, 2) != "");
    LoudnessOptions options;
    options.truePeakOversampling = 2;
    CHECK(bad.prepare(48000, 2, options).find("4 or 8") != std::string::npos);
    options.truePeakOversampling = 4;
    options.channelWeights = {1.0};
    CHECK(bad.prepare(48000, 2, options) != "");
    options.channelWeights = {1.0, 0.5}; // custom weights are used
    REQUIRE(bad.prepare(48000, 2, options) == "");
    const std::vector<float> tone = steppedTone(1000, {{-20, 5}}, 48000);
    feed(bad, {tone, std::vector<float>(tone.size(), 0.0f)}, 1024);
    const double left = bad.integratedLufs();
    bad.reset();
    feed(bad, {std::vector<float>(tone.size(), 0.0f), tone}, 1024);
    CHECK(bad.integratedLufs() - left == Approx(10 * std::log10(0.5)).margin(1e-6));
}

TEST_CASE("loudness: the snapshot is consistent while the audio thread publishes", "[loudness]") {
    // A tone rising 1 dB per 100 ms step: the momentary loudness grows every step, so a torn
    // snapshot (new momentary with an old maximum) would show momentary > max momentary.
    const double rate = 48000;
    std::vector<Segment> segments;
    for (int i = 0; i < 60; ++i) segments.push_back({-70.0 + i, 0.1});
    const Planar x = stereoOf(steppedTone(1000, segments, rate));
    LoudnessMeter meter;
    REQUIRE(meter.prepare(rate, 2) == "");
    std::atomic<bool> done{false};
    std::atomic<int> reads{0}, torn{0};
    std::thread reader([&] {
        std::int64_t lastFrames = 0;
        while (!done.load()) {
            const LoudnessSnapshot s = meter.snapshot();
            if (s.momentaryLufs > s.maxMomentaryLufs + 1e-9 || s.frames < lastFrames || s.samplePeakDbfs > s.truePeakDbtp + 1e-9)
                ++torn;
            lastFrames = s.frames;
            ++reads;
        }
    });
    feed(meter, x, 16);
    done = true;
    reader.join();
    CHECK(torn.load() == 0);
    CHECK(reads.load() > 0);
    const LoudnessSnapshot last = meter.snapshot();
    CHECK(last.frames == meter.framesProcessed());
    CHECK(last.momentaryLufs == meter.momentaryLufs());
    CHECK(last.shortTermLufs == meter.shortTermLufs());
    CHECK(last.integratedLufs == meter.integratedLufs());
    CHECK(last.loudnessRangeLu == meter.loudnessRangeLu());
    CHECK(last.truePeakDbtp == meter.truePeakDbtp());
    CHECK(last.maxShortTermLufs == meter.maxShortTermLufs());
}

TEST_CASE("loudness: the true-peak kernel is the largest of every interpolated output, bit for bit, skipped batches included",
          "[loudness]") {
    // polyphasePeak skips batches whose bound (sum |h| times the largest |x| in reach) cannot
    // exceed the peak found so far. The reference computes every output, in the same order of
    // operations. Material: windows shaped like a phase's signs, whose output is the highest a
    // sample peak allows (sum |h| times it): one sets a true peak P, a later one reads P times
    // 1 +- 1e-3, 1e-5 and 1e-6 (just above and below P, right at the bound), in quiet noise; a
    // NaN, an inf and subnormals in their own runs. The 4x Annex 2 filter and an 8x windowed sinc.
    struct Filter {
        int phases, taps;
        std::vector<float> h; // [phases][taps]
    };
    std::vector<Filter> filters;
    {
        Filter annex{4, 12, {}};
        for (int p = 0; p < 4; ++p)
            for (int k = 0; k < 12; ++k) annex.h.push_back(kAnnex2Phases[p][k]);
        filters.push_back(annex);
        Filter sinc{8, 16, {}};
        for (int p = 0; p < 8; ++p)
            for (int k = 0; k < 16; ++k) {
                const double t = (k * 8 + p - 63.5) / 8.0, w = 0.5 + 0.5 * std::cos(3.141592653589793 * t / 8.5);
                sinc.h.push_back(
                    float(std::fabs(t) < 1e-9 ? 1.0 : w * std::sin(3.141592653589793 * t) / (3.141592653589793 * t)));
            }
        filters.push_back(sinc);
    }
    const double deltas[] = {1e-3, -1e-3, 1e-5, -1e-5, 1e-6, -1e-6, 0.0};
    const SimdArch best = detectSimdArch();
    for (const Filter& f : filters) {
        double sumMagnitude = 0;
        int loudest = 0;
        for (int p = 0; p < f.phases; ++p) {
            double sum = 0;
            for (int k = 0; k < f.taps; ++k) sum += std::fabs(double(f.h[std::size_t(p * f.taps + k)]));
            if (sum > sumMagnitude) sumMagnitude = sum, loudest = p;
        }
        std::vector<std::vector<float>> signals;
        for (const double delta : deltas) {
            std::vector<float> x = sg::test::noise(6000, 0.001f, 5);
            const float a0 = float(0.9 / sumMagnitude), a = float(0.9 / sumMagnitude * (1 + delta));
            for (int k = 0; k < f.taps; ++k) { // phase `loudest` reads P = sum |h| a0 at 500, sum |h| a at 3000
                const bool negative = f.h[std::size_t(loudest * f.taps + k)] < 0;
                x[std::size_t(500 - k)] = negative ? -a0 : a0;
                x[std::size_t(3000 - k)] = negative ? -a : a;
            }
            signals.push_back(std::move(x));
        }
        {
            std::vector<float> x = sg::test::noise(6000, 0.5f, 6);
            x[2000] = std::numeric_limits<float>::quiet_NaN();
            signals.push_back(x);
            x[2000] = 0.1f;
            x[4000] = std::numeric_limits<float>::infinity();
            signals.push_back(x);
            for (float& v : x) v *= 1e-39f; // subnormal
            x[4000] = 0;
            signals.push_back(x);
        }
        for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
            if (int(arch) > int(best)) continue;
            auto kernel = SG_SIMD_PICK(arch, polyphasePeak);
            for (std::size_t s = 0; s < signals.size(); ++s) {
                const float* start = signals[s].data() + f.taps; // history before it
                const int frames = int(signals[s].size()) - f.taps;
                float sp = 0, tp = 0, expectedSp = 0, expectedTp = 0, firstTp = 0;
                for (int n = 0; n < frames; ++n) {
                    if (n == 2000) firstTp = expectedTp;
                    expectedSp = std::max(expectedSp, std::fabs(start[n]));
                    for (int p = 0; p < f.phases; ++p) {
                        float acc = 0.0f;
                        for (int k = 0; k < f.taps; ++k) acc = acc + f.h[std::size_t(p * f.taps + k)] * start[n - k];
                        expectedTp = std::max(expectedTp, std::fabs(acc));
                    }
                }
                for (int n = 0, call = 0; n < frames; ++call) { // calls of 1 to 700 frames
                    const int count = std::min(frames - n, 1 + call * 97 % 700);
                    kernel(start + n, count, f.h.data(), f.phases, f.taps, sp, tp);
                    n += count;
                }
                CAPTURE(f.phases, simdArchName(arch), s);
                CHECK(std::memcmp(&sp, &expectedSp, sizeof sp) == 0);
                CHECK(std::memcmp(&tp, &expectedTp, sizeof tp) == 0);
                if (s < std::size(deltas) && deltas[s] > 0) CHECK(expectedTp > firstTp); // the later window raises the peak
            }
        }
    }
}

TEST_CASE("loudness: the four-chain sums kernels equal the scalar chains bit for bit on every architecture", "[loudness]") {
    // ChannelSums (host/cli/CompareFigures.h) relies on this to give the same DC offset, crest
    // factor and correlation on every CPU.
    const int quads = 3001;
    std::vector<float> l = sg::test::noise(4 * quads, 4.0f, 31), r = sg::test::noise(4 * quads, 0.001f, 32);
    l[17] = 1e-40f; // a denormal, as float; normal in double
    double sum[4] = {0.5, -1, 0, 2}, square[4] = {1, 2, 3, 4}, cross[4] = {-3, 0, 1e-3, 7};
    double expectSum[4], expectSquare[4], expectCross[4];
    for (int k = 0; k < 4; ++k) {
        expectSum[k] = sum[k];
        expectSquare[k] = square[k];
        expectCross[k] = cross[k];
    }
    for (int i = 0; i < quads; ++i)
        for (int k = 0; k < 4; ++k) {
            const double x = l[std::size_t(4 * i + k)], y = r[std::size_t(4 * i + k)];
            expectSum[k] += x;
            expectSquare[k] += x * x;
            expectCross[k] += x * y;
        }
    const SimdArch best = detectSimdArch();
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(best)) continue;
        CAPTURE(simdArchName(arch));
        double s[4], q[4], c[4];
        std::copy(sum, sum + 4, s);
        std::copy(square, square + 4, q);
        std::copy(cross, cross + 4, c);
        SG_SIMD_PICK(arch, quadSums)(l.data(), quads, s, q);
        SG_SIMD_PICK(arch, quadCross)(l.data(), r.data(), quads, c);
        for (int k = 0; k < 4; ++k) {
            CHECK(s[k] == expectSum[k]);
            CHECK(q[k] == expectSquare[k]);
            CHECK(c[k] == expectCross[k]);
        }
    }
}

TEST_CASE("KWeightingFilter: each channel's sum of squared K-weighted samples, as the formula, for any cut into calls",
          "[nodes][loudness]") {
    // Hostile stereo at 44.1 kHz: full-scale noise, a near-Nyquist tone, silence, a DC step. The
    // oracle is BS.1770's two biquads in direct form I, in double, sample by sample (written here
    // from kWeightingStages' coefficients).
    const double rate = 44100;
    const int frames = 20000;
    std::vector<std::vector<float>> x(2, std::vector<float>(std::size_t(frames)));
    std::uint32_t seed = 7;
    for (int n = 0; n < frames; ++n) {
        seed = seed * 1664525u + 1013904223u;
        const float noise = float(std::int32_t(seed)) * 0x1p-31f;
        x[0][std::size_t(n)] = n < 7000 ? noise : n < 9000 ? 0.0f : float(std::sin(2 * M_PI * 0.49 * n));
        x[1][std::size_t(n)] = n < 12000 ? 0.5f : -noise;
    }
    KWeightingStage shelf, highpass;
    kWeightingStages(rate, shelf, highpass);
    // Sums over [0, 4410), [4410, 15000) and, after a reset at 15000, [15000, 20000).
    const int cuts[] = {0, 4410, 15000, frames};
    double expected[3][2] = {};
    for (int c = 0; c < 2; ++c) {
        double x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0;
        for (int n = 0; n < frames; ++n) {
            if (n == 15000) x1 = x2 = y1 = y2 = z1 = z2 = 0;
            const double v = double(x[std::size_t(c)][std::size_t(n)]);
            const double y = shelf.b0 * v + shelf.b1 * x1 + shelf.b2 * x2 - shelf.a1 * y1 - shelf.a2 * y2;
            const double z = highpass.b0 * y + highpass.b1 * y1 + highpass.b2 * y2 - highpass.a1 * z1 - highpass.a2 * z2;
            x2 = x1, x1 = v, y2 = y1, y1 = y, z2 = z1, z1 = z;
            expected[n < 4410 ? 0 : n < 15000 ? 1 : 2][c] += z * z;
        }
    }
    std::vector<double> first;
    for (int calls : {1, 7, 64, 1000}) {
        KWeightingFilter filter;
        REQUIRE(filter.prepare(rate, 2) == "");
        const float* planar[2] = {x[0].data(), x[1].data()};
        std::vector<double> got;
        for (int part = 0; part < 3; ++part) {
            if (part == 2) filter.reset();
            for (int at = cuts[part]; at < cuts[part + 1];) {
                const int n = std::min(cuts[part + 1] - at, calls == 1 ? frames : 1 + (at * 31 + calls) % calls);
                filter.process(planar, at, n);
                at += n;
            }
            double sums[2] = {-1, -1};
            filter.takeSums(sums);
            for (int c = 0; c < 2; ++c) {
                INFO("calls up to " << calls << ", part " << part << ", channel " << c);
                CHECK(sums[c] == Approx(expected[part][c]).epsilon(1e-9));
                got.push_back(sums[c]);
            }
        }
        if (first.empty())
            first = got;
        else
            CHECK(got == first); // frame order: the cut into calls changes no bit
    }
    KWeightingFilter unprepared;
    CHECK(unprepared.prepare(rate, 0) != "");
    CHECK(unprepared.prepare(1000, 2) != "");
}

// ---- the offline meter: the K-weighting in lanes along time -----------------------------------

namespace {

/// Hostile material for the lanes: music-like sections, then full-scale clipped noise, a
/// near-Nyquist tone at +0 dBFS, silence (a lane that starts in it must forget what came before),
/// a DC step and a quiet passage near the gates; the last channels a square wave and noise.
Planar laneMaterial(double rate, int channels, double seconds, std::uint32_t seed) {
    const Planar music = musicLike(rate, seconds, seed);
    const std::size_t frames = music[0].size();
    Planar x(static_cast<std::size_t>(channels), std::vector<float>(frames));
    std::uint32_t state = seed * 2654435761u + 1;
    for (std::size_t n = 0; n < frames; ++n) {
        state = state * 1664525u + 1013904223u;
        const float noise = float(std::int32_t(state)) * 0x1p-31f;
        const double t = double(n) / rate, part = t / seconds;
        for (int c = 0; c < channels; ++c) {
            float v = music[std::size_t(c % 2)][n];
            if (c >= 2)
                v = c % 2 ? 0.5f * noise : (std::fmod(t * 997.0, 1.0) < 0.5 ? 0.7f : -0.7f);
            else if (part >= 0.3 && part < 0.4)
                v = std::clamp(4.0f * noise, -1.0f, 1.0f);
            else if (part >= 0.4 && part < 0.5)
                v = float(std::sin(2 * M_PI * 0.497 * double(n) + c));
            else if (part >= 0.5 && part < 0.6)
                v = 0.0f;
            else if (part >= 0.6 && part < 0.65)
                v = c ? -0.25f : 0.25f;
            else if (part >= 0.65 && part < 0.75)
                v *= 0.0003f; // about -70 LUFS: blocks on both sides of the absolute gate
            x[std::size_t(c)][n] = v;
        }
    }
    return x;
}

/// Feeds `x` to `meter` in blocks from `plan` (cycled), reading the loudness figures after
/// every `readEvery`-th block when readEvery > 0 (an offline meter settles then).
void feedPlan(LoudnessMeter& meter, const Planar& x, const std::vector<int>& plan, int readEvery = 0) {
    std::vector<const float*> pointers(x.size());
    std::size_t next = 0;
    int blocks = 0;
    for (std::size_t start = 0; start < x[0].size();) {
        const std::size_t n = std::min<std::size_t>(std::size_t(plan[next++ % plan.size()]), x[0].size() - start);
        for (std::size_t c = 0; c < x.size(); ++c) pointers[c] = x[c].data() + start;
        meter.process(pointers.data(), int(n));
        start += n;
        if (readEvery > 0 && ++blocks % readEvery == 0) (void)meter.integratedLufs();
    }
}

} // namespace

TEST_CASE("loudness: the lanes along time kernel is the sequential recursion, lane by lane, bit for bit on every architecture",
          "[loudness]") {
    // Oracle: each lane filtered alone from rest with the same expressions in the same order
    // (the build has no FMA contraction), its steps summed from 0 in frame order. Step and
    // warm-up lengths that are not multiples of the kernel's 8-frame tiles.
    using loudness::kTimeLanes;
    KWeightingStage shelf, highpass;
    kWeightingStages(44100, shelf, highpass);
    const double cf[10] = {shelf.b0,    shelf.b1,    shelf.b2,    shelf.a1,    shelf.a2,
                           highpass.b0, highpass.b1, highpass.b2, highpass.a1, highpass.a2};
    const int warmup = 21, stepFrames = 37, steps = 5, stride = warmup + steps * stepFrames + 3;
    std::vector<float> x(std::size_t(kTimeLanes * stride + 8), 0.0f);
    std::uint32_t state = 99;
    for (std::size_t i = 0; i < x.size(); ++i) {
        state = state * 1664525u + 1013904223u;
        const float noise = float(std::int32_t(state)) * 0x1p-31f;
        x[i] = i % 300 < 100 ? std::clamp(3.0f * noise, -1.0f, 1.0f) : i % 300 < 200 ? (i % 2 ? 1.0f : -1.0f) : 1e-3f * noise;
    }
    double expected[steps][kTimeLanes] = {};
    for (int l = 0; l < kTimeLanes; ++l) {
        double x1 = 0, x2 = 0, s1 = 0, s2 = 0, k1 = 0, k2 = 0, sum = 0;
        for (int j = 0; j < warmup + steps * stepFrames; ++j) {
            const double in = double(x[std::size_t(l * stride + j)]);
            const double s = (((cf[0] * in + cf[1] * x1) + cf[2] * x2) - cf[4] * s2) - cf[3] * s1;
            const double k = (((cf[5] * s + cf[6] * s1) + cf[7] * s2) - cf[9] * k2) - cf[8] * k1;
            x2 = x1, x1 = in, s2 = s1, s1 = s, k2 = k1, k1 = k;
            if (j < warmup) continue;
            sum = sum + k * k;
            if ((j + 1 - warmup) % stepFrames == 0) {
                expected[(j + 1 - warmup) / stepFrames - 1][l] = sum;
                sum = 0;
            }
        }
    }
    const SimdArch best = detectSimdArch();
    for (SimdArch arch : {SimdArch::Sse2, SimdArch::Avx2, SimdArch::Avx512}) {
        if (int(arch) > int(best)) continue;
        CAPTURE(simdArchName(arch));
        double sums[steps * kTimeLanes];
        std::fill(std::begin(sums), std::end(sums), -1.0);
        loudness::KWeightLaneJob job;
        job.coefficients = cf;
        job.x = x.data();
        job.laneStride = stride;
        job.warmup = warmup;
        job.stepFrames = stepFrames;
        job.steps = steps;
        job.sums = sums;
        SG_SIMD_PICK(arch, kWeightLanes)(job);
        for (int s = 0; s < steps; ++s)
            for (int l = 0; l < kTimeLanes; ++l) {
                CAPTURE(s, l);
                CHECK(sums[s * kTimeLanes + l] == expected[s][l]);
                CHECK(expected[s][l] > 0);
            }
    }
}

TEST_CASE("loudness: the offline meter reads what the sequential meter reads, for any cut and any read along the way",
          "[loudness]") {
    // 44.1 kHz (4410-frame steps, not a multiple of the kernel's tiles), 48 kHz, 22.05 kHz;
    // stereo and 5 channels; 17 s: several batches of 3.2 s and a partial one at the end.
    struct Case {
        double rate;
        int channels;
    };
    for (const Case& k : {Case{44100, 2}, Case{48000, 2}, Case{48000, 5}, Case{22050, 1}}) {
        CAPTURE(k.rate, k.channels);
        const Planar x = laneMaterial(k.rate, k.channels, 17.05, 21);
        LoudnessMeter sequential;
        REQUIRE(sequential.prepare(k.rate, k.channels) == "");
        feedPlan(sequential, x, {4096});
        const Figures reference = figuresOf(sequential);
        REQUIRE(std::isfinite(reference.integrated));
        REQUIRE(reference.range > 1);
        LoudnessOptions options;
        options.offline = true;
        std::optional<Figures> first;
        const auto plans = nodetest::splitPlans(70000);
        for (std::size_t p = 0; p < plans.size(); ++p) {
            for (int readEvery : {0, 3}) {
                if (plans[p].size() == 1 && plans[p][0] < 64 && readEvery > 0) continue; // (a read per block: slow)
                LoudnessMeter offline;
                REQUIRE(offline.prepare(k.rate, k.channels, options) == "");
                feedPlan(offline, x, plans[p], readEvery);
                const Figures got = figuresOf(offline);
                CAPTURE(p, plans[p][0], readEvery);
                CHECK(offline.framesProcessed() == sequential.framesProcessed());
                // the lanes' starts differ from the stream's state by under 1e-18 of it
                CHECK(got.integrated == Approx(reference.integrated).margin(1e-9));
                CHECK(got.range == Approx(reference.range).margin(1e-9));
                CHECK(got.maxMomentary == Approx(reference.maxMomentary).margin(1e-9));
                CHECK(got.maxShortTerm == Approx(reference.maxShortTerm).margin(1e-9));
                CHECK(got.momentary == Approx(reference.momentary).margin(1e-9));
                CHECK(got.shortTerm == Approx(reference.shortTerm).margin(1e-9));
                CHECK(got.truePeak == reference.truePeak);
                CHECK(got.samplePeak == reference.samplePeak);
                if (!first)
                    first = got;
                else
                    CHECK(got == *first); // the lanes are cut at fixed frames: no bit depends on the calls
            }
        }
        // reset() starts over: the same stream reads the same again
        LoudnessMeter again;
        REQUIRE(again.prepare(k.rate, k.channels, options) == "");
        feedPlan(again, laneMaterial(k.rate, k.channels, 7, 5), {1000});
        (void)again.integratedLufs();
        again.reset();
        feedPlan(again, x, {8192});
        CHECK(figuresOf(again) == *first);
    }
}

TEST_CASE("loudness: the offline meter where its lanes do not apply, and short streams", "[loudness]") {
    LoudnessOptions options;
    options.offline = true;
    // 11.025 kHz: a step is 1102.5 frames; the meter runs its sequential kernel, same bits.
    {
        const Planar x = laneMaterial(11025, 2, 9, 3);
        LoudnessMeter sequential, offline;
        REQUIRE(sequential.prepare(11025, 2) == "");
        REQUIRE(offline.prepare(11025, 2, options) == "");
        feedPlan(sequential, x, {777});
        feedPlan(offline, x, {1234});
        CHECK(figuresOf(offline) == figuresOf(sequential));
    }
    // Shorter than a lane, a step, a block: the same readings as the sequential meter.
    for (double seconds : {0.05, 0.35, 0.45, 1.0, 3.25}) {
        CAPTURE(seconds);
        const Planar x = laneMaterial(48000, 2, seconds, 8);
        LoudnessMeter sequential, offline;
        REQUIRE(sequential.prepare(48000, 2) == "");
        REQUIRE(offline.prepare(48000, 2, options) == "");
        feedPlan(sequential, x, {480});
        feedPlan(offline, x, {4800});
        const Figures a = figuresOf(sequential), b = figuresOf(offline);
        const auto close = [](double u, double v) { return u == v || std::fabs(u - v) <= 1e-9; }; // (-inf alike)
        CHECK(close(b.integrated, a.integrated));
        CHECK(close(b.momentary, a.momentary));
        CHECK(close(b.maxMomentary, a.maxMomentary));
        CHECK(close(b.shortTerm, a.shortTerm));
        CHECK(close(b.maxShortTerm, a.maxShortTerm));
        CHECK(b.range == a.range);
        CHECK(b.truePeak == a.truePeak);
    }
}
