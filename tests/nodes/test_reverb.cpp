// reverb: RT60 measured from the energy decay curve (Schroeder backward integration, T30
// extrapolated to 60 dB) against the decay parameter at 44.1, 48 and 96 kHz; high frequencies
// decay faster with damping; stable at the extremes under +20 dB drive; mono in gives
// decorrelated stereo out; pre-delay and tail against the declaration; width 0 is mono; block
// splits and batching.
#include "nodes/filters/BiquadDesign.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"
#include "tests/nodes/SpectrumTesting.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace sg;
using namespace sg::nodetest;

namespace {

Lanes runReverb(const Lanes& input, double rate, const ParamValues& params, const RenderPlan& plan = {}) {
    auto kernel = preparedKernel("reverb", {rate, 4096, detectSimdArch()}, {instanceOf("reverb", params, int(input.size()))});
    return render(*kernel, input, 2, 4096, plan);
}

std::vector<float> impulse(std::int64_t frames) {
    std::vector<float> x(std::size_t(frames), 0.0f);
    x[0] = 1.0f;
    return x;
}

std::vector<double> toDouble(const std::vector<float>& x) { return {x.begin(), x.end()}; }

/// `x` through a 4th-order Butterworth low- or high-pass at `freqHz`.
std::vector<double> filtered(const std::vector<double>& x, biquad::Shape shape, double freqHz, double rate) {
    biquad::Section sections[2];
    biquad::designSections(shape, 2, freqHz, 0.7071, 0, rate, sections);
    biquad::SectionState a, b;
    std::vector<double> y(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) y[n] = b.process(sections[1], a.process(sections[0], x[n]));
    return y;
}

void report(const char* what, double value) {
    if (std::getenv("STAGEGRAPH_PRINT_MEASURED")) std::printf("reverb: %s %.4f\n", what, value);
}

} // namespace

TEST_CASE("reverb: RT60 from the Schroeder decay curve (T30) is within 10 % of decay", "[nodes][reverb]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (double decayS : {0.3, 1.0, 2.5}) {
            const ParamValues p = paramsOf("reverb", {{"decay", decayS * 1000}, {"damping", 1}, {"predelay", 0}});
            const Lanes h = runReverb({impulse(std::int64_t(rate * (decayS * 1.3 + 0.1)))}, rate, p);
            for (int channel : {0, 1}) {
                const double rt60 = spectrum::t30(spectrum::energyDecayDb(toDouble(h[std::size_t(channel)])), rate);
                char what[96];
                std::snprintf(what, sizeof what, "rate %.0f decay %.1f s channel %d: T30 RT60 (s)", rate, decayS, channel);
                report(what, rt60);
                INFO(what << " " << rt60);
                CHECK(std::abs(rt60 - decayS) < 0.1 * decayS);
            }
        }
}

TEST_CASE("reverb: with damping, lows decay in the decay time and highs faster", "[nodes][reverb]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const double decayS = 2.0, damping = 0.4;
        const ParamValues p = paramsOf("reverb", {{"decay", decayS * 1000}, {"damping", damping}, {"predelay", 0}});
        const Lanes h = runReverb({impulse(std::int64_t(rate * 2.8))}, rate, p);
        const std::vector<double> left = toDouble(h[0]);
        const double low = spectrum::t30(spectrum::energyDecayDb(filtered(left, biquad::Shape::Lowpass, 250, rate)), rate);
        const double high =
            spectrum::t30(spectrum::energyDecayDb(filtered(left, biquad::Shape::Highpass, 0.3 * rate, rate)), rate);
        report("damping 0.4: T30 below 250 Hz (s)", low);
        report("damping 0.4: T30 above 0.3 rate (s)", high);
        INFO("rate " << rate << ": low " << low << " s, high " << high << " s");
        CHECK(std::abs(low - decayS) < 0.1 * decayS);
        CHECK(high < 0.8 * low);
        CHECK(high > 0.9 * damping * decayS); // not faster than the Nyquist RT60
    }
}

