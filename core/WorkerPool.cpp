#include "core/WorkerPool.h"

#include "core/Denormals.h"
#include "core/ExecutorPlan.h"

#include <algorithm>
#include <map>
#include <set>
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
// core a number of times (on a loaded machine the awaited thread may need it), then sleeps.
constexpr int kSpins = 200;
constexpr int kYields = 100;
/// Frames a round covers at most: as much as a chunk of the render's I/O pipeline.
constexpr int kRoundFrames = 16384;
constexpr int kMaxRoundBlocks = 64;

inline void count(std::atomic<std::uint64_t>& counter) noexcept {
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

template <class Counters> void waitFor(WorkerPool::Signal& signal, std::uint32_t target, Counters& counts) noexcept {
    if (reached(signal.value.load(std::memory_order_acquire), target)) return count(counts.ready);
    for (int i = 0; i < kSpins; ++i) {
        if (reached(signal.value.load(std::memory_order_acquire), target)) return count(counts.spun);
        cpuRelax();
    }
    for (int i = 0; i < kYields; ++i) {
        if (reached(signal.value.load(std::memory_order_acquire), target)) {
            counts.yields.store(counts.yields.load(std::memory_order_relaxed) + std::uint64_t(i), std::memory_order_relaxed);
            return count(counts.yielded);
        }
        std::this_thread::yield();
    }
    counts.yields.store(counts.yields.load(std::memory_order_relaxed) + std::uint64_t(kYields), std::memory_order_relaxed);
    count(counts.slept);
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
    // Partial sums after the kernel: what they read of the call's own outputs is no read of
    // another call's.
    const std::vector<const float*> own(a.writes.begin(), a.writes.end());
    for (const SumOp& sum : call.sumsAfter) {
        for (const float* p : sum.sources)
            if (std::find(own.begin(), own.end(), p) == own.end()) a.reads.push_back(p);
        a.writes.push_back(sum.destination);
    }
    return a;
}

} // namespace

