// Crossover: impulse responses of rendered graphs against the analytic Linkwitz-Riley responses
// (the analog prototypes under the prewarped bilinear transform, computed here), the summed
// bands against a flat all-pass, block-split, batching and SIMD independence, the frequency
// order check at the value's position, silence on unused outputs, hostile material against an
// all-pass chain of biquad nodes, and the declared tail.
#include "core/Executor.h"
#include "nodes/filters/Crossover.h"
#include "support/TestSupport.h"
#include "tests/nodes/FilterMeasure.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using namespace sg;
using namespace sg::test;
using namespace sg::filtertest;

namespace {

using Complex = std::complex<double>;
constexpr double kSqrt2 = 1.41421356237309504880;

struct Config {
    int bands;
    std::vector<double> freqs; ///< bands - 1 crossover frequencies, ascending
};

const std::vector<Config>& configs() {
    static const std::vector<Config> list{
        {2, {1000}},
        {3, {200, 2000}},
        {4, {120, 1000, 5000}},
        {6, {60, 250, 1000, 4000, 12000}},
    };
    return list;
}

bool verbose() { return std::getenv("STAGEGRAPH_PRINT_MEASURES") != nullptr; }

std::string hz(double f) {
    char text[32];
    std::snprintf(text, sizeof text, "%g Hz", f);
    return text;
}

/// A graph: in -> xo; each band to its own output bK and all of them into a gain bus -> sum.
std::string crossoverYaml(const Config& c, int channels) {
    const std::string ch = std::to_string(channels);
    std::string y = "stagegraph: 1\ninputs:\n  in: {channels: " + ch + "}\noutputs:\n  sum: {channels: " + ch + "}\n";
    for (int b = 1; b <= 6; ++b) y += "  b" + std::to_string(b) + ": {channels: " + ch + "}\n";
    y += "nodes:\n  xo: {type: crossover, bands: " + std::to_string(c.bands);
    for (std::size_t k = 0; k < c.freqs.size(); ++k) y += ", freq" + std::to_string(k + 1) + ": " + hz(c.freqs[k]);
    y += "}\n  bus: {type: gain}\nconnections:\n  - in -> xo\n  - bus -> sum\n";
    for (int b = 1; b <= 6; ++b) {
        y += "  - xo.band" + std::to_string(b) + " -> b" + std::to_string(b) + "\n";
        if (b <= c.bands) y += "  - xo.band" + std::to_string(b) + " -> bus\n";
    }
    return y;
}

// Analog Linkwitz-Riley 4 prototypes at s (Butterworth sections squared), and their all-pass.
Complex lowpass(Complex s) { return 1.0 / ((s * s + kSqrt2 * s + 1.0) * (s * s + kSqrt2 * s + 1.0)); }
Complex highpass(Complex s) { return (s * s * s * s) / ((s * s + kSqrt2 * s + 1.0) * (s * s + kSqrt2 * s + 1.0)); }
Complex allpass(Complex s) { return (s * s - kSqrt2 * s + 1.0) / (s * s + kSqrt2 * s + 1.0); }

/// Band b (1-based) of the crossover at frequency f: LP_b HP_1..HP_(b-1) AP_(b+1)..AP_(N-1).
Complex bandResponse(const Config& c, int b, double f, double fs) {
    Complex h = 1;
    for (int k = 1; k < c.bands; ++k) {
        const Complex s = prototypeS(f, c.freqs[std::size_t(k - 1)], fs);
        if (k < b)
            h *= highpass(s);
        else if (k == b)
            h *= lowpass(s);
        else
            h *= allpass(s);
    }
    return h;
}
Complex sumResponse(const Config& c, double f, double fs) {
    Complex h = 1;
    for (int k = 1; k < c.bands; ++k) h *= allpass(prototypeS(f, c.freqs[std::size_t(k - 1)], fs));
    return h;
}

constexpr std::int64_t kImpulseFrames = 1 << 16;

} // namespace

