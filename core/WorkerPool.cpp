#include "core/WorkerPool.h"

#include "core/Denormals.h"
#include "core/ExecutorPlan.h"

#include <algorithm>
#include <map>
#include <system_error>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace sg {

namespace {

/// `value` has reached `target` (counters wrap: compared by signed distance).
inline bool reached(std::uint32_t value, std::uint32_t target) noexcept { return std::int32_t(value - target) >= 0; }

inline void cpuRelax() noexcept {
#if defined(__SSE2__)
    _mm_pause();
#endif
}

// A wait spins first (the other worker is usually a few microseconds away), then gives up the
// core a few times (on a loaded machine the awaited thread may need it), then sleeps.
constexpr int kSpins = 200;
constexpr int kYields = 4;

void waitFor(WorkerPool::Signal& signal, std::uint32_t target) noexcept {
    for (int i = 0; i < kSpins; ++i) {
        if (reached(signal.value.load(std::memory_order_acquire), target)) return;
        cpuRelax();
    }
    for (int i = 0; i < kYields; ++i) {
        if (reached(signal.value.load(std::memory_order_acquire), target)) return;
        std::this_thread::yield();
    }
    // Sleep: announced first, so the publisher sees a sleeper or we see its value (both
    // sequentially consistent). wait() returns once the value differs from `seen`.
    signal.sleepers.fetch_add(1, std::memory_order_seq_cst);
    for (;;) {
        const std::uint32_t seen = signal.value.load(std::memory_order_seq_cst);
        if (reached(seen, target)) break;
        signal.value.wait(seen, std::memory_order_seq_cst);
    }
    signal.sleepers.fetch_sub(1, std::memory_order_release);
}

void publish(WorkerPool::Signal& signal, std::uint32_t value) noexcept {
    signal.value.store(value, std::memory_order_seq_cst);
    if (signal.sleepers.load(std::memory_order_seq_cst) != 0) signal.value.notify_all();
}

/// What a call reads and writes, by buffer.
struct Access {
    std::vector<const float*> reads, writes;
};

Access accessOf(const KernelCall& call) {
    Access a;
    for (const SumOp& sum : call.sums) {
        a.reads.insert(a.reads.end(), sum.sources.begin(), sum.sources.end());
        a.writes.push_back(sum.destination);
    }
    for (const auto& lanes : call.inputLanes) a.reads.insert(a.reads.end(), lanes.begin(), lanes.end());
    for (const auto& lanes : call.outputLanes) a.writes.insert(a.writes.end(), lanes.begin(), lanes.end());
    return a;
}

} // namespace

WorkerPool::WorkerPool(ExecutorPlan& plan) {
    int count = 1;
    for (int w : plan.stepWorker) count = std::max(count, w + 1);
    const std::size_t calls = plan.calls.size();
    auto workerOf = [&](std::size_t c) { return plan.stepWorker.size() == calls ? plan.stepWorker[c] : 0; };
    for (int w = 0; w < count; ++w) workers_.push_back(std::make_unique<Worker>());

    // Dependencies in schedule order: read after write, write after read, write after write.
    struct BufferUse {
        int writer = -1;
        std::vector<int> readers; // since the last write
    };
    std::map<const float*, BufferUse> uses;
    std::vector<int> indexInWorker(calls, 0);
    for (std::size_t c = 0; c < calls; ++c) {
        const int worker = workerOf(c);
        std::vector<int> after; // calls this one must follow
        const Access access = accessOf(plan.calls[c]);
        for (const float* p : access.reads) {
            auto it = uses.find(p);
            if (it != uses.end() && it->second.writer >= 0) after.push_back(it->second.writer);
        }
        for (const float* p : access.writes) {
            auto it = uses.find(p);
            if (it == uses.end()) continue;
            if (it->second.writer >= 0) after.push_back(it->second.writer);
            after.insert(after.end(), it->second.readers.begin(), it->second.readers.end());
        }
        for (const float* p : access.reads) uses[p].readers.push_back(int(c));
        for (const float* p : access.writes) {
            BufferUse& use = uses[p];
            use.writer = int(c);
            use.readers.clear();
        }

        Step step;
        step.call = &plan.calls[c];
        // Steps of the same worker run in order anyway; of another, the latest one is enough.
        std::vector<std::uint32_t> latest(std::size_t(count), 0);
        for (int d : after) {
            const int other = workerOf(std::size_t(d));
            if (d == int(c) || other == worker) continue;
            latest[std::size_t(other)] = std::max(latest[std::size_t(other)], std::uint32_t(indexInWorker[std::size_t(d)] + 1));
        }
        for (int w = 0; w < count; ++w) {
            if (latest[std::size_t(w)] == 0) continue;
            step.waits.push_back({w, latest[std::size_t(w)]});
            workers_[std::size_t(w)]->steps[latest[std::size_t(w)] - 1].publish = true;
        }
        indexInWorker[c] = int(workers_[std::size_t(worker)]->steps.size());
        workers_[std::size_t(worker)]->steps.push_back(std::move(step));
    }
    // Worker 0 (the caller) waits for every other worker's last step at the end of a block.
    for (int w = 1; w < count; ++w)
        if (!workers_[std::size_t(w)]->steps.empty()) workers_[std::size_t(w)]->steps.back().publish = true;

    for (int w = 1; w < count; ++w) {
        try {
            workers_[std::size_t(w)]->thread = std::thread([this, w] { threadMain(w); });
        } catch (const std::system_error&) {
            // No thread: stop those started, then everything on the caller, in schedule order.
            quit_.store(true, std::memory_order_seq_cst);
            publish(start_, block_ + 1);
            for (auto& worker : workers_)
                if (worker->thread.joinable()) worker->thread.join();
            workers_.resize(1);
            workers_[0]->steps.clear();
            for (auto& call : plan.calls) workers_[0]->steps.push_back({&call, {}, false});
            quit_.store(false);
            break;
        }
    }
}

WorkerPool::~WorkerPool() {
    quit_.store(true, std::memory_order_seq_cst);
    publish(start_, block_ + 1);
    for (auto& worker : workers_)
        if (worker->thread.joinable()) worker->thread.join();
}

void WorkerPool::threadMain(int worker) noexcept {
    ScopedFlushDenormals flush; // the same floating-point mode as the caller's process()
    for (std::uint32_t block = 1;; ++block) {
        waitFor(start_, block);
        if (quit_.load(std::memory_order_acquire)) return;
        runSteps(worker, block);
    }
}

void WorkerPool::runSteps(int worker, std::uint32_t block) noexcept {
    Worker& self = *workers_[std::size_t(worker)];
    const std::uint32_t base = (block - 1) * std::uint32_t(self.steps.size());
    ProcessContext ctx;
    ctx.position = position_;
    ctx.frames = frames_;
    std::uint32_t index = 0;
    for (Step& step : self.steps) {
        for (const Wait& wait : step.waits) {
            Worker& other = *workers_[std::size_t(wait.worker)];
            waitFor(other.done, (block - 1) * std::uint32_t(other.steps.size()) + wait.step);
        }
        runCall(*step.call, ctx);
        ++index;
        if (step.publish) publish(self.done, base + index);
    }
}

void WorkerPool::runBlock(std::int64_t position, int frames) noexcept {
    ++block_;
    position_ = position;
    frames_ = frames;
    if (workers_.size() > 1) publish(start_, block_);
    runSteps(0, block_);
    for (std::size_t w = 1; w < workers_.size(); ++w) {
        Worker& other = *workers_[w];
        if (!other.steps.empty()) waitFor(other.done, block_ * std::uint32_t(other.steps.size()));
    }
}

} // namespace sg
