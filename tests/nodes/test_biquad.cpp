// Biquads: measured magnitude responses against the analog prototypes under the prewarped
// bilinear transform (computed here, independently of the node), block-split independence
// with running ramps, batching across types and lane counts, SIMD-architecture independence,
// the Nyquist clamp, tails and reset.
#include "nodes/filters/Biquad.h"
#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <complex>
#include <cstdio>
#include <cstdlib>
#include <map>

using namespace sg;
using namespace sg::test;
using namespace sg::nodetest;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Setting {
    const char* type;
    double freqHz, q, gainDb, slope;
};

/// |H| of the analog prototype at s = jW, W = tan(pi f / fs) / tan(pi f0 / fs): the RBJ
/// cookbook's H(s) under the bilinear transform prewarped at f0.
double prototypeMagnitude(const Setting& s, double f, double fs) {
    const double W = std::tan(kPi * f / fs) / std::tan(kPi * s.freqHz / fs);
    const std::string type = s.type;
    if ((type == "lowpass" || type == "highpass") && s.slope > 12) {
        const double order = s.slope / 6; // 24 dB/oct -> 4th order, 48 -> 8th
        const double w2n = std::pow(W, 2 * order);
        return std::sqrt(type == "lowpass" ? 1 / (1 + w2n) : w2n / (1 + w2n));
    }
    using C = std::complex<double>;
    const C j(0, 1), p = j * W;
    const double Q = s.q, A = std::pow(10.0, s.gainDb / 40), rootA = std::sqrt(A);
    C h;
    if (type == "lowpass")
        h = 1.0 / (p * p + p / Q + 1.0);
    else if (type == "highpass")
        h = p * p / (p * p + p / Q + 1.0);
    else if (type == "bandpass")
        h = (p / Q) / (p * p + p / Q + 1.0);
    else if (type == "notch")
        h = (p * p + 1.0) / (p * p + p / Q + 1.0);
    else if (type == "allpass")
        h = (p * p - p / Q + 1.0) / (p * p + p / Q + 1.0);
    else if (type == "peak")
        h = (p * p + p * (A / Q) + 1.0) / (p * p + p / (A * Q) + 1.0);
    else if (type == "lowshelf")
        h = A * (p * p + (rootA / Q) * p + A) / (A * p * p + (rootA / Q) * p + 1.0);
    else if (type == "highshelf")
        h = A * (A * p * p + (rootA / Q) * p + 1.0) / (p * p + (rootA / Q) * p + A);
    else
        FAIL("unknown type " << type);
    return std::abs(h);
}

ParamValues settingParams(const Setting& s) {
    const std::string type = s.type;
    if (type == "lowpass" || type == "highpass") return paramsOf(type, {{"freq", s.freqHz}, {"q", s.q}, {"slope", s.slope}});
    if (type == "peak" || type == "lowshelf" || type == "highshelf")
        return paramsOf(type, {{"freq", s.freqHz}, {"q", s.q}, {"gain", s.gainDb}});
    return paramsOf(type, {{"freq", s.freqHz}, {"q", s.q}});
}

/// Amplitude of the sinusoid at angular frequency `omega` (rad/frame) in y[first, first + count),
/// by a least-squares fit of a sin + b cos (exact for a pure tone, any number of periods).
double fittedAmplitude(const std::vector<float>& y, double omega, std::int64_t first, std::int64_t count) {
    double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
    for (std::int64_t n = first; n < first + count; ++n) {
        const double s = std::sin(omega * double(n)), c = std::cos(omega * double(n)), v = y[std::size_t(n)];
        ss += s * s;
        cc += c * c;
        sc += s * c;
        ys += v * s;
        yc += v * c;
    }
    const double det = ss * cc - sc * sc;
    const double a = (ys * cc - yc * sc) / det, b = (yc * ss - ys * sc) / det;
    return std::hypot(a, b);
}

bool reportWanted() { return std::getenv("STAGEGRAPH_NODES_REPORT") != nullptr; }

} // namespace

