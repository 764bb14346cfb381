// noise, sine, sweep: sources with no input, compiled and run as graphs (no external inputs).
// noise: RMS against the level, white flat (equal-width bands equal), pink equal energy per
// octave, seeds and channels; sine: samples against A sin(2 pi f n / rate); sweep: instantaneous
// frequency from zero crossings against f1 e^(t/L), silence after the duration. Every render is
// bit-identical across host block sizes and rates 44.1, 48, 96 kHz.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/TestSupport.h"
#include "tests/nodes/SpectrumTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <random>
#include <string>

using namespace sg;
using namespace sg::test;

namespace {

/// Renders a graph with one source node `spec` straight to output `out` at `rate`.
std::vector<std::vector<float>> renderSource(const std::string& spec, int channels, double rate, std::int64_t frames,
                                             int block = 512) {
    const std::string yaml = "stagegraph: 1\noutputs: {out: {channels: " + std::to_string(channels) +
                             "}}\nnodes:\n  src: " + spec + "\nconnections: [\"src -> out\"]\n";
    Diagnostics diags;
    CompileOptions options;
    options.sampleRate = rate;
    auto program = compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    std::vector<Planar> out = renderFixed(program->executor(), {}, frames, block);
    REQUIRE(out.size() == 1);
    return out[0];
}

/// Bit-identical across host blocks 1, 7, 64, 512, 4096 and a random split.
void checkBlockIndependence(const std::string& spec, int channels, double rate, std::int64_t frames) {
    const std::string yaml = "stagegraph: 1\noutputs: {out: {channels: " + std::to_string(channels) +
                             "}}\nnodes:\n  src: " + spec + "\nconnections: [\"src -> out\"]\n";
    std::vector<Planar> reference;
    for (int block : {1, 7, 64, 512, 4096, 0}) {
        Diagnostics diags;
        CompileOptions options;
        options.sampleRate = rate;
        options.maxBlockFrames = 4096;
        auto program = compileYaml(yaml, diags, options);
        REQUIRE(program);
        std::mt19937 rng(3);
        std::uniform_int_distribution<int> size(1, 5000);
        const std::vector<Planar> out = block > 0 ? renderFixed(program->executor(), {}, frames, block)
                                                  : renderBlocks(program->executor(), {}, frames, [&] { return size(rng); });
        if (reference.empty()) {
            reference = out;
            continue;
        }
        std::string where;
        INFO(spec << " at " << rate << " Hz, block " << block << ": " << where);
        CHECK(bitIdentical(reference, out, &where));
    }
}

std::vector<double> toDouble(const std::vector<float>& x) { return {x.begin(), x.end()}; }

double rmsDb(const std::vector<float>& x) {
    double sum = 0;
    for (float v : x) sum += double(v) * v;
    return 10 * std::log10(sum / double(x.size()));
}

} // namespace

TEST_CASE("sources: no input ports; channels from the parameter", "[nodes][noise][sine][sweep]") {
    for (const char* name : {"noise", "sine", "sweep"}) {
        const NodeType* t = Registry::builtin().find(name);
        REQUIRE(t != nullptr);
        CHECK(t->info().inputs.empty());
        CHECK(t->info().family == "sources");
        std::vector<int> outputs;
        ParamValues p = t->defaults();
        p[std::size_t(t->paramIndex("channels"))] = 3;
        CHECK(t->resolveChannels(p, {}, outputs) == "");
        CHECK(outputs == std::vector<int>{3});
        for (const ParamInfo& info : t->info().params) CHECK_FALSE(info.description.empty());
    }
}

TEST_CASE("noise: white is flat at its RMS level, channels and seeds independent", "[nodes][noise]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const auto y = renderSource("{type: noise, color: 0, level: -12 dB, channels: 2, seed: 5}", 2, rate, 1 << 20);
        for (const auto& channel : y) {
            CHECK(rmsDb(channel) == Approx(-12).margin(0.05));
            float peak = 0;
            for (float v : channel) peak = std::max(peak, std::abs(v));
            CHECK(peak <= float(std::sqrt(3.0) * std::pow(10.0, -12 / 20.0)) * 1.0001f);
            const std::vector<double> psd = spectrum::welch(toDouble(channel), 4096);
            const double total = spectrum::bandPower(psd, rate, 0, rate);
            for (int b = 0; b < 8; ++b) {
                const double share = spectrum::bandPower(psd, rate, rate / 16 * b, rate / 16 * (b + 1)) / total;
                INFO("rate " << rate << " band " << b << ": " << 10 * std::log10(share * 8) << " dB from flat");
                CHECK(std::abs(10 * std::log10(share * 8)) < 0.2);
            }
        }
        CHECK(std::abs(spectrum::correlation(toDouble(y[0]), toDouble(y[1]))) < 0.01);
        const auto other = renderSource("{type: noise, color: 0, level: -12 dB, channels: 2, seed: 6}", 2, rate, 1 << 12);
        const auto same = renderSource("{type: noise, color: 0, level: -12 dB, channels: 2, seed: 5}", 2, rate, 1 << 12);
        CHECK(bitIdentical({same}, {{std::vector<float>(y[0].begin(), y[0].begin() + (1 << 12)),
                                     std::vector<float>(y[1].begin(), y[1].begin() + (1 << 12))}}));
        CHECK_FALSE(bitIdentical({same}, {other}));
    }
}

