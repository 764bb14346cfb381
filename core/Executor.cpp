#include "core/Executor.h"

#include "core/Denormals.h"
#include "core/Elementwise.h"
#include "core/ExecutorPlan.h"
#include "core/WorkerPool.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>

namespace sg {

std::vector<InputRead> inputReadsOf(const ExecutorPlan& plan) {
    // The input slots not yet overwritten, in schedule order: a step's sums read and write in
    // their order, then its kernel reads its input lanes and writes its output lanes; the
    // outputs are read after every step.
    std::map<const float*, std::pair<int, int>> unwritten;
    for (std::size_t i = 0; i < plan.inputSlots.size(); ++i)
        for (std::size_t c = 0; c < plan.inputSlots[i].size(); ++c) unwritten[plan.inputSlots[i][c]] = {int(i), int(c)};
    std::vector<InputRead> reads;
    auto read = [&](const float* p, InputRead::Kind kind, std::size_t at, std::size_t first, std::size_t second) {
        auto it = unwritten.find(p);
        if (it != unwritten.end()) reads.push_back({kind, int(at), int(first), int(second), it->second.first, it->second.second});
    };
    for (std::size_t k = 0; k < plan.calls.size(); ++k) {
        const KernelCall& call = plan.calls[k];
        for (std::size_t s = 0; s < call.sums.size(); ++s) {
            for (std::size_t j = 0; j < call.sums[s].sources.size(); ++j)
                read(call.sums[s].sources[j], InputRead::Kind::Sum, k, s, j);
            unwritten.erase(call.sums[s].destination);
        }
        for (std::size_t p = 0; p < call.inputLanes.size(); ++p)
            for (std::size_t l = 0; l < call.inputLanes[p].size(); ++l)
                read(call.inputLanes[p][l], InputRead::Kind::Lane, k, p, l);
        for (const auto& lanes : call.outputLanes)
            for (const float* p : lanes) unwritten.erase(p);
        for (const SumOp& sum : call.sumsAfter) unwritten.erase(sum.destination); // they read node outputs only
    }
    for (std::size_t o = 0; o < plan.outputSources.size(); ++o)
        for (std::size_t c = 0; c < plan.outputSources[o].size(); ++c)
            for (std::size_t j = 0; j < plan.outputSources[o][c].sources.size(); ++j)
                read(plan.outputSources[o][c].sources[j], InputRead::Kind::Output, o, c, j);
    return reads;
}

namespace {

/// The element-wise kernels of this machine, picked once.
const Elementwise& elementwise() noexcept {
    static const Elementwise& kernels = Elementwise::forArch(detectSimdArch());
    return kernels;
}

} // namespace

Executor::Executor(std::unique_ptr<ExecutorPlan> plan) : plan_(std::move(plan)) {
    elementwise(); // picked at setup, not in the first process()
    plan_->inputReads = inputReadsOf(*plan_);
    plan_->inputReadAt.clear();
    for (const InputRead& r : plan_->inputReads) {
        const auto at = std::size_t(r.at), first = std::size_t(r.first), second = std::size_t(r.second);
        switch (r.kind) {
        case InputRead::Kind::Sum:
            plan_->inputReadAt.push_back(&plan_->calls[at].sums[first].sources[second]);
            break;
        case InputRead::Kind::Lane:
            plan_->inputReadAt.push_back(&plan_->calls[at].inputLanes[first][second]);
            break;
        case InputRead::Kind::Output:
            plan_->inputReadAt.push_back(&plan_->outputSources[at][first].sources[second]);
            break;
        }
    }
    int workers = 1;
    for (int w : plan_->stepWorker) workers = std::max(workers, w + 1);
    if (workers > 1) {
        workers_ = std::make_unique<WorkerPool>(*plan_);
        if (workers_->workers() == 1) workers_.reset(); // no thread could be started
    }
}
Executor::~Executor() = default;

const std::vector<ExternalPort>& Executor::inputs() const { return plan_->inputs; }
const std::vector<ExternalPort>& Executor::outputs() const { return plan_->outputs; }
double Executor::sampleRate() const { return plan_->sampleRate; }
int Executor::maxBlockFrames() const { return plan_->maxBlockFrames; }
int Executor::latencyFrames() const { return plan_->latencyFrames; }
int Executor::workerThreads() const { return workers_ ? workers_->workers() : 1; }
std::int64_t Executor::position() const noexcept { return plan_->position; }
std::uint64_t Executor::nonFiniteSamples() const noexcept { return plan_->nonFinite; }
std::int64_t Executor::firstNonFiniteFrame() const noexcept { return plan_->firstNonFinite; }

void Executor::reset() noexcept {
    for (auto& call : plan_->calls) call.kernel->reset();
    for (auto& slot : plan_->slots) slot.view().clear();
    if (workers_) workers_->reset();
    plan_->position = 0;
    plan_->nonFinite = 0;
    plan_->firstNonFinite = -1;
}

namespace {

/// External output `o`'s channels for `frames` frames from `offset`: the sum of their sources;
/// non-finite samples are contained (replaced by silence) and counted.
template <class Sources>
void writeOutputs(ExecutorPlan& plan, std::span<const AudioView> outputs, int offset, int frames,
                  const Sources& sourcesOf) noexcept {
    for (std::size_t o = 0; o < plan.outputSources.size() && o < outputs.size(); ++o) {
        const AudioView& out = outputs[o];
        for (std::size_t c = 0; c < plan.outputSources[o].size(); ++c) {
            float* dst = out.channel(int(c)) + offset;
            const std::vector<const float*>& sources = sourcesOf(o, c);
            if (sources.empty()) {
                std::memset(dst, 0, sizeof(float) * std::size_t(frames));
                continue;
            }
            // One pass for the usual single source: copied and checked together, in the widest
            // vectors the machine has (this copy is the graph thread's last step every block).
            // Several sources: summed one after the other (the bits of adding them in turn),
            // then checked.
            const Elementwise& kernels = elementwise();
            bool nonFinite = false;
            if (sources.size() == 1) {
                nonFinite = kernels.copyFlaggingNonFinite(sources[0], dst, frames);
            } else {
                kernels.sumSources(sources.data(), int(sources.size()), dst, frames);
                nonFinite = kernels.anyNonFinite(dst, frames);
            }
            if (nonFinite) {
                for (int n = 0; n < frames; ++n) {
                    if (!std::isfinite(dst[n])) {
                        if (plan.firstNonFinite < 0) plan.firstNonFinite = plan.position + n;
                        ++plan.nonFinite;
                        dst[n] = 0.0f;
                    }
                }
            }
        }
    }
}

/// Steps may read `frames` frames of `in` from `offset` where the caller holds them: the view
/// covers the padded length that element-wise loops and sums read (paddedFrames), and every
/// channel's first frame is aligned as ProcessContext promises its lanes (kBufferAlignBytes: a
/// host's own arrays, or a block size that is not a multiple of 16 frames, get copied).
inline bool readInPlace(const ConstAudioView& in, int offset, int frames) noexcept {
    if (in.data == nullptr || offset + paddedFrames(frames) > in.frames) return false;
    for (int c = 0; c < in.channels; ++c)
        if (reinterpret_cast<std::uintptr_t>(in.channel(c) + offset) % kBufferAlignBytes != 0) return false;
    return true;
}

} // namespace

void Executor::process(std::span<const ConstAudioView> inputs, std::span<const AudioView> outputs) noexcept {
    ExecutorPlan& plan = *plan_;
    ScopedFlushDenormals flush;
    int total = 0;
    if (!outputs.empty())
        total = outputs[0].frames;
    else if (!inputs.empty())
        total = inputs[0].frames;

    if (workers_) {
        // Rounds of several internal blocks. The inputs are copied into per-block slots (reading
        // them in place instead, as on one thread, was measured: the caller's CPU fell by about
        // a tenth but the other worker took the cache misses of reading its tracks, and the
        // wall time did not fall; docs/performance.md, "Threads").
        WorkerPool& pool = *workers_;
        const int block = plan.maxBlockFrames;
        for (int done = 0; done < total;) {
            const int remaining = total - done;
            const int blocks = std::min(pool.roundBlocks(), (remaining + block - 1) / block);
            const int last = std::min(block, remaining - (blocks - 1) * block);
            // The caller copies each block's inputs in and takes its outputs as soon as they
            // are complete, in block order, while the other workers run (WorkerPool::runRound).
            struct IO final : WorkerPool::RoundIO {
                ExecutorPlan& plan;
                WorkerPool& pool;
                std::span<const ConstAudioView> in;
                std::span<const AudioView> out;
                int& done;
                int first, block, blocks, last;
                IO(ExecutorPlan& p, WorkerPool& w, std::span<const ConstAudioView> i, std::span<const AudioView> o, int& d, int b,
                   int n, int l)
                    : plan(p), pool(w), in(i), out(o), done(d), first(d), block(b), blocks(n), last(l) {}
                void inputs(int b) noexcept override {
                    const int frames = b + 1 == blocks ? last : block;
                    for (std::size_t i = 0; i < plan.inputSlots.size() && i < in.size(); ++i)
                        for (std::size_t c = 0; c < plan.inputSlots[i].size(); ++c)
                            std::memcpy(pool.inputSlot(b, i, c), in[i].channel(int(c)) + first + b * block,
                                        sizeof(float) * std::size_t(frames));
                }
                void outputs(int b, int frames) noexcept override {
                    writeOutputs(plan, out, done, frames, [&](std::size_t o, std::size_t c) -> const std::vector<const float*>& {
                        return pool.outputSources(b, o, c);
                    });
                    plan.position += frames;
                    done += frames;
                }
            } io(plan, pool, inputs, outputs, done, block, blocks, last);
            pool.runRound(plan.position, blocks, last, &io);
        }
        return;
    }

    for (int done = 0; done < total;) {
        const int frames = std::min(plan.maxBlockFrames, total - done);
        // 1. external inputs: the steps read them where the caller holds them (ExecutorPlan::
        // inputReads), or from their slots, copied in, where the caller's view ends before the
        // block's padded length (the outputs are written after every step: in place is safe even
        // if they overlap the inputs)
        for (std::size_t i = 0; i < plan.inputSlots.size() && i < inputs.size(); ++i) {
            const ConstAudioView& in = inputs[i];
            if (readInPlace(in, done, frames)) continue;
            for (std::size_t c = 0; c < plan.inputSlots[i].size(); ++c)
                std::memcpy(plan.inputSlots[i][c], in.channel(int(c)) + done, sizeof(float) * std::size_t(frames));
        }
        for (std::size_t k = 0; k < plan.inputReads.size(); ++k) {
            const InputRead& read = plan.inputReads[k];
            const auto i = std::size_t(read.input);
            *plan.inputReadAt[k] = i < inputs.size() && readInPlace(inputs[i], done, frames)
                                       ? inputs[i].channel(read.channel) + done
                                       : plan.inputSlots[i][std::size_t(read.channel)];
        }
        // 2. steps
        ProcessContext ctx;
        ctx.position = plan.position;
        ctx.frames = frames;
        for (auto& call : plan.calls) runCall(call, ctx);
        // 3. external outputs: sum of sources; non-finite samples contained and counted
        writeOutputs(plan, outputs, done, frames, [&](std::size_t o, std::size_t c) -> const std::vector<const float*>& {
            return plan.outputSources[o][c].sources;
        });
        plan.position += frames;
        done += frames;
    }
}

int Executor::findParam(const std::string& node, const std::string& param, std::string& error) const {
    bool nodeFound = false;
    for (std::size_t i = 0; i < plan_->params.size(); ++i) {
        const auto& p = plan_->params[i];
        if (p.node != node) continue;
        nodeFound = true;
        if (p.param == param) return int(i);
    }
    error = nodeFound ? "node '" + node + "' has no parameter '" + param + "'" : "no node named '" + node + "'";
    return -1;
}

std::vector<Executor::NodeMeasurements> Executor::measurements() const {
    std::vector<std::pair<int, NodeMeasurements>> ranked; // in the one-worker schedule's order
    int index = 0;
    for (const auto& call : plan_->calls) {
        for (std::size_t i = 0; i < call.instanceNames.size(); ++i, ++index) {
            NodeMeasurements m{call.instanceNames[i], call.instanceTypes[i], {}, {}};
            call.kernel->measurements(int(i), m.values);
            call.kernel->series(int(i), m.series);
            const int rank = i < call.instanceRanks.size() ? call.instanceRanks[i] : index;
            if (!m.values.empty() || !m.series.empty()) ranked.emplace_back(rank, std::move(m));
        }
    }
    std::stable_sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<NodeMeasurements> out;
    for (auto& r : ranked) out.push_back(std::move(r.second));
    return out;
}

void Executor::setParam(int handle, double value, std::int64_t position) noexcept {
    if (handle < 0 || std::size_t(handle) >= plan_->params.size()) return;
    const auto& p = plan_->params[std::size_t(handle)];
    value = std::clamp(value, p.minValue, p.maxValue);
    plan_->calls[std::size_t(p.call)].kernel->setParam(p.instance, p.paramIndex, value, position);
}

} // namespace sg
