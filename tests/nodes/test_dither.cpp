// dither: output on the bits-bit grid; TPDF error statistics (mean 0, variance LSB^2/4,
// uncorrelated with the signal); a -100 dBFS tone survives dithered 16-bit quantisation and is
// lost without dither; the noise-shaped error spectrum follows |NTF|^2 band by band; seeds,
// block splits and batching.
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"
#include "tests/nodes/SpectrumTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>

using namespace sg;
using namespace sg::nodetest;

namespace {

Lanes runDither(const Lanes& input, double rate, std::initializer_list<std::pair<const char*, double>> params,
                const std::vector<int>& blocks = {4096}) {
    auto kernel = preparedKernel("dither", {rate, 4096, detectSimdArch()},
                                 {instanceOf("dither", paramsOf("dither", params), int(input.size()))});
    RenderPlan plan;
    plan.blockSizes = blocks;
    return render(*kernel, input, int(input.size()), 4096, plan);
}

/// The total error S (y - x) in LSB.
std::vector<double> errorLsb(const std::vector<float>& x, const std::vector<float>& y, int bits) {
    const double scale = std::ldexp(1.0, bits - 1);
    std::vector<double> e(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) e[n] = scale * double(y[n]) - scale * double(x[n]);
    return e;
}

/// Hostile material: clipped noise at +20 dB, a full-scale square, a near-Nyquist tone.
std::vector<std::vector<float>> hostileSignals(double rate, std::int64_t frames) {
    std::vector<float> clipped = test::noise(frames, 10.0f, 3);
    std::vector<float> square(std::size_t(frames), 0.0f);
    for (float& v : clipped) v = std::clamp(v, -1.0f, 1.0f);
    for (std::int64_t n = 0; n < frames; ++n) square[std::size_t(n)] = (n / 37) % 2 ? 1.0f : -1.0f;
    const std::vector<float> tone = test::sine(0.49 * rate, 0.999, rate, frames);
    return {clipped, square, tone};
}

} // namespace

TEST_CASE("dither: declaration", "[nodes][dither]") {
    const NodeType* t = Registry::builtin().find("dither");
    REQUIRE(t != nullptr);
    CHECK(t->info().batchable);
    CHECK(t->latencyFrames(t->defaults(), 48000) == 0);
    CHECK(t->tailSeconds(t->defaults(), 48000) == 0);
    for (const ParamInfo& p : t->info().params) CHECK_FALSE(p.description.empty());
}

TEST_CASE("dither: every output lies on the bits-bit grid, within range, for hostile input", "[nodes][dither]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (int bits : {16, 24})
            for (int mode : {0, 1, 2, 3}) {
                const double scale = std::ldexp(1.0, bits - 1);
                for (const auto& signal : hostileSignals(rate, 20000)) {
                    const Lanes y = runDither({signal}, rate, {{"bits", bits}, {"mode", mode}});
                    std::int64_t offGrid = 0, outOfRange = 0;
                    for (float v : y[0]) {
                        const double k = double(v) * scale;
                        offGrid += k != std::floor(k);
                        outOfRange += k < -scale || k > scale - 1;
                    }
                    INFO("rate " << rate << " bits " << bits << " mode " << mode);
                    CHECK(offGrid == 0);
                    CHECK(outOfRange == 0);
                }
            }
}

TEST_CASE("dither: TPDF total error has mean 0 and variance LSB^2/4 and is uncorrelated with the signal", "[nodes][dither]") {
    constexpr std::int64_t kFrames = 1 << 20;
    const double bound = 5.0 / std::sqrt(double(kFrames)); // 5 standard errors
    for (int bits : {16, 24}) {
        // A loud signal (noise at -6 dBFS) and a quiet one (a tone of 3 LSB): the error must not depend on either.
        const std::vector<float> loud = test::noise(kFrames, 0.5f, 21);
        const std::vector<float> quiet = test::sine(997, 3.0 / std::ldexp(1.0, bits - 1), 48000, kFrames);
        for (const auto* x : {&loud, &quiet}) {
            const Lanes y = runDither({*x}, 48000, {{"bits", bits}, {"mode", 1}, {"seed", 99}});
            const std::vector<double> e = errorLsb(*x, y[0], bits);
            std::vector<double> signal(x->begin(), x->end());
            INFO("bits " << bits << (x == &loud ? " loud" : " quiet") << ": mean " << spectrum::mean(e) << " variance "
                         << spectrum::variance(e) << " correlation " << spectrum::correlation(e, signal));
            CHECK(std::abs(spectrum::mean(e)) < 0.5 * bound);           // sigma = 0.5 LSB
            CHECK(spectrum::variance(e) == Approx(0.25).epsilon(0.01)); // 1/6 + 1/12
            CHECK(std::abs(spectrum::correlation(e, signal)) < bound);
            double lowest = 0, highest = 0;
            for (double v : e) lowest = std::min(lowest, v), highest = std::max(highest, v);
            CHECK(lowest >= -1.5); // |d| <= 1 plus the rounding's half LSB
            CHECK(highest <= 1.5);
        }
    }
}