TEST_CASE("crossover: the bands sum to an all-pass, flat within 0.01 dB from 20 Hz to 20 kHz", "[nodes][crossover]") {
    for (double fs : {44100.0, 48000.0, 96000.0})
        for (const Config& c : configs()) {
            CAPTURE(fs, c.bands);
            const auto out = renderYaml(crossoverYaml(c, 1), fs, {impulse(kImpulseFrames)});
            double worstDb = 0, worstComplex = 0;
            for (double f : twelfthOctaves()) {
                const Complex h = dft(out[0][0], f, fs);
                worstDb = std::max(worstDb, std::fabs(toDb(std::abs(h))));
                worstComplex = std::max(worstComplex, std::abs(h - sumResponse(c, f, fs)));
            }
            if (verbose())
                std::printf("crossover sum %d bands %g Hz: max |dB| %.3g, max |H - AP| %.3g\n", c.bands, fs, worstDb,
                            worstComplex);
            INFO("largest deviation of |sum| from 0 dB: " << worstDb << " dB");
            CHECK(worstDb < 0.01);
            INFO("largest |H_sum - AP_1..AP_(N-1)| (phase too): " << worstComplex);
            CHECK(worstComplex < 1e-6);
        }
}

TEST_CASE("crossover: each band matches the analytic Linkwitz-Riley response", "[nodes][crossover]") {
    for (double fs : {44100.0, 48000.0, 96000.0})
        for (const Config& c : configs()) {
            CAPTURE(fs, c.bands);
            const auto out = renderYaml(crossoverYaml(c, 1), fs, {impulse(kImpulseFrames)});
            double worstDb = 0, worstComplex = 0;
            for (int b = 1; b <= c.bands; ++b) {
                const std::vector<float>& h = out[std::size_t(b)][0];
                std::vector<double> points = twelfthOctaves();
                points.insert(points.end(), c.freqs.begin(), c.freqs.end());
                for (double f : points) {
                    const Complex measured = dft(h, f, fs), expected = bandResponse(c, b, f, fs);
                    worstComplex = std::max(worstComplex, std::abs(measured - expected));
                    if (std::abs(expected) > 1e-3) // above -60 dB: compare in dB
                        worstDb = std::max(worstDb, std::fabs(toDb(std::abs(measured)) - toDb(std::abs(expected))));
                }
            }
            if (verbose())
                std::printf("crossover bands %d at %g Hz: max dB error (> -60 dB) %.3g, max complex error %.3g\n", c.bands, fs,
                            worstDb, worstComplex);
            INFO("largest band magnitude error above -60 dB: " << worstDb << " dB");
            CHECK(worstDb < 0.001);
            INFO("largest complex error of a band: " << worstComplex);
            CHECK(worstComplex < 1e-6);
        }
}

TEST_CASE("crossover: two bands are -6.02 dB at the crossover with 24 dB/oct skirts", "[nodes][crossover]") {
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        CAPTURE(fs);
        const Config c{2, {500}};
        const auto out = renderYaml(crossoverYaml(c, 1), fs, {impulse(kImpulseFrames)});
        const std::vector<float>&low = out[1][0], &high = out[2][0];
        INFO("both bands at the crossover: 20 log10(1/2)");
        CHECK(toDb(std::abs(dft(low, 500, fs))) == Approx(-6.0206).margin(0.001));
        CHECK(toDb(std::abs(dft(high, 500, fs))) == Approx(-6.0206).margin(0.001));
        // Far from the crossover (and from Nyquist) an octave is 24 dB: 8 vs 16 times the crossover
        // for the low band, 1/8 vs 1/16 for the high band (analog: 20 log10((1 + 16^4)/(1 + 8^4)) = 24.08).
        const double lowOctave = toDb(std::abs(dft(low, 4000, fs))) - toDb(std::abs(dft(low, 8000, fs)));
        const double highOctave = toDb(std::abs(dft(high, 500.0 / 8, fs))) - toDb(std::abs(dft(high, 500.0 / 16, fs)));
        INFO("low band 4 -> 8 kHz: " << lowOctave << " dB, high band 62.5 -> 31.25 Hz: " << highOctave << " dB");
        CHECK(highOctave == Approx(24.08).margin(0.05));
        CHECK(lowOctave > 24.0); // the bilinear warp only steepens the low band's skirt towards Nyquist
        CHECK(lowOctave ==
              Approx(toDb(std::abs(lowpass(prototypeS(4000, 500, fs)) / lowpass(prototypeS(8000, 500, fs))))).margin(0.01));
    }
}