TEST_CASE("biquad: declarations", "[nodes]") {
    for (const char* name : {"lowpass", "highpass", "bandpass", "notch", "allpass", "peak", "lowshelf", "highshelf"}) {
        CAPTURE(name);
        const NodeType* t = Registry::builtin().find(name);
        REQUIRE(t != nullptr);
        const NodeTypeInfo& info = t->info();
        CHECK(info.family == "filters");
        CHECK(info.batchable);
        CHECK(info.inPlace);
        CHECK_FALSE(info.description.empty());
        CHECK_FALSE(info.channelRule.empty());
        CHECK(info.reference.find("RBJ Audio-EQ-Cookbook") != std::string::npos);
        for (const ParamInfo& p : info.params) CHECK_FALSE(p.description.empty());
        const ParamInfo& freq = info.params.at(std::size_t(t->paramIndex("freq")));
        CHECK(freq.unit == UnitKind::Frequency);
        CHECK(freq.minValue == 10);
        CHECK(freq.maxValue == 24000);
        const ParamInfo& q = info.params.at(std::size_t(t->paramIndex("q")));
        CHECK(q.minValue == 0.1);
        CHECK(q.maxValue == 40);
        CHECK(q.defaultValue == Approx(std::string(name) == "peak" ? 1.0 : 0.7071).margin(1e-4));
        const bool hasGain = std::string(name) == "peak" || std::string(name).find("shelf") != std::string::npos;
        CHECK((t->paramIndex("gain") >= 0) == hasGain);
        if (hasGain) {
            const ParamInfo& gain = info.params.at(std::size_t(t->paramIndex("gain")));
            CHECK(gain.unit == UnitKind::Gain);
            CHECK(gain.minValue == -30);
            CHECK(gain.maxValue == 30);
        }
        CHECK(t->batchKey(t->defaults()) == "biquad1");
    }
    for (const char* name : {"lowpass", "highpass"}) {
        const NodeType* t = Registry::builtin().find(name);
        const ParamInfo& slope = t->info().params.at(std::size_t(t->paramIndex("slope")));
        CHECK(slope.choices == std::vector<double>{12, 24, 48});
        CHECK(t->batchKey(paramsOf(name, {{"slope", 24}})) == "biquad2");
        CHECK(t->batchKey(paramsOf(name, {{"slope", 48}})) == "biquad4");
    }
}

