// Measuring filters from rendered graphs: impulse responses through compiled YAML, the DFT of an
// impulse response at chosen frequencies, 1/12-octave frequency grids and the bilinear
// frequency warp of the analog prototypes (independent of the nodes' own design code).
#pragma once

#include "support/TestSupport.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

namespace sg::filtertest {

/// H(f) = sum_n h[n] e^{-j 2 pi f n / fs}, in double.
inline std::complex<double> dft(const std::vector<float>& h, double freqHz, double sampleRate) {
    const std::complex<double> step = std::polar(1.0, -2 * std::numbers::pi * freqHz / sampleRate);
    std::complex<double> rotor = 1, sum = 0;
    for (std::size_t n = 0; n < h.size(); ++n) {
        sum += double(h[n]) * rotor;
        rotor *= step;
        if ((n & 1023) == 1023) rotor /= std::abs(rotor); // keep the rotor on the unit circle
    }
    return sum;
}

/// 1/12-octave points from 20 Hz up to 20 kHz, with 20 kHz itself.
inline std::vector<double> twelfthOctaves() {
    std::vector<double> f;
    for (int k = 0; 20 * std::pow(2.0, k / 12.0) < 20000; ++k) f.push_back(20 * std::pow(2.0, k / 12.0));
    f.push_back(20000);
    return f;
}

/// s = j W of the analog prototype for digital frequency f under the bilinear transform
/// prewarped at f0 (what the RBJ cookbook designs).
inline std::complex<double> prototypeS(double f, double f0, double sampleRate) {
    return {0, std::tan(std::numbers::pi * f / sampleRate) / std::tan(std::numbers::pi * f0 / sampleRate)};
}

inline double toDb(double magnitude) { return 20 * std::log10(std::max(magnitude, 1e-300)); }

/// Every output of a compiled YAML graph with one input port of `channels` channels, for
/// `input` (one vector per channel), rendered in blocks of `block`.
inline std::vector<test::Planar> renderYaml(const std::string& yaml, double sampleRate, const test::Planar& input,
                                            int block = 512) {
    Diagnostics diags;
    CompileOptions options;
    options.sampleRate = sampleRate;
    auto program = test::compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    return test::renderFixed(program->executor(), {input}, std::int64_t(input[0].size()), block);
}

/// A unit impulse of `frames` frames.
inline std::vector<float> impulse(std::int64_t frames) {
    std::vector<float> x(std::size_t(frames), 0.0f);
    x[0] = 1.0f;
    return x;
}

/// The impulse response of one instance of a single-port node `type` with `params`, through the
/// kernel harness.
inline std::vector<float> impulseResponse(const std::string& type, const ParamValues& params, double sampleRate,
                                          std::int64_t frames) {
    auto kernel = nodetest::preparedKernel(type, {sampleRate, 512, detectSimdArch()}, {nodetest::instanceOf(type, params, 1)});
    return nodetest::render(*kernel, {impulse(frames)}, 1, 512)[0];
}

/// Properties of a single-port filter node `type`: `instances` instances (mono and stereo) with
/// params(i), hostile input (clipped noise at +20 dB, a full-scale square, a near-Nyquist tone),
/// parameter changes `events` (instance, param, value at their frames) while running:
///  - every block split of nodetest::splitPlans gives the same bits, at 44.1, 48 and 96 kHz;
///  - every SIMD architecture gives the same bits, in place too;
///  - each instance alone in its own kernel gives the same bits as the batched call;
///  - everything stays finite.
template <class Params>
void checkSplitsBatchingArchitectures(const std::string& type, int instances, Params&& params,
                                      const std::vector<nodetest::ParamEvent>& events) {
    using namespace nodetest;
    for (double fs : {44100.0, 48000.0, 96000.0}) {
        CAPTURE(fs);
        const int maxBlock = 4096;
        const std::int64_t frames = 12000;
        std::vector<InstanceSetup> setup;
        std::vector<int> channels;
        for (int i = 0; i < instances; ++i) {
            channels.push_back(i % 2 ? 2 : 1);
            setup.push_back(instanceOf(type, params(i), channels.back()));
        }
        const int lanes = inputLanes(setup);
        Lanes input = noiseLanes(lanes, frames, 17, 10.0f);
        for (int l = 0; l < lanes; ++l)
            for (std::int64_t n = 0; n < frames; ++n) {
                float& v = input[std::size_t(l)][std::size_t(n)];
                if (l % 3 == 0) v = std::clamp(v, -1.0f, 1.0f);                           // clipped noise
                if (l % 3 == 1) v = (n / (11 + l)) % 2 ? 1.0f : -1.0f;                    // full-scale square
                if (l % 3 == 2) v = float(std::sin(0.97 * std::numbers::pi * double(n))); // 0.485 fs
            }
        Lanes reference;
        for (const std::vector<int>& blocks : splitPlans(maxBlock)) {
            RenderPlan plan;
            plan.blockSizes = blocks;
            plan.events = events;
            auto kernel = preparedKernel(type, {fs, maxBlock, detectSimdArch()}, setup);
            const Lanes out = render(*kernel, input, lanes, maxBlock, plan);
            if (reference.empty()) reference = out;
            CAPTURE(blocks.size(), blocks[0]);
            REQUIRE(sameBits(out, reference));
        }
        for (const auto& lane : reference)
            for (float v : lane) REQUIRE(std::isfinite(v));
        RenderPlan plan;
        plan.blockSizes = {200, 7, 512, 64};
        plan.events = events;
        for (SimdArch arch : availableArchs()) {
            CAPTURE(simdArchName(arch));
            for (bool inPlace : {false, true}) {
                RenderPlan p = plan;
                p.inPlace = inPlace;
                auto kernel = preparedKernel(type, {fs, maxBlock, arch}, setup);
                REQUIRE(sameBits(render(*kernel, input, lanes, maxBlock, p), reference));
            }
        }
        const std::vector<Lanes> inputs = splitLanes(input, channels), expected = splitLanes(reference, channels);
        for (std::size_t i = 0; i < setup.size(); ++i) {
            CAPTURE(i);
            RenderPlan single = plan;
            single.events.clear();
            for (ParamEvent e : events)
                if (e.instance == int(i)) {
                    e.instance = 0;
                    single.events.push_back(e);
                }
            auto alone = preparedKernel(type, {fs, maxBlock, detectSimdArch()}, {setup[i]});
            REQUIRE(sameBits(render(*alone, inputs[i], channels[i], maxBlock, single), expected[i]));
        }
    }
}

} // namespace sg::filtertest
