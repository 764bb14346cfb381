// clipper and saturator: the curves against their formulas at 1x, the declared latency with
// oversampling (a small signal, where the clipper is the identity, comes out delayed by exactly
// that many frames), the aliasing a hard-driven 5 kHz sine makes at 48 kHz measured with and
// without oversampling, and block splits, SIMD widths and batching change no bit.
#include "core/Executor.h"
#include "core/Units.h"
#include "nodes/saturation/Saturation.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdio>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

int latencyOf(const std::string& type, const ParamValues& p, double rate) {
    return Registry::builtin().find(type)->latencyFrames(p, rate);
}

Lanes shapeThrough(const std::string& type, const ParamValues& p, const Lanes& in, double rate, std::vector<int> blocks = {512}) {
    auto kernel = preparedKernel(type, {rate, 512, detectSimdArch()}, {instanceOf(type, p, int(in.size()))});
    RenderPlan plan;
    plan.blockSizes = std::move(blocks);
    return render(*kernel, in, int(in.size()), 512, plan);
}

/// Power of the component at `hz` (exact bin: x spans whole periods of it).
double powerAt(const std::vector<float>& x, std::size_t from, std::size_t count, double hz, double rate) {
    std::complex<double> sum = 0;
    for (std::size_t n = 0; n < count; ++n) sum += double(x[from + n]) * std::polar(1.0, -2 * M_PI * hz * double(n) / rate);
    const double amplitude = 2 * std::abs(sum) / double(count);
    return amplitude * amplitude / 2;
}

} // namespace

TEST_CASE("clipper and saturator: declarations", "[nodes][saturation]") {
    for (const char* type : {"clipper", "saturator"}) {
        const NodeType* t = Registry::builtin().find(type);
        REQUIRE(t != nullptr);
        CHECK(t->info().family == "saturation");
        CHECK_FALSE(t->info().reference.empty());
        for (const ParamInfo& p : t->info().params) CHECK_FALSE(p.description.empty());
        for (double rate : {44100.0, 48000.0, 96000.0}) {
            CHECK(latencyOf(type, paramsOf(type, {{"oversampling", 1}}), rate) == 0);
            for (double factor : {2.0, 4.0, 8.0}) CHECK(latencyOf(type, paramsOf(type, {{"oversampling", factor}}), rate) == 115);
        }
    }
}

TEST_CASE("clipper and saturator: at 1x the curves are their formulas", "[nodes][saturation]") {
    const std::int64_t frames = 4000;
    const Lanes in{noise(frames, 2.0f, 5), sine(997, 1.5, 48000, frames)};
    struct Case {
        const char* type;
        double drive, output, ceiling, curve;
    };
    for (const Case& c : {Case{"clipper", 0, 0, 0, 0}, Case{"clipper", 12, -3, -6, 0}, Case{"clipper", 20, 6, -20, 0},
                          Case{"saturator", 0, 0, 0, 0}, Case{"saturator", 12, -6, 0, 0}, Case{"saturator", 0, 0, 0, 1},
                          Case{"saturator", 20, -3, 0, 1}}) {
        CAPTURE(c.type, c.drive, c.output, c.ceiling, c.curve);
        const bool clipper = std::string(c.type) == "clipper";
        const ParamValues p =
            clipper ? paramsOf("clipper", {{"drive", c.drive}, {"output", c.output}, {"ceiling", c.ceiling}, {"oversampling", 1}})
                    : paramsOf("saturator", {{"drive", c.drive}, {"output", c.output}, {"curve", c.curve}, {"oversampling", 1}});
        const Lanes out = shapeThrough(c.type, p, in, 48000);
        const double d = std::pow(10.0, c.drive / 20), g = std::pow(10.0, c.output / 20), clip = std::pow(10.0, c.ceiling / 20);
        double worst = 0;
        for (std::size_t l = 0; l < in.size(); ++l)
            for (std::int64_t n = 0; n < frames; ++n) {
                const double u = d * double(in[l][std::size_t(n)]);
                double f;
                if (clipper)
                    f = std::clamp(u, -clip, clip);
                else if (c.curve == 0)
                    f = std::tanh(u);
                else
                    f = std::fabs(u) >= 1.5 ? (u > 0 ? 1.0 : -1.0) : u - 4.0 * u * u * u / 27.0;
                worst = std::max(worst, std::fabs(double(out[l][std::size_t(n)]) - g * f));
            }
        INFO("largest error " << worst);
        CHECK(worst <= 4e-6 * std::max(1.0, g * 2));
    }
    // The cubic reaches 1 with zero slope at 3/2 and has slope 1 at 0.
    CHECK(cubicSoftClip(1.5f) == 1.0f);
    CHECK(double(cubicSoftClip(1.4999f)) == Approx(1.0).margin(1e-7));
    CHECK(double(cubicSoftClip(1e-3f)) == Approx(1e-3).epsilon(1e-5));
}