TEST_CASE("biquad: magnitude responses match the prewarped analog prototypes within 0.01 dB", "[nodes]") {
    const std::vector<Setting> settings{
        {"lowpass", 1000, 0.7071, 0, 12},
        {"lowpass", 200, 3, 0, 12},
        {"lowpass", 12000, 0.5, 0, 12},
        {"lowpass", 1000, 0.7071, 0, 24},
        {"lowpass", 80, 0.7071, 0, 48},
        {"lowpass", 6000, 0.7071, 0, 48},
        {"highpass", 30, 0.7071, 0, 12},
        {"highpass", 1000, 4, 0, 12},
        {"highpass", 20, 0.7071, 0, 24},
        {"highpass", 30, 0.7071, 0, 48},
        {"highpass", 3000, 0.7071, 0, 48},
        {"bandpass", 1000, 0.7071, 0, 0},
        {"bandpass", 150, 5, 0, 0},
        {"bandpass", 8000, 2, 0, 0},
        {"notch", 1000, 0.7071, 0, 0},
        {"notch", 60, 10, 0, 0},
        {"notch", 5000, 3, 0, 0},
        {"allpass", 1000, 0.7071, 0, 0},
        {"allpass", 100, 2, 0, 0},
        {"peak", 1000, 1, 6, 0},
        {"peak", 100, 4, -12, 0},
        {"peak", 8000, 0.5, 12, 0},
        {"peak", 40, 2, 3, 0},
        {"peak", 3000, 10, -30, 0},
        {"lowshelf", 100, 0.7071, 6, 0},
        {"lowshelf", 300, 1, -12, 0},
        {"lowshelf", 50, 0.5, 4, 0},
        {"highshelf", 8000, 0.7071, 6, 0},
        {"highshelf", 3000, 0.7071, -9, 0},
        {"highshelf", 12000, 2, 15, 0},
    };
    constexpr int kTones = 24;
    std::map<std::pair<std::string, int>, double> worstDb;        // level >= -60 dB
    std::map<std::pair<std::string, int>, double> worstLowLinear; // level < -60 dB
    for (double rate : {44100.0, 48000.0, 96000.0}) {
        std::vector<double> tones;
        for (int k = 0; k < kTones; ++k) tones.push_back(20 * std::pow(1000.0, k / double(kTones - 1))); // 20 Hz .. 20 kHz
        const std::int64_t window = std::llround(0.1 * rate);                                            // two periods of 20 Hz
        // Settling: 1.5 x the declared 120 dB tail plus 50 ms, for the slowest setting.
        double settleSeconds = 0.05;
        for (const Setting& s : settings) {
            const NodeType* t = Registry::builtin().find(s.type);
            settleSeconds = std::max(settleSeconds, 1.5 * t->tailSeconds(settingParams(s), rate) + 0.05);
        }
        REQUIRE(settleSeconds < 3.0);
        const std::int64_t frames = std::llround(settleSeconds * rate) + window;
        Lanes input;
        for (double f : tones) {
            std::vector<float> x(static_cast<std::size_t>(frames));
            for (std::int64_t n = 0; n < frames; ++n) x[std::size_t(n)] = float(std::sin(2 * kPi * f / rate * double(n)));
            input.push_back(std::move(x));
        }
        for (const Setting& s : settings) {
            CAPTURE(rate, s.type, s.freqHz, s.q, s.gainDb, s.slope);
            // One kernel call per block runs all tones: kTones instances of one mono filter.
            std::vector<InstanceSetup> setup(kTones, instanceOf(s.type, settingParams(s), 1));
            auto kernel = preparedKernel(s.type, {rate, 4096, detectSimdArch()}, setup);
            RenderPlan plan;
            plan.blockSizes = {4096};
            const Lanes out = render(*kernel, input, kTones, 4096, plan);
            const auto key = std::make_pair(std::string(s.type), int(rate));
            for (int k = 0; k < kTones; ++k) {
                CAPTURE(tones[std::size_t(k)]);
                const double expected = prototypeMagnitude(s, tones[std::size_t(k)], rate);
                const double measured =
                    fittedAmplitude(out[std::size_t(k)], 2 * kPi * tones[std::size_t(k)] / rate, frames - window, window);
                const double expectedDb = 20 * std::log10(expected);
                if (expectedDb >= -60) {
                    const double errorDb = std::abs(20 * std::log10(measured) - expectedDb);
                    worstDb[key] = std::max(worstDb[key], errorDb);
                    CHECK(errorDb <= 0.01);
                } else {
                    // Deep stopband / notch centre: the level is compared on a linear scale,
                    // within 1e-6 of full scale (-120 dB).
                    const double error = std::abs(measured - expected);
                    worstLowLinear[key] = std::max(worstLowLinear[key], error);
                    CHECK(error <= 1e-6);
                }
            }
        }
    }
    if (reportWanted()) {
        std::printf("biquad accuracy: worst |error| in dB where the level is >= -60 dB; linear error below\n");
        for (const auto& [key, db] : worstDb)
            std::printf("  %-10s %6d Hz: %.2e dB   low-level %.1e\n", key.first.c_str(), key.second, db, worstLowLinear[key]);
    }
}

TEST_CASE("biquad: frequencies at or above Nyquist are clamped to 0.49 fs and stay stable", "[nodes]") {
    const double rate = 44100;
    const Lanes input = noiseLanes(1, 4000, 9, 0.5f);
    for (const char* type : {"lowpass", "highpass", "peak", "bandpass", "highshelf"}) {
        CAPTURE(type);
        auto above =
            preparedKernel(type, {rate, 512, detectSimdArch()}, {instanceOf(type, paramsOf(type, {{"freq", 24000}}), 1)});
        auto clamped =
            preparedKernel(type, {rate, 512, detectSimdArch()}, {instanceOf(type, paramsOf(type, {{"freq", 0.49 * rate}}), 1)});
        const Lanes a = render(*above, input, 1, 512), b = render(*clamped, input, 1, 512);
        REQUIRE(sameBits(a, b));
        for (float y : a[0]) REQUIRE(std::abs(y) < 10.0f);
    }
}

