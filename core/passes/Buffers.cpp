// Pass 8, buffers: liveness over the schedule. Every signal (a vertex's output port) gets one
// mono slot per channel when its step runs and gives them back after its last reader's step;
// slots are reused lowest-first (deterministic). Several connections into one port are summed
// into a temporary slot before the step (with several workers, the leading run of sources from
// another worker is summed there first: leadingRun in Passes.h). A type that declares inPlace
// writes its port-0 output over its port-0 input when that input is read by nothing else. See
// core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <algorithm>
#include <set>

namespace sg::passes {

namespace {

class SlotPool {
public:
    explicit SlotPool(int workers) : free_(std::size_t(std::max(workers, 1))) {}
    int acquire(int worker) {
        auto& free = free_[std::size_t(worker)];
        if (!free.empty()) {
            const int s = *free.begin();
            free.erase(free.begin());
            return s;
        }
        return count_++;
    }
    void release(int slot, int worker) { free_[std::size_t(worker)].insert(slot); }
    /// A slot never used before (one that crosses workers and is never given back).
    int fresh() { return count_++; }
    int count() const { return count_; }

private:
    std::vector<std::set<int>> free_; // per worker, lowest first: deterministic
    int count_ = 0;
};

} // namespace

int leadingRun(const std::vector<int>& sourceWorkers, int sumWorker, int& runWorker) {
    runWorker = -1;
    if (sourceWorkers.size() < 2 || sourceWorkers[0] < 0 || sourceWorkers[0] == sumWorker) return 0;
    std::size_t n = 1;
    while (n < sourceWorkers.size() && sourceWorkers[n] == sourceWorkers[0]) ++n;
    if (n < 2) return 0;
    runWorker = sourceWorkers[0];
    return int(n);
}

BufferPlan allocateBuffers(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                           const std::vector<Step>& steps, const std::vector<int>& stepWorker) {
    const std::size_t vertexCount = model.vertices.size();
    int workers = 1;
    for (int w : stepWorker) workers = std::max(workers, w + 1);
    auto workerOfStep = [&](std::size_t s) { return stepWorker.empty() ? 0 : stepWorker[s]; };
    std::vector<int> stepOfUnit(units.size(), -1);
    for (std::size_t s = 0; s < steps.size(); ++s)
        for (int u : steps[s].units) stepOfUnit[std::size_t(u)] = int(s);
    const int outputStep = int(steps.size()); // external outputs are read after the last step
    auto consumerStep = [&](int v) {
        return model.vertex(v).kind == VertexKind::Output ? outputStep : stepOfUnit[std::size_t(unitOf[std::size_t(v)])];
    };

    // Per signal (vertex, output port): the step that reads it last, and how many edges read it.
    std::vector<std::vector<int>> lastUse(vertexCount), readers(vertexCount);
    for (int v = 0; v < model.size(); ++v) {
        const int ports = model.vertex(v).outputPorts();
        lastUse[std::size_t(v)].assign(std::size_t(ports), -1);
        readers[std::size_t(v)].assign(std::size_t(ports), 0);
    }
    std::vector<std::vector<std::pair<int, int>>> releaseAfter(steps.size() + 1);
    for (const Edge& e : model.edges) {
        int& last = lastUse[std::size_t(e.from)][std::size_t(e.fromPort)];
        last = std::max(last, consumerStep(e.to));
        ++readers[std::size_t(e.from)][std::size_t(e.fromPort)];
    }
    for (int v = 0; v < model.size(); ++v)
        for (std::size_t p = 0; p < lastUse[std::size_t(v)].size(); ++p)
            if (lastUse[std::size_t(v)][p] >= 0) releaseAfter[std::size_t(lastUse[std::size_t(v)][p])].push_back({v, int(p)});

    // The leading run of a sum of `feeding` on `worker` (leadingRun), and the last step that
    // produces a source of it.
    auto runOf = [&](const std::vector<int>& feeding, int worker, int& runWorker, int& lastStep) {
        runWorker = -1;
        lastStep = -1;
        if (workers <= 1 || feeding.size() < 2) return 0;
        std::vector<int> sourceWorkers, sourceSteps;
        for (int e : feeding) {
            const int from = model.edge(e).from;
            const int step =
                model.vertex(from).kind == VertexKind::Node ? stepOfUnit[std::size_t(unitOf[std::size_t(from)])] : -1;
            sourceSteps.push_back(step);
            sourceWorkers.push_back(step < 0 ? -1 : workerOfStep(std::size_t(step)));
        }
        const int length = leadingRun(sourceWorkers, worker, runWorker);
        for (int i = 0; i < length; ++i) lastStep = std::max(lastStep, sourceSteps[std::size_t(i)]);
        return length;
    };
    // Per connection: the worker that reads it (-1: its consumer's), for those of leading runs.
    std::vector<int> readBy(model.edges.size(), -1);
    for (std::size_t s = 0; s < steps.size(); ++s)
        for (int u : steps[s].units) {
            const int head = units[std::size_t(u)].head();
            for (int p = 0; p < model.vertex(head).inputPorts(); ++p) {
                const std::vector<int> feeding = model.feeding(head, p);
                int runWorker = -1, lastStep = -1;
                const int length = runOf(feeding, workerOfStep(s), runWorker, lastStep);
                for (int i = 0; i < length; ++i) readBy[std::size_t(feeding[std::size_t(i)])] = runWorker;
            }
        }
    for (int o : model.outputVertex) { // the caller (worker 0) sums an external output after the block
        const std::vector<int> feeding = model.feeding(o, 0);
        int runWorker = -1, lastStep = -1;
        const int length = runOf(feeding, 0, runWorker, lastStep);
        for (int i = 0; i < length; ++i) readBy[std::size_t(feeding[std::size_t(i)])] = runWorker;
    }

    // Per signal: the one worker that writes and reads it (-1: none yet; kMixed: several; a
    // signal read by an external output counts as several: it is read after the block).
    constexpr int kMixed = -2;
    std::vector<std::vector<int>> signalWorker(vertexCount);
    for (int v = 0; v < model.size(); ++v) signalWorker[std::size_t(v)].assign(std::size_t(model.vertex(v).outputPorts()), -1);
    auto touch = [&](int v, int p, int worker) {
        int& w = signalWorker[std::size_t(v)][std::size_t(p)];
        w = (w == -1 || w == worker) ? worker : kMixed;
    };
    if (workers > 1) {
        for (std::size_t i = 0; i < model.edges.size(); ++i) {
            const Edge& e = model.edges[i];
            const int step = consumerStep(e.to);
            touch(e.from, e.fromPort, readBy[i] >= 0 ? readBy[i] : step == outputStep ? kMixed : workerOfStep(std::size_t(step)));
        }
        for (std::size_t s = 0; s < steps.size(); ++s)
            for (int u : steps[s].units) {
                const int tail = units[std::size_t(u)].tail();
                for (int p = 0; p < model.vertex(tail).outputPorts(); ++p) touch(tail, p, workerOfStep(s));
            }
    }

    SlotPool pool(workers);
    std::vector<std::vector<std::vector<int>>> value(vertexCount); // [vertex][port] -> channel slots
    for (int v = 0; v < model.size(); ++v) value[std::size_t(v)].resize(std::size_t(model.vertex(v).outputPorts()));
    auto release = [&](int v, int p) {
        const int owner = signalWorker[std::size_t(v)][std::size_t(p)];
        if (owner == kMixed) { // crosses workers: never reused within a block
            value[std::size_t(v)][std::size_t(p)].clear();
            return;
        }
        for (int s : value[std::size_t(v)][std::size_t(p)]) pool.release(s, std::max(owner, 0));
        value[std::size_t(v)][std::size_t(p)].clear();
    };

    BufferPlan plan;
    plan.calls.resize(steps.size());
    // A sum's sources (slots, in order) with its leading run of `run` sources handed to the step
    // `lastStep` that produces the last of them, as a partial sum after it in a fresh slot (it
    // crosses workers: never given back): the partial, then the rest.
    auto afterRun = [&](std::vector<int> sources, int run, int lastStep) {
        if (run <= 0) return sources;
        SymbolicSum partial{pool.fresh(), std::vector<int>(sources.begin(), sources.begin() + run)};
        sources.erase(sources.begin() + 1, sources.begin() + run);
        sources[0] = partial.destination;
        plan.calls[std::size_t(lastStep)].sumsAfter.push_back(std::move(partial));
        return sources;
    };
    plan.stepWorker = stepWorker;
    for (std::size_t i = 0; i < model.inputVertex.size(); ++i) {
        const int v = model.inputVertex[i];
        auto& channels = value[std::size_t(v)][0];
        for (int c = 0; c < model.vertex(v).outputChannels[0]; ++c) channels.push_back(pool.acquire(0));
        plan.inputSlots.push_back(channels);
        if (lastUse[std::size_t(v)][0] < 0) release(v, 0);
    }

    for (std::size_t s = 0; s < steps.size(); ++s) {
        SymbolicCall& call = plan.calls[s];
        const int worker = workerOfStep(s);
        const Vertex& first = model.vertex(units[std::size_t(steps[s].units[0])].head());
        const int inPorts = first.inputPorts(),
                  outPorts = model.vertex(units[std::size_t(steps[s].units[0])].tail()).outputPorts();
        call.inputLanes.resize(std::size_t(inPorts));
        call.outputLanes.resize(std::size_t(outPorts));
        std::vector<int> sumSlots; // released after the step
        for (int u : steps[s].units) {
            const int head = units[std::size_t(u)].head();
            const Vertex& v = model.vertex(head);
            for (int p = 0; p < inPorts; ++p) {
                const std::vector<int> feeding = model.feeding(head, p);
                const int channels = v.inputChannels[std::size_t(p)];
                auto& lanes = call.inputLanes[std::size_t(p)];
                if (feeding.empty()) {
                    lanes.insert(lanes.end(), std::size_t(channels), -1);
                } else if (feeding.size() == 1) {
                    const Edge& e = model.edge(feeding[0]);
                    const auto& source = value[std::size_t(e.from)][std::size_t(e.fromPort)];
                    lanes.insert(lanes.end(), source.begin(), source.begin() + channels);
                } else {
                    int runWorker = -1, lastStep = -1;
                    const int run = runOf(feeding, worker, runWorker, lastStep);
                    for (int c = 0; c < channels; ++c) {
                        std::vector<int> sources;
                        for (int f : feeding) {
                            const Edge& e = model.edge(f);
                            sources.push_back(value[std::size_t(e.from)][std::size_t(e.fromPort)][std::size_t(c)]);
                        }
                        SymbolicSum sum{-1, afterRun(std::move(sources), run, lastStep)};
                        if (sum.sources.size() == 1) { // the whole sum was the run
                            lanes.push_back(sum.sources[0]);
                            continue;
                        }
                        sum.destination = pool.acquire(worker);
                        lanes.push_back(sum.destination);
                        sumSlots.push_back(sum.destination);
                        call.sums.push_back(std::move(sum));
                    }
                }
            }
        }
        for (int u : steps[s].units) {
            const int head = units[std::size_t(u)].head(), tail = units[std::size_t(u)].tail();
            const Vertex& v = model.vertex(tail);
            for (int p = 0; p < outPorts; ++p) {
                const int channels = v.outputChannels[std::size_t(p)];
                std::vector<int> out;
                // In place: port 0 output over port 0 input when that input is read by this node alone
                // (external input slots too: they are refilled every block).
                const Vertex& h = model.vertex(head);
                const std::vector<int> port0 =
                    p == 0 && h.type->info().inPlace && h.inputPorts() > 0 ? model.feeding(head, 0) : std::vector<int>{};
                if (port0.size() == 1) {
                    const Edge& only = model.edge(port0[0]);
                    auto& source = value[std::size_t(only.from)][std::size_t(only.fromPort)];
                    if (readers[std::size_t(only.from)][std::size_t(only.fromPort)] == 1 &&
                        source.size() == std::size_t(channels)) {
                        out = source;
                        source.clear(); // ownership moves to the output
                    }
                }
                if (out.empty())
                    for (int c = 0; c < channels; ++c) out.push_back(pool.acquire(worker));
                call.outputLanes[std::size_t(p)].insert(call.outputLanes[std::size_t(p)].end(), out.begin(), out.end());
                value[std::size_t(tail)][std::size_t(p)] = std::move(out);
            }
        }
        // Release what this step was the last to read, the sums, and outputs nobody reads.
        for (auto [v, p] : releaseAfter[s]) release(v, p);
        for (int slot : sumSlots) pool.release(slot, worker);
        for (int u : steps[s].units) {
            const int tail = units[std::size_t(u)].tail();
            for (int p = 0; p < outPorts; ++p)
                if (lastUse[std::size_t(tail)][std::size_t(p)] < 0) release(tail, p);
        }
    }

    plan.outputSources.resize(model.outputVertex.size());
    for (std::size_t o = 0; o < model.outputVertex.size(); ++o) {
        const Vertex& out = model.vertex(model.outputVertex[o]);
        plan.outputSources[o].resize(std::size_t(out.inputChannels[0]));
        const std::vector<int> feeding = model.feeding(model.outputVertex[o], 0);
        int runWorker = -1, lastStep = -1;
        const int run = runOf(feeding, 0, runWorker, lastStep);
        for (int c = 0; c < out.inputChannels[0]; ++c) {
            std::vector<int> sources;
            for (int f : feeding) {
                const Edge& e = model.edge(f);
                sources.push_back(value[std::size_t(e.from)][std::size_t(e.fromPort)][std::size_t(c)]);
            }
            plan.outputSources[o][std::size_t(c)] = afterRun(std::move(sources), run, lastStep);
        }
    }
    plan.slotCount = pool.count();
    return plan;
}

} // namespace sg::passes
