// Loudness meter (ITU-R BS.1770-5, EBU Tech 3341/3342): K-weighting against the standard's
// table and the analog design; EBU Tech 3341 cases 1-6, 9, 12, 15-19 and Tech 3342 cases 1-4
// synthesised from their definitions at 48 kHz and 44.1 kHz (and some at 96 kHz); gating and LRA
// against a straightforward in-test implementation that keeps every block; libebur128 as an
// oracle on music-like signals; block-size independence; channel layouts; the `loudness` tap
// node in a compiled graph.
#include "core/Executor.h"
#include "nodes/meters/LoudnessMeter.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <complex>
#include <functional>
#include <numbers>
#include <random>
#include <thread>

#include <ebur128.h>

using namespace sg;

namespace {

using Planar = std::vector<std::vector<float>>;

constexpr double kPi = std::numbers::pi;

double amplitudeOf(double dbfs) { return std::pow(10.0, dbfs / 20.0); }

/// One level of a stepped tone.
struct Segment {
    double dbfs;
    double seconds;
};

/// A sine of continuous phase whose peak level steps through `segments` (EBU test signals).
std::vector<float> steppedTone(double frequencyHz, const std::vector<Segment>& segments, double sampleRate) {
    std::vector<float> out;
    double elapsed = 0;
    std::int64_t n = 0;
    for (const Segment& s : segments) {
        elapsed += s.seconds;
        const std::int64_t end = std::llround(elapsed * sampleRate);
        const double a = amplitudeOf(s.dbfs);
        for (; n < end; ++n) out.push_back(float(a * std::sin(2 * kPi * frequencyHz * double(n) / sampleRate)));
    }
    return out;
}

/// Both channels carry `x` (EBU: "both channels in phase").
Planar stereoOf(const std::vector<float>& x) { return {x, x}; }

/// Feeds `signal` in blocks of `block` frames, calling `afterBlock` after each.
void feed(LoudnessMeter& meter, const Planar& signal, int block,
          const std::function<void(const LoudnessMeter&)>& afterBlock = {}) {
    const std::int64_t frames = std::int64_t(signal[0].size());
    std::vector<const float*> pointers(signal.size());
    for (std::int64_t start = 0; start < frames; start += block) {
        const int n = int(std::min<std::int64_t>(block, frames - start));
        for (std::size_t c = 0; c < signal.size(); ++c) pointers[c] = signal[c].data() + start;
        meter.process(pointers.data(), n);
        if (afterBlock) afterBlock(meter);
    }
}

/// A meter that has measured `signal`.
LoudnessMeter measured(const Planar& signal, double sampleRate, int block = 1000, int oversampling = 4) {
    LoudnessMeter meter;
    LoudnessOptions options;
    options.truePeakOversampling = oversampling;
    REQUIRE(meter.prepare(sampleRate, int(signal.size()), options) == "");
    feed(meter, signal, block);
    return meter;
}

/// |H(e^jw)| of a biquad at `hz`.
double magnitude(const KWeightingStage& s, double hz, double sampleRate) {
    const std::complex<double> z1 = std::polar(1.0, -2 * kPi * hz / sampleRate);
    return std::abs((s.b0 + s.b1 * z1 + s.b2 * z1 * z1) / (1.0 + s.a1 * z1 + s.a2 * z1 * z1));
}
double kWeightingGainDb(double hz, double sampleRate) {
    KWeightingStage shelf, highpass;
    kWeightingStages(sampleRate, shelf, highpass);
    return 20 * std::log10(magnitude(shelf, hz, sampleRate) * magnitude(highpass, hz, sampleRate));
}

/// How the level of musicLike() moves.
enum class Dynamics {
    /// Sections of 6-12 s, each with its own instruments, ramping over 2 s to its own level
    /// (-26 .. -16 dB); the 4th section is 2 s of silence.
    Sections,
    /// One arrangement throughout, in the form of a song: intro -30 dB 12 s, verse -22 dB 16 s,
    /// chorus -17 dB 12 s, bridge -26 dB 10 s, verse -22 dB 10 s, last chorus -15 dB 14 s, with 1 s
    /// ramps; the beat and the chord (every other beat) divide 3 s, so the short-term loudness
    /// is flat on each part.
    Song,
};

/// Level in dB of Dynamics::Song at `seconds`.
double songLevelDb(double seconds) {
    static const Segment parts[] = {{-30, 12}, {-22, 16}, {-17, 12}, {-26, 10}, {-22, 10}, {-15, 14}};
    double end = 0, previous = parts[0].dbfs;
    for (const Segment& part : parts) {
        const double begin = end;
        end += part.seconds;
        if (seconds < end) return previous + (part.dbfs - previous) * std::min(1.0, (seconds - begin) / 1.0);
        previous = part.dbfs;
    }
    return previous;
}

/// A deterministic "music-like" stereo signal: chords whose notes are struck on every other
/// beat and decay, a plucked bass on the beat, noise bursts (drums, brightness per section)
/// panned apart, and level changes as `dynamics` says.
Planar musicLike(double sampleRate, double seconds, std::uint32_t seed, Dynamics dynamics = Dynamics::Sections) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> uni(0.0, 1.0);
    const std::int64_t frames = std::llround(seconds * sampleRate);
    const bool sections = dynamics == Dynamics::Sections;
    Planar out(2, std::vector<float>(std::size_t(frames), 0.0f));
    std::int64_t start = 0;
    double levelDb = -21;
    for (int section = 0; start < frames; ++section) {
        const bool silent = sections && section == 3;
        const std::int64_t length =
            sections ? std::min<std::int64_t>(frames - start, std::llround((silent ? 2 : 6 + 6 * uni(rng)) * sampleRate))
                     : frames;
        const double fromDb = levelDb;
        levelDb = -26 + 10 * uni(rng);
        const double beat = sections ? 0.3 + 0.3 * uni(rng) : 3.0 / (6 + 2 * std::floor(3 * uni(rng)));
        const std::int64_t beatFrames = std::llround(beat * sampleRate);
        double notes[3];
        for (double& f : notes) f = 110.0 * std::pow(2.0, std::floor(12 + 30 * uni(rng)) / 12.0);
        const double bass = 40 + 60 * uni(rng);
        const double pan = 0.3 + 0.4 * uni(rng);
        const double brightness = 0.05 + 0.9 * uni(rng);
        const double burstDecay = std::exp(-1.0 / ((0.04 + 0.1 * uni(rng)) * sampleRate));
        // Oscillators as rotating phasors and envelopes as running products (a sin, exp and pow
        // per sample would make this the slowest part of the tests).
        std::complex<double> oscillators[4], rotations[4];
        for (int k = 0; k < 4; ++k) {
            const double f = k < 3 ? notes[k] : bass;
            oscillators[k] = std::polar(1.0, k < 3 ? f : 0.0);
            rotations[k] = std::polar(1.0, 2 * kPi * f / sampleRate);
        }
        const double chordDecay = std::exp(-1.0 / (0.8 * sampleRate)), bassDecay = std::exp(-1.0 / (0.25 * sampleRate));
        const double attackFrames = 0.01 * sampleRate;
        double lowpass = 0, burst = 0, chordEnv = 0, bassEnv = 0, level = 0;
        for (std::int64_t i = 0; i < length && !silent; ++i) {
            if (i % 32 == 0) {
                const double t = double(i) / sampleRate;
                level = amplitudeOf(sections ? fromDb + (levelDb - fromDb) * std::min(1.0, t / 2.0) : songLevelDb(t));
            }
            const std::int64_t sinceChord = i % (2 * beatFrames);
            if (sinceChord == 0) chordEnv = 1;
            if (i % beatFrames == 0) {
                bassEnv = 1;
                burst = 0.5 + 0.5 * uni(rng);
            }
            const double chord = oscillators[0].imag() + oscillators[1].imag() + oscillators[2].imag();
            const double bassLine = oscillators[3].imag() * bassEnv;
            for (int k = 0; k < 4; ++k) oscillators[k] *= rotations[k];
            const double attack = std::min(1.0, double(sinceChord) / attackFrames);
            chordEnv *= chordDecay;
            bassEnv *= bassDecay;
            burst *= burstDecay;
            lowpass += brightness * ((2 * uni(rng) - 1) - lowpass);
            const double drums = burst * lowpass * 2.5;
            const double mid = 0.3 * chord * chordEnv * attack + 0.6 * bassLine;
            out[0][std::size_t(start + i)] = float(level * (mid * (1 - pan) * 2 + drums * pan));
            out[1][std::size_t(start + i)] = float(level * (mid * pan * 2 + drums * (1 - pan)));
        }
        if (silent) levelDb = fromDb;
        start += length;
    }
    return out;
}