TEST_CASE("biquad: the impulse response has decayed by 120 dB after the declared tail", "[nodes]") {
    const double rate = 48000;
    const std::vector<Setting> settings{
        {"lowpass", 100, 0.7071, 0, 12}, {"peak", 1000, 10, 12, 0}, {"highpass", 30, 0.7071, 0, 48}, {"notch", 60, 20, 0, 0}};
    for (const Setting& s : settings) {
        CAPTURE(s.type, s.freqHz);
        const NodeType* t = Registry::builtin().find(s.type);
        const double tail = t->tailSeconds(settingParams(s), rate);
        REQUIRE(tail > 0);
        REQUIRE(tail < 10);
        const std::int64_t tailFrames = std::llround(tail * rate);
        Lanes impulse(1, std::vector<float>(std::size_t(tailFrames + 20000), 0.0f));
        impulse[0][0] = 1.0f;
        auto kernel = preparedKernel(s.type, {rate, 1024, detectSimdArch()}, {instanceOf(s.type, settingParams(s), 1)});
        const Lanes h = render(*kernel, impulse, 1, 1024);
        double late = 0;
        for (std::size_t n = std::size_t(tailFrames); n < h[0].size(); ++n) late = std::max(late, double(std::abs(h[0][n])));
        CHECK(late < 1e-5);
    }
}

TEST_CASE("biquad: a ramped change ends at the filter the new value gives", "[nodes]") {
    const double rate = 48000;
    const Lanes input = noiseLanes(1, 30000, 17, 0.5f);
    auto moved = preparedKernel("peak", {rate, 512, detectSimdArch()},
                                {instanceOf("peak", paramsOf("peak", {{"freq", 500}, {"gain", -6}}), 1)});
    auto direct = preparedKernel("peak", {rate, 512, detectSimdArch()},
                                 {instanceOf("peak", paramsOf("peak", {{"freq", 2000}, {"gain", 9}}), 1)});
    RenderPlan plan;
    plan.events = {{1000, 0, 0, 2000}, {1000, 0, 2, 9}};
    const Lanes a = render(*moved, input, 1, 512, plan), b = render(*direct, input, 1, 512);
    double early = 0, late = 0;
    for (std::size_t n = 0; n < 1000; ++n) early = std::max(early, double(std::abs(a[0][n] - b[0][n])));
    for (std::size_t n = 20000; n < 30000; ++n) late = std::max(late, double(std::abs(a[0][n] - b[0][n])));
    CHECK(early > 0.01); // different filters before the change
    CHECK(late < 1e-6);  // the same filter once the ramp and its transient are over
}

TEST_CASE("biquad: output does not depend on block splits, also while parameters ramp", "[nodes]") {
    const int maxBlock = 8192;
    // peak, highshelf and lowpass share "biquad1"; the kernel is created by the first type.
    const std::vector<InstanceSetup> setup{instanceOf("peak", paramsOf("peak", {{"freq", 300}, {"gain", 5}}), 2),
                                           instanceOf("highshelf", paramsOf("highshelf", {{"gain", -4}}), 1),
                                           instanceOf("lowpass", paramsOf("lowpass", {{"freq", 2000}, {"q", 2}}), 1)};
    const Lanes input = noiseLanes(4, 7000, 33, 0.5f);
    for (bool cut : {false, true}) {
        CAPTURE(cut);
        RenderPlan plan;
        plan.cutAtEvents = cut;
        // highshelf's gain is its parameter 1; lowpass' q is its parameter 1.
        plan.events = cut ? std::vector<ParamEvent>{{1000, 0, 0, 3000},
                                                    {1333, 0, 0, 100},
                                                    {1500, 1, 1, 10},
                                                    {1530, 2, 1, 0.3},
                                                    {1600, 1, 0, 2000}}
                          : std::vector<ParamEvent>{
                                {1000, 0, 0, 3000}, {1017, 0, 2, -8}, {2500, 1, 1, 10}, {2600, 2, 0, 500}, {4500, 2, 1, 6}};
        Lanes reference;
        for (const auto& sizes : splitPlans(maxBlock)) {
            plan.blockSizes = sizes;
            auto kernel = preparedKernel("peak", {48000, maxBlock, detectSimdArch()}, setup);
            const Lanes out = render(*kernel, input, 4, maxBlock, plan);
            if (reference.empty())
                reference = out;
            else
                REQUIRE(sameBits(out, reference));
        }
    }
}

