// Runs a compiled schedule block by block.
//
// On one thread, or on several (InstanceOptions::threads): then the caller of process() runs
// its share of the steps and the other workers theirs, waiting for each other only where one
// reads what another writes; process() returns when the block is done everywhere.
//
// process() never allocates, locks, logs or throws. Any number of frames may be passed; they
// are cut into internal blocks of at most maxBlockFrames. Output is bit-identical for any
// split of the stream into blocks. Non-finite samples at the outputs are replaced by silence
// and counted, never passed on silently.
#pragma once

#include "core/Buffer.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sg {

struct ExecutorPlan;      // built by the compiler (core/ExecutorPlan.h)
struct Measurement;       // core/Node.h
struct MeasurementSeries; // core/Node.h
class WorkerPool;         // core/WorkerPool.h

/// One external input or output of a running program.
struct ExternalPort {
    std::string name;
    int channels = 0;
};

class Executor {
public:
    explicit Executor(std::unique_ptr<ExecutorPlan> plan);
    ~Executor();
    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    const std::vector<ExternalPort>& inputs() const;
    const std::vector<ExternalPort>& outputs() const;
    double sampleRate() const;
    int maxBlockFrames() const;
    /// Whole-graph latency in frames: output frame n corresponds to input frame n - latency.
    int latencyFrames() const;
    /// Threads that run the graph's steps, the caller of process() included: 1 unless the
    /// program was instantiated with InstanceOptions::threads > 1 and the graph has branches
    /// to share (the output is bit-identical either way).
    int workerThreads() const;
    /// The other threads and their wait counts (benchmarks); null on one thread.
    const WorkerPool* workerPool() const noexcept { return workers_.get(); }

    /// Clears all node state and restarts at position 0. Real-time safe.
    void reset() noexcept;
    /// Processes inputs[i] (channels of external input i) into outputs[o]. Every view has the
    /// same frame count; channel counts match inputs()/outputs(). Any frame count >= 0. On one
    /// thread the steps read an input view in place where it covers an internal block's padded
    /// length (paddedFrames; what lies past the block's frames is ignored), else a copy of it.
    void process(std::span<const ConstAudioView> inputs, std::span<const AudioView> outputs) noexcept;
    /// Absolute position of the next frame to process.
    std::int64_t position() const noexcept;

    /// Non-finite samples replaced at outputs since reset, and the first frame where one was.
    std::uint64_t nonFiniteSamples() const noexcept;
    std::int64_t firstNonFiniteFrame() const noexcept;

    /// Finds a parameter by dotted node name and id for setParam. Setup time.
    /// Returns a handle >= 0, or -1 with `error` set.
    int findParam(const std::string& node, const std::string& param, std::string& error) const;
    /// Sets a parameter (value in base units) from absolute frame `position` on (smoothed).
    /// Call between process() calls from the processing thread. Real-time safe.
    void setParam(int handle, double value, std::int64_t position) noexcept;

    /// One node's measurements (meter taps), by dotted node name.
    struct NodeMeasurements {
        std::string node;
        std::string type;
        std::vector<Measurement> values;
        std::vector<MeasurementSeries> series; ///< time series (gain reduction over time, ...)
    };
    /// Every node that reports measurements, in schedule order. Not real-time: call between
    /// process() calls or after the render.
    std::vector<NodeMeasurements> measurements() const;

private:
    std::unique_ptr<ExecutorPlan> plan_;
    std::unique_ptr<WorkerPool> workers_; ///< null on one thread; destroyed before plan_
};

} // namespace sg