TEST_CASE("crossover: outputs beyond `bands` carry exact silence", "[nodes][crossover]") {
    const Config c{3, {300, 3000}};
    const auto out = renderYaml(crossoverYaml(c, 2), 48000, {noise(9000, 1.0f, 3), noise(9000, 1.0f, 4)});
    for (int b = 4; b <= 6; ++b)
        for (const auto& lane : out[std::size_t(b)])
            for (float v : lane) REQUIRE(v == 0.0f);
}

TEST_CASE("crossover: block splits, with frequency changes while running: the same bits", "[nodes][crossover]") {
    const Config c{4, {150, 1500, 7000}};
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        CAPTURE(fs);
        const std::int64_t frames = 20000;
        // Clipped noise driven +20 dB and a near-Nyquist tone.
        Planar input{noise(frames, 10.0f, 11), sine(0.47 * fs, 1.0, fs, frames)};
        for (float& v : input[0]) v = std::clamp(v, -1.0f, 1.0f);
        auto render = [&](const std::function<int()>& nextBlock) {
            Diagnostics diags;
            CompileOptions options;
            options.sampleRate = fs;
            auto program = compileYaml(crossoverYaml(c, 2), diags, options);
            INFO(diags.formatAll());
            REQUIRE(program);
            Executor& ex = program->executor();
            std::string error;
            const int f1 = ex.findParam("xo", "freq1", error), f2 = ex.findParam("xo", "freq2", error);
            REQUIRE(f1 >= 0);
            REQUIRE(f2 >= 0);
            ex.setParam(f1, 400, 3001); // a 20 ms glide from frame 3001
            ex.setParam(f2, 900, 3500); // overlapping, to below the old freq2
            ex.setParam(f1, 80, 12345); // and back down
            return renderBlocks(ex, {input}, frames, nextBlock);
        };
        const auto reference = render([] { return 4096; });
        for (int block : {1, 7, 64, 512}) {
            CAPTURE(block);
            std::string where;
            CHECK(bitIdentical(render([block] { return block; }), reference, &where));
            INFO(where);
        }
        std::mt19937 rng(5);
        std::uniform_int_distribution<int> size(1, 1500);
        std::string where;
        CHECK(bitIdentical(render([&] { return size(rng); }), reference, &where));
        INFO(where);
    }
}