TEST_CASE("biquad: batched across types and lane counts, in-place and on every SIMD architecture: same bits", "[nodes]") {
    const int maxBlock = 512;
    const char* types[] = {"peak", "highshelf", "lowpass", "notch", "bandpass", "allpass", "lowshelf", "highpass"};
    for (int sections : {1, 4}) {
        for (int instances : {1, 2, 5, 37}) {
            CAPTURE(sections, instances);
            std::vector<InstanceSetup> setup;
            std::vector<int> channels;
            for (int i = 0; i < instances; ++i) {
                const std::string type = sections == 1 ? types[i % 8] : (i % 2 ? "highpass" : "lowpass");
                ParamValues p = paramsOf(type, {{"freq", 50.0 * (i + 1)}, {"q", 0.5 + 0.1 * i}});
                if (sections > 1) p[std::size_t(Registry::builtin().find(type)->paramIndex("slope"))] = 48;
                const int gainIndex = Registry::builtin().find(type)->paramIndex("gain");
                if (gainIndex >= 0) p[std::size_t(gainIndex)] = -10 + i;
                channels.push_back(i % 3 == 1 ? 2 : 1);
                setup.push_back(instanceOf(type, p, channels.back()));
            }
            const int lanes = inputLanes(setup);
            const Lanes input = noiseLanes(lanes, 2500, 71, 0.5f);
            RenderPlan plan;
            plan.blockSizes = {200, 7, 512, 64};
            plan.events = {{300, 0, 0, 1234}};
            if (instances > 1) plan.events.push_back({900, 1, 0, 4321});

            Lanes reference;
            for (SimdArch arch : availableArchs()) {
                CAPTURE(simdArchName(arch));
                auto batched = preparedKernel(setup[0].type, {48000, maxBlock, arch}, setup);
                const Lanes out = render(*batched, input, lanes, maxBlock, plan);
                if (reference.empty()) reference = out;
                REQUIRE(sameBits(out, reference));
                RenderPlan inPlace = plan;
                inPlace.inPlace = true;
                auto again = preparedKernel(setup[0].type, {48000, maxBlock, arch}, setup);
                REQUIRE(sameBits(render(*again, input, lanes, maxBlock, inPlace), reference));
            }
            // Each instance in its own kernel, of its own type.
            const std::vector<Lanes> inputs = splitLanes(input, channels), expected = splitLanes(reference, channels);
            for (std::size_t i = 0; i < setup.size(); ++i) {
                RenderPlan single = plan;
                single.events.clear();
                for (ParamEvent e : plan.events)
                    if (e.instance == int(i)) {
                        e.instance = 0;
                        single.events.push_back(e);
                    }
                auto alone = preparedKernel(setup[i].type, {48000, maxBlock, detectSimdArch()}, {setup[i]});
                REQUIRE(sameBits(render(*alone, inputs[i], channels[i], maxBlock, single), expected[i]));
            }
        }
    }
}

