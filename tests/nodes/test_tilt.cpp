// Tilt EQ: measured impulse responses against the analytic pair of cookbook shelves (the analog
// prototypes under the prewarped bilinear transform, computed here), the pivot and the end
// gains, steady-state gain of a full-scale near-Nyquist tone, block-split / batching / SIMD
// independence with hostile material and running changes, and the declared tail.
#include "nodes/filters/Tilt.h"
#include "tests/nodes/FilterMeasure.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;
using namespace sg::filtertest;

namespace {

using Complex = std::complex<double>;
constexpr double kSqrt2 = 1.41421356237309504880;

/// The tilt's analog prototype at s: low shelf of -gain/2 dB times high shelf of +gain/2 dB, Q = 1/sqrt 2.
Complex tiltPrototype(Complex s, double gainDb) {
    const double lo = std::pow(10.0, -gainDb / 80), up = std::pow(10.0, gainDb / 80), q = 1 / kSqrt2;
    const Complex low = lo * (s * s + (std::sqrt(lo) / q) * s + lo) / (lo * s * s + (std::sqrt(lo) / q) * s + 1.0);
    const Complex high = up * (up * s * s + (std::sqrt(up) / q) * s + 1.0) / (s * s + (std::sqrt(up) / q) * s + up);
    return low * high;
}

bool verbose() { return std::getenv("STAGEGRAPH_PRINT_MEASURES") != nullptr; }

} // namespace

TEST_CASE("tilt: magnitude and phase match the analytic shelf pair at 1/12-octave points", "[nodes][tilt]") {
    for (double fs : {44100.0, 48000.0, 96000.0})
        for (double pivot : {100.0, 1000.0, 8000.0})
            for (double gain : {-12.0, -5.0, 3.0, 12.0}) {
                CAPTURE(fs, pivot, gain);
                const std::vector<float> h =
                    impulseResponse("tilt", paramsOf("tilt", {{"gain", gain}, {"freq", pivot}}), fs, 1 << 15);
                double worstDb = 0, worstComplex = 0;
                std::vector<double> points = twelfthOctaves();
                points.push_back(pivot);
                for (double f : points) {
                    const Complex measured = dft(h, f, fs), expected = tiltPrototype(prototypeS(f, pivot, fs), gain);
                    worstDb = std::max(worstDb, std::fabs(toDb(std::abs(measured)) - toDb(std::abs(expected))));
                    worstComplex = std::max(worstComplex, std::abs(measured - expected));
                }
                if (verbose())
                    std::printf("tilt %g Hz pivot %g gain %g: max dB error %.3g, max complex error %.3g\n", fs, pivot, gain,
                                worstDb, worstComplex);
                INFO("largest magnitude error: " << worstDb << " dB; complex: " << worstComplex);
                CHECK(worstDb < 1e-4);
                CHECK(worstComplex < 1e-5);
                INFO("the pivot is 0 dB: each shelf is at half its gain there");
                CHECK(toDb(std::abs(dft(h, pivot, fs))) == Approx(0).margin(1e-4));
            }
}

TEST_CASE("tilt: -gain/2 dB towards DC, +gain/2 dB at Nyquist", "[nodes][tilt]") {
    for (double fs : {44100.0, 48000.0, 96000.0})
        for (double gain : {-12.0, 6.0, 12.0}) {
            CAPTURE(fs, gain);
            const std::vector<float> h = impulseResponse("tilt", paramsOf("tilt", {{"gain", gain}, {"freq", 1000}}), fs, 1 << 15);
            double dc = 0, nyquist = 0;
            for (std::size_t n = 0; n < h.size(); ++n) {
                dc += h[n];
                nyquist += n % 2 ? -double(h[n]) : double(h[n]);
            }
            CHECK(toDb(std::fabs(dc)) == Approx(-gain / 2).margin(1e-4));
            CHECK(toDb(std::fabs(nyquist)) == Approx(gain / 2).margin(1e-4));
        }
}

TEST_CASE("tilt: a full-scale near-Nyquist tone comes out at the analytic gain", "[nodes][tilt]") {
    for (double fs : {44100.0, 96000.0}) {
        CAPTURE(fs);
        const double f = 0.47 * fs, gain = 12;
        auto kernel =
            preparedKernel("tilt", {fs, 512, detectSimdArch()}, {instanceOf("tilt", paramsOf("tilt", {{"gain", gain}}), 1)});
        const std::int64_t frames = 48000;
        const Lanes out = render(*kernel, {sine(f, 1.0, fs, frames)}, 1, 512);
        // Amplitude of the steady state from its projection on the tone (last 0.25 s).
        Complex projection = 0;
        const std::int64_t from = frames - std::int64_t(fs / 4);
        for (std::int64_t n = from; n < frames; ++n)
            projection += double(out[0][std::size_t(n)]) * std::polar(1.0, -2 * 3.14159265358979323846 * f * double(n) / fs);
        const double amplitude = 2 * std::abs(projection) / double(frames - from);
        const double expected = std::abs(tiltPrototype(prototypeS(f, 1000, fs), gain));
        INFO("measured " << toDb(amplitude) << " dB, analytic " << toDb(expected) << " dB");
        CHECK(toDb(amplitude) == Approx(toDb(expected)).margin(0.01));
    }
}

TEST_CASE("tilt: block splits, batching, SIMD architectures and in place give the same bits", "[nodes][tilt]") {
    checkSplitsBatchingArchitectures(
        "tilt", 5,
        [](int i) {
            return paramsOf("tilt", {{"gain", -12.0 + 5 * i}, {"freq", 60.0 * (i + 1) * (i + 1)}});
        },
        {{1001, 0, 0, 12}, {2500, 1, 1, 15000}, {2600, 1, 0, -12}, {7777, 3, 1, 20}, {7800, 0, 1, 333}});
}

TEST_CASE("tilt: the declared tail covers the decay to -120 dB", "[nodes][tilt]") {
    const NodeType* type = Registry::builtin().find("tilt");
    REQUIRE(type != nullptr);
    for (double pivot : {20.0, 1000.0}) {
        const ParamValues p = paramsOf("tilt", {{"gain", 12}, {"freq", pivot}});
        const double tailFrames = type->tailSeconds(p, 48000) * 48000;
        CAPTURE(pivot, tailFrames);
        REQUIRE(tailFrames > 0);
        const std::vector<float> h = impulseResponse("tilt", p, 48000, std::int64_t(tailFrames) + 48000);
        double late = 0;
        for (std::size_t n = std::size_t(tailFrames); n < h.size(); ++n) late = std::max(late, double(std::fabs(h[n])));
        CHECK(late < 1e-6);
    }
}
