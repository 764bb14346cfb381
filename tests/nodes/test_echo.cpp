// echo: impulse response taps at k D with amplitude fb^(k-1) exactly (filter off) or
// fb^(k-1) |H(f)|^(k-1) at a test frequency (loop filter on, H from the RBJ formula); the tail
// against the declaration; mix; block splits, batching, rates; hostile drive stays bounded.
#include "nodes/filters/BiquadDesign.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <numbers>

using namespace sg;
using namespace sg::nodetest;

namespace {

Lanes runEcho(const Lanes& input, double rate, const ParamValues& params, const RenderPlan& plan = {}) {
    auto kernel = preparedKernel("echo", {rate, 4096, detectSimdArch()}, {instanceOf("echo", params, int(input.size()))});
    return render(*kernel, input, int(input.size()), 4096, plan);
}

std::vector<float> impulse(std::int64_t frames) {
    std::vector<float> x(std::size_t(frames), 0.0f);
    x[0] = 1.0f;
    return x;
}

} // namespace

TEST_CASE("echo: with the filter off the impulse response is exactly fb^(k-1) at k D, zero elsewhere", "[nodes][echo]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (double fb : {0.0, 0.3, 0.6, 0.95}) {
            const double timeMs = 123.4;
            const auto delay = std::int64_t(std::llround(timeMs * rate / 1000));
            const std::int64_t frames = delay * 12 + 5;
            const Lanes y =
                runEcho({impulse(frames)}, rate, paramsOf("echo", {{"time", timeMs}, {"feedback", fb * 100}, {"filter", 0}}));
            double worst = 0;
            std::int64_t strayFrames = 0;
            for (std::int64_t n = 0; n < frames; ++n) {
                const float v = y[0][std::size_t(n)];
                if (n > 0 && n % delay == 0) {
                    const double want = std::pow(fb, double(n / delay - 1));
                    worst = std::max(worst, std::abs(v - want) / std::max(want, 1e-30));
                } else if (v != 0.0f) {
                    ++strayFrames;
                }
            }
            INFO("rate " << rate << " fb " << fb << ": worst relative tap error " << worst);
            CHECK(strayFrames == 0);
            CHECK(worst < 1e-5);
        }
}

TEST_CASE("echo: with the loop filter each echo is filtered once more: |tap k at f| = (fb |H(f)|)^(k-1)", "[nodes][echo]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (int filter : {1, 2}) {
            const double cutoff = filter == 1 ? 2000 : 500, fb = 0.8, timeMs = 100;
            const auto delay = std::int64_t(std::llround(timeMs * rate / 1000));
            const std::int64_t frames = delay * 6;
            const Lanes y =
                runEcho({impulse(frames)}, rate,
                        paramsOf("echo", {{"time", timeMs}, {"feedback", fb * 100}, {"filter", filter}, {"cutoff", cutoff}}));
            const biquad::Section section = biquad::cookbookSection(
                filter == 1 ? biquad::Shape::Lowpass : biquad::Shape::Highpass, cutoff, std::numbers::sqrt2 / 2, 0, rate);
            for (double f : {250.0, 1000.0, 3000.0, 8000.0}) {
                const double h = std::abs(biquad::response(section, f, rate));
                for (int k = 1; k <= 5; ++k) {
                    // DTFT at f of the frames from k D to (k + 1) D: the k-th echo, whole (the filter decays within D).
                    std::complex<double> sum = 0;
                    for (std::int64_t n = k * delay; n < (k + 1) * delay; ++n)
                        sum += double(y[0][std::size_t(n)]) *
                               std::polar(1.0, -2 * std::numbers::pi * f * double(n - k * delay) / rate);
                    const double want = std::pow(fb * h, k - 1);
                    INFO("rate " << rate << " filter " << filter << " f " << f << " echo " << k << ": " << std::abs(sum) << " vs "
                                 << want);
                    CHECK(std::abs(std::abs(sum) - want) < 1e-4 * std::max(want, 1e-2));
                }
            }
        }
}