TEST_CASE("clipper: with oversampling a small signal comes out delayed by exactly the declared latency", "[nodes][saturation]") {
    for (double rate : {44100.0, 48000.0, 96000.0})
        for (double factor : {2.0, 4.0, 8.0}) {
            const ParamValues p = paramsOf("clipper", {{"oversampling", factor}});
            const int latency = latencyOf("clipper", p, rate);
            const std::int64_t frames = 6000;
            const Lanes in{sine(1000, 0.5, rate, frames), sine(9000, 0.3, rate, frames, 1.0)};
            const Lanes out = shapeThrough("clipper", p, in, rate, {37});
            double worst = 0;
            for (std::size_t l = 0; l < 2; ++l)
                for (std::int64_t n = 1000; n < frames; ++n)
                    worst = std::max(worst, std::fabs(double(out[l][std::size_t(n)]) - double(in[l][std::size_t(n - latency)])));
            CAPTURE(rate, factor, latency, worst);
            CHECK(worst < 1e-4);
        }
}

TEST_CASE("clipper and saturator: oversampling cuts the aliasing of a driven 5 kHz sine at 48 kHz", "[nodes][saturation]") {
    // A 5 kHz sine at 0 dBFS driven +20 dB: odd harmonics at 5, 15 kHz stay below Nyquist; 25, 35,
    // 45 kHz ... fold back to 23, 13, 3 kHz ... All land on whole kHz, so 0.5 s (500 cycles of
    // 1 kHz) gives exact bins: aliasing = power at 1 .. 23 kHz except 5 and 15, relative to 5 kHz.
    const double rate = 48000;
    const std::int64_t frames = 48000;
    const Lanes in{sine(5000, 1.0, rate, frames)};
    struct Case {
        const char* type;
        double curve;
        double minimumCutDb[3]; ///< at 2x, 4x, 8x, asserted below the measured figures
    };
    for (const Case& c :
         {Case{"clipper", 0, {10, 25, 35}}, Case{"saturator", 0, {10, 25, 35}}, Case{"saturator", 1, {10, 25, 35}}}) {
        double aliasDb[4] = {};
        int i = 0;
        for (double factor : {1.0, 2.0, 4.0, 8.0}) {
            const ParamValues p = std::string(c.type) == "clipper"
                                      ? paramsOf("clipper", {{"drive", 20}, {"ceiling", 0}, {"oversampling", factor}})
                                      : paramsOf("saturator", {{"drive", 20}, {"curve", c.curve}, {"oversampling", factor}});
            const Lanes out = shapeThrough(c.type, p, in, rate);
            const std::size_t from = 12000, count = 24000;
            const double fundamental = powerAt(out[0], from, count, 5000, rate);
            double aliases = 0;
            for (int k = 1; k <= 23; ++k)
                if (k != 5 && k != 15) aliases += powerAt(out[0], from, count, 1000.0 * k, rate);
            aliasDb[i++] = 10 * std::log10(aliases / fundamental);
        }
        std::printf("%s curve %g: aliasing relative to the fundamental: 1x %.1f dB, 2x %.1f dB, 4x %.1f dB, 8x %.1f dB\n", c.type,
                    c.curve, aliasDb[0], aliasDb[1], aliasDb[2], aliasDb[3]);
        CAPTURE(c.type, c.curve, aliasDb[0], aliasDb[1], aliasDb[2], aliasDb[3]);
        for (int k = 0; k < 3; ++k) CHECK(aliasDb[0] - aliasDb[k + 1] >= c.minimumCutDb[k]);
        CHECK(aliasDb[3] < aliasDb[2]);
    }
}

TEST_CASE("clipper and saturator: block splits, SIMD architectures and batching change no bit", "[nodes][saturation]") {
    const std::int64_t frames = 12000;
    const Lanes input{noise(frames, 3.0f, 1), sine(5000, 2.0, 44100, frames), noise(frames, 0.5f, 2)};
    for (const char* type : {"clipper", "saturator"}) {
        const ParamValues a = paramsOf(type, {{"drive", 6}, {"oversampling", 4}});
        const ParamValues b = paramsOf(type, {{"drive", 12}, {"output", -3}, {"oversampling", 4}});
        const std::vector<InstanceSetup> setup{instanceOf(type, a, 2), instanceOf(type, b, 1)};
        const std::vector<ParamEvent> events{{3000, 0, 0, 18.0}, {7001, 1, 2, -9.0}};
        Lanes reference;
        for (SimdArch arch : availableArchs())
            for (const auto& sizes : splitPlans(4096)) {
                CAPTURE(type, simdArchName(arch), sizes.size());
                RenderPlan plan;
                plan.blockSizes = sizes;
                plan.events = events;
                auto kernel = preparedKernel(type, {44100, 4096, arch}, setup);
                const Lanes out = render(*kernel, input, 3, 4096, plan);
                if (reference.empty())
                    reference = out;
                else
                    REQUIRE(sameBits(out, reference));
            }
        const std::vector<Lanes> inputs = splitLanes(input, {2, 1}), expected = splitLanes(reference, {2, 1});
        for (std::size_t i = 0; i < setup.size(); ++i) {
            auto alone = preparedKernel(type, {44100, 512, detectSimdArch()}, {setup[i]});
            std::vector<ParamEvent> own;
            for (const auto& e : events)
                if (std::size_t(e.instance) == i) own.push_back({e.position, 0, e.param, e.value});
            RenderPlan plan;
            plan.events = own;
            REQUIRE(sameBits(render(*alone, inputs[i], setup[i].inputChannels[0], 512, plan), expected[i]));
        }
    }
}