/// The figures compared between runs.
struct Figures {
    double integrated, range, truePeak, samplePeak, maxMomentary, maxShortTerm, momentary, shortTerm;
    bool operator==(const Figures&) const = default;
};
Figures figuresOf(const LoudnessMeter& m) {
    return {m.integratedLufs(),   m.loudnessRangeLu(),  m.truePeakDbtp(),  m.samplePeakDbfs(),
            m.maxMomentaryLufs(), m.maxShortTermLufs(), m.momentaryLufs(), m.shortTermLufs()};
}

/// Rates every conformance case runs at.
const double kRates[] = {48000.0, 44100.0};

} // namespace

// ---- K-weighting ------------------------------------------------------------------------------

TEST_CASE("loudness: K-weighting reproduces the BS.1770-5 48 kHz coefficients", "[loudness]") {
    KWeightingStage shelf, highpass;
    kWeightingStages(48000, shelf, highpass);
    const double eps = 1e-9;
    CHECK(shelf.b0 == Approx(1.53512485958697).margin(eps));
    CHECK(shelf.b1 == Approx(-2.69169618940638).margin(eps));
    CHECK(shelf.b2 == Approx(1.19839281085285).margin(eps));
    CHECK(shelf.a1 == Approx(-1.69065929318241).margin(eps));
    CHECK(shelf.a2 == Approx(0.73248077421585).margin(eps));
    CHECK(highpass.b0 == 1.0);
    CHECK(highpass.b1 == -2.0);
    CHECK(highpass.b2 == 1.0);
    CHECK(highpass.a1 == Approx(-1.99004745483398).margin(eps));
    CHECK(highpass.a2 == Approx(0.99007225036621).margin(eps));
}

