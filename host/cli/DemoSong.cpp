#include "host/cli/DemoSong.h"

#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace sg::cli {

namespace {

constexpr double kTwoPi = 6.283185307179586;
constexpr double kBarSeconds = 2.0; // 4/4 at 120 bpm
constexpr double kBeatSeconds = 0.5;

enum class Section { Intro, Verse, Chorus, Outro };

/// The score: sections in proportion to the song's length, one chord a bar.
struct Score {
    int bars = 24;
    Section section(int bar) const {
        const double f = (bar + 0.5) / bars;
        return f < 1.0 / 6 ? Section::Intro : f < 0.5 ? Section::Verse : f < 5.0 / 6 ? Section::Chorus : Section::Outro;
    }
    /// Am - F - C - G.
    int chord(int bar) const { return bar % 4; }
};

// MIDI notes of the progression: bass root (A1 F2 C2 G2, 55-98 Hz), triad (octave 3-4), and the voice's two
// notes per bar in the verse and in the chorus (196-349 Hz).
constexpr int kBassRoot[4] = {33, 41, 36, 43};
constexpr int kTriad[4][3] = {{57, 60, 64}, {53, 57, 60}, {55, 60, 64}, {55, 59, 62}};
constexpr int kVerseMelody[4][2] = {{64, 60}, {60, 57}, {60, 64}, {62, 59}};
constexpr int kChorusMelody[4][2] = {{64, 64}, {65, 64}, {64, 60}, {62, 62}};

double midiHz(double note) { return 440.0 * std::pow(2.0, (note - 69.0) / 12.0); }

/// xorshift32, uniform in [-1, 1).
class Noise {
public:
    explicit Noise(std::uint32_t seed) : state_(seed) {}
    double next() {
        state_ ^= state_ << 13;
        state_ ^= state_ >> 17;
        state_ ^= state_ << 5;
        return double(state_) / 2147483648.0 - 1.0;
    }

private:
    std::uint32_t state_;
};

/// A band-limited sawtooth (-1 .. 1) that keeps its phase across frequency changes.
struct Saw {
    double phase = 0;
    double next(double hz, double rate) {
        const double dt = hz / rate;
        const double y = 2.0 * phase - 1.0 - polyBlep(phase, dt);
        phase += dt;
        if (phase >= 1.0) phase -= 1.0;
        return y;
    }
};

/// A band-limited pulse of duty `width` (difference of two saws), roughly -1 .. 1.
struct Pulse {
    double phase = 0;
    double next(double hz, double rate, double width) {
        const double dt = hz / rate;
        double shifted = phase + width;
        if (shifted >= 1.0) shifted -= 1.0;
        const double a = 2.0 * phase - 1.0 - polyBlep(phase, dt);
        const double b = 2.0 * shifted - 1.0 - polyBlep(shifted, dt);
        phase += dt;
        if (phase >= 1.0) phase -= 1.0;
        return a - b;
    }
};

/// A cascade of RBJ sections on one channel.
struct Filter {
    std::vector<biquad::Section> sections;
    std::vector<biquad::SectionState> states;
    void add(biquad::Shape shape, double hz, double q, double gainDb, double rate) {
        sections.push_back(biquad::cookbookSection(shape, hz, q, gainDb, rate));
        states.emplace_back();
    }
    double process(double x) {
        for (std::size_t i = 0; i < sections.size(); ++i) x = states[i].process(sections[i], x);
        return x;
    }
};

/// Attack-decay envelope of a hit `t` seconds after its start.
double hit(double t, double attack, double decay) {
    if (t < 0) return 0;
    return std::min(1.0, t / attack) * std::exp(-t / decay);
}

/// A held note's envelope: linear attack and release inside `length` seconds.
double held(double t, double length, double attack, double release) {
    if (t < 0 || t >= length) return 0;
    return std::min({1.0, t / attack, (length - t) / release});
}

/// Scales `x` so its peak is -2 dBFS and returns it as a mono buffer.
AudioBuffer toStem(const std::vector<double>& x) {
    double peak = 0;
    for (double v : x) peak = std::max(peak, std::abs(v));
    const double gain = peak > 0 ? std::pow(10.0, -2.0 / 20.0) / peak : 0.0;
    AudioBuffer out(1, int(x.size()));
    for (std::size_t n = 0; n < x.size(); ++n) out.channel(0)[n] = float(x[n] * gain);
    return out;
}

struct Song {
    double rate;
    int frames;
    Score score;