WorkerPool::WorkerPool(ExecutorPlan& plan) {
    int count = 1;
    for (int w : plan.stepWorker) count = std::max(count, w + 1);
    const std::size_t calls = plan.calls.size();
    auto workerOf = [&](std::size_t c) { return plan.stepWorker.size() == calls ? plan.stepWorker[c] : 0; };
    for (int w = 0; w < count; ++w) workers_.push_back(std::make_unique<Worker>());
    maxBlockFrames_ = std::max(1, plan.maxBlockFrames);
    roundBlocks_ = std::clamp(kRoundFrames / maxBlockFrames_, 1, kMaxRoundBlocks);

    // Buffers kept once per block of a round: those of more than one thread. The caller writes
    // the inputs and reads the outputs' sources of every block around the round, so those too.
    std::map<const float*, std::set<int>> users;
    for (std::size_t c = 0; c < calls; ++c) {
        const Access access = accessOf(plan.calls[c]);
        for (const float* p : access.reads) users[p].insert(workerOf(c));
        for (const float* p : access.writes) users[p].insert(workerOf(c));
    }
    std::set<const float*> shared;
    for (const auto& [p, who] : users)
        if (who.size() > 1) shared.insert(p);
    for (const auto& channels : plan.inputSlots) shared.insert(channels.begin(), channels.end());
    for (const auto& channels : plan.outputSources)
        for (const auto& source : channels) shared.insert(source.sources.begin(), source.sources.end());
    shared.erase(plan.silence.channel(0));                // read-only
    std::map<const float*, std::vector<float*>> perBlock; // copy 0 is the plan's own buffer
    for (const float* p : shared) {
        std::vector<float*>& copies = perBlock[p];
        copies.push_back(const_cast<float*>(p));
        for (int b = 1; b < roundBlocks_; ++b) {
            copies_.emplace_back(1, maxBlockFrames_);
            copies.push_back(copies_.back().channel(0));
        }
    }
    auto at = [&](const float* p, int block) -> float* {
        auto it = perBlock.find(p);
        return it == perBlock.end() ? const_cast<float*>(p) : it->second[std::size_t(block)];
    };
    inputSlots_.resize(std::size_t(roundBlocks_));
    outputSources_.resize(std::size_t(roundBlocks_));
    for (int b = 0; b < roundBlocks_; ++b) {
        for (const auto& channels : plan.inputSlots) {
            inputSlots_[std::size_t(b)].emplace_back();
            for (float* p : channels) inputSlots_[std::size_t(b)].back().push_back(at(p, b));
        }
        for (const auto& channels : plan.outputSources) {
            outputSources_[std::size_t(b)].emplace_back();
            for (const auto& source : channels) {
                outputSources_[std::size_t(b)].back().emplace_back();
                for (const float* p : source.sources) outputSources_[std::size_t(b)].back().back().push_back(at(p, b));
            }
        }
    }

    // Dependencies in schedule order, inside a block: read after write, write after read,
    // write after write. (Blocks of a round use their own copies of what threads share.)
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
        KernelCall& call = plan.calls[c];
        step.call = &call;
        for (const auto& channels : plan.inputSlots)
            for (const float* p : channels)
                step.input |= std::find(access.reads.begin(), access.reads.end(), p) != access.reads.end() ||
                              std::find(access.writes.begin(), access.writes.end(), p) != access.writes.end();
        // The call's lanes in every block of the round (ports point into the lanes: built last).
        step.views.resize(std::size_t(roundBlocks_));
        for (int b = 0; b < roundBlocks_; ++b) {
            View& view = step.views[std::size_t(b)];
            auto sumOp = [&](const SumOp& sum) {
                SumOp op;
                op.destination = at(sum.destination, b);
                for (const float* p : sum.sources) op.sources.push_back(at(p, b));
                op.add = sum.add;
                return op;
            };
            for (const SumOp& sum : call.sums) view.sums.push_back(sumOp(sum));
            for (const SumOp& sum : call.sumsAfter) view.sumsAfter.push_back(sumOp(sum));
            for (const auto& lanes : call.inputLanes) {
                view.inputLanes.emplace_back();
                for (const float* p : lanes) view.inputLanes.back().push_back(at(p, b));
            }
            for (const auto& lanes : call.outputLanes) {
                view.outputLanes.emplace_back();
                for (float* p : lanes) view.outputLanes.back().push_back(at(p, b));
            }
            for (const auto& lanes : view.inputLanes) view.inputPorts.push_back(lanes.data());
            for (const auto& lanes : view.outputLanes) view.outputPorts.push_back(lanes.data());
        }
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
    // The caller takes a block's outputs once the last writer of every output source is done.
    {
        std::vector<std::uint32_t> latest(std::size_t(count), 0);
        for (const auto& channels : plan.outputSources)
            for (const auto& source : channels)
                for (const float* p : source.sources) {
                    auto it = uses.find(p);
                    if (it == uses.end() || it->second.writer < 0) continue;
                    const int w = workerOf(std::size_t(it->second.writer));
                    if (w == 0) continue;
                    latest[std::size_t(w)] =
                        std::max(latest[std::size_t(w)], std::uint32_t(indexInWorker[std::size_t(it->second.writer)] + 1));
                }
        for (int w = 1; w < count; ++w) {
            if (latest[std::size_t(w)] == 0) continue;
            outputWaits_.push_back({w, latest[std::size_t(w)]});
            workers_[std::size_t(w)]->steps[latest[std::size_t(w)] - 1].publish = true;
        }
    }
    // The caller waits for every other worker's last step at the end of a round.
    for (int w = 1; w < count; ++w)
        if (!workers_[std::size_t(w)]->steps.empty()) workers_[std::size_t(w)]->steps.back().publish = true;

    for (int w = 1; w < count; ++w) {
        try {
            workers_[std::size_t(w)]->thread = std::thread([this, w] { threadMain(w); });
        } catch (const std::system_error&) {
            // No thread: stop those started; the executor then runs every step itself.
            quit_.store(true, std::memory_order_seq_cst);
            publish(start_, round_ + 1);
            for (auto& worker : workers_)
                if (worker->thread.joinable()) worker->thread.join();
            workers_.resize(1);
            break;
        }
    }
}

WorkerPool::~WorkerPool() {
    quit_.store(true, std::memory_order_seq_cst);
    publish(start_, round_ + 1);
    for (auto& worker : workers_)
        if (worker->thread.joinable()) worker->thread.join();
}