TEST_CASE("echo: the echoes fall below -60 dB exactly at the declared tail", "[nodes][echo]") {
    const NodeType* type = Registry::builtin().find("echo");
    REQUIRE(type != nullptr);
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (double fb : {0.2, 0.5, 0.9}) {
            const ParamValues p = paramsOf("echo", {{"time", 50}, {"feedback", fb * 100}, {"filter", 0}});
            const double tail = type->tailSeconds(p, rate);
            const auto tailFrames = std::int64_t(std::llround(tail * rate));
            const auto delay = std::int64_t(std::llround(50 * rate / 1000));
            const Lanes y = runEcho({impulse(tailFrames + 2 * delay)}, rate, p);
            INFO("rate " << rate << " fb " << fb << ": tail " << tail << " s");
            CHECK(tailFrames % delay == 0);
            CHECK(std::abs(y[0][std::size_t(tailFrames)]) < 1e-3f);          // the first echo below -60 dB
            CHECK(std::abs(y[0][std::size_t(tailFrames - delay)]) >= 1e-3f); // the one before is not
        }
    // With the filter on, the energy after the declared tail is below -60 dB of the whole.
    for (double rate : {44100.0, 96000.0}) {
        const ParamValues p = paramsOf("echo", {{"time", 30}, {"feedback", 90}, {"filter", 1}, {"cutoff", 300}});
        const auto tailFrames = std::int64_t(std::llround(type->tailSeconds(p, rate) * rate));
        const Lanes h = runEcho({impulse(tailFrames * 2)}, rate, p);
        double total = 0, after = 0;
        for (std::size_t n = 0; n < h[0].size(); ++n) {
            total += double(h[0][n]) * h[0][n];
            if (std::int64_t(n) >= tailFrames) after += double(h[0][n]) * h[0][n];
        }
        INFO("rate " << rate << ": energy after the tail " << 10 * std::log10(after / total) << " dB");
        CHECK(after < 1e-6 * total);
    }
}

TEST_CASE("echo: mix crossfades the dry signal and the echoes", "[nodes][echo]") {
    const std::vector<float> x = test::noise(20000, 0.8f, 2);
    const Lanes dry = runEcho({x}, 48000, paramsOf("echo", {{"mix", 0}, {"feedback", 60}}));
    CHECK(sameBits(dry, {x}));
    const Lanes half = runEcho({impulse(20000)}, 48000, paramsOf("echo", {{"mix", 50}, {"time", 100}, {"filter", 0}}));
    CHECK(half[0][0] == 0.5f);
    CHECK(half[0][4800] == 0.5f);
}

TEST_CASE("echo: bit-identical for every block split, batched or not, with changes; hostile drive stays bounded",
          "[nodes][echo]") {
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        Lanes x = noiseLanes(2, 40000, 9, 10.0f); // +20 dB, clipped to full scale
        for (auto& lane : x)
            for (float& v : lane) v = std::clamp(v, -1.0f, 1.0f);
        const ParamValues p = paramsOf("echo", {{"time", 37}, {"feedback", 95}, {"filter", 1}, {"cutoff", 15000}, {"mix", 70}});
        const int feedback = Registry::builtin().find("echo")->paramIndex("feedback");
        const int time = Registry::builtin().find("echo")->paramIndex("time");
        RenderPlan plan;
        plan.events = {{5000, 0, feedback, 0}, {12345, 0, time, 2000}, {20000, 0, feedback, 95}};
        const Lanes reference = runEcho(x, rate, p, plan);
        for (const auto& blocks : splitPlans(4096)) {
            plan.blockSizes = blocks;
            CHECK(sameBits(runEcho(x, rate, p, plan), reference));
        }
        float peak = 0;
        for (const auto& lane : reference)
            for (float v : lane) peak = std::max(peak, std::abs(v));
        INFO("peak " << peak);
        CHECK(std::isfinite(peak));
        CHECK(peak < 40.0f); // bounded by (1 + mix / (1 - fb)) for |x| <= 1
        // Batched: two instances in one kernel give what each gives alone.
        auto batched =
            preparedKernel("echo", {rate, 512, detectSimdArch()}, {instanceOf("echo", p, 1), instanceOf("echo", p, 2)});
        const Lanes all = render(*batched, {x[1], x[0], x[1]}, 3, 512);
        CHECK(sameBits({all[1], all[2]}, runEcho(x, rate, p)));
        CHECK(sameBits({all[0]}, runEcho({x[1]}, rate, p)));
    }
}
