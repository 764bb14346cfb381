// Helpers for the stereo and analysis-tap tests: render a YAML graph at a rate, block plan and
// batching choice; hostile test material; measurement look-up.
#pragma once

#include "core/Compiler.h"
#include "core/Diagnostics.h"
#include "core/Executor.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace sg::stereotest {

using sg::test::Planar;

inline const std::vector<double> kRates{44100, 48000, 96000};

/// Host block plans: one size cycled, or a seeded random split when `sizes` is empty.
inline const std::vector<std::vector<int>> kBlockPlans{{1}, {7}, {64}, {512}, {4096}, {}};

struct GraphRun {
    std::vector<Planar> outputs;
    std::vector<Executor::NodeMeasurements> taps;
};

/// Compiles `yaml` at `rate` and renders `inputs` (one Planar per external input, in
/// declaration order) in host blocks of `plan` (cycled; empty = random sizes 1..2000).
inline GraphRun runGraph(const std::string& yaml, const std::vector<Planar>& inputs, double rate,
                         const std::vector<int>& plan = {512}, bool batch = true) {
    Diagnostics diags;
    InstanceOptions options;
    options.sampleRate = rate;
    options.maxBlockFrames = 1024;
    options.batch = batch;
    auto program = sg::test::compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program != nullptr);
    const std::int64_t frames = std::int64_t(inputs.at(0).at(0).size());
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> size(1, 2000);
    std::size_t next = 0;
    GraphRun run;
    run.outputs = sg::test::renderBlocks(program->executor(), inputs, frames,
                                         [&] { return plan.empty() ? size(rng) : plan[next++ % plan.size()]; });
    run.taps = program->executor().measurements();
    return run;
}

/// The measurement `key` of node `node`; fails the test if absent.
inline double measured(const GraphRun& run, const std::string& node, const std::string& key) {
    for (const auto& tap : run.taps)
        if (tap.node == node)
            for (const auto& m : tap.values)
                if (m.key == key) return m.value;
    FAIL("no measurement " << node << "." << key);
    return 0;
}

/// The series `key` of node `node`; fails the test if absent.
inline const MeasurementSeries& seriesOf(const GraphRun& run, const std::string& node, const std::string& key) {
    for (const auto& tap : run.taps)
        if (tap.node == node)
            for (const auto& s : tap.series)
                if (s.key == key) return s;
    FAIL("no series " << node << "." << key);
    static MeasurementSeries none;
    return none;
}

/// Full-scale square wave of `periodFrames` frames, starting high.
inline std::vector<float> square(std::int64_t frames, int periodFrames, float level = 1.0f) {
    std::vector<float> out(static_cast<std::size_t>(frames));
    for (std::int64_t n = 0; n < frames; ++n) out[std::size_t(n)] = (n % periodFrames) < periodFrames / 2 ? level : -level;
    return out;
}

/// White noise driven 20 dB past full scale and clipped at +-1.
inline std::vector<float> clippedNoise(std::int64_t frames, std::uint32_t seed) {
    std::vector<float> out = sg::test::noise(frames, 10.0f, seed);
    for (float& x : out) x = std::clamp(x, -1.0f, 1.0f);
    return out;
}

/// A hostile stereo signal: clipped noise, a full-scale square, a near-Nyquist tone, silence and
/// independent noise, one after another in each channel, 0.25 s each.
inline Planar hostileStereo(double rate, std::uint32_t seed = 3) {
    const std::int64_t part = std::int64_t(rate / 4);
    Planar out(2);
    const std::vector<std::vector<float>> parts[2] = {
        {clippedNoise(part, seed), square(part, 6), sg::test::sine(0.49 * rate, 1.0, rate, part),
         std::vector<float>(std::size_t(part), 0.0f), sg::test::noise(part, 0.3f, seed + 2)},
        {clippedNoise(part, seed + 1), square(part, 10), sg::test::sine(0.48 * rate, 1.0, rate, part, 1.0),
         std::vector<float>(std::size_t(part), 0.0f), sg::test::noise(part, 0.7f, seed + 3)}};
    for (int c = 0; c < 2; ++c)
        for (const auto& p : parts[c]) out[std::size_t(c)].insert(out[std::size_t(c)].end(), p.begin(), p.end());
    return out;
}

/// `x` rounded to a 16-bit fixed-point grid (k / 32768), zeros positive (as a 16-bit file reads).
inline Planar quantised16(Planar x) {
    for (auto& channel : x)
        for (float& v : channel) v = float(std::clamp(std::round(double(v) * 32768.0), -32768.0, 32767.0) / 32768.0) + 0.0f;
    return x;
}

/// A one-node stereo graph: external input `in` (channels) -> node -> output `out`.
inline std::string oneNodeGraph(const std::string& node, int inChannels = 2, int outChannels = 2) {
    return "stagegraph: 1\ninputs: {in: {channels: " + std::to_string(inChannels) +
           "}}\noutputs: {out: {channels: " + std::to_string(outChannels) + "}}\nnodes: {n: " + node +
           "}\nconnections: [\"in -> n -> out\"]\n";
}

/// Two parallel instances (so batching merges them): inputs a, b -> x, y -> outputs p, q.
inline std::string twoNodeGraph(const std::string& nodeX, const std::string& nodeY, int inChannels = 2, int outChannels = 2) {
    const std::string in = std::to_string(inChannels), out = std::to_string(outChannels);
    return "stagegraph: 1\ninputs: {a: {channels: " + in + "}, b: {channels: " + in + "}}\noutputs: {p: {channels: " + out +
           "}, q: {channels: " + out + "}}\nnodes: {x: " + nodeX + ", y: " + nodeY +
           "}\nconnections: [\"a -> x -> p\", \"b -> y -> q\"]\n";
}

} // namespace sg::stereotest