TEST_CASE("reverb: stable at extreme settings under +20 dB clipped drive", "[nodes][reverb]") {
    struct Case {
        double decayMs, damping;
    };
    for (double rate : {44100.0, 96000.0})
        for (const Case c : {Case{20000, 1}, Case{20000, 0.05}, Case{100, 0.05}, Case{100, 1}}) {
            const auto second = std::int64_t(rate);
            Lanes x = noiseLanes(2, 6 * second, 13, 10.0f);
            for (auto& lane : x) {
                for (float& v : lane) v = std::clamp(v, -1.0f, 1.0f);
                std::fill(lane.begin() + second, lane.end(), 0.0f); // one second of drive, then silence
            }
            const Lanes y = runReverb(x, rate, paramsOf("reverb", {{"decay", c.decayMs}, {"damping", c.damping}}));
            auto energy = [&](std::int64_t from, std::int64_t to) {
                double e = 0;
                for (const auto& lane : y)
                    for (std::int64_t n = from; n < to; ++n) e += double(lane[std::size_t(n)]) * lane[std::size_t(n)];
                return e;
            };
            const double first = energy(second, 2 * second), last = energy(5 * second, 6 * second);
            // 4 s apart: at least 60 * 4 / T60 dB lower, less a margin for the DC-vs-broadband decay.
            const double wantDb = -std::min(150.0, 0.8 * 60 * 4 / (c.decayMs / 1000));
            INFO("rate " << rate << " decay " << c.decayMs << " damping " << c.damping << ": " << 10 * std::log10(last / first)
                         << " dB after 4 s, bound " << wantDb);
            CHECK(std::isfinite(first));
            CHECK((last == 0 || 10 * std::log10(last / first) < wantDb));
        }
}

TEST_CASE("reverb: mono in gives decorrelated stereo out; width 0 gives mono", "[nodes][reverb]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const std::vector<float> x = test::noise(std::int64_t(rate * 4), 0.5f, 17);
        const Lanes y = runReverb({x}, rate, paramsOf("reverb", {{"decay", 1500}}));
        const double rho = spectrum::correlation(toDouble(y[0]), toDouble(y[1]));
        report("mono noise in: L/R correlation", rho);
        INFO("rate " << rate << ": correlation " << rho);
        CHECK(std::abs(rho) < 0.2);
        const Lanes mono = runReverb({x}, rate, paramsOf("reverb", {{"decay", 1500}, {"width", 0}}));
        CHECK(sameBits({mono[0]}, {mono[1]}));
    }
}

TEST_CASE("reverb: pre-delay, first arrival and tail against the declaration", "[nodes][reverb]") {
    const NodeType* type = Registry::builtin().find("reverb");
    REQUIRE(type != nullptr);
    auto isPrime = [](long n) {
        for (long d = 2; d * d <= n; ++d)
            if (n % d == 0) return false;
        return n >= 2;
    };
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const double predelayMs = 35;
        const ParamValues p = paramsOf("reverb", {{"decay", 800}, {"predelay", predelayMs}, {"damping", 0.7}});
        const double tail = type->tailSeconds(p, rate);
        const Lanes h = runReverb({impulse(std::int64_t(rate * tail) + 4800)}, rate, p);
        // The shortest line: the prime at or above 29.7 ms.
        long shortest = std::lround(29.7 * rate / 1000);
        while (!isPrime(shortest)) ++shortest;
        std::int64_t first = -1;
        for (std::size_t n = 0; n < h[0].size() && first < 0; ++n)
            if (h[0][n] != 0.0f || h[1][n] != 0.0f) first = std::int64_t(n);
        CHECK(first == std::llround(predelayMs * rate / 1000) + shortest);
        const std::vector<double> edc = spectrum::energyDecayDb(toDouble(h[0]));
        const auto tailFrames = std::size_t(std::llround(tail * rate));
        INFO("rate " << rate << ": tail " << tail << " s, decay curve there " << edc[tailFrames] << " dB");
        CHECK(edc[tailFrames] < -60);
        CHECK(type->latencyFrames(p, rate) == 0);
    }
}

TEST_CASE("reverb: bit-identical for every block split, batched or not, with changes", "[nodes][reverb]") {
    const NodeType* type = Registry::builtin().find("reverb");
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        const Lanes x = noiseLanes(2, 30000, 23, 0.5f);
        const ParamValues p = paramsOf("reverb", {{"decay", 1200}, {"mix", 60}});
        RenderPlan plan;
        plan.events = {{3000, 0, type->paramIndex("decay"), 400},
                       {9000, 0, type->paramIndex("width"), 20},
                       {15000, 0, type->paramIndex("predelay"), 250}};
        const Lanes reference = runReverb(x, rate, p, plan);
        for (const auto& blocks : splitPlans(4096)) {
            plan.blockSizes = blocks;
            CHECK(sameBits(runReverb(x, rate, p, plan), reference));
        }
        auto batched =
            preparedKernel("reverb", {rate, 512, detectSimdArch()}, {instanceOf("reverb", p, 1), instanceOf("reverb", p, 2)});
        const Lanes all = render(*batched, {x[1], x[0], x[1]}, 4, 512);
        CHECK(sameBits({all[0], all[1]}, runReverb({x[1]}, rate, p)));
        CHECK(sameBits({all[2], all[3]}, runReverb(x, rate, p)));
    }
}