TEST_CASE("loudness: K-weighting at other rates follows the same analog curve", "[loudness]") {
    // Every rate's filter is the bilinear transform of the same analog prototypes, so in the audio
    // band they all follow the 48 kHz response (BS.1770-5 Figs. 1 and 2) to within the frequency
    // warping, and the -0.691 dB of the loudness formula cancels the gain at 1 kHz at every rate.
    for (double rate : {32000.0, 44100.0, 48000.0, 88200.0, 96000.0, 192000.0}) {
        CAPTURE(rate);
        CHECK(kWeightingGainDb(1000, rate) == Approx(0.691).margin(0.015));
        for (double hz : {10.0, 20.0, 38.0, 100.0, 500.0, 1000.0, 1681.97, 4000.0, 10000.0, 14000.0}) {
            CAPTURE(hz);
            CHECK(kWeightingGainDb(hz, rate) == Approx(kWeightingGainDb(hz, 48000)).margin(0.01));
        }
    }
    // The shape: -13.3 dB at 20 Hz (high-pass), +4 dB of shelf above 5 kHz.
    CHECK(kWeightingGainDb(20, 48000) == Approx(-13.28).margin(0.05));
    CHECK(kWeightingGainDb(38.135, 48000) == Approx(-6.0).margin(0.05)); // Q = 0.5: |H| = Q at f0
    CHECK(kWeightingGainDb(10000, 48000) == Approx(4.04).margin(0.05));
}

