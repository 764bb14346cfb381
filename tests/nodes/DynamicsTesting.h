// Helpers for the dynamics node tests (compressor, gate, deesser, dynamic_eq): a render through
// both input ports (in, sidechain), test signals and level maths computed independently here.
#pragma once

#include "tests/nodes/KernelHarness.h"

#include <cmath>
#include <numbers>

namespace sg::dyntest {

using nodetest::Lanes;

/// One instance of `type` with `channels` on in and `sidechain` channels on the sidechain port.
inline InstanceSetup keyedInstance(const std::string& type, ParamValues params, int channels, int sidechain) {
    const NodeType* t = Registry::builtin().find(type);
    REQUIRE(t != nullptr);
    std::vector<int> outputs;
    const std::vector<int> inputs{channels, sidechain};
    REQUIRE(t->resolveChannels(params, inputs, outputs) == "");
    return {std::move(params), inputs, outputs, type};
}

/// Renders `in` (port 0) and `key` (port 1, may be empty) through `kernel` in blocks cycling
/// through `blocks`; events delivered before the block containing them.
inline Lanes renderKeyed(NodeKernel& kernel, const Lanes& in, const Lanes& key, int maxBlockFrames,
                         const std::vector<int>& blocks, const std::vector<nodetest::ParamEvent>& events = {}) {
    const std::int64_t total = std::int64_t(in[0].size());
    AudioBuffer inBuffer(int(in.size()), maxBlockFrames), keyBuffer(std::max<int>(1, int(key.size())), maxBlockFrames),
        outBuffer(int(in.size()), maxBlockFrames);
    std::vector<const float*> inPointers, keyPointers;
    std::vector<float*> outPointers;
    for (std::size_t l = 0; l < in.size(); ++l) {
        inPointers.push_back(inBuffer.channel(int(l)));
        outPointers.push_back(outBuffer.channel(int(l)));
    }
    for (std::size_t l = 0; l < std::max<std::size_t>(1, key.size()); ++l) keyPointers.push_back(keyBuffer.channel(int(l)));
    const float* const* inPorts[] = {inPointers.data(), keyPointers.data()};
    float* const* outPorts[] = {outPointers.data()};
    Lanes out(in.size(), std::vector<float>(std::size_t(total)));
    std::size_t nextEvent = 0, nextBlock = 0;
    for (std::int64_t position = 0; position < total;) {
        const std::int64_t frames =
            std::min<std::int64_t>({blocks[nextBlock++ % blocks.size()], std::int64_t(maxBlockFrames), total - position});
        while (nextEvent < events.size() && events[nextEvent].position < position + frames) {
            const auto& e = events[nextEvent++];
            kernel.setParam(e.instance, e.param, e.value, e.position);
        }
        for (std::size_t l = 0; l < in.size(); ++l)
            std::memcpy(inBuffer.channel(int(l)), in[l].data() + position, sizeof(float) * std::size_t(frames));
        for (std::size_t l = 0; l < key.size(); ++l)
            std::memcpy(keyBuffer.channel(int(l)), key[l].data() + position, sizeof(float) * std::size_t(frames));
        ProcessContext ctx;
        ctx.position = position;
        ctx.frames = int(frames);
        ctx.inputs = inPorts;
        ctx.outputs = outPorts;
        kernel.process(ctx);
        for (std::size_t l = 0; l < in.size(); ++l)
            std::memcpy(out[l].data() + position, outBuffer.channel(int(l)), sizeof(float) * std::size_t(frames));
        position += frames;
    }
    return out;
}

/// A square wave of amplitude `a` (|x| = a at every frame), half period `half` frames.
inline std::vector<float> square(std::int64_t frames, float a, int half = 37) {
    std::vector<float> s(static_cast<std::size_t>(frames));
    for (std::int64_t n = 0; n < frames; ++n) s[std::size_t(n)] = (n / half) % 2 ? -a : a;
    return s;
}

/// Amplitude envelope: x[n] *= a(n) for n in [from, to).
inline void scale(std::vector<float>& x, std::int64_t from, std::int64_t to, float a) {
    for (std::int64_t n = from; n < to && n < std::int64_t(x.size()); ++n) x[std::size_t(n)] *= a;
}

inline double toDb(double linear) { return 20.0 * std::log10(linear); }

/// Gain change of frame n in dB from input and output (x != 0).
inline double gainDbAt(const std::vector<float>& x, const std::vector<float>& y, std::int64_t n) {
    return toDb(double(y[std::size_t(n)]) / double(x[std::size_t(n)]));
}

/// Peak |x| over [from, to).
inline double peakOf(const std::vector<float>& x, std::int64_t from, std::int64_t to) {
    double p = 0;
    for (std::int64_t n = from; n < to; ++n) p = std::max(p, std::fabs(double(x[std::size_t(n)])));
    return p;
}

/// First frame >= from where the gain change (dB, from y / x) has covered `fraction` of the
/// step from `fromDb` to `toDb`; -1 if never.
inline std::int64_t crossing(const std::vector<float>& x, const std::vector<float>& y, std::int64_t from, double fromDb,
                             double toDb, double fraction) {
    const double level = fromDb + fraction * (toDb - fromDb);
    for (std::int64_t n = from; n < std::int64_t(x.size()); ++n) {
        const double g = gainDbAt(x, y, n);
        if (toDb < fromDb ? g <= level : g >= level) return n;
    }
    return -1;
}

/// Quadratic-knee compressor curve (Giannoulis, Massberg & Reiss 2012, eq. 4), typed again here.
inline double compressorCurveDb(double x, double t, double r, double w) {
    if (x - t < -w / 2) return 0;
    if (x - t > w / 2) return (1 / r - 1) * (x - t);
    return (1 / r - 1) * (x - t + w / 2) * (x - t + w / 2) / (2 * w);
}

} // namespace sg::dyntest