TEST_CASE("dither: a -100 dBFS tone survives dithered 16-bit quantisation and is lost without dither", "[nodes][dither]") {
    for (double rate : {44100.0, 48000.0}) {
        const double f = 1000, amplitude = 1e-5;             // -100 dBFS = 0.33 LSB at 16 bits
        const std::int64_t frames = std::int64_t(rate) * 20; // whole cycles
        const std::vector<float> x = test::sine(f, amplitude, rate, frames);
        auto measured = [&](const std::vector<float>& y) { // amplitude at f by correlation (DFT bin)
            double c = 0, s = 0;
            for (std::int64_t n = 0; n < frames; ++n) {
                const double phase = 2 * std::numbers::pi * f * double(n) / rate;
                c += y[std::size_t(n)] * std::cos(phase);
                s += y[std::size_t(n)] * std::sin(phase);
            }
            return 2.0 / double(frames) * std::hypot(c, s);
        };
        const Lanes plain = runDither({x}, rate, {{"bits", 16}, {"mode", 0}});
        const Lanes dithered = runDither({x}, rate, {{"bits", 16}, {"mode", 1}});
        INFO("rate " << rate << ": undithered " << measured(plain[0]) << ", dithered " << measured(dithered[0]));
        CHECK(measured(plain[0]) == 0.0); // every sample rounds to 0
        CHECK(measured(dithered[0]) == Approx(amplitude).epsilon(0.03));
    }
}

TEST_CASE("dither: the noise-shaped error spectrum follows |NTF|^2 band by band", "[nodes][dither]") {
    constexpr std::int64_t kFrames = 1 << 20;
    constexpr int kBands = 8;
    // (1/pi) integral of |NTF(w)|^2 over [w1, w2), times sigma^2 = 1/4: the one-sided band power.
    auto expected = [](int mode, double w1, double w2) {
        double integral = w2 - w1;
        if (mode == 2) integral = 2 * (w2 - w1) - 2 * (std::sin(w2) - std::sin(w1));
        if (mode == 3) integral = 6 * (w2 - w1) - 8 * (std::sin(w2) - std::sin(w1)) + (std::sin(2 * w2) - std::sin(2 * w1));
        return 0.25 * integral / std::numbers::pi;
    };
    for (double rate : {44100.0, 96000.0})
        for (int mode : {1, 2, 3}) {
            const std::vector<float> x = test::noise(kFrames, 0.3f, 5);
            const Lanes y = runDither({x}, rate, {{"bits", 16}, {"mode", mode}});
            const std::vector<double> e = errorLsb(x, y[0], 16);
            const std::vector<double> psd = spectrum::welch(e, 4096);
            CHECK(spectrum::variance(e) == Approx(expected(mode, 0, std::numbers::pi)).epsilon(0.02));
            for (int b = 0; b < kBands; ++b) {
                const double lowHz = rate / 2 * b / kBands, highHz = rate / 2 * (b + 1) / kBands;
                const double measuredDb = 10 * std::log10(spectrum::bandPower(psd, rate, lowHz, highHz));
                const double expectedDb =
                    10 * std::log10(expected(mode, std::numbers::pi * b / kBands, std::numbers::pi * (b + 1) / kBands));
                INFO("rate " << rate << " mode " << mode << " band " << b << ": measured " << measuredDb << " dB, |NTF|^2 "
                             << expectedDb << " dB");
                CHECK(std::abs(measuredDb - expectedDb) < (b == 0 ? 1.0 : 0.3));
            }
        }
}

TEST_CASE("dither: seeded, per-channel, block-size and batching independent", "[nodes][dither]") {
    constexpr std::int64_t kFrames = 30000;
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const Lanes x = noiseLanes(2, kFrames, 8, 0.7f);
        for (int mode : {1, 3}) {
            const Lanes reference = runDither(x, rate, {{"mode", mode}, {"seed", 7}});
            for (const auto& blocks : splitPlans(4096))
                CHECK(sameBits(runDither(x, rate, {{"mode", mode}, {"seed", 7}}, blocks), reference));
            CHECK_FALSE(sameBits(runDither(x, rate, {{"mode", mode}, {"seed", 8}}), reference));
            // Two channels have independent dither.
            const Lanes same = runDither({x[0], x[0]}, rate, {{"mode", mode}, {"seed", 7}});
            const std::vector<double> e0 = errorLsb(x[0], same[0], 16), e1 = errorLsb(x[0], same[1], 16);
            CHECK(std::abs(spectrum::correlation(e0, e1)) < 0.05);
            // Batched: a mono and a stereo instance in one kernel give what each gives alone.
            const ParamValues p = paramsOf("dither", {{"mode", mode}, {"seed", 7}});
            auto batched =
                preparedKernel("dither", {rate, 512, detectSimdArch()}, {instanceOf("dither", p, 1), instanceOf("dither", p, 2)});
            const Lanes all = render(*batched, {x[1], x[0], x[1]}, 3, 512);
            const Lanes mono = runDither({x[1]}, rate, {{"mode", mode}, {"seed", 7}});
            CHECK(sameBits({all[0]}, mono));
            CHECK(sameBits({all[1], all[2]}, reference));
        }
    }
}
