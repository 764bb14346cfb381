// Signals and helpers shared by the loudness meter tests (tests/nodes/test_loudness_*.cpp):
// the EBU test tones, a deterministic music-like signal, and feeding a LoudnessMeter.
#pragma once

#include "nodes/meters/LoudnessMeter.h"

#include <cstdint>
#include <functional>
#include <numbers>
#include <vector>

namespace sg::loudnesstest {

/// Channels of samples, one vector per channel.
using Planar = std::vector<std::vector<float>>;

inline constexpr double kPi = std::numbers::pi;

/// Linear amplitude of a level in dBFS.
double amplitudeOf(double dbfs);

/// One level of a stepped tone.
struct Segment {
    double dbfs;    ///< peak level, dBFS
    double seconds; ///< duration, s
};

/// A sine of continuous phase whose peak level steps through `segments` (EBU test signals).
std::vector<float> steppedTone(double frequencyHz, const std::vector<Segment>& segments, double sampleRate);

/// Both channels carry `x` (EBU: "both channels in phase").
Planar stereoOf(const std::vector<float>& x);

/// Feeds `signal` in blocks of `block` frames, calling `afterBlock` after each.
void feed(LoudnessMeter& meter, const Planar& signal, int block,
          const std::function<void(const LoudnessMeter&)>& afterBlock = {});

/// A meter that has measured `signal` (prepared with `oversampling` for true peak).
LoudnessMeter measured(const Planar& signal, double sampleRate, int block = 1000, int oversampling = 4);

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

/// A deterministic "music-like" stereo signal: chords whose notes are struck on every other
/// beat and decay, a plucked bass on the beat, noise bursts (drums, brightness per section)
/// panned apart, and level changes as `dynamics` says.
Planar musicLike(double sampleRate, double seconds, std::uint32_t seed, Dynamics dynamics = Dynamics::Sections);

} // namespace sg::loudnesstest