TEST_CASE("crossover: batched and unbatched, on every SIMD architecture: the same bits", "[nodes][crossover]") {
    // Three crossovers on different inputs and lane counts share one kernel call when batched.
    const std::string yaml = "stagegraph: 1\ninputs:\n  a: {channels: 1}\n  b: {channels: 2}\n  c: {channels: 1}\n"
                             "outputs:\n  oa: {channels: 1}\n  ob: {channels: 2}\n  oc: {channels: 1}\nnodes:\n"
                             "  xa: {type: crossover, bands: 3, freq1: 100 Hz, freq2: 1 kHz}\n"
                             "  xb: {type: crossover, bands: 3, freq1: 250 Hz, freq2: 4 kHz}\n"
                             "  xc: {type: crossover, bands: 3, freq1: 2 kHz, freq2: 19 kHz}\n"
                             "  ga: {type: gain, gain: -3 dB}\n"
                             "connections:\n  - a -> xa\n  - b -> xb\n  - c -> xc\n"
                             "  - xa.band1 -> oa\n  - xa.band3 -> ga -> oa\n  - xb.band2 -> ob\n  - xb.band3 -> ob\n"
                             "  - xc.band3 -> oc\n  - xc.band1 -> oc\n";
    const std::int64_t frames = 6000;
    const std::vector<Planar> inputs{
        {noise(frames, 1.0f, 1)}, {noise(frames, 1.0f, 2), noise(frames, 1.0f, 3)}, {sine(21000, 1.0, 48000, frames)}};
    std::vector<Planar> reference;
    for (SimdArch arch : nodetest::availableArchs())
        for (bool batch : {false, true}) {
            CAPTURE(int(arch), batch);
            Diagnostics diags;
            CompileOptions options;
            options.batch = batch;
            options.simd = arch;
            auto program = compileYaml(yaml, diags, options);
            INFO(diags.formatAll());
            REQUIRE(program);
            int crossoverSteps = 0;
            for (const auto& step : program->schedule().steps)
                crossoverSteps += program->schedule().nodes[std::size_t(step.nodes[0])].type == "crossover";
            CHECK(crossoverSteps == (batch ? 1 : 3));
            const auto out = renderFixed(program->executor(), inputs, frames, 256);
            if (reference.empty()) reference = out;
            std::string where;
            CHECK(bitIdentical(out, reference, &where));
            INFO(where);
        }
}

TEST_CASE("crossover: frequencies out of order are a graph error at the value", "[nodes][crossover]") {
    const std::string yaml = "stagegraph: 1\ninputs:\n  in: {channels: 1}\noutputs:\n  out: {channels: 1}\nnodes:\n"
                             "  xo: {type: crossover, bands: 4, freq1: 200 Hz, freq2: 2 kHz, freq3: 1 kHz}\n"
                             "connections:\n  - in -> xo.in\n  - xo.band1 -> out\n";
    Diagnostics diags;
    auto program = compileYaml(yaml, diags);
    CHECK_FALSE(program);
    REQUIRE(diags.errorCount() == 1);
    const Diagnostic& d = diags.all()[0];
    INFO(d.format());
    CHECK(d.mark.line == 7);
    CHECK(d.mark.column == int(std::string("  xo: {type: crossover, bands: 4, freq1: 200 Hz, freq2: 2 kHz, freq3: ").size()) + 1);
    CHECK(d.message.find("freq3: must be above freq2 (2000 Hz), got 1000 Hz") != std::string::npos);

    // Frequencies of unused crossovers are not checked: bands 3 ignores freq3.
    Diagnostics ok;
    CHECK(compileYaml("stagegraph: 1\ninputs:\n  in: {channels: 1}\noutputs:\n  out: {channels: 1}\nnodes:\n"
                      "  xo: {type: crossover, bands: 3, freq1: 200 Hz, freq2: 2 kHz, freq3: 1 kHz}\n"
                      "connections:\n  - in -> xo\n  - xo.band3 -> out\n",
                      ok));
    INFO(ok.formatAll());
    CHECK_FALSE(ok.hasErrors());
    // Equal frequencies are out of order too.
    Diagnostics equal;
    CHECK_FALSE(compileYaml("stagegraph: 1\ninputs:\n  in: {channels: 1}\noutputs:\n  out: {channels: 1}\nnodes:\n"
                            "  xo: {type: crossover, bands: 3, freq1: 2 kHz, freq2: 2 kHz}\n"
                            "connections:\n  - in -> xo\n  - xo.band3 -> out\n",
                            equal));
    CHECK(equal.errorCount() == 1);
}

