// DC blocker: measured impulse responses against |H|^2 = 1/(1 + (tan(pi fc/fs)/tan(pi f/fs))^2),
// -3.01 dB at the cutoff, the DC left after a full-scale step (measured), passband flatness
// above 20 Hz against the stated bound, block-split / batching / SIMD independence with hostile
// material and running changes, and the declared tail.
#include "nodes/filters/DcBlocker.h"
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

constexpr double kPi = 3.14159265358979323846;

/// |H(f)| of the bilinear first-order high-pass prewarped at fc.
double dcMagnitude(double f, double fc, double fs) {
    const double ratio = std::tan(kPi * fc / fs) / std::tan(kPi * f / fs);
    return 1 / std::sqrt(1 + ratio * ratio);
}

bool verbose() { return std::getenv("STAGEGRAPH_PRINT_MEASURES") != nullptr; }

} // namespace

TEST_CASE("dcblock: magnitude matches the first-order high-pass formula; -3.01 dB at the cutoff", "[nodes][dcblock]") {
    for (double fs : {44100.0, 48000.0, 96000.0})
        for (double fc : {1.0, 5.0, 20.0, 200.0}) {
            CAPTURE(fs, fc);
            // Long enough for the pole to decay below float resolution (1 Hz: ~2.6 s at 96 kHz).
            const std::int64_t frames = std::int64_t(3.0 * fs / std::min(fc, 5.0)) + 4096;
            const std::vector<float> h = impulseResponse("dcblock", paramsOf("dcblock", {{"freq", fc}}), fs, frames);
            double worstDb = 0;
            std::vector<double> points = twelfthOctaves();
            for (double f = 1; f < 20; f *= std::pow(2.0, 1.0 / 12)) points.push_back(f);
            for (double f : points) {
                if (dcMagnitude(f, fc, fs) < 1e-3) continue; // above -60 dB
                worstDb = std::max(worstDb, std::fabs(toDb(std::abs(dft(h, f, fs))) - toDb(dcMagnitude(f, fc, fs))));
            }
            const double atCutoff = toDb(std::abs(dft(h, fc, fs)));
            if (verbose()) std::printf("dcblock %g Hz fc %g: max dB error %.3g, at fc %.6f dB\n", fs, fc, worstDb, atCutoff);
            INFO("largest magnitude error: " << worstDb << " dB");
            CHECK(worstDb < 1e-4);
            INFO("at the cutoff: " << atCutoff << " dB");
            CHECK(atCutoff == Approx(-3.0103).margin(1e-4));
        }
}

TEST_CASE("dcblock: the default removes DC and is flat above 20 Hz within 0.27 dB", "[nodes][dcblock]") {
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        CAPTURE(fs);
        const ParamValues defaults = Registry::builtin().find("dcblock")->defaults();
        // A full-scale DC step with a quiet tone on top: the residual DC after 2 s.
        const std::int64_t frames = std::int64_t(2.5 * fs);
        std::vector<float> x = sine(1000, 0.001, fs, frames);
        for (float& v : x) v += 1.0f;
        auto kernel = preparedKernel("dcblock", {fs, 512, detectSimdArch()}, {instanceOf("dcblock", defaults, 1)});
        const Lanes out = render(*kernel, {x}, 1, 512);
        double mean = 0;
        const std::int64_t from = frames - std::int64_t(fs / 2); // 0.5 s = 500 tone periods
        for (std::int64_t n = from; n < frames; ++n) mean += out[0][std::size_t(n)];
        mean /= double(frames - from);
        if (verbose()) std::printf("dcblock %g Hz: residual DC of a 1.0 step after 2 s: %.3g\n", fs, mean);
        INFO("mean of the output over the last 0.5 s: " << mean);
        CHECK(std::fabs(mean) < 1e-6);

        // Passband: above 20 Hz, between the formula's bound -10 log10(1 + (5/20)^2) = -0.263 dB and 0 dB.
        const std::vector<float> h = impulseResponse("dcblock", defaults, fs, std::int64_t(fs));
        double lowest = 0, highest = -1;
        for (double f : twelfthOctaves()) {
            const double db = toDb(std::abs(dft(h, f, fs)));
            lowest = std::min(lowest, db);
            highest = std::max(highest, db);
        }
        if (verbose()) std::printf("dcblock %g Hz: 20 Hz..20 kHz between %.4f and %.2g dB\n", fs, lowest, highest);
        INFO("20 Hz .. 20 kHz from " << lowest << " to " << highest << " dB");
        CHECK(lowest > -0.27);
        CHECK(highest < 1e-4);
        CHECK(toDb(std::abs(dft(h, 100, fs))) > -0.012);
    }
}

TEST_CASE("dcblock: the pole formula gives -3 dB at the cutoff, unity at Nyquist", "[nodes][dcblock]") {
    for (double fs : {44100.0, 96000.0})
        for (double fc : {2.0, 5.0, 150.0}) {
            const double r = dcblock::pole(fc, fs), g = (1 + r) / 2;
            const std::complex<double> z = std::polar(1.0, -2 * kPi * fc / fs);
            CHECK(std::norm(g * (1.0 - z) / (1.0 - r * z)) == Approx(0.5).epsilon(1e-12));
            CHECK(g * 2 / (1 + r) == Approx(1.0)); // z = -1
        }
}

TEST_CASE("dcblock: block splits, batching, SIMD architectures and in place give the same bits", "[nodes][dcblock]") {
    checkSplitsBatchingArchitectures("dcblock", 4,
                                     [](int i) {
                                         return paramsOf("dcblock", {{"freq", 1.0 + 30 * i}});
                                     },
                                     {{1001, 0, 0, 200}, {2500, 1, 0, 1}, {2510, 1, 0, 100}, {7777, 3, 0, 7}});
}

TEST_CASE("dcblock: the declared tail covers the decay to -120 dB", "[nodes][dcblock]") {
    const NodeType* type = Registry::builtin().find("dcblock");
    REQUIRE(type != nullptr);
    for (double fc : {5.0, 50.0}) {
        const ParamValues p = paramsOf("dcblock", {{"freq", fc}});
        const double tailFrames = type->tailSeconds(p, 48000) * 48000;
        CAPTURE(fc, tailFrames);
        REQUIRE(tailFrames > 0);
        const std::vector<float> h = impulseResponse("dcblock", p, 48000, std::int64_t(tailFrames) + 48000);
        double late = 0;
        for (std::size_t n = std::size_t(tailFrames); n < h.size(); ++n) late = std::max(late, double(std::fabs(h[n])));
        CHECK(late < 1e-6);
    }
}
