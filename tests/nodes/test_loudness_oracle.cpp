// Loudness meter against oracles: gating and LRA against a direct in-test implementation of
// BS.1770-5 / Tech 3342 that keeps every block, and libebur128 on music-like signals at 44.1, 48
// and 96 kHz (momentary and short-term at every step, integrated, LRA, sample and true peak);
// `analyze --figures loudness` (two threads, the meter split in halves) against libebur128.
#include "tests/nodes/LoudnessTesting.h"

#include "host/cli/Analyze.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include <ebur128.h>

using namespace sg;
using namespace sg::loudnesstest;

// ---- gating and LRA against an implementation that keeps every value -----------------------------

namespace {
/// BS.1770-5 / Tech 3342 the direct way at 48 kHz: the table's K-weighting (transposed direct
/// form II per stage), every block and short-term value kept, sorted percentiles.
struct ReferenceFigures {
    double integrated, range, maxMomentary, maxShortTerm;
};
ReferenceFigures referenceAt48k(const Planar& x) {
    const double sb[3] = {1.53512485958697, -2.69169618940638, 1.19839281085285};
    const double sa[2] = {-1.69065929318241, 0.73248077421585};
    const double hb[3] = {1.0, -2.0, 1.0};
    const double ha[2] = {-1.99004745483398, 0.99007225036621};
    const std::size_t frames = x[0].size();
    std::vector<double> squares(frames, 0.0);
    for (const auto& channel : x) {
        double z1 = 0, z2 = 0, w1 = 0, w2 = 0;
        for (std::size_t n = 0; n < frames; ++n) {
            const double in = channel[n];
            const double s = sb[0] * in + z1;
            z1 = sb[1] * in - sa[0] * s + z2;
            z2 = sb[2] * in - sa[1] * s;
            const double k = hb[0] * s + w1;
            w1 = hb[1] * s - ha[0] * k + w2;
            w2 = hb[2] * s - ha[1] * k;
            squares[n] += k * k;
        }
    }
    const std::size_t step = 4800;
    std::vector<double> stepEnergy;
    for (std::size_t start = 0; start + step <= frames; start += step) {
        double sum = 0;
        for (std::size_t n = start; n < start + step; ++n) sum += squares[n];
        stepEnergy.push_back(sum);
    }
    const auto window = [&](std::size_t last, std::size_t steps) {
        double sum = 0;
        for (std::size_t j = 0; j < steps && j <= last; ++j) sum += stepEnergy[last - j];
        return sum / double(steps * step);
    };
    const auto lufs = [](double e) { return -0.691 + 10 * std::log10(e); };
    std::vector<double> blocks, shortTerms;
    double maxM = 0, maxS = 0;
    for (std::size_t k = 0; k < stepEnergy.size(); ++k) {
        maxM = std::max(maxM, window(k, 4));
        maxS = std::max(maxS, window(k, 30));
        if (k >= 3) blocks.push_back(window(k, 4));
        if (k >= 29) shortTerms.push_back(window(k, 30));
    }
    std::vector<double> gated;
    for (double e : blocks)
        if (lufs(e) > -70) gated.push_back(e);
    double mean = 0;
    for (double e : gated) mean += e;
    mean /= double(gated.size());
    const double relative = lufs(mean) - 10;
    double sum = 0;
    int count = 0;
    for (double e : gated)
        if (lufs(e) > relative) {
            sum += e;
            ++count;
        }
    std::vector<double> st;
    for (double e : shortTerms)
        if (lufs(e) >= -70) st.push_back(e);
    double stMean = 0;
    for (double e : st) stMean += e;
    stMean /= double(st.size());
    std::vector<double> kept;
    for (double e : st)
        if (lufs(e) >= lufs(stMean) - 20) kept.push_back(lufs(e));
    std::sort(kept.begin(), kept.end());
    const auto percentile = [&](double p) { return kept[std::size_t(double(kept.size() - 1) * p + 0.5)]; };
    return {lufs(sum / count), percentile(0.95) - percentile(0.10), lufs(maxM), lufs(maxS)};
}
} // namespace

TEST_CASE("loudness: histogram gating and LRA match keeping every value", "[loudness]") {
    for (std::uint32_t seed : {1u, 2u, 3u}) {
        CAPTURE(seed);
        const Planar x = musicLike(48000, 75, seed);
        const ReferenceFigures ref = referenceAt48k(x);
        const LoudnessMeter m = measured(x, 48000, 4096);
        CHECK(m.integratedLufs() == Approx(ref.integrated).margin(0.01));
        CHECK(m.loudnessRangeLu() == Approx(ref.range).margin(0.02));
        CHECK(m.maxMomentaryLufs() == Approx(ref.maxMomentary).margin(1e-6));
        CHECK(m.maxShortTermLufs() == Approx(ref.maxShortTerm).margin(1e-6));
        CHECK(m.plrDb() == Approx(m.truePeakDbtp() - m.integratedLufs()).margin(1e-12));
    }
}

