// deesser: the bands sum to the input bit for bit when nothing is reduced; listen outputs the
// high band, compared with an RBJ high-pass typed again here in double; a sibilant tone is
// reduced by the soft-knee formula while a low tone is left alone; block splits and batching.
#include "tests/nodes/DynamicsTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>

using namespace sg;
using namespace sg::nodetest;
using namespace sg::dyntest;

namespace {

/// RBJ cookbook high-pass, Q = 1/sqrt(2), direct form I in double (independent of BiquadDesign).
std::vector<double> highpassOracle(const std::vector<float>& x, double hz, double rate) {
    const double w = 2 * std::numbers::pi * hz / rate, alpha = std::sin(w) / (2 * std::sqrt(0.5)), c = std::cos(w);
    const double a0 = 1 + alpha, b0 = (1 + c) / 2 / a0, b1 = -(1 + c) / a0, b2 = b0, a1 = -2 * c / a0, a2 = (1 - alpha) / a0;
    std::vector<double> y(x.size());
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0;
    for (std::size_t n = 0; n < x.size(); ++n) {
        const double v = b0 * x[n] + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2;
        x2 = x1;
        x1 = x[n];
        y2 = y1;
        y1 = v;
        y[n] = v;
    }
    return y;
}

/// H(e^jw) of the same high-pass at `f`.
std::complex<double> highpassResponse(double hz, double f, double rate) {
    const double w = 2 * std::numbers::pi * hz / rate, alpha = std::sin(w) / (2 * std::sqrt(0.5)), c = std::cos(w);
    const std::complex<double> z1 = std::polar(1.0, -2 * std::numbers::pi * f / rate), z2 = z1 * z1;
    return ((1 + c) / 2 * (1.0 - 2.0 * z1 + z2)) / ((1 + alpha) - 2 * c * z1 + (1 - alpha) * z2);
}

} // namespace

TEST_CASE("deesser: with no reduction the output is the input bit for bit (the bands null)", "[nodes][deesser]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const Lanes in = noiseLanes(2, std::int64_t(rate / 2), 8, 0.25f); // band peaks below 0 dBFS
        auto kernel = preparedKernel("deesser", {rate, 512, detectSimdArch()},
                                     {instanceOf("deesser", paramsOf("deesser", {{"threshold", 0}, {"knee", 0}}), 2)});
        CHECK(sameBits(render(*kernel, in, 2, 512), in));
    }
}

TEST_CASE("deesser: listen outputs the high band, as an independent RBJ high-pass", "[nodes][deesser]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const std::int64_t frames = std::int64_t(rate / 4);
        const std::vector<float> x = sg::test::noise(frames, 1.0f, 21);
        auto kernel = preparedKernel("deesser", {rate, 512, detectSimdArch()},
                                     {instanceOf("deesser", paramsOf("deesser", {{"listen", 1}, {"freq", 7000}}), 1)});
        const Lanes y = render(*kernel, {x}, 1, 512);
        const std::vector<double> oracle = highpassOracle(x, 7000, rate);
        double worst = 0;
        for (std::int64_t n = 0; n < frames; ++n)
            worst = std::max(worst, std::fabs(double(y[0][std::size_t(n)]) - oracle[std::size_t(n)]));
        INFO("rate " << rate << ": largest difference " << worst);
        CHECK(worst < 1e-6);
    }
}

TEST_CASE("deesser: a sibilant tone is reduced by the curve, a low tone is not", "[nodes][deesser]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        INFO("rate " << rate);
        const std::int64_t frames = std::int64_t(0.5 * rate), from = frames - std::int64_t(0.05 * rate);
        const auto params =
            paramsOf("deesser", {{"freq", 4000}, {"threshold", -30}, {"ratio", 4}, {"knee", 0}, {"range", 40}, {"window", 2}});
        const std::vector<float> hi = sg::test::sine(12000, 0.5, rate, frames), lo = sg::test::sine(200, 0.5, rate, frames);
        auto kernel = preparedKernel("deesser", {rate, 512, detectSimdArch()},
                                     {instanceOf("deesser", params, 1), instanceOf("deesser", params, 1)});
        const Lanes y = render(*kernel, {hi, lo}, 2, 512);
        // The 12 kHz tone passes the high-pass almost whole; its detected level is the band's peak.
        const std::vector<double> band = highpassOracle(hi, 4000, rate);
        double bandPeak = 0;
        for (std::int64_t n = from; n < frames; ++n) bandPeak = std::max(bandPeak, std::fabs(band[std::size_t(n)]));
        // y = x + (g - 1) B(x): at 12 kHz the gain is |1 + (g - 1) H(12 kHz)|, H with its phase.
        const double g = std::pow(10.0, compressorCurveDb(toDb(bandPeak), -30, 4, 0) / 20);
        const double expected = toDb(std::abs(1.0 + (g - 1) * highpassResponse(4000, 12000, rate)));
        // Amplitude ratio from the rms over 50 ms (600 whole periods): sample peaks of a tone near
        // fs / 4 depend on its phase, which the band shifts.
        double sumY = 0, sumX = 0;
        for (std::int64_t n = from; n < frames; ++n) {
            sumY += double(y[0][std::size_t(n)]) * y[0][std::size_t(n)];
            sumX += double(hi[std::size_t(n)]) * hi[std::size_t(n)];
        }
        const double measured = 10 * std::log10(sumY / sumX);
        INFO("12 kHz: " << measured << " dB, formula " << expected);
        CHECK(measured == Approx(expected).margin(0.05));
        // 200 Hz through the 4 kHz high-pass is about -52 dB: far below the threshold.
        CHECK(sameBits(Lanes{y[1]}, Lanes{lo}));
    }
}

TEST_CASE("deesser: block splits and batching change no bit", "[nodes][deesser]") {
    const double rate = 48000;
    const Lanes in = noiseLanes(2, 24000, 31, 2.0f);
    const auto params = paramsOf("deesser", {{"threshold", -40}});
    auto kernel = preparedKernel("deesser", {rate, 4096, detectSimdArch()}, {instanceOf("deesser", params, 2)});
    const Lanes reference = render(*kernel, in, 2, 4096);
    for (const auto& plan : splitPlans(4096)) {
        auto k2 = preparedKernel("deesser", {rate, 4096, SimdArch::Sse2},
                                 {instanceOf("deesser", params, 1), instanceOf("deesser", params, 2)});
        const Lanes y = render(*k2, {in[0], in[0], in[1]}, 3, 4096, RenderPlan{plan, {}, false, false});
        CHECK(sameBits(Lanes{y[1], y[2]}, reference));
    }
}
