// Internal: the worker threads of a multi-threaded executor (InstanceOptions::threads).
//
// The schedule is static: the compiler gave every step a worker (core/passes/Partition.cpp).
// Work is handed over in rounds of up to roundBlocks() internal blocks: the caller copies the
// inputs of block 0 and starts the round, copies the other blocks' inputs while the workers run
// their own steps block after block, and takes each block's outputs once they are complete
// (runRound with a RoundIO). Inside a round, a worker waits
// before a step only for the steps of other workers in the same block that it depends on:
// those that write what it reads, and those that read or write what it overwrites (found from
// the buffers each step touches, so any buffer plan is safe). So that a worker can run blocks
// ahead of the others, every buffer that more than one thread touches (a signal between
// workers, an external input or output) is kept once per block of the round; the others are
// the plan's own. A worker's progress is one counter (steps done, ever); a wait is "worker w
// has done its step k of block b". Waiting spins, then yields, then sleeps on the counter (a
// futex where the platform has one): no locks and no allocation, and no system call while the
// other worker keeps up. The caller of runRound() is worker 0; the other threads are started in
// the constructor and live as long as the pool. Nothing depends on timing: every step runs the
// same kernel on the same lanes with the same inputs as on one thread.
#pragma once

#include "core/Buffer.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace sg {

struct ExecutorPlan;
struct KernelCall;
struct SumOp;

class WorkerPool {
public:
    /// Per-worker step lists, their waits and the per-block buffers from plan.stepWorker; starts
    /// the threads. If a thread cannot be started, workers() == 1 and the pool must not be used.
    explicit WorkerPool(ExecutorPlan& plan);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Threads that run steps (the caller's included).
    int workers() const { return int(workers_.size()); }
    /// Internal blocks per round (about 16384 frames' worth, at least 1).
    int roundBlocks() const { return roundBlocks_; }
    /// Where the caller copies channel `channel` of external input `input` for block `block`
    /// of the next round.
    float* inputSlot(int block, std::size_t input, std::size_t channel) const noexcept;
    /// What the caller sums for channel `channel` of external output `output` after block
    /// `block` of the round.
    const std::vector<const float*>& outputSources(int block, std::size_t output, std::size_t channel) const noexcept;
    /// The caller's side of a round, block by block, on the caller's thread.
    class RoundIO {
    public:
        /// Copies block `block`'s inputs into inputSlot(block, ...).
        virtual void inputs(int block) noexcept = 0;
        /// Takes block `block`'s outputs (outputSources(block, ...)), `frames` long.
        virtual void outputs(int block, int frames) noexcept = 0;

    protected:
        ~RoundIO() = default;
    };
    /// Runs every step over `blocks` internal blocks from absolute frame `position`: all of them
    /// maxBlockFrames long but the last, `lastFrames`. Worker 0's steps run on the caller's
    /// thread. With `io`, the caller copies block 0's inputs, starts the other workers, then
    /// copies the other blocks' inputs while they run (a step that touches an input waits
    /// for its block's), and after its own steps of each block, once the other workers'
    /// steps that write the block's output sources are done, takes the block's outputs, in
    /// block order: so the caller's copies overlap the other workers' work (in a pipelined
    /// chain, whose last stage runs on the caller, nobody waits for them). Without `io`, the
    /// caller has copied every block's inputs and takes the outputs after the round. Returns
    /// when every step of every block is done.
    void runRound(std::int64_t position, int blocks, int lastFrames, RoundIO* io = nullptr) noexcept;
    /// Clears the per-block buffers (with Executor::reset()).
    void reset() noexcept;

    /// How a worker's waits ended since the pool started (for benchmarks): at the first look,
    /// while spinning, after giving up the core (yield), or after sleeping on the counter.
    struct WaitCounts {
        std::uint64_t ready = 0, spun = 0, yielded = 0, slept = 0;
        std::uint64_t yields = 0; ///< times the core was given up, in all
    };
    /// Worker `worker`'s counts, read between rounds (exact then for the caller, worker 0; the
    /// others' may lag by their wait for the next round).
    WaitCounts waitCounts(int worker) const noexcept;

    /// A counter threads wait on, on its own cache line.
    struct alignas(64) Signal {
        std::atomic<std::uint32_t> value{0};
        std::atomic<std::uint32_t> sleepers{0};
    };

private:
    struct Wait {
        int worker = 0;
        std::uint32_t step = 0; ///< 1-based index of the awaited step in that worker's list
    };
    /// A call's lane pointers for one block of the round.
    struct View {
        std::vector<SumOp> sums, sumsAfter;
        std::vector<std::vector<const float*>> inputLanes;
        std::vector<std::vector<float*>> outputLanes;
        std::vector<const float* const*> inputPorts;
        std::vector<float* const*> outputPorts;
    };
    struct Step {
        KernelCall* call = nullptr;
        std::vector<View> views; ///< per block of the round
        std::vector<Wait> waits;
        bool publish = false; ///< another thread waits for it: announce it done
        bool input = false;   ///< reads or writes an external input's slot: waits for its block's copy
    };
    /// Written by its worker only (relaxed load and store, no locked add), read by anyone.
    struct WaitCounters {
        std::atomic<std::uint64_t> ready{0}, spun{0}, yielded{0}, slept{0}, yields{0};
    };
    struct Worker {
        std::vector<Step> steps;
        Signal done; ///< steps done since the start, counted as blocks * steps + index
        WaitCounters waits;
        std::thread thread;
    };

    void runSteps(int worker, RoundIO* io = nullptr) noexcept;
    void threadMain(int worker) noexcept;

    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<Wait> outputWaits_; ///< the other workers' last steps that write an output source
    int roundBlocks_ = 1;
    int maxBlockFrames_ = 1;
    std::vector<AudioBuffer> copies_;                                                ///< per-block buffers beyond the plan's
    std::vector<std::vector<std::vector<float*>>> inputSlots_;                       ///< [block][input][channel]
    std::vector<std::vector<std::vector<std::vector<const float*>>>> outputSources_; ///< [block][output][channel]
    Signal start_;                                                                   ///< rounds started
    Signal inputs_; ///< blocks whose inputs are copied, since the start
    std::atomic<bool> quit_{false};
    // The round being run: written by the caller before start_ is raised.
    std::uint32_t round_ = 0;
    std::uint32_t blocksBefore_ = 0; ///< blocks of earlier rounds
    std::int64_t position_ = 0;
    int blocks_ = 0, lastFrames_ = 0;
};

} // namespace sg