// ---- EBU Tech 3341 -----------------------------------------------------------------------------

TEST_CASE("loudness: EBU Tech 3341 cases 1 and 2 (M = S = I)", "[loudness]") {
    for (double rate : kRates) {
        for (double level : {-23.0, -33.0}) {
            CAPTURE(rate, level);
            const LoudnessMeter m = measured(stereoOf(steppedTone(1000, {{level, 20}}, rate)), rate);
            CHECK(m.integratedLufs() == Approx(level).margin(0.1));
            CHECK(m.momentaryLufs() == Approx(level).margin(0.1));
            CHECK(m.shortTermLufs() == Approx(level).margin(0.1));
            CHECK(m.maxMomentaryLufs() == Approx(level).margin(0.1));
            CHECK(m.maxShortTermLufs() == Approx(level).margin(0.1));
        }
    }
}

TEST_CASE("loudness: EBU Tech 3341 cases 3, 4 and 5 (gating)", "[loudness]") {
    for (double rate : kRates) {
        CAPTURE(rate);
        const LoudnessMeter m3 = measured(stereoOf(steppedTone(1000, {{-36, 10}, {-23, 60}, {-36, 10}}, rate)), rate);
        CHECK(m3.integratedLufs() == Approx(-23.0).margin(0.1));
        const LoudnessMeter m4 =
            measured(stereoOf(steppedTone(1000, {{-72, 10}, {-36, 10}, {-23, 60}, {-36, 10}, {-72, 10}}, rate)), rate);
        CHECK(m4.integratedLufs() == Approx(-23.0).margin(0.1));
        const LoudnessMeter m5 = measured(stereoOf(steppedTone(1000, {{-26, 20}, {-20, 20.1}, {-26, 20}}, rate)), rate);
        CHECK(m5.integratedLufs() == Approx(-23.0).margin(0.1));
    }
}

TEST_CASE("loudness: EBU Tech 3341 case 6 (5.0 channels, surround weights)", "[loudness]") {
    for (double rate : kRates) {
        CAPTURE(rate);
        const double levels[5] = {-28, -28, -24, -30, -30}; // L R C Ls Rs
        Planar x;
        for (double level : levels) x.push_back(steppedTone(1000, {{level, 20}}, rate));
        const LoudnessMeter m = measured(x, rate);
        CHECK(m.integratedLufs() == Approx(-23.0).margin(0.1));
        // Without the 1.41 surround weights it would read 10 log10(0.00499 - 0.41e-3) = -23.4.
    }
}

TEST_CASE("loudness: EBU Tech 3341 case 9 (short-term constant after 3 s)", "[loudness]") {
    for (double rate : kRates) {
        CAPTURE(rate);
        std::vector<Segment> segments;
        for (int i = 0; i < 5; ++i) {
            segments.push_back({-20, 1.34});
            segments.push_back({-30, 1.66});
        }
        LoudnessMeter meter;
        REQUIRE(meter.prepare(rate, 2) == "");
        int checked = 0;
        const int step = int(std::llround(rate / 10));
        feed(meter, stereoOf(steppedTone(1000, segments, rate)), step, [&](const LoudnessMeter& m) {
            if (m.framesProcessed() >= std::llround(3 * rate)) {
                CHECK(m.shortTermLufs() == Approx(-23.0).margin(0.1));
                ++checked;
            }
        });
        CHECK(checked == 121); // 3.0 s .. 15.0 s
    }
}