TEST_CASE("biquad: mixed section counts in one kernel are refused", "[nodes]") {
    auto kernel = Registry::builtin().find("lowpass")->createKernel();
    const std::vector<InstanceSetup> setup{instanceOf("lowpass", paramsOf("lowpass", {{"slope", 12}}), 1),
                                           instanceOf("lowpass", paramsOf("lowpass", {{"slope", 24}}), 1)};
    CHECK_FALSE(kernel->prepare({48000, 256, SimdArch::Sse2}, setup).empty());
    const std::vector<InstanceSetup> wrong{instanceOf("gain", paramsOf("gain", {}), 1)};
    CHECK_FALSE(kernel->prepare({48000, 256, SimdArch::Sse2}, wrong).empty());
}

TEST_CASE("biquad: reset clears the state", "[nodes]") {
    auto kernel = preparedKernel("lowpass", {48000, 256, detectSimdArch()},
                                 {instanceOf("lowpass", paramsOf("lowpass", {{"freq", 50}, {"slope", 48}}), 2)});
    render(*kernel, noiseLanes(2, 1000, 5, 0.5f), 2, 256);
    kernel->reset();
    const Lanes silent = render(*kernel, Lanes(2, std::vector<float>(1000, 0.0f)), 2, 256);
    for (const auto& lane : silent)
        for (float y : lane) REQUIRE(y == 0.0f);
}

TEST_CASE("biquad: kernel speed (prints lane-samples per second)", "[.][bench]") {
    const int block = 512;
    for (int sections : {1, 4})
        for (int lanes : {2, 32}) {
            const std::string type = sections == 1 ? "peak" : "lowpass";
            ParamValues p = paramsOf(type, {{"freq", 1000}});
            if (sections > 1) p[std::size_t(Registry::builtin().find(type)->paramIndex("slope"))] = 48;
            auto kernel = preparedKernel(type, {48000, block, detectSimdArch()}, {instanceOf(type, p, lanes)});
            AudioBuffer buffer(lanes, block);
            const Lanes noiseIn = noiseLanes(lanes, block, 3, 0.5f);
            std::vector<float*> pointers;
            for (int l = 0; l < lanes; ++l) {
                std::copy(noiseIn[std::size_t(l)].begin(), noiseIn[std::size_t(l)].end(), buffer.channel(l));
                pointers.push_back(buffer.channel(l));
            }
            const float* const* ins[] = {pointers.data()};
            float* const* outs[] = {pointers.data()};
            ProcessContext ctx;
            ctx.frames = block;
            ctx.inputs = ins;
            ctx.outputs = outs;
            const std::int64_t frames = 20'000'000 / lanes;
            const auto start = std::chrono::steady_clock::now();
            for (std::int64_t done = 0; done < frames; done += block) {
                ctx.position = done;
                kernel->process(ctx);
            }
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            std::printf("biquad %s, %d section(s), %2d lanes: %.0f M lane-samples/s\n", simdArchName(detectSimdArch()), sections,
                        lanes, double(frames) * lanes / seconds / 1e6);
        }
}

namespace {

/// Normalised RBJ cookbook coefficients b0 b1 b2 a1 a2 for the shapes the cascade test uses,
/// written out here from the cookbook (same expressions, so the same doubles).
std::array<double, 5> cookbook(const std::string& type, double f0, double q, double gainDb, double fs) {
    const double w0 = 2 * kPi * f0 / fs, cosW = std::cos(w0), sinW = std::sin(w0), alpha = sinW / (2 * q);
    const double A = std::pow(10.0, gainDb / 40);
    double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
    if (type == "highpass") {
        b0 = (1 + cosW) / 2;
        b1 = -(1 + cosW);
        b2 = (1 + cosW) / 2;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
    } else if (type == "peak") {
        b0 = 1 + alpha * A;
        b1 = -2 * cosW;
        b2 = 1 - alpha * A;
        a0 = 1 + alpha / A;
        a1 = -2 * cosW;
        a2 = 1 - alpha / A;
    } else if (type == "lowshelf") {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) - (A - 1) * cosW + k);
        b1 = 2 * A * ((A - 1) - (A + 1) * cosW);
        b2 = A * ((A + 1) - (A - 1) * cosW - k);
        a0 = (A + 1) + (A - 1) * cosW + k;
        a1 = -2 * ((A - 1) + (A + 1) * cosW);
        a2 = (A + 1) + (A - 1) * cosW - k;
    } else if (type == "highshelf") {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) + (A - 1) * cosW + k);
        b1 = -2 * A * ((A - 1) + (A + 1) * cosW);
        b2 = A * ((A + 1) + (A - 1) * cosW - k);
        a0 = (A + 1) - (A - 1) * cosW + k;
        a1 = 2 * ((A - 1) - (A + 1) * cosW);
        a2 = (A + 1) - (A - 1) * cosW - k;
    } else {
        FAIL("no cookbook section for " << type);
    }
    return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

