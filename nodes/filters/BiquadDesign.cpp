#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sg::biquad {

Section cookbookSection(Shape shape, double freqHz, double q, double gainDb, double sampleRate) {
    const double f0 = std::clamp(freqHz, 1e-3, kNyquistClamp * sampleRate);
    const double w0 = 2 * std::numbers::pi * f0 / sampleRate;
    const double cosW = std::cos(w0), sinW = std::sin(w0);
    const double alpha = sinW / (2 * q);
    const double A = std::pow(10.0, gainDb / 40);
    double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
    switch (shape) {
    case Shape::Lowpass:
        b0 = (1 - cosW) / 2;
        b1 = 1 - cosW;
        b2 = (1 - cosW) / 2;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Highpass:
        b0 = (1 + cosW) / 2;
        b1 = -(1 + cosW);
        b2 = (1 + cosW) / 2;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Bandpass:
        b0 = alpha;
        b1 = 0;
        b2 = -alpha;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Notch:
        b0 = 1;
        b1 = -2 * cosW;
        b2 = 1;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Allpass:
        b0 = 1 - alpha;
        b1 = -2 * cosW;
        b2 = 1 + alpha;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Peak:
        b0 = 1 + alpha * A;
        b1 = -2 * cosW;
        b2 = 1 - alpha * A;
        a0 = 1 + alpha / A;
        a1 = -2 * cosW;
        a2 = 1 - alpha / A;
        break;
    case Shape::LowShelf: {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) - (A - 1) * cosW + k);
        b1 = 2 * A * ((A - 1) - (A + 1) * cosW);
        b2 = A * ((A + 1) - (A - 1) * cosW - k);
        a0 = (A + 1) + (A - 1) * cosW + k;
        a1 = -2 * ((A - 1) + (A + 1) * cosW);
        a2 = (A + 1) + (A - 1) * cosW - k;
        break;
    }
    case Shape::HighShelf: {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) + (A - 1) * cosW + k);
        b1 = -2 * A * ((A - 1) + (A + 1) * cosW);
        b2 = A * ((A + 1) + (A - 1) * cosW - k);
        a0 = (A + 1) - (A - 1) * cosW + k;
        a1 = 2 * ((A - 1) - (A + 1) * cosW);
        a2 = (A + 1) - (A - 1) * cosW - k;
        break;
    }
    }
    return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

void designSections(Shape shape, int sections, double freqHz, double q, double gainDb, double sampleRate, Section* out) {
    if (sections <= 1) {
        out[0] = cookbookSection(shape, freqHz, q, gainDb, sampleRate);
        return;
    }
    const int order = 2 * sections;
    for (int k = 1; k <= sections; ++k) { // ascending Q: the gentlest section first
        const double angle = (2 * k - 1) * std::numbers::pi / (2 * order);
        out[k - 1] = cookbookSection(shape, freqHz, 1 / (2 * std::cos(angle)), gainDb, sampleRate);
    }
}

LinkwitzRiley4 linkwitzRiley4(double freqHz, double sampleRate) {
    constexpr double q = std::numbers::sqrt2 / 2;
    return {cookbookSection(Shape::Lowpass, freqHz, q, 0, sampleRate), cookbookSection(Shape::Highpass, freqHz, q, 0, sampleRate),
            cookbookSection(Shape::Allpass, freqHz, q, 0, sampleRate)};
}

double decayFrames(const Section& s) {
    const std::complex<double> disc = std::sqrt(std::complex<double>(s[3] * s[3] - 4 * s[4]));
    const double r = std::max(std::abs((-s[3] + disc) / 2.0), std::abs((-s[3] - disc) / 2.0));
    if (!(r < 1)) return 0;
    if (r <= 0) return 2;
    return std::log(1e-6) / std::log(r) + 2;
}

std::complex<double> response(const Section& s, double freqHz, double sampleRate) {
    const std::complex<double> z1 = std::polar(1.0, -2 * std::numbers::pi * freqHz / sampleRate), z2 = z1 * z1;
    return (s[0] + s[1] * z1 + s[2] * z2) / (1.0 + s[3] * z1 + s[4] * z2);
}

} // namespace sg::biquad