TEST_CASE("loudness: EBU Tech 3341 case 12 (momentary constant after 1 s)", "[loudness]") {
    for (double rate : kRates) {
        CAPTURE(rate);
        std::vector<Segment> segments;
        for (int i = 0; i < 25; ++i) {
            segments.push_back({-20, 0.18});
            segments.push_back({-30, 0.22});
        }
        LoudnessMeter meter;
        REQUIRE(meter.prepare(rate, 2) == "");
        int checked = 0;
        const int step = int(std::llround(rate / 10));
        feed(meter, stereoOf(steppedTone(1000, segments, rate)), step, [&](const LoudnessMeter& m) {
            if (m.framesProcessed() >= std::llround(1 * rate)) {
                CHECK(m.momentaryLufs() == Approx(-23.0).margin(0.1));
                ++checked;
            }
        });
        CHECK(checked == 91); // 1.0 s .. 10.0 s
        CHECK(meter.maxMomentaryLufs() == Approx(-23.0).margin(0.1));
    }
}

namespace {
/// Tech 3341 cases 15-19: a stereo sine at `fraction` x fs, peak `amplitude`, starting phase
/// `phaseDegrees`, `seconds` long with 10 ms linear fades.
Planar truePeakSignal(double rate, double fraction, double amplitude, double phaseDegrees, double seconds = 1) {
    const std::int64_t frames = std::llround(seconds * rate);
    const double fade = 0.010 * rate;
    std::vector<float> x(static_cast<std::size_t>(frames));
    for (std::int64_t n = 0; n < frames; ++n) {
        const double gain = std::min({1.0, double(n) / fade, double(frames - 1 - n) / fade});
        x[std::size_t(n)] = float(gain * amplitude * std::sin(2 * kPi * fraction * double(n) + phaseDegrees * kPi / 180));
    }
    return stereoOf(x);
}
} // namespace

TEST_CASE("loudness: EBU Tech 3341 cases 15-19 (true peak, 4x and 8x)", "[loudness]") {
    struct Case {
        int number;
        double fraction, amplitude, phaseDegrees, expectedDbtp;
    };
    const Case cases[] = {{15, 1.0 / 4, 0.50, 0, -6.0},
                          {16, 1.0 / 4, 0.50, 45, -6.0},
                          {17, 1.0 / 6, 0.50, 60, -6.0},
                          {18, 1.0 / 8, 0.50, 67.5, -6.0},
                          {19, 1.0 / 4, 1.41, 45, 3.0}};
    for (double rate : {48000.0, 44100.0, 96000.0}) {
        for (int oversampling : {4, 8}) {
            for (const Case& c : cases) {
                CAPTURE(rate, oversampling, c.number);
                const LoudnessMeter m =
                    measured(truePeakSignal(rate, c.fraction, c.amplitude, c.phaseDegrees), rate, 777, oversampling);
                CHECK(m.truePeakDbtp() <= c.expectedDbtp + 0.2);
                CHECK(m.truePeakDbtp() >= c.expectedDbtp - 0.4);
                CHECK(m.truePeakDbtp(0) == m.truePeakDbtp());
                CHECK(m.truePeakDbtp(1) == m.truePeakDbtp());
                CHECK(m.truePeakDbtp() >= m.samplePeakDbfs());
            }
        }
    }
    // Case 19 is the reason for true-peak meters: every sample is at 0 dBFS or below (1.41 sin 45
    // = 0.997), yet the signal between them reaches +3 dB.
    const LoudnessMeter m19 = measured(truePeakSignal(48000, 0.25, 1.41, 45), 48000);
    CHECK(m19.samplePeakDbfs() <= 0.0);
    CHECK(m19.truePeakDbtp() - m19.samplePeakDbfs() > 2.5);
}