TEST_CASE("noise: pink has equal energy per octave at its RMS level", "[nodes][noise]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const auto y = renderSource("{type: noise, color: 1, level: -20 dB}", 1, rate, 1 << 21);
        CHECK(rmsDb(y[0]) == Approx(-20).margin(0.1));
        const std::vector<double> psd = spectrum::welch(toDouble(y[0]), 1 << 15);
        // Octaves centred on 63 Hz .. 16 kHz (edges fc / sqrt 2, fc sqrt 2), ISO 266 nominal centres as 1000 * 2^k.
        std::vector<double> bandsDb;
        for (int k = -4; k <= 4; ++k) {
            const double centre = 1000 * std::pow(2.0, k);
            bandsDb.push_back(
                10 * std::log10(spectrum::bandPower(psd, rate, centre / std::numbers::sqrt2, centre * std::numbers::sqrt2)));
        }
        double meanDb = 0;
        for (double b : bandsDb) meanDb += b / double(bandsDb.size());
        for (std::size_t k = 0; k < bandsDb.size(); ++k) {
            INFO("rate " << rate << " octave " << 1000 * std::pow(2.0, int(k) - 4) << " Hz: " << bandsDb[k] - meanDb
                         << " dB from the mean");
            CHECK(std::abs(bandsDb[k] - meanDb) < 0.5);
        }
    }
}

TEST_CASE("sine: samples follow A sin(2 pi f n / rate), up to near Nyquist", "[nodes][sine]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (double f : {1.0, 997.0, 0.45 * rate}) {
            const std::int64_t frames = std::int64_t(rate) * 3;
            const auto y =
                renderSource("{type: sine, freq: " + std::to_string(f) + " Hz, level: 0 dB, channels: 2}", 2, rate, frames);
            double worst = 0;
            for (std::int64_t n = 0; n < frames; ++n) {
                const double want = std::sin(2 * std::numbers::pi * std::fmod(f * double(n) / rate, 1.0));
                worst = std::max(worst, std::abs(double(y[0][std::size_t(n)]) - want));
            }
            INFO("rate " << rate << " f " << f << ": worst sample error " << worst);
            CHECK(worst < 2e-6);
            CHECK(y[0] == y[1]);
        }
    const auto quiet = renderSource("{type: sine, freq: 1 kHz, level: -20 dB}", 1, 48000, 48000);
    CHECK(rmsDb(quiet[0]) == Approx(-20 - 10 * std::log10(2.0)).margin(0.001));
}

TEST_CASE("sweep: instantaneous frequency f1 e^(t/L) from zero crossings; silence after the duration", "[nodes][sweep]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const double f1 = 20, f2 = 20000, seconds = 2;
        const auto length = std::int64_t(std::llround(seconds * rate));
        const auto y =
            renderSource("{type: sweep, start: 20 Hz, end: 20 kHz, duration: 2 s, level: -6 dB}", 1, rate, length + 1000);
        const std::vector<float>& x = y[0];
        const double L = seconds / std::log(f2 / f1);
        // Zero crossings by linear interpolation; half a period between successive ones.
        std::vector<double> crossings;
        for (std::int64_t n = 1; n < length; ++n) {
            const double a = x[std::size_t(n - 1)], b = x[std::size_t(n)];
            if ((a < 0) != (b < 0) && a != b) crossings.push_back(double(n - 1) + a / (a - b));
        }
        double worst = 0;
        int checked = 0;
        for (std::size_t k = 1; k + 1 < crossings.size(); ++k) {
            const double t = crossings[k] / rate;
            const double want = f1 * std::exp(t / L);
            if (want > 0.1 * rate) break; // linear interpolation of zero crossings is exact enough below rate / 10
            const double measured = rate / (crossings[k + 1] - crossings[k - 1]); // a full period around crossing k
            worst = std::max(worst, std::abs(measured / want - 1));
            ++checked;
        }
        INFO("rate " << rate << ": " << checked << " crossings, worst relative frequency error " << worst);
        CHECK(checked > 1000);
        CHECK(worst < 2e-3);
        float peak = 0;
        for (std::int64_t n = 0; n < length; ++n) peak = std::max(peak, std::abs(x[std::size_t(n)]));
        CHECK(peak == Approx(std::pow(10.0, -6 / 20.0)).epsilon(1e-3));
        bool silentAfter = true;
        for (std::size_t n = std::size_t(length); n < x.size(); ++n) silentAfter = silentAfter && x[n] == 0.0f;
        CHECK(silentAfter);
    }
}

TEST_CASE("sources: bit-identical for every host block split at 44.1, 48 and 96 kHz", "[nodes][noise][sine][sweep]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        checkBlockIndependence("{type: noise, color: 1, channels: 2}", 2, rate, 20000);
        checkBlockIndependence("{type: noise, color: 0}", 1, rate, 20000);
        checkBlockIndependence("{type: sine, freq: 5 kHz}", 1, rate, 20000);
        checkBlockIndependence("{type: sweep, duration: 300 ms, channels: 2}", 2, rate, 20000);
    }
}
