// Biquad design, shared by every node that filters: RBJ Audio-EQ-Cookbook sections, Butterworth
// cascades, a section's frequency response and decay, and a one-channel double-precision
// section for kernels that filter inside their own loop (a compressor's sidechain high-pass, a
// crossover's Linkwitz-Riley bands). Formulas: nodes/filters/Biquad.h.
#pragma once

#include <array>
#include <complex>

namespace sg::biquad {

enum class Shape { Lowpass, Highpass, Bandpass, Notch, Allpass, Peak, LowShelf, HighShelf };

/// f0 is limited to this fraction of the sample rate, so settings at or above Nyquist stay stable.
inline constexpr double kNyquistClamp = 0.49;

/// Normalised coefficients of one section: b0 b1 b2 a1 a2 (a0 = 1).
using Section = std::array<double, 5>;

/// One RBJ cookbook section (freq in Hz, gain in dB; q ignored by no shape).
Section cookbookSection(Shape shape, double freqHz, double q, double gainDb, double sampleRate);

/// All `sections` sections of a filter into out[0 .. sections): one cookbook section, or for
/// lowpass/highpass with sections > 1 a Butterworth cascade of order 2 * sections (q ignored),
/// gentlest section first.
void designSections(Shape shape, int sections, double freqHz, double q, double gainDb, double sampleRate, Section* out);

/// One Linkwitz-Riley 24 dB/oct crossover point: the low-pass and the high-pass are each this
/// Butterworth section (Q = 1/sqrt 2) applied twice, and lowpass^2 + highpass^2 is exactly the
/// all-pass section (the bilinear transform of (s^2 - sqrt2 s + 1)/(s^2 + sqrt2 s + 1)).
struct LinkwitzRiley4 {
    Section lowpass, highpass, allpass;
};
LinkwitzRiley4 linkwitzRiley4(double freqHz, double sampleRate);

/// Frames for a section's impulse response to decay by 120 dB (largest pole radius); 0 if unstable.
double decayFrames(const Section& section);

/// H(e^jw) of one section at `freqHz`.
std::complex<double> response(const Section& section, double freqHz, double sampleRate);

/// One channel of one section in transposed direct form II, double state (as the kernel):
/// y = b0 x + z1; z1 = b1 x - a1 y + z2; z2 = b2 x - a2 y.
struct SectionState {
    double z1 = 0, z2 = 0;
    double process(const Section& c, double x) noexcept {
        const double y = c[0] * x + z1;
        z1 = (c[1] * x + z2) - c[3] * y;
        z2 = c[2] * x - c[4] * y;
        return y;
    }
    void clear() noexcept { z1 = z2 = 0; }
};

} // namespace sg::biquad