TEST_CASE("loudness: 8x true peak is closer than the 4x Annex 2 filter", "[loudness]") {
    // Sines whose crests sit at fixed offsets from the sample grid (fs/6, fs/4, fs/3, 2fs/5) and
    // one that drifts (0.45 fs), at 32 phases: the worst error of each interpolator against the
    // true crest (-6.02 dB). Measured: 4x -0.29 / +0.22 dB (its 12-tap phases ripple), 8x
    // -0.12 / +0.01 dB.
    double worst4 = 0, worst8 = 0;
    for (double fraction : {1.0 / 6, 1.0 / 4, 1.0 / 3, 2.0 / 5, 0.45}) {
        for (int phase = 0; phase < 32; ++phase) {
            CAPTURE(fraction, phase);
            const Planar x = truePeakSignal(48000, fraction, 0.5, phase * 360.0 / 32, 0.25);
            const double error4 = measured(x, 48000, 4096, 4).truePeakDbtp() - 20 * std::log10(0.5);
            const double error8 = measured(x, 48000, 4096, 8).truePeakDbtp() - 20 * std::log10(0.5);
            CHECK(error4 <= 0.2 + 0.05); // Tech 3341's +0.2 dB, and the 4x filter's known ripple
            CHECK(error4 >= -0.4);
            worst4 = std::max(worst4, std::fabs(error4));
            worst8 = std::max(worst8, std::fabs(error8));
        }
    }
    CAPTURE(worst4, worst8);
    CHECK(worst8 < 0.15);
    CHECK(worst4 > worst8 + 0.1);
}

TEST_CASE("loudness: calibration, mono and the LFE", "[loudness]") {
    for (double rate : kRates) {
        CAPTURE(rate);
        const std::vector<float> tone = steppedTone(1000, {{-18, 10}}, rate);
        const double stereo = measured(stereoOf(tone), rate).integratedLufs();
        CHECK(stereo == Approx(-18.0).margin(0.1));
        CHECK(measured({tone}, rate).integratedLufs() == Approx(stereo - 3.0103).margin(0.01));
        // 5.1: a loud LFE changes nothing; 5.0 with the same content in L and R reads as stereo.
        const std::vector<float> silence(tone.size(), 0.0f);
        const std::vector<float> lfe = steppedTone(60, {{0, 10}}, rate);
        CHECK(measured({tone, tone, silence, lfe, silence, silence}, rate).integratedLufs() == Approx(stereo).margin(1e-9));
        CHECK(measured({tone, tone, silence, silence, silence}, rate).integratedLufs() == Approx(stereo).margin(1e-9));
        // A surround channel counts 1.41 times (+1.49 dB) a front one.
        const double front = measured({tone, silence, silence, silence, silence}, rate).integratedLufs();
        const double surround = measured({silence, silence, silence, tone, silence}, rate).integratedLufs();
        CHECK(surround - front == Approx(10 * std::log10(1.41)).margin(1e-6));
    }
    CHECK(defaultChannelWeights(6) == std::vector<double>{1, 1, 1, 0, 1.41, 1.41});
    CHECK(defaultChannelLayout(6) == "L R C LFE Ls Rs");
    CHECK(defaultChannelLayout(5) == "L R C Ls Rs");
    CHECK(defaultChannelLayout(2) == "L R");
    CHECK(defaultChannelLayout(1) == "M");
    CHECK(defaultChannelWeights(8).size() == 8);
}

// ---- EBU Tech 3342 -------------------------------------------------------------------------------

TEST_CASE("loudness: EBU Tech 3342 cases 1-4 (loudness range)", "[loudness]") {
    struct Case {
        std::vector<double> levels;
        double expectedLu;
    };
    const Case cases[] = {{{-20, -30}, 10}, {{-20, -15}, 5}, {{-40, -20}, 20}, {{-50, -35, -20, -35, -50}, 15}};
    for (double rate : kRates) {
        for (const Case& c : cases) {
            CAPTURE(rate, c.expectedLu);
            std::vector<Segment> segments;
            for (double level : c.levels) segments.push_back({level, 20});
            const LoudnessMeter m = measured(stereoOf(steppedTone(1000, segments, rate)), rate, 4096);
            CHECK(m.loudnessRangeLu() == Approx(c.expectedLu).margin(1.0));
        }
    }
}

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

// ---- the tap node -----------------------------------------------------------------------------------

