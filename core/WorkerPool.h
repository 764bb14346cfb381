// Internal: the worker threads of a multi-threaded executor (InstanceOptions::threads).
//
// The schedule is static: the compiler gave every step a worker (core/passes/Partition.cpp).
// Each worker runs its own steps in schedule order, block by block; before a step it waits
// only for the steps of other workers it depends on: those that write what it reads, and
// those that read or write what it overwrites (found here from the buffers each step touches,
// so any buffer plan is safe). A worker's progress is one counter (steps done, ever); a wait
// is "worker w has done its step k of this block". Waiting spins, then yields, then sleeps on
// the counter (a futex where the platform has one): no locks, no allocation, no system call
// while the other worker keeps up. The caller of runBlock() is worker 0; the other threads are
// started in the constructor and live as long as the pool. Nothing here depends on timing:
// every step runs the same kernel on the same lanes with the same inputs as on one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace sg {

struct ExecutorPlan;
struct KernelCall;

class WorkerPool {
public:
    /// Per-worker step lists and their waits from plan.stepWorker; starts the threads. If a
    /// thread cannot be started, every step runs on the caller's thread (workers() == 1), in
    /// schedule order: the same output.
    explicit WorkerPool(ExecutorPlan& plan);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    /// Threads that run steps (the caller's included).
    int workers() const { return int(workers_.size()); }
    /// Runs every step over `frames` frames from absolute `position`: worker 0's steps on the
    /// caller's thread, the others' on theirs. Returns when every step is done. The external
    /// input slots must be filled before; the outputs' sources are final after.
    void runBlock(std::int64_t position, int frames) noexcept;

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
    struct Step {
        KernelCall* call = nullptr;
        std::vector<Wait> waits;
        bool publish = false; ///< another thread waits for it: announce it done
    };
    struct Worker {
        std::vector<Step> steps;
        Signal done; ///< steps done since the start, counted as block * steps + index
        std::thread thread;
    };

    void runSteps(int worker, std::uint32_t block) noexcept;
    void threadMain(int worker) noexcept;

    std::vector<std::unique_ptr<Worker>> workers_;
    Signal start_; ///< blocks started
    std::atomic<bool> quit_{false};
    std::uint32_t block_ = 0;   ///< blocks started (caller's thread)
    std::int64_t position_ = 0; ///< of the block being run: written before start_ is raised
    int frames_ = 0;
};

} // namespace sg
