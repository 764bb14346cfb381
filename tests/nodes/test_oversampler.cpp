// The shared oversampler (nodes/utility/Oversampler.h): its prototype's response against the
// Kaiser design targets (passband ripple, stopband attenuation, computed here by a DTFT in
// double), the running filters' passband gain, image and alias rejection measured with Goertzel,
// the declared latency found at an impulse's position, and block-split independence.
#include "nodes/utility/Oversampler.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <vector>

using namespace sg;
using namespace sg::test;

namespace {

double toDb(double x) { return 20 * std::log10(std::max(x, 1e-30)); }

/// |H| of the prototype at `cycles` per high-rate sample, divided by P (so 1 in the passband).
double prototypeGain(const std::vector<double>& h, int factor, double cycles) {
    std::complex<double> sum = 0;
    for (std::size_t m = 0; m < h.size(); ++m) sum += h[m] * std::polar(1.0, -2 * M_PI * cycles * double(m));
    return std::abs(sum) / factor;
}

/// Amplitude of the component at `hz` in x (rate `rate`), by a Goertzel-style DFT over all of x.
double amplitudeAt(const std::vector<double>& x, double hz, double rate) {
    std::complex<double> sum = 0;
    for (std::size_t n = 0; n < x.size(); ++n) sum += x[n] * std::polar(1.0, -2 * M_PI * hz * double(n) / rate);
    return 2 * std::abs(sum) / double(x.size());
}

/// Runs `in` through up (and down if `down`) in blocks of `block`; returns the high-rate
/// signal (interleaved from the phases) or the base-rate output.
std::vector<double> run(const OversamplerDesign& design, const std::vector<float>& in, int block, bool down) {
    Oversampler os;
    os.prepare(design, block, detectSimdArch());
    std::vector<double> out;
    std::vector<float> y(static_cast<std::size_t>(block));
    for (std::size_t at = 0; at < in.size(); at += std::size_t(block)) {
        const int frames = int(std::min<std::size_t>(std::size_t(block), in.size() - at));
        os.up(in.data() + at, frames);
        if (down) {
            os.down(y.data(), frames);
            out.insert(out.end(), y.begin(), y.begin() + frames);
        } else {
            for (int n = 0; n < frames; ++n)
                for (int k = 0; k < os.factor(); ++k) out.push_back(os.phase(k)[n]);
        }
    }
    return out;
}

} // namespace

TEST_CASE("oversampler: the prototype meets its Kaiser design", "[nodes][oversampler]") {
    for (const OversamplerDesign& d :
         {processingOversampling(2), processingOversampling(4), processingOversampling(8), detectionOversampling(8)}) {
        const std::vector<double> h = oversamplerPrototype(d);
        const int taps = oversamplerTapsPerPhase(d);
        CAPTURE(d.factor, d.passbandEdge, d.stopbandEdge, taps);
        REQUIRE(int(h.size()) == d.factor * taps);
        for (std::size_t m = 0; m < h.size(); ++m) REQUIRE(h[m] == Approx(h[h.size() - 1 - m]).margin(1e-15)); // linear phase
        double ripple = 0, stop = 0;
        for (int i = 0; i <= 400; ++i) {
            const double f = d.passbandEdge * i / 400.0; // fraction of the base rate
            ripple = std::max(ripple, std::fabs(toDb(prototypeGain(h, d.factor, f / d.factor))));
        }
        for (int i = 0; i <= 4000; ++i) {
            const double f = d.stopbandEdge + (d.factor / 2.0 - d.stopbandEdge) * i / 4000.0;
            stop = std::max(stop, prototypeGain(h, d.factor, f / d.factor));
        }
        const double delta = std::pow(10.0, -d.stopbandDb / 20);
        std::printf("oversampler P=%d T=%d: passband ripple %.6f dB (design %.6f), stopband %.1f dB (design %.0f)\n", d.factor,
                    taps, ripple, toDb(1 + delta), toDb(stop), -d.stopbandDb);
        CHECK(ripple <= 2 * toDb(1 + delta)); // Kaiser's formula is approximate: within 6 dB of delta
        CHECK(toDb(stop) <= -d.stopbandDb + 2.0);
    }
}