/// One node of a reference chain: its sections (a Butterworth cascade for highpass slope > 12).
struct RefStage {
    std::string type;
    double freqHz, q, gainDb, slope;
    std::vector<std::array<double, 5>> sections(double fs) const {
        if (type != "highpass" || slope <= 12) return {cookbook(type, freqHz, q, gainDb, fs)};
        const int n = slope >= 48 ? 4 : 2, order = 2 * n;
        std::vector<std::array<double, 5>> out;
        for (int k = 1; k <= n; ++k)
            out.push_back(cookbook(type, freqHz, 1 / (2 * std::cos((2 * k - 1) * kPi / (2 * order))), gainDb, fs));
        return out;
    }
    ParamValues params() const {
        if (type == "highpass") return paramsOf(type, {{"freq", freqHz}, {"q", q}, {"slope", slope}});
        return paramsOf(type, {{"freq", freqHz}, {"q", q}, {"gain", gainDb}});
    }
};

/// Straightforward scalar reference: each stage's sections in double, one after another over the
/// whole signal (transposed direct form II), float between stages as separate nodes' buffers.
std::vector<float> referenceCascade(const std::vector<RefStage>& chain, const std::vector<float>& x, double fs) {
    std::vector<double> signal(x.begin(), x.end());
    for (std::size_t k = 0; k < chain.size(); ++k) {
        for (const auto& c : chain[k].sections(fs)) {
            double z1 = 0, z2 = 0;
            for (double& v : signal) {
                const double in = v, y = c[0] * in + z1;
                z1 = (c[1] * in + z2) - c[3] * y;
                z2 = c[2] * in - c[4] * y;
                v = y;
            }
        }
        for (double& v : signal) v = double(float(v));
    }
    return std::vector<float>(signal.begin(), signal.end());
}

InstanceSetup fusedInstance(const std::vector<RefStage>& chain, int channels) {
    InstanceSetup setup = instanceOf(chain[0].type, chain[0].params(), channels);
    setup.params.clear();
    for (const RefStage& s : chain) {
        setup.stages.push_back({s.type, s.params()});
        const ParamValues p = s.params();
        setup.params.insert(setup.params.end(), p.begin(), p.end());
    }
    return setup;
}

} // namespace

