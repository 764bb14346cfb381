// Test harness for node kernels: prepares a kernel from the built-in registry and renders
// whole signals through it in blocks of chosen sizes, like the executor does (aligned, padded
// block buffers; parameter changes delivered between blocks).
#pragma once

#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sg::nodetest {

/// Samples of every lane: signal[lane][frame].
using Lanes = std::vector<std::vector<float>>;

/// `lanes` lanes of deterministic white noise at `amplitude`, lane l seeded with seed + l.
inline Lanes noiseLanes(int lanes, std::int64_t frames, std::uint32_t seed, float amplitude) {
    Lanes out;
    for (int l = 0; l < lanes; ++l) out.push_back(sg::test::noise(frames, amplitude, seed + std::uint32_t(l)));
    return out;
}

/// A parameter change delivered through NodeKernel::setParam.
struct ParamEvent {
    std::int64_t position = 0;
    int instance = 0;
    int param = 0;
    double value = 0;
};

/// One instance of `type` with `params` on `channels` input channels (outputs as resolved).
inline InstanceSetup instanceOf(const std::string& type, ParamValues params, int channels) {
    const NodeType* t = Registry::builtin().find(type);
    REQUIRE(t != nullptr);
    std::vector<int> outputs;
    const std::vector<int> inputs{channels};
    REQUIRE(t->resolveChannels(params, inputs, outputs) == "");
    return {std::move(params), inputs, outputs, type};
}

/// Parameter values of `type`: defaults with the named ones replaced.
inline ParamValues paramsOf(const std::string& type, std::initializer_list<std::pair<const char*, double>> values) {
    const NodeType* t = Registry::builtin().find(type);
    REQUIRE(t != nullptr);
    ParamValues p = t->defaults();
    for (const auto& [id, value] : values) {
        const int index = t->paramIndex(id);
        REQUIRE(index >= 0);
        p[std::size_t(index)] = value;
    }
    return p;
}

/// A kernel of `type` prepared for `instances`; fails the test if prepare() reports an error.
inline std::unique_ptr<NodeKernel> preparedKernel(const std::string& type, const PrepareSpec& spec,
                                                  const std::vector<InstanceSetup>& instances) {
    const NodeType* t = Registry::builtin().find(type);
    REQUIRE(t != nullptr);
    auto kernel = t->createKernel();
    REQUIRE(kernel->prepare(spec, instances) == "");
    kernel->reset();
    return kernel;
}

/// Lane counts of port 0 for a list of instances.
inline int inputLanes(const std::vector<InstanceSetup>& instances) {
    int n = 0;
    for (const auto& i : instances) n += i.inputChannels[0];
    return n;
}
inline int outputLanes(const std::vector<InstanceSetup>& instances) {
    int n = 0;
    for (const auto& i : instances) n += i.outputChannels[0];
    return n;
}

/// How render() cuts the stream and delivers parameter changes.
struct RenderPlan {
    std::vector<int> blockSizes{512}; ///< cycled; each clamped to maxBlockFrames
    std::vector<ParamEvent> events;   ///< sorted by position
    bool cutAtEvents = false;         ///< also end a block at every event position
    bool inPlace = false;             ///< output lanes are the input lanes
};

/// Renders `input` through `kernel` (prepared with `maxBlockFrames`). Each event is delivered
/// before the block that contains its position.
inline Lanes render(NodeKernel& kernel, const Lanes& input, int outLanes, int maxBlockFrames, const RenderPlan& plan = {}) {
    const int inLanes = int(input.size());
    const std::int64_t total = input.empty() ? 0 : std::int64_t(input[0].size());
    AudioBuffer inBuffer(std::max(inLanes, 1), maxBlockFrames), outBuffer(std::max(outLanes, 1), maxBlockFrames);
    std::vector<const float*> inPointers(std::size_t(std::max(inLanes, 1)));
    std::vector<float*> outPointers(std::size_t(std::max(outLanes, 1)));
    for (int l = 0; l < inLanes; ++l) inPointers[std::size_t(l)] = inBuffer.channel(l);
    for (int l = 0; l < outLanes; ++l) outPointers[std::size_t(l)] = plan.inPlace ? inBuffer.channel(l) : outBuffer.channel(l);
    const float* const* inPorts[] = {inPointers.data()};
    float* const* outPorts[] = {outPointers.data()};

    Lanes output(std::size_t(outLanes), std::vector<float>(std::size_t(total), 0.0f));
    std::size_t nextEvent = 0, nextSize = 0;
    for (std::int64_t position = 0; position < total;) {
        std::int64_t frames = std::min<std::int64_t>(plan.blockSizes[nextSize++ % plan.blockSizes.size()], maxBlockFrames);
        frames = std::min(frames, total - position);
        if (plan.cutAtEvents)
            for (std::size_t e = nextEvent; e < plan.events.size(); ++e)
                if (plan.events[e].position > position && plan.events[e].position < position + frames)
                    frames = plan.events[e].position - position;
        while (nextEvent < plan.events.size() && plan.events[nextEvent].position < position + frames) {
            const ParamEvent& e = plan.events[nextEvent++];
            kernel.setParam(e.instance, e.param, e.value, e.position);
        }
        for (int l = 0; l < inLanes; ++l)
            std::memcpy(inBuffer.channel(l), input[std::size_t(l)].data() + position, sizeof(float) * std::size_t(frames));
        ProcessContext ctx;
        ctx.position = position;
        ctx.frames = int(frames);
        ctx.inputs = inPorts;
        ctx.outputs = outPorts;
        kernel.process(ctx);
        for (int l = 0; l < outLanes; ++l)
            std::memcpy(output[std::size_t(l)].data() + position, outPointers[std::size_t(l)],
                        sizeof(float) * std::size_t(frames));
        position += frames;
    }
    return output;
}

/// True when both signals have the same bits.
inline bool sameBits(const Lanes& a, const Lanes& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t l = 0; l < a.size(); ++l)
        if (a[l].size() != b[l].size() || std::memcmp(a[l].data(), b[l].data(), sizeof(float) * a[l].size()) != 0) return false;
    return true;
}

/// Block-size plans used by the split-independence tests: one block, 1, 7, 64, 4096 and a
/// seeded random split (sizes 1..maxBlockFrames).
inline std::vector<std::vector<int>> splitPlans(int maxBlockFrames, std::uint32_t seed = 7) {
    std::vector<std::vector<int>> plans{{maxBlockFrames}, {1}, {7}, {64}, {4096}};
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> size(1, maxBlockFrames);
    std::vector<int> random;
    for (int i = 0; i < 257; ++i) random.push_back(size(rng));
    plans.push_back(random);
    return plans;
}

/// The architectures this CPU can run, SSE2 first.
inline std::vector<SimdArch> availableArchs() {
    std::vector<SimdArch> archs;
    for (int a = 0; a <= int(detectSimdArch()); ++a) archs.push_back(SimdArch(a));
    return archs;
}

/// Splits `lanes` into per-instance groups of `channels[i]` lanes.
inline std::vector<Lanes> splitLanes(const Lanes& lanes, const std::vector<int>& channels) {
    std::vector<Lanes> out;
    std::size_t next = 0;
    for (int c : channels) {
        out.emplace_back(lanes.begin() + std::ptrdiff_t(next), lanes.begin() + std::ptrdiff_t(next + std::size_t(c)));
        next += std::size_t(c);
    }
    return out;
}

} // namespace sg::nodetest