TEST_CASE("crossover: hostile material stays finite and sums to the all-pass chain of allpass nodes", "[nodes][crossover]") {
    // The oracle is a different node: three cookbook `allpass` biquads (q 0.7071) in series.
    for (double fs : {44100.0, 96000.0}) {
        CAPTURE(fs);
        const std::int64_t frames = 30000;
        std::vector<float> square(std::size_t(frames), 0.0f);
        std::vector<float> hot = noise(frames, 10.0f, 8);
        for (std::int64_t n = 0; n < frames; ++n) square[std::size_t(n)] = (n / 37) % 2 ? 1.0f : -1.0f;
        for (float& v : hot) v = std::clamp(v, -1.0f, 1.0f) * 10.0f; // clipped noise, +20 dB
        const Planar input{square, sine(0.495 * fs, 10.0, fs, frames), hot};
        const std::string yaml = "stagegraph: 1\ninputs:\n  in: {channels: 3}\noutputs:\n  sum: {channels: 3}\n"
                                 "  chain: {channels: 3}\n  b1: {channels: 3}\n  b4: {channels: 3}\nnodes:\n"
                                 "  xo: {type: crossover, bands: 4, freq1: 20 Hz, freq2: 9 kHz, freq3: 20 kHz}\n"
                                 "  bus: {type: gain}\n"
                                 "  ap1: {type: allpass, freq: 20 Hz, q: 0.70710678118654752}\n"
                                 "  ap2: {type: allpass, freq: 9 kHz, q: 0.70710678118654752}\n"
                                 "  ap3: {type: allpass, freq: 20 kHz, q: 0.70710678118654752}\n"
                                 "connections:\n  - in -> xo\n  - xo.band1 -> bus\n  - xo.band2 -> bus\n  - xo.band3 -> bus\n"
                                 "  - xo.band4 -> bus -> sum\n  - in -> ap1 -> ap2 -> ap3 -> chain\n"
                                 "  - xo.band1 -> b1\n  - xo.band4 -> b4\n";
        const auto out = renderYaml(yaml, fs, input, 333);
        double worst = 0, peak = 0;
        bool finite = true;
        for (std::size_t o = 0; o < out.size(); ++o)
            for (const auto& lane : out[o])
                for (float v : lane) finite &= std::isfinite(v);
        for (std::size_t c = 0; c < 3; ++c)
            for (std::int64_t n = 0; n < frames; ++n) {
                peak = std::max(peak, double(std::fabs(out[1][c][std::size_t(n)])));
                worst = std::max(worst, double(std::fabs(out[0][c][std::size_t(n)] - out[1][c][std::size_t(n)])));
            }
        if (verbose()) std::printf("crossover hostile %g Hz: max |sum - allpass chain| %.3g (peak %.3g)\n", fs, worst, peak);
        CHECK(finite);
        INFO("largest |sum of bands - allpass chain|: " << worst << " (chain peak " << peak << ")");
        CHECK(worst < 1e-5 * peak);
    }
}

TEST_CASE("crossover: the declared tail covers the impulse response's decay to -120 dB", "[nodes][crossover]") {
    const NodeType* type = Registry::builtin().find("crossover");
    REQUIRE(type != nullptr);
    for (const Config& c : configs()) {
        CAPTURE(c.bands);
        ParamValues p = type->defaults();
        p[std::size_t(type->paramIndex("bands"))] = c.bands;
        for (std::size_t k = 0; k < c.freqs.size(); ++k)
            p[std::size_t(type->paramIndex("freq" + std::to_string(k + 1)))] = c.freqs[k];
        const double tailFrames = type->tailSeconds(p, 48000) * 48000;
        REQUIRE(tailFrames > 0);
        REQUIRE(tailFrames < double(kImpulseFrames));
        const auto out = renderYaml(crossoverYaml(c, 1), 48000, {impulse(kImpulseFrames)});
        double late = 0;
        for (int b = 1; b <= c.bands; ++b)
            for (std::size_t n = std::size_t(tailFrames); n < std::size_t(kImpulseFrames); ++n)
                late = std::max(late, double(std::fabs(out[std::size_t(b)][0][n])));
        INFO("largest |h| after the declared tail of " << tailFrames << " frames: " << late);
        CHECK(late < 1e-6);
    }
}