TEST_CASE("biquad: pipelined sections and fused chains equal a scalar double cascade bit for bit", "[nodes]") {
    const double fs = 48000;
    // Mastering chains of 5 sections with different stage boundaries: 2+1+1+1 and 4+1, plain
    // 4-section highpass instances, and 1 section alone.
    auto master = [](int i) {
        return std::vector<RefStage>{{"highpass", 25.0 + i, 0.7071, 0, 24},
                                     {"lowshelf", 120.0 + 10 * i, 0.7071, 2.0 - 0.5 * i, 12},
                                     {"peak", 2500.0 + 100 * i, 1.4, -3.0 + i, 12},
                                     {"highshelf", 9000.0 + 200 * i, 0.7071, 1.5, 12}};
    };
    auto steep = [](int i) {
        return std::vector<RefStage>{{"highpass", 40.0 + 5 * i, 0.7071, 0, 48}, {"peak", 300.0 * (i + 1), 2, 4, 12}};
    };
    struct Case {
        std::vector<std::vector<RefStage>> instances;
        std::vector<int> channels;
    };
    std::vector<Case> cases;
    cases.push_back({{master(0)}, {2}});
    cases.push_back({{{{"highpass", 30, 0.7071, 0, 48}}}, {2}});
    cases.push_back({{{{"peak", 1000, 1, 6, 12}}}, {1}});
    {
        Case many;
        for (int i = 0; i < 21; ++i) {
            many.instances.push_back(i % 3 == 2 ? steep(i) : master(i));
            many.channels.push_back(i % 2 ? 2 : 1);
        }
        cases.push_back(many);
    }
    for (std::size_t c = 0; c < cases.size(); ++c) {
        const Case& test = cases[c];
        std::vector<InstanceSetup> setup;
        for (std::size_t i = 0; i < test.instances.size(); ++i)
            setup.push_back(test.instances[i].size() == 1
                                ? instanceOf(test.instances[i][0].type, test.instances[i][0].params(), test.channels[i])
                                : fusedInstance(test.instances[i], test.channels[i]));
        const int lanes = inputLanes(setup);
        const Lanes input = noiseLanes(lanes, 3000, 91 + std::uint32_t(c), 0.5f);
        Lanes expected;
        for (std::size_t i = 0; i < test.instances.size(); ++i)
            for (int ch = 0; ch < test.channels[i]; ++ch)
                expected.push_back(referenceCascade(test.instances[i], input[expected.size()], fs));
        for (SimdArch arch : availableArchs()) {
            CAPTURE(c, simdArchName(arch));
            RenderPlan plan;
            plan.blockSizes = {300, 1, 64, 63, 512, 5};
            auto kernel = preparedKernel(setup[0].type, {fs, 512, arch}, setup);
            REQUIRE(sameBits(render(*kernel, input, lanes, 512, plan), expected));
        }
    }
}

TEST_CASE("biquad: a fused chain equals its nodes run one after another, parameters reached by offset", "[nodes]") {
    const double fs = 48000;
    const std::vector<RefStage> chain{{"highpass", 30, 0.7071, 0, 24},
                                      {"lowshelf", 150, 0.7071, 3, 12},
                                      {"peak", 2000, 1, -2, 12},
                                      {"highshelf", 10000, 0.7071, 2, 12}};
    const Lanes input = noiseLanes(2, 6000, 5, 0.5f);
    // Changes: lowshelf gain (its parameter 1), peak freq (0) and highshelf gain (1). In the fused
    // instance a stage's parameter p is at (parameters of the stages before it) + p.
    struct Change {
        std::size_t stage;
        int param;
        std::int64_t position;
        double value;
    };
    const std::vector<Change> changes{{1, 1, 700, -4}, {2, 0, 1500, 800}, {3, 1, 1510, -6}, {0, 0, 4000, 80}};
    RenderPlan plan;
    plan.blockSizes = {128, 77, 512};
    std::vector<int> offset{0};
    for (const RefStage& s : chain) offset.push_back(offset.back() + int(s.params().size()));
    for (const Change& ch : changes) plan.events.push_back({ch.position, 0, offset[ch.stage] + ch.param, ch.value});
    std::sort(plan.events.begin(), plan.events.end(),
              [](const ParamEvent& a, const ParamEvent& b) { return a.position < b.position; });
    auto fused = preparedKernel("highpass", {fs, 512, detectSimdArch()}, {fusedInstance(chain, 2)});
    const Lanes out = render(*fused, input, 2, 512, plan);

    Lanes separate = input;
    for (std::size_t k = 0; k < chain.size(); ++k) {
        RenderPlan own;
        own.blockSizes = {200};
        for (const Change& ch : changes)
            if (ch.stage == k) own.events.push_back({ch.position, 0, ch.param, ch.value});
        auto alone =
            preparedKernel(chain[k].type, {fs, 512, detectSimdArch()}, {instanceOf(chain[k].type, chain[k].params(), 2)});
        separate = render(*alone, separate, 2, 512, own);
    }
    REQUIRE(sameBits(out, separate));
    // The changes did something: without them the output differs.
    auto still = preparedKernel("highpass", {fs, 512, detectSimdArch()}, {fusedInstance(chain, 2)});
    CHECK_FALSE(sameBits(render(*still, input, 2, 512), out));
}