float* WorkerPool::inputSlot(int block, std::size_t input, std::size_t channel) const noexcept {
    return inputSlots_[std::size_t(block)][input][channel];
}

const std::vector<const float*>& WorkerPool::outputSources(int block, std::size_t output, std::size_t channel) const noexcept {
    return outputSources_[std::size_t(block)][output][channel];
}

WorkerPool::WaitCounts WorkerPool::waitCounts(int worker) const noexcept {
    const WaitCounters& c = workers_[std::size_t(worker)]->waits;
    return {c.ready.load(std::memory_order_relaxed), c.spun.load(std::memory_order_relaxed),
            c.yielded.load(std::memory_order_relaxed), c.slept.load(std::memory_order_relaxed),
            c.yields.load(std::memory_order_relaxed)};
}

void WorkerPool::reset() noexcept {
    for (auto& copy : copies_) copy.view().clear();
}

void WorkerPool::threadMain(int worker) noexcept {
    ScopedFlushDenormals flush; // the same floating-point mode as the caller's process()
    for (std::uint32_t round = 1;; ++round) {
        waitFor(start_, round, workers_[std::size_t(worker)]->waits);
        if (quit_.load(std::memory_order_acquire)) return;
        runSteps(worker);
    }
}

void WorkerPool::runSteps(int worker, RoundIO* io) noexcept {
    // The round's figures, read once: the caller may write the next round's as soon as this
    // worker has announced its last step.
    const int blocks = blocks_, lastFrames = lastFrames_;
    const std::uint32_t before = blocksBefore_;
    const std::int64_t position = position_;
    Worker& self = *workers_[std::size_t(worker)];
    const std::uint32_t steps = std::uint32_t(self.steps.size());
    for (int b = 0; b < blocks; ++b) {
        const std::uint32_t block = before + std::uint32_t(b); // 0-based, since the start
        ProcessContext ctx;
        ctx.position = position + std::int64_t(b) * maxBlockFrames_;
        ctx.frames = b + 1 == blocks ? lastFrames : maxBlockFrames_;
        std::uint32_t index = 0;
        for (Step& step : self.steps) {
            if (step.input && worker != 0 && b > 0) waitFor(inputs_, block + 1, self.waits);
            for (const Wait& wait : step.waits) {
                Worker& other = *workers_[std::size_t(wait.worker)];
                waitFor(other.done, block * std::uint32_t(other.steps.size()) + wait.step, self.waits);
            }
            View& view = step.views[std::size_t(b)];
            runCall(*step.call->kernel, view.sums, view.inputPorts.data(), view.outputPorts.data(), view.sumsAfter, ctx);
            ++index;
            if (step.publish) publish(self.done, block * steps + index);
        }
        if (io) {
            for (const Wait& wait : outputWaits_) {
                Worker& other = *workers_[std::size_t(wait.worker)];
                waitFor(other.done, block * std::uint32_t(other.steps.size()) + wait.step, self.waits);
            }
            io->outputs(b, ctx.frames);
        }
    }
}

void WorkerPool::runRound(std::int64_t position, int blocks, int lastFrames, RoundIO* io) noexcept {
    ++round_;
    position_ = position;
    blocks_ = std::clamp(blocks, 1, roundBlocks_);
    lastFrames_ = lastFrames;
    if (io) {
        io->inputs(0);
        inputs_.value.store(blocksBefore_ + 1, std::memory_order_relaxed); // published with start_
        publish(start_, round_);
        for (int b = 1; b < blocks_; ++b) {
            io->inputs(b);
            publish(inputs_, blocksBefore_ + std::uint32_t(b) + 1);
        }
    } else {
        inputs_.value.store(blocksBefore_ + std::uint32_t(blocks_), std::memory_order_relaxed);
        publish(start_, round_);
    }
    runSteps(0, io);
    const std::uint32_t after = blocksBefore_ + std::uint32_t(blocks_);
    for (std::size_t w = 1; w < workers_.size(); ++w) {
        Worker& other = *workers_[w];
        if (!other.steps.empty()) waitFor(other.done, after * std::uint32_t(other.steps.size()), workers_[0]->waits);
    }
    blocksBefore_ = after;
}

} // namespace sg