TEST_CASE("loudness: the tap node passes audio through and reports via Executor::measurements", "[loudness]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs:\n  mix: {channels: 2}\n"
                             "outputs:\n  master: {channels: 2}\n"
                             "nodes:\n"
                             "  before: {type: loudness}\n"
                             "  trim: {type: gain, gain: -6 dB}\n"
                             "  after: {type: loudness, oversampling: 8}\n"
                             "connections:\n  - mix -> before -> trim -> after -> master\n";
    Diagnostics diags;
    auto program = sg::test::compileYaml(yaml, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    const double rate = 48000;
    const Planar x = musicLike(rate, 20, 9);
    const auto out = sg::test::renderFixed(program->executor(), {x}, std::int64_t(x[0].size()), 333);
    // gain's ramp starts at the target, so the output is the input times 10^(-6/20) exactly.
    const float factor = float(std::pow(10.0, -6.0 / 20));
    for (int c = 0; c < 2; ++c)
        for (std::size_t n = 0; n < x[0].size(); n += 97) REQUIRE(out[0][std::size_t(c)][n] == x[std::size_t(c)][n] * factor);

    const auto measurements = program->executor().measurements();
    REQUIRE(measurements.size() == 2);
    const auto find = [&](const std::string& node, const std::string& key) {
        for (const auto& m : measurements)
            if (m.node == node)
                for (const auto& v : m.values)
                    if (v.key == key) return v;
        FAIL("no " << key << " from " << node);
        return Measurement{};
    };
    const LoudnessMeter direct = measured(x, rate, 4096);
    CHECK(measurements[0].type == "loudness");
    CHECK(find("before", "integrated_lufs").value == direct.integratedLufs());
    CHECK(find("before", "integrated_lufs").unit == "LUFS");
    CHECK(find("before", "loudness_range_lu").value == direct.loudnessRangeLu());
    CHECK(find("before", "true_peak_dbtp").value == direct.truePeakDbtp());
    CHECK(find("before", "true_peak_dbtp").unit == "dBTP");
    CHECK(find("before", "sample_peak_dbfs").value == direct.samplePeakDbfs());
    CHECK(find("before", "max_momentary_lufs").value == direct.maxMomentaryLufs());
    CHECK(find("before", "max_short_term_lufs").value == direct.maxShortTermLufs());
    CHECK(find("before", "plr_db").value == direct.plrDb());
    CHECK(find("before", "momentary_lufs").value == direct.momentaryLufs());
    CHECK(find("before", "short_term_lufs").value == direct.shortTermLufs());
    CHECK(find("after", "integrated_lufs").value == Approx(direct.integratedLufs() - 6).margin(0.01));
    CHECK(find("after", "sample_peak_dbfs").value == Approx(direct.samplePeakDbfs() - 6).margin(0.01));
    CHECK(find("after", "loudness_range_lu").value == Approx(direct.loudnessRangeLu()).margin(0.02));
    CHECK(find("after", "true_peak_dbtp").value >= find("after", "sample_peak_dbfs").value);
}

TEST_CASE("loudness: the tap node's declaration and channel rule", "[loudness]") {
    const NodeType* t = Registry::builtin().find("loudness");
    REQUIRE(t != nullptr);
    CHECK(t->info().family == "meters");
    CHECK(t->info().inPlace);
    CHECK(t->latencyFrames(t->defaults(), 48000) == 0);
    const ParamInfo& os = t->info().params[std::size_t(t->paramIndex("oversampling"))];
    CHECK(os.choices == std::vector<double>{4, 8});
    CHECK(os.defaultValue == 4);
    std::vector<int> out;
    for (int channels = 1; channels <= 8; ++channels) {
        CHECK(t->resolveChannels(t->defaults(), std::vector<int>{channels}, out) == "");
        CHECK(out == std::vector<int>{channels});
    }
    CHECK(t->resolveChannels(t->defaults(), std::vector<int>{9}, out) != "");
}
