// The built-in song of `stagegraph demo`: a deterministic synthesised multitrack, one mono stem
// per part, made here in C++ rather than by graphs of source nodes because a song needs what the
// source nodes (noise, sine, sweep: steady signals) do not have: notes, envelopes and a score.
//
// 120 bpm, 4/4, one bar = 2 s; the default 48 s is 24 bars: intro (drums, bass, chords), verse
// (+ voice), chorus (+ lead, hats in sixteenths, a kick push), outro. A shorter length keeps the
// same sections in proportion (a 12 s song is 6 bars: 1 intro, 2 verse, 2 chorus, 1 outro).
// Progression, one chord a bar: Am - F - C - G.
//
//   kick    a sine gliding 150 -> 52 Hz (most energy at 50-100 Hz) with a click, beats 1 and 3
//   snare   a 185 Hz body and band-passed noise, beats 2 and 4
//   hats    high-passed noise (4.5 kHz) with a 7.5 kHz resonance, eighths (sixteenths in the chorus)
//   bass    the chord's root at 55-98 Hz, a band-limited saw + sub sine, low-passed, eighths
//   chords  the triad (octave 3-4), three detuned band-limited saws per note, low-passed, per bar
//   lead    a band-limited pulse with vibrato in the chorus, octave 5
//   vocal   a voice-like part: a band-limited saw at 196-330 Hz with 5.5 Hz vibrato through
//           three formant band-passes (vowels a / o / e per note), phrases of two bars
//
// Every stem peaks at -2 dBFS (one fixed gain per stem, computed from its own samples) and is
// deterministic: the noise is xorshift32 with fixed seeds, all arithmetic in double.
#pragma once

#include "core/Buffer.h"

#include <string>
#include <vector>

namespace sg::cli {

/// One part of the song: its name (the mixing graphs' input name) and its mono samples.
struct DemoStem {
    std::string name;
    AudioBuffer audio;
};

inline constexpr double kDemoSongRate = 48000;   ///< Hz
inline constexpr double kDemoSongSeconds = 48;   ///< default length: 24 bars at 120 bpm
inline constexpr double kDemoSongMinSeconds = 8; ///< shortest song (4 bars)
inline constexpr double kDemoSongMaxSeconds = 60;

/// The stems in mixing order: kick, snare, hats, bass, chords, lead, vocal. `seconds` is rounded
/// to whole bars (2 s) within kDemoSongMinSeconds .. kDemoSongMaxSeconds.
std::vector<DemoStem> makeDemoSong(double sampleRate = kDemoSongRate, double seconds = kDemoSongSeconds);

/// PolyBLEP correction for a unit step at phase 0 (Välimäki & Huovilainen 2007): phase t in
/// [0, 1), increment dt per sample; subtract it from a naive sawtooth 2t - 1 to band-limit it.
double polyBlep(double t, double dt);

} // namespace sg::cli
