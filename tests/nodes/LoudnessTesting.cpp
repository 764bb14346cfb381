// Bodies of the loudness test helpers (tests/nodes/LoudnessTesting.h).
#include "tests/nodes/LoudnessTesting.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>

namespace sg::loudnesstest {
namespace {

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

} // namespace

double amplitudeOf(double dbfs) { return std::pow(10.0, dbfs / 20.0); }

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

Planar stereoOf(const std::vector<float>& x) { return {x, x}; }

void feed(LoudnessMeter& meter, const Planar& signal, int block, const std::function<void(const LoudnessMeter&)>& afterBlock) {
    const std::int64_t frames = std::int64_t(signal[0].size());
    std::vector<const float*> pointers(signal.size());
    for (std::int64_t start = 0; start < frames; start += block) {
        const int n = int(std::min<std::int64_t>(block, frames - start));
        for (std::size_t c = 0; c < signal.size(); ++c) pointers[c] = signal[c].data() + start;
        meter.process(pointers.data(), n);
        if (afterBlock) afterBlock(meter);
    }
}

LoudnessMeter measured(const Planar& signal, double sampleRate, int block, int oversampling) {
    LoudnessMeter meter;
    LoudnessOptions options;
    options.truePeakOversampling = oversampling;
    REQUIRE(meter.prepare(sampleRate, int(signal.size()), options) == "");
    feed(meter, signal, block);
    return meter;
}

Planar musicLike(double sampleRate, double seconds, std::uint32_t seed, Dynamics dynamics) {
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

} // namespace sg::loudnesstest