TEST_CASE("oversampler: up then down is flat in the passband, delayed by the declared latency", "[nodes][oversampler]") {
    for (int factor : {2, 4, 8}) {
        const OversamplerDesign d = processingOversampling(factor);
        const int latency = oversamplerLatencyFrames(d);
        CHECK(latency == oversamplerTapsPerPhase(d) - 1);
        // An impulse comes out at frame `latency`, and that is its largest sample.
        std::vector<float> impulse(1024, 0.0f);
        impulse[10] = 1.0f;
        const std::vector<double> y = run(d, impulse, 64, true);
        std::size_t at = 0;
        for (std::size_t n = 0; n < y.size(); ++n)
            if (std::fabs(y[n]) > std::fabs(y[at])) at = n;
        CAPTURE(factor, latency);
        CHECK(int(at) == 10 + latency);
        // Sines in the passband (44.1 kHz: up to 0.45 fs) keep amplitude and shape, delayed.
        for (double hz : {100.0, 1000.0, 10000.0, 19800.0}) {
            const double rate = 44100;
            const std::vector<float> x = sine(hz, 0.5, rate, 8820);
            const std::vector<double> out = run(d, x, 441, true);
            double worst = 0;
            for (std::size_t n = 2000; n < out.size(); ++n)
                worst = std::max(worst, std::fabs(out[n] - double(x[n - std::size_t(latency)])));
            CAPTURE(hz);
            CHECK(worst <= 0.5 * 1e-4); // -86 dB of the tone: ripple and float rounding
        }
    }
}

TEST_CASE("oversampler: images and aliases are rejected by the stopband attenuation", "[nodes][oversampler]") {
    const double rate = 48000;
    for (int factor : {2, 4, 8}) {
        const OversamplerDesign d = processingOversampling(factor);
        // Up: a 1 kHz tone at 48 kHz; its first image at 47 kHz of the high rate.
        const std::vector<double> up = run(d, sine(1000, 1.0, rate, 9600), 512, false);
        const std::vector<double> steady(up.begin() + 4800 * factor, up.end());
        const double tone = amplitudeAt(steady, 1000, rate * factor), image = amplitudeAt(steady, 47000, rate * factor);
        CAPTURE(factor, toDb(tone), toDb(image));
        CHECK(toDb(tone) == Approx(0).margin(0.001));
        CHECK(toDb(image) <= -d.stopbandDb + 3);
    }
    // Down: a high-rate tone at 30 kHz (above the base Nyquist frequency) would alias to 18 kHz.
    for (int factor : {2, 4, 8}) {
        const OversamplerDesign d = processingOversampling(factor);
        Oversampler os;
        os.prepare(d, 480, detectSimdArch());
        std::vector<float> zeros(480, 0.0f), y(480);
        std::vector<double> out;
        for (int block = 0; block < 20; ++block) {
            os.up(zeros.data(), 480);
            for (int n = 0; n < 480; ++n)
                for (int k = 0; k < factor; ++k) {
                    const double s = double((block * 480 + n) * factor + k);
                    os.phase(k)[n] = float(std::sin(2 * M_PI * 30000 * s / (rate * factor)));
                }
            os.down(y.data(), 480);
            out.insert(out.end(), y.begin(), y.end());
        }
        const std::vector<double> steady(out.begin() + 960, out.end());
        double peak = 0;
        for (double v : steady) peak = std::max(peak, std::fabs(v));
        CAPTURE(factor, toDb(peak));
        CHECK(toDb(peak) <= -d.stopbandDb + 3);
    }
}

TEST_CASE("oversampler: any block split gives the same bits", "[nodes][oversampler]") {
    const std::vector<float> x = noise(5000, 1.0f, 3);
    for (int factor : {2, 8}) {
        const std::vector<double> reference = run(processingOversampling(factor), x, 4096, true);
        for (int block : {1, 7, 64, 512}) {
            const std::vector<double> y = run(processingOversampling(factor), x, block, true);
            CAPTURE(factor, block);
            REQUIRE(y == reference);
        }
    }
}