    std::int64_t frameAt(double seconds) const { return std::llround(seconds * rate); }

    /// Adds `voice(t)` for t in [0, seconds) from `start` seconds on.
    template <class Voice> void place(std::vector<double>& out, double start, double seconds, Voice&& voice) const {
        const std::int64_t first = frameAt(start), count = frameAt(seconds);
        for (std::int64_t k = 0; k < count && first + k < frames; ++k) out[std::size_t(first + k)] += voice(double(k) / rate);
    }

    std::vector<double> kick() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Noise noise(0x1234567u);
        for (int bar = 0; bar < score.bars; ++bar) {
            std::vector<double> beats = {0.0, 2.0};
            if (score.section(bar) == Section::Chorus) beats.push_back(1.5); // the push on the and of 2
            for (double beat : beats) {
                double phase = 0;
                place(out, bar * kBarSeconds + beat * kBeatSeconds, 0.45, [&](double t) {
                    const double hz = 52.0 + 98.0 * std::exp(-t / 0.035);
                    phase += kTwoPi * hz / rate;
                    const double click = 0.25 * hit(t, 0.0005, 0.003) * noise.next();
                    return hit(t, 0.002, 0.17) * std::sin(phase) + click;
                });
            }
        }
        return out;
    }

    std::vector<double> snare() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Noise noise(0x51A4E5u);
        Filter tone;
        tone.add(biquad::Shape::Bandpass, 2500.0, 0.6, 0.0, rate);
        for (int bar = 0; bar < score.bars; ++bar) {
            if (score.section(bar) == Section::Intro) continue;
            for (double beat : {1.0, 3.0}) {
                double phase = 0;
                place(out, bar * kBarSeconds + beat * kBeatSeconds, 0.3, [&](double t) {
                    phase += kTwoPi * 185.0 / rate;
                    return 0.6 * hit(t, 0.001, 0.05) * std::sin(phase) + 1.2 * hit(t, 0.001, 0.07) * tone.process(noise.next());
                });
            }
        }
        return out;
    }

    std::vector<double> hats() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Noise noise(0x4A75u);
        Filter bright;
        bright.add(biquad::Shape::Highpass, 4500.0, 0.707, 0.0, rate);
        bright.add(biquad::Shape::Peak, 7500.0, 2.0, 6.0, rate);
        for (int bar = 0; bar < score.bars; ++bar) {
            const bool chorus = score.section(bar) == Section::Chorus;
            const int steps = chorus ? 16 : 8;
            for (int s = 0; s < steps; ++s) {
                const bool offBeat = chorus ? s % 4 == 2 : s % 2 == 1;
                const double level = offBeat ? 1.0 : 0.5;
                place(out, bar * kBarSeconds + s * kBarSeconds / steps, 0.12,
                      [&](double t) { return level * hit(t, 0.0005, 0.025) * bright.process(noise.next()); });
            }
        }
        return out;
    }

    std::vector<double> bass() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Saw saw;
        double sub = 0;
        Filter lowpass;
        lowpass.add(biquad::Shape::Lowpass, 420.0, 0.9, 0.0, rate);
        for (int bar = 0; bar < score.bars; ++bar) {
            const double hz = midiHz(kBassRoot[score.chord(bar)]);
            for (int eighth = 0; eighth < 8; ++eighth) {
                place(out, bar * kBarSeconds + eighth * kBeatSeconds / 2, kBeatSeconds / 2, [&](double t) {
                    sub += kTwoPi * hz / rate;
                    const double env = held(t, kBeatSeconds / 2, 0.004, 0.02) * (0.7 + 0.3 * std::exp(-t / 0.08));
                    return env * (0.6 * lowpass.process(saw.next(hz, rate)) + 0.8 * std::sin(sub));
                });
            }
        }
        return out;
    }

    std::vector<double> chords() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Saw saws[3][3];
        Filter lowpass;
        lowpass.add(biquad::Shape::Lowpass, 2200.0, 0.707, 0.0, rate);
        const double detuneCents[3] = {-8.0, 0.0, 7.0};
        for (int bar = 0; bar < score.bars; ++bar) {
            const int* triad = kTriad[score.chord(bar)];
            place(out, bar * kBarSeconds, kBarSeconds, [&](double t) {
                double sum = 0;
                for (int note = 0; note < 3; ++note)
                    for (int d = 0; d < 3; ++d) sum += saws[note][d].next(midiHz(triad[note] + detuneCents[d] / 100.0), rate);
                return held(t, kBarSeconds, 0.08, 0.15) * lowpass.process(sum / 9.0);
            });
        }
        return out;
    }

    std::vector<double> lead() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        Pulse pulse;
        Filter lowpass;
        lowpass.add(biquad::Shape::Lowpass, 5000.0, 0.707, 0.0, rate);
        const int pattern[8] = {0, 1, 2, 1, 2, 1, 0, 2};
        for (int bar = 0; bar < score.bars; ++bar) {
            if (score.section(bar) != Section::Chorus) continue;
            const int* triad = kTriad[score.chord(bar)];
            for (int eighth = 0; eighth < 8; ++eighth) {
                const double hz = midiHz(triad[pattern[eighth]] + 12);
                const double start = bar * kBarSeconds + eighth * kBeatSeconds / 2;
                place(out, start, kBeatSeconds / 2, [&](double t) {
                    const double vibrato = 1.0 + 0.004 * std::sin(kTwoPi * 6.0 * (start + t));
                    return held(t, kBeatSeconds / 2 * 0.9, 0.005, 0.03) * lowpass.process(pulse.next(hz * vibrato, rate, 0.3));
                });
            }
        }
        return out;
    }

    std::vector<double> vocal() const {
        std::vector<double> out(std::size_t(frames), 0.0);
        // Vowel formants F1-F3 (Hz) after Peterson & Barney (1952): a, o, e.
        const double formants[3][3] = {{730.0, 1090.0, 2440.0}, {570.0, 840.0, 2410.0}, {530.0, 1840.0, 2480.0}};
        const double formantGains[3] = {1.0, 0.6, 0.3};
        Saw saw;
        Noise breath(0xB4EA7u);
        int vowel = 0;
        for (int bar = 0; bar < score.bars; ++bar) {
            const Section section = score.section(bar);
            if (section != Section::Verse && section != Section::Chorus) continue;
            const int* melody = section == Section::Verse ? kVerseMelody[score.chord(bar)] : kChorusMelody[score.chord(bar)];
            for (int half = 0; half < 2; ++half) {
                // Phrases of two bars: the last half bar of each is a breath.
                if (bar % 2 == 1 && half == 1) continue;
                const double hz = midiHz(melody[half]);
                Filter bank[3];
                for (int f = 0; f < 3; ++f)
                    bank[f].add(biquad::Shape::Bandpass, formants[vowel][f], formants[vowel][f] / 90.0, 0.0, rate);
                vowel = (vowel + 1) % 3;
                const double start = bar * kBarSeconds + half * kBarSeconds / 2;
                place(out, start, 0.95, [&](double t) {
                    const double vibrato = 1.0 + 0.012 * std::min(1.0, t / 0.3) * std::sin(kTwoPi * 5.5 * (start + t));
                    const double source = saw.next(hz * vibrato, rate) + 0.05 * breath.next();
                    double voiced = 0;
                    for (int f = 0; f < 3; ++f) voiced += formantGains[f] * bank[f].process(source);
                    return held(t, 0.95, 0.04, 0.12) * voiced;
                });
            }
        }
        return out;
    }
};

} // namespace

double polyBlep(double t, double dt) {
    if (t < dt) {
        t /= dt;
        return t + t - t * t - 1.0;
    }
    if (t > 1.0 - dt) {
        t = (t - 1.0) / dt;
        return t * t + t + t + 1.0;
    }
    return 0.0;
}

std::vector<DemoStem> makeDemoSong(double sampleRate, double seconds) {
    const double clamped = std::clamp(seconds, kDemoSongMinSeconds, kDemoSongMaxSeconds);
    Song song{sampleRate, 0, {}};
    song.score.bars = std::max(4, int(std::lround(clamped / kBarSeconds)));
    song.frames = int(std::llround(song.score.bars * kBarSeconds * sampleRate));
    std::vector<DemoStem> stems;
    stems.push_back({"kick", toStem(song.kick())});
    stems.push_back({"snare", toStem(song.snare())});
    stems.push_back({"hats", toStem(song.hats())});
    stems.push_back({"bass", toStem(song.bass())});
    stems.push_back({"chords", toStem(song.chords())});
    stems.push_back({"lead", toStem(song.lead())});
    stems.push_back({"vocal", toStem(song.vocal())});
    return stems;
}

} // namespace sg::cli