// ---- libebur128 as an oracle ----------------------------------------------------------------------

namespace {
/// Tech 3342 from a list of short-term loudness values (LUFS): gates >= -70 and >= mean energy
/// - 20 LU, then P95 - P10 by nearest rank.
double rangeOf(const std::vector<double>& shortTermLufs) {
    std::vector<double> gated;
    double energy = 0;
    for (double l : shortTermLufs)
        if (l >= -70) {
            gated.push_back(l);
            energy += std::pow(10.0, (l + 0.691) / 10);
        }
    if (gated.empty()) return 0;
    const double gate = -0.691 + 10 * std::log10(energy / double(gated.size())) - 20;
    std::vector<double> kept;
    for (double l : gated)
        if (l >= gate) kept.push_back(l);
    std::sort(kept.begin(), kept.end());
    const auto at = [&](double p) { return kept[std::size_t(double(kept.size() - 1) * p + 0.5)]; };
    return at(0.95) - at(0.10);
}
} // namespace

TEST_CASE("loudness: agrees with libebur128 on music-like signals at 44.1, 48 and 96 kHz", "[loudness][ebur128]") {
    // Momentary and short-term are compared at every 100 ms step, integrated at the end.
    // LRA: libebur128 takes a short-term value once a second, Tech 3342 (and this meter) ten
    // times a second. Where the short-term loudness sits on plateaus at the 10th and 95th
    // percentiles (Dynamics::Song) the two agree; where a percentile falls on a fast level change
    // they can differ by more than 0.5 LU (up to 1.4 LU seen on Dynamics::Sections at 60 s). There
    // LRA is computed from libebur128's own short-term values sampled every 100 ms instead.
    struct Signal {
        Dynamics dynamics;
        std::uint32_t seed;
        double seconds;
    };
    const Signal signals[] = {{Dynamics::Sections, 11, 70}, {Dynamics::Song, 12, 74}, {Dynamics::Song, 13, 74}};
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        for (const Signal& signal : signals) {
            CAPTURE(rate, signal.seed);
            const Planar x = musicLike(rate, signal.seconds, signal.seed, signal.dynamics);
            const std::size_t frames = x[0].size();
            ebur128_state* st =
                ebur128_init(2, (unsigned long)rate,
                             EBUR128_MODE_M | EBUR128_MODE_S | EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_SAMPLE_PEAK);
            REQUIRE(st != nullptr);
            LoudnessMeter meter;
            REQUIRE(meter.prepare(rate, 2) == "");
            const std::size_t step = std::size_t(std::llround(rate / 10));
            std::vector<float> interleaved(2 * step);
            std::vector<double> shortTerms;
            double worstM = 0, worstS = 0;
            int compared = 0;
            for (std::size_t start = 0; start + step <= frames; start += step) {
                for (std::size_t i = 0; i < step; ++i) {
                    interleaved[2 * i] = x[0][start + i];
                    interleaved[2 * i + 1] = x[1][start + i];
                }
                REQUIRE(ebur128_add_frames_float(st, interleaved.data(), step) == EBUR128_SUCCESS);
                const float* pointers[2] = {x[0].data() + start, x[1].data() + start};
                meter.process(pointers, int(step));
                double m = 0, s = 0;
                ebur128_loudness_momentary(st, &m);
                if (m > -70) {
                    worstM = std::max(worstM, std::fabs(meter.momentaryLufs() - m));
                    ++compared;
                }
                // libebur128 sums the whole 3 s window per query: every step where LRA needs
                // it, every 7th elsewhere (the costliest part of this test).
                const bool everyStep = signal.dynamics == Dynamics::Sections;
                if (everyStep || (start / step) % 7 == 0) {
                    ebur128_loudness_shortterm(st, &s);
                    if (s > -70) worstS = std::max(worstS, std::fabs(meter.shortTermLufs() - s));
                    if (everyStep && start + step >= 30 * step) shortTerms.push_back(s);
                }
            }
            double integrated = 0, range = 0, peakL = 0, peakR = 0;
            ebur128_loudness_global(st, &integrated);
            ebur128_loudness_range(st, &range);
            ebur128_sample_peak(st, 0, &peakL);
            ebur128_sample_peak(st, 1, &peakR);
            ebur128_destroy(&st);
            CAPTURE(worstM, worstS, integrated, meter.integratedLufs(), range, rangeOf(shortTerms), meter.loudnessRangeLu());
            CHECK(compared > 500);
            CHECK(worstM < 0.05);
            CHECK(worstS < 0.05);
            CHECK(meter.integratedLufs() == Approx(integrated).margin(0.05));
            if (signal.dynamics == Dynamics::Sections)
                CHECK(meter.loudnessRangeLu() == Approx(rangeOf(shortTerms)).margin(0.05));
            else
                CHECK(meter.loudnessRangeLu() == Approx(range).margin(0.2));
            CHECK(meter.samplePeakDbfs(0) == Approx(20 * std::log10(peakL)).margin(1e-6));
            CHECK(meter.samplePeakDbfs(1) == Approx(20 * std::log10(peakR)).margin(1e-6));
        }
    }
}

