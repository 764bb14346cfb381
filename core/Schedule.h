// The compiled schedule: a flat, immutable list of steps. Printable (`stagegraph check
// --schedule`) and drawable (`stagegraph dot`).
#pragma once

#include <string>
#include <vector>

namespace sg {

/// One resolved node of the compiled graph (declared or inserted by the compiler).
struct ScheduledNode {
    std::string name; ///< dotted name; inserted delays are "<comp>.delayN"
    std::string type;
    bool inserted = false; ///< a latency-compensation delay added by the compiler
    int latencyFrames = 0; ///< the node's own latency
    int arrivalFrames = 0; ///< latency of the signal at this node's output
    std::vector<int> inputChannels, outputChannels;
};

/// One step: one kernel call over `lanes` lanes, covering one or more nodes.
struct ScheduleStep {
    std::vector<int> nodes;         ///< indices into Schedule::nodes, in lane order
    std::string kernel;             ///< type name (batch key)
    int lanes = 0;                  ///< output lanes of port 0 in one call
    std::vector<int> inputBuffers;  ///< buffer slots read (after summing)
    std::vector<int> outputBuffers; ///< buffer slots written
    int sumsBefore = 0;             ///< inputs formed by summing several connections
    /// Partial sums formed after the step, on its worker, for a step of another worker (the
    /// leading run of a sum's sources: core/passes/Passes.h, leadingRun). Their buffers are
    /// among outputBuffers.
    int sumsAfter = 0;
    /// Chain fusion: nodes per instance, in lane order (their sum is nodes.size()); a count
    /// above 1 is a chain run in series as one instance. Empty when no chain was fused here.
    std::vector<int> stages = {};
    int worker = 0; ///< the worker thread that runs it (InstanceOptions::threads)
};

/// One connection of the compiled graph (after expansion and delay insertion). Endpoints
/// index Schedule::nodes, or the external inputs/outputs when the index is negative:
/// -1 - i is external input/output i.
struct ScheduleEdge {
    int from = 0, fromPort = 0, to = 0, toPort = 0;
    int channels = 0;
};

/// A human-readable description of the compiled program.
struct Schedule {
    double sampleRate = 0;
    int maxBlockFrames = 0;
    std::string simd; ///< "sse2" | "avx2" | "avx512"
    bool batched = true;
    int workers = 1; ///< worker threads that run steps (1: the caller's thread alone)
    std::vector<ScheduledNode> nodes;
    std::vector<int> topologicalOrder; ///< node indices, ties broken by declaration order
    std::vector<ScheduleStep> steps;
    std::vector<ScheduleEdge> edges;
    std::vector<std::string> inputNames, outputNames; ///< external ports
    std::vector<int> inputChannels, outputChannels;
    int edgeCount = 0;      ///< connections after expansion (incl. inserted delays)
    int bufferCount = 0;    ///< buffer slots after liveness reuse
    int bufferChannels = 0; ///< total channels allocated across slots
    int latencyFrames = 0;  ///< whole graph, input to output
    int insertedDelays = 0;
    double tailSeconds = 0; ///< longest tail of any node
    /// Multi-line text for `check --schedule`.
    std::string describe() const;
};

} // namespace sg
