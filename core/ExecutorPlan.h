// Internal: what the compiler hands the executor. Everything is allocated here at setup; the
// executor's process path only reads these arrays.
#pragma once

#include "core/Buffer.h"
#include "core/Executor.h"
#include "core/Node.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg {

/// dst = sum of srcs (one channel each, added in order), before a step.
struct SumOp {
    float* destination = nullptr;
    std::vector<const float*> sources;
    /// Elementwise::sumSources of the plan's architecture (every one gives the same bits).
    void (*add)(const float* const* sources, int count, float* out, int frames) noexcept = nullptr;
};

/// One kernel call with its lane pointers.
struct KernelCall {
    std::unique_ptr<NodeKernel> kernel;
    std::vector<SumOp> sums;                           ///< done before the call
    std::vector<SumOp> sumsAfter;                      ///< partial sums done after it (several workers)
    std::vector<std::vector<const float*>> inputLanes; ///< [port][lane]
    std::vector<std::vector<float*>> outputLanes;      ///< [port][lane]
    std::vector<const float* const*> inputPorts;       ///< [port] -> inputLanes[port].data()
    std::vector<float* const*> outputPorts;
    std::vector<std::string> instanceNames; ///< dotted node name per instance
    std::vector<std::string> instanceTypes; ///< type name per instance
    /// Per instance: its place in the one-worker schedule (measurements are listed in that
    /// order). Empty: this schedule's order.
    std::vector<int> instanceRanks = {};
};

/// Where an external output's channel comes from: the sum of these channel pointers.
struct OutputChannelSource {
    std::vector<const float*> sources;
};

/// A place where the schedule reads channel `channel` of external input `input` before any
/// step overwrites its slot: on one thread the executor points it at the caller's samples block
/// by block instead of copying them into the slot (Executor::process). Found at setup, in
/// schedule order.
struct InputRead {
    enum class Kind {
        Sum,    ///< calls[at].sums[first].sources[second]
        Lane,   ///< calls[at].inputLanes[first][second]
        Output, ///< outputSources[at][first].sources[second]
    };
    Kind kind = Kind::Lane;
    int at = 0, first = 0, second = 0;
    int input = 0, channel = 0;
};

/// A parameter reachable through Executor::setParam.
struct ParamTarget {
    std::string node, param;
    int call = 0, instance = 0, paramIndex = 0;
    double minValue = 0, maxValue = 0;
};

/// Runs one kernel call: its sums, the kernel on these ports, then its partial sums.
/// Element-wise loops over padded lengths: buffers are padded to kSimdPadFrames, so the
/// vectorised loops need no tail.
inline void runCall(NodeKernel& kernel, const std::vector<SumOp>& sums, const float* const* const* inputs,
                    float* const* const* outputs, const std::vector<SumOp>& sumsAfter, ProcessContext& ctx) noexcept {
    const int padded = paddedFrames(ctx.frames);
    for (const SumOp& sum : sums) sum.add(sum.sources.data(), int(sum.sources.size()), sum.destination, padded);
    ctx.inputs = inputs;
    ctx.outputs = outputs;
    kernel.process(ctx);
    for (const SumOp& sum : sumsAfter) sum.add(sum.sources.data(), int(sum.sources.size()), sum.destination, padded);
}

/// The same for a call of the plan, on its own lane pointers.
inline void runCall(KernelCall& call, ProcessContext& ctx) noexcept {
    runCall(*call.kernel, call.sums, call.inputPorts.data(), call.outputPorts.data(), call.sumsAfter, ctx);
}

struct ExecutorPlan {
    double sampleRate = 48000;
    int maxBlockFrames = 512;
    int latencyFrames = 0;
    std::vector<ExternalPort> inputs, outputs;
    std::vector<AudioBuffer> slots;                              ///< mono channel buffers, reused by liveness
    AudioBuffer silence;                                         ///< one zero channel for unconnected inputs
    std::vector<std::vector<float*>> inputSlots;                 ///< [external input][channel]
    std::vector<std::vector<OutputChannelSource>> outputSources; ///< [external output][channel]
    std::vector<KernelCall> calls;                               ///< in schedule order
    std::vector<int> stepWorker;            ///< per call: its worker thread (empty = all on the caller's thread)
    std::vector<InputRead> inputReads;      ///< filled by the executor (inputReadsOf)
    std::vector<const float**> inputReadAt; ///< per inputReads entry: the pointer in calls/outputSources
    std::vector<ParamTarget> params;
    std::int64_t position = 0;
    std::uint64_t nonFinite = 0;
    std::int64_t firstNonFinite = -1;
};

/// Every place where `plan` reads an external input's samples before a step overwrites its slot
/// (a slot may be reused for another signal, or written in place, after the input's last read).
std::vector<InputRead> inputReadsOf(const ExecutorPlan& plan);

} // namespace sg