TEST_CASE("loudness: true peak close to libebur128's own interpolator", "[loudness][ebur128]") {
    // libebur128 uses a 49-tap Hann-windowed sinc, not the Annex 2 filter: the two agree to a
    // few tenths of a dB on broadband material and both lie between the sample peak and +0.7 dB.
    const Planar x = musicLike(48000, 30, 5);
    ebur128_state* st = ebur128_init(2, 48000, EBUR128_MODE_TRUE_PEAK);
    REQUIRE(st != nullptr);
    std::vector<float> interleaved(2 * x[0].size());
    for (std::size_t i = 0; i < x[0].size(); ++i) {
        interleaved[2 * i] = x[0][i];
        interleaved[2 * i + 1] = x[1][i];
    }
    ebur128_add_frames_float(st, interleaved.data(), x[0].size());
    double peak = 0, tp = 0;
    for (unsigned c = 0; c < 2; ++c) {
        ebur128_true_peak(st, c, &tp);
        peak = std::max(peak, tp);
    }
    ebur128_destroy(&st);
    const LoudnessMeter m = measured(x, 48000);
    CHECK(m.truePeakDbtp() == Approx(20 * std::log10(peak)).margin(0.3));
}

TEST_CASE("loudness: analyze --figures loudness agrees with libebur128 (integrated, LRA, true peak)",
          "[loudness][ebur128][analyze-loudness]") {
    // What the benchmark compares: libebur128 with integrated, LRA and true peak against the
    // loudness-only analysis, on a song at 44.1 and 48 kHz, stereo and mono, and on the song
    // driven 20 dB into clipping (a flat loudness, peaks at full scale, true peaks over it).
    for (double rate : {44100.0, 48000.0}) {
        for (int variant = 0; variant < 3; ++variant) {
            CAPTURE(rate, variant);
            Planar x = musicLike(rate, 40, 21, Dynamics::Song);
            if (variant == 1) x.resize(1); // mono
            if (variant == 2)
                for (auto& channel : x)
                    for (float& v : channel) v = std::clamp(v * 10.0f, -1.0f, 1.0f);
            const unsigned channels = unsigned(x.size());
            const std::size_t frames = x[0].size();
            ebur128_state* st =
                ebur128_init(channels, (unsigned long)rate,
                             EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK | EBUR128_MODE_SAMPLE_PEAK);
            REQUIRE(st != nullptr);
            std::vector<float> interleaved(channels * frames);
            for (std::size_t i = 0; i < frames; ++i)
                for (unsigned c = 0; c < channels; ++c) interleaved[i * channels + c] = x[c][i];
            REQUIRE(ebur128_add_frames_float(st, interleaved.data(), frames) == EBUR128_SUCCESS);
            double integrated = 0, range = 0, truePeak = 0, samplePeak = 0;
            ebur128_loudness_global(st, &integrated);
            ebur128_loudness_range(st, &range);
            for (unsigned c = 0; c < channels; ++c) {
                double tp = 0, sp = 0;
                ebur128_true_peak(st, c, &tp);
                ebur128_sample_peak(st, c, &sp);
                truePeak = std::max(truePeak, tp);
                samplePeak = std::max(samplePeak, sp);
            }
            ebur128_destroy(&st);

            AudioBuffer buffer{int(channels), int(frames)};
            for (unsigned c = 0; c < channels; ++c) std::copy(x[c].begin(), x[c].end(), buffer.channel(int(c)));
            cli::AnalyzeOptions options;
            options.showProgress = false;
            options.figures = cli::AnalyzeFigures::Loudness;
            cli::FileAnalysis a;
            REQUIRE(cli::analyzeSignal(buffer.view(), rate, options, a) == "");
            CAPTURE(a.integratedLufs, integrated, a.loudnessRangeLu, range, a.truePeakDbtp, 20 * std::log10(truePeak));
            CHECK(a.integratedLufs == Approx(integrated).margin(0.05));
            CHECK(a.loudnessRangeLu == Approx(range).margin(0.2));
            CHECK(a.samplePeakDbfs == Approx(20 * std::log10(samplePeak)).margin(1e-6));
            CHECK(a.truePeakDbtp == Approx(20 * std::log10(truePeak)).margin(0.3));
            CHECK(a.truePeakDbtp >= a.samplePeakDbfs);
        }
    }
}
