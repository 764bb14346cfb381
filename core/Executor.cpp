#include "core/Executor.h"

#include "core/Denormals.h"
#include "core/ExecutorPlan.h"
#include "core/WorkerPool.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace sg {

Executor::Executor(std::unique_ptr<ExecutorPlan> plan) : plan_(std::move(plan)) {
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
            std::memcpy(dst, sources[0], sizeof(float) * std::size_t(frames));
            for (std::size_t s = 1; s < sources.size(); ++s)
                for (int n = 0; n < frames; ++n) dst[n] += sources[s][n];
            bool finite = true;
            for (int n = 0; n < frames; ++n) finite &= std::isfinite(dst[n]);
            if (!finite) {
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
        // Rounds of several internal blocks.
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
        // 1. external inputs into their slots
        for (std::size_t i = 0; i < plan.inputSlots.size() && i < inputs.size(); ++i) {
            const ConstAudioView& in = inputs[i];
            for (std::size_t c = 0; c < plan.inputSlots[i].size(); ++c)
                std::memcpy(plan.inputSlots[i][c], in.channel(int(c)) + done, sizeof(float) * std::size_t(frames));
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
