// Benchmark: the cost of every node type in the registry, in nanoseconds per sample per channel.
//
//   stereo:   one instance on a stereo input (two lanes) at 48 kHz, default parameters;
//   batched:  32 mono instances in one kernel call (as the compiler batches 32 channel strips),
//             per lane — the figure a mixing graph pays per track.
// Every input port is connected (sidechains too); sources (no input) run with their own output.
// 10 s of audio in 512-frame blocks per measurement, median of 5. Types that cannot take the
// layout (a channel rule that refuses it) print why instead of a figure.
//
// Usage: bench_nodes [--quick] [TYPE...]
#include "core/Buffer.h"
#include "core/Denormals.h"
#include "core/Node.h"
#include "core/Registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace sg;

namespace {

constexpr double kRate = 48000;
constexpr int kBlock = 512;

/// One kernel prepared for `instances` instances whose every input port has `channels`
/// channels (or the other count where the type refuses it), with its lane buffers.
struct Rig {
    std::unique_ptr<NodeKernel> kernel;
    std::vector<AudioBuffer> inputs, outputs; ///< one mono buffer per lane
    std::vector<std::vector<const float*>> inLanes;
    std::vector<std::vector<float*>> outLanes;
    std::vector<const float* const*> in;
    std::vector<float* const*> out;
    int lanes = 0; ///< output lanes of port 0 (or input lanes for a sink-like node)
    std::string error;
};

Rig makeRig(const NodeType& type, int instances, int channels) {
    Rig rig;
    rig.kernel = type.createKernel();
    const ParamValues p = type.defaults();
    const std::size_t inPorts = type.info().inputs.size();
    std::vector<int> ins(inPorts, channels), outs;
    if (!type.resolveChannels(p, ins, outs).empty()) {
        ins.assign(inPorts, channels == 2 ? 1 : 2);
        outs.clear();
        if (std::string why = type.resolveChannels(p, ins, outs); !why.empty()) {
            rig.error = why;
            return rig;
        }
    }
    std::vector<InstanceSetup> setup(std::size_t(instances), InstanceSetup{p, ins, outs, type.info().name});
    if (std::string why = rig.kernel->prepare({kRate, kBlock, detectSimdArch()}, setup); !why.empty()) {
        rig.error = why;
        return rig;
    }
    // One mono buffer per lane, as the executor's slots are (core/passes/Buffers.cpp). Reserved
    // first: lane pointers must stay where they are.
    std::size_t inLaneCount = 0, outLaneCount = 0;
    for (int c : ins) inLaneCount += std::size_t(c * instances);
    for (int c : outs) outLaneCount += std::size_t(c * instances);
    rig.inputs.reserve(inLaneCount);
    rig.outputs.reserve(outLaneCount);
    std::uint32_t seed = 12345;
    for (std::size_t k = 0; k < inPorts; ++k) {
        rig.inLanes.emplace_back();
        for (int c = 0; c < ins[k] * instances; ++c) {
            rig.inputs.emplace_back(1, kBlock);
            for (int n = 0; n < kBlock; ++n) {
                seed = seed * 1664525u + 1013904223u;
                rig.inputs.back().channel(0)[n] = 0.5f * (float(seed >> 8) / 8388608.0f - 1.0f);
            }
            rig.inLanes.back().push_back(rig.inputs.back().channel(0));
        }
    }
    for (std::size_t k = 0; k < outs.size(); ++k) {
        rig.outLanes.emplace_back();
        for (int c = 0; c < outs[k] * instances; ++c) {
            rig.outputs.emplace_back(1, kBlock);
            rig.outLanes.back().push_back(rig.outputs.back().channel(0));
        }
    }
    for (auto& l : rig.inLanes) rig.in.push_back(l.data());
    for (auto& l : rig.outLanes) rig.out.push_back(l.data());
    rig.lanes = !outs.empty() ? outs[0] * instances : ins.empty() ? 0 : ins[0] * instances;
    return rig;
}

/// Median nanoseconds per sample per lane over `runs` runs of `seconds` of audio.
double nsPerLaneSample(Rig& rig, double seconds, int runs) {
    const std::int64_t blocks = std::int64_t(seconds * kRate / kBlock);
    std::vector<double> times;
    ScopedFlushDenormals flush; // as the executor runs kernels
    for (int r = 0; r < runs; ++r) {
        rig.kernel->reset();
        ProcessContext ctx;
        ctx.frames = kBlock;
        ctx.inputs = rig.in.data();
        ctx.outputs = rig.out.data();
        const auto start = std::chrono::steady_clock::now();
        for (std::int64_t b = 0; b < blocks; ++b) {
            ctx.position = b * kBlock;
            rig.kernel->process(ctx);
        }
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        times.push_back(elapsed * 1e9 / (double(blocks) * kBlock * std::max(1, rig.lanes)));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::vector<std::string> only;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else
            only.push_back(argv[i]);
    }
    const double seconds = quick ? 1.0 : 10.0;
    const int runs = quick ? 3 : 5;
    std::printf("bench_nodes: SIMD %s, 48 kHz, %d-frame blocks, %.0f s of audio, median of %d\n", simdArchName(detectSimdArch()),
                kBlock, seconds, runs);
    std::printf("%-14s %-10s %16s %18s %10s\n", "node", "family", "stereo ns/smp/ch", "32 mono ns/smp/lane", "x-realtime");
    for (const NodeType* type : Registry::builtin().all()) {
        const std::string& name = type->info().name;
        if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
        Rig stereo = makeRig(*type, 1, 2);
        Rig batched = makeRig(*type, 32, 1);
        if (!stereo.error.empty() || !batched.error.empty()) {
            std::printf("%-14s %-10s (not measured: %s)\n", name.c_str(), type->info().family.c_str(),
                        (stereo.error.empty() ? batched.error : stereo.error).c_str());
            continue;
        }
        const double stereoNs = nsPerLaneSample(stereo, seconds, runs);
        const double batchedNs = nsPerLaneSample(batched, seconds, runs);
        // x-realtime of one stereo instance: 1 s of audio is 2 * 48000 lane-samples.
        std::printf("%-14s %-10s %16.2f %18.2f %10.0f\n", name.c_str(), type->info().family.c_str(), stereoNs, batchedNs,
                    1e9 / (stereoNs * 2 * kRate));
    }
    return 0;
}
