// Pass 7a, partition: with more than one worker thread, every unit gets a worker before
// batching, so a batched step never spans workers and independent branches (the strips of a
// mix) run side by side. Static and deterministic: a list schedule over the units in
// topological order with a cost estimate; the partition depends on the graph, the thread count
// and the SIMD width only, never on timing. See core/passes/Passes.h.
//
// The cost counts SIMD vectors, not lanes: a batched kernel runs whole vectors, so 12 or 20
// lanes of a batch cost as much as 16 or 32 (measured: splitting W2's 32 strips 12 + 20 on
// AVX-512 is twice as slow as 16 + 16). A unit whose batch key already has a partly filled
// vector on a worker costs nothing more there; one that opens a new vector costs the whole
// vector. A unit that cannot batch costs its own vectors.
//
// Pipelining: a chain (units each fed only by the one before, which feeds only them) that is
// more than half of the graph's estimated cost is cut into stages of about equal estimated cost, one per
// worker, consecutive stages on different workers. Within a round a worker runs ahead through
// the blocks (core/WorkerPool.h), so stage 2 runs block k while stage 1 runs block k + 1. The
// estimate weighs each node by its type's cost relative to one biquad stage (typeCost below).
#include "core/passes/Passes.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

namespace sg::passes {

namespace {

/// Estimated cost of one node per channel, relative to one biquad stage (1). Measured with
/// tests/bench/bench_threads on one thread (thread CPU time, W1 = tests/bench/graphs/w1.yaml
/// and the same file cut to one node or a part of the chain, 10 min stereo, 1024-frame blocks,
/// the bench's own hashing and copies taken off): the four fused biquads 0.135 s, the
/// compressor (envelope, gain computer, smoothing) 0.163 s, the limiter with its
/// 8x-oversampled true-peak detection and sliding maximum 0.185 s when measured; since its
/// detection and gain computer skip what cannot limit (quiet tiles, frames at rest), about half
/// of that on W1's material (callgrind: 157 -> 77 instructions per frame): 2.7. Types not named
/// cost 1.
double typeCost(const Vertex& vertex) {
    if (!vertex.type) return 1;
    if (vertex.type->info().name == "limiter") return 2.7;
    if (vertex.type->info().family == "dynamics") return 4.8;
    return 1;
}

/// Nodes a unit runs, weighed by typeCost (a fused chain of four biquads: four), and the
/// channels through it.
void unitShape(const GraphModel& model, const Unit& unit, double& nodes, int& channels) {
    nodes = 0;
    channels = 1;
    for (int v : unit.vertices) {
        const Vertex& vertex = model.vertex(v);
        nodes += typeCost(vertex);
        for (int c : vertex.inputChannels) channels = std::max(channels, c);
        for (int c : vertex.outputChannels) channels = std::max(channels, c);
    }
}

/// Lane-nodes: channels through a unit times the nodes it runs.
double laneCost(const GraphModel& model, const Unit& unit) {
    double nodes = 0;
    int channels = 0;
    unitShape(model, unit, nodes, channels);
    return nodes * channels;
}

/// The distinct units that feed each unit (`in`) and that each unit feeds (`out`), ascending,
/// and whether a unit reads an external input.
struct UnitLinks {
    std::vector<std::vector<int>> in, out;
    std::vector<char> readsInput;
};

UnitLinks linksOf(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf) {
    UnitLinks links;
    links.in.resize(units.size());
    links.out.resize(units.size());
    links.readsInput.assign(units.size(), 0);
    for (std::size_t u = 0; u < units.size(); ++u)
        for (int v : units[u].vertices)
            for (int e : model.vertex(v).inEdges) {
                const int from = unitOf[std::size_t(model.edge(e).from)];
                if (from < 0) links.readsInput[u] = 1;
                if (from < 0 || from == int(u)) continue;
                links.in[u].push_back(from);
                links.out[std::size_t(from)].push_back(int(u));
            }
    for (auto* lists : {&links.in, &links.out})
        for (auto& list : *lists) {
            std::sort(list.begin(), list.end());
            list.erase(std::unique(list.begin(), list.end()), list.end());
        }
    return links;
}

/// The vector-counting schedule; returns the estimated load of the busiest worker in
/// lane-nodes. A worker runs the blocks of a round ahead of the others (core/WorkerPool.h), so
/// the throughput is set by the busiest worker's load, not by the critical path of one block:
/// a unit goes to the worker whose load it raises least, but a unit fed by exactly one other
/// unit stays on that unit's worker (a chain is never cut: no hand-over per block, and its
/// lanes line up with its predecessor's batch). A batchable unit first fills a vector its key
/// has open on some worker (the fullest); a merge is costed alone. Ties go to the worker of a
/// chain's predecessor, else to the lowest index (a merge thus to the caller), but for the
/// heads of several branches from the inputs to the highest (see fromInputs below).
double schedule(const GraphModel& model, const std::vector<Unit>& units, const UnitLinks& links, int workers, int width,
                const std::vector<char>& stageStart, std::vector<int>& workerOf) {
    workerOf.assign(units.size(), 0);
    width = std::max(width, 1);
    std::vector<double> load(std::size_t(workers), 0);
    // Lanes of each batch key already placed on each worker, and the vector size counted for
    // the key: the SIMD width, or less when the key has too few lanes to give every worker a
    // whole vector (a power of two, so that vectors still line up with the hardware's).
    std::map<std::string, std::vector<int>> lanes;
    std::map<std::string, int> keyWidth, keyLanes;
    for (const Unit& unit : units) {
        if (unit.key.empty()) continue;
        double nodes = 0;
        int channels = 0;
        unitShape(model, unit, nodes, channels);
        keyLanes[unit.key] += channels;
    }
    for (const auto& [key, total] : keyLanes) {
        int fit = 1;
        while (fit * 2 <= std::min(width, total / workers)) fit *= 2;
        keyWidth[key] = fit;
    }
    std::map<std::string, int> lastHead; // per batch key: the worker of its latest branch head
    // Units fed by no other unit (the heads of branches from the graph's inputs).
    const auto sourceUnits = std::count_if(links.in.begin(), links.in.end(), [](const auto& in) { return in.empty(); });
    // Units are in topological order (fuseChains walks the vertex order).
    for (std::size_t u = 0; u < units.size(); ++u) {
        // The latest feeding unit, and how many distinct ones.
        const int predecessors = int(links.in[u].size()), predecessor = predecessors ? links.in[u].back() : -1;
        double nodes = 0;
        int channels = 0;
        unitShape(model, units[u], nodes, channels);
        std::vector<int>* placed = nullptr;
        int vector = width;
        // A unit fed by several others (a bus) is costed alone: it cannot join the batch of
        // the units it depends on, which are often the open vectors of its key.
        if (!units[u].key.empty() && predecessors <= 1) {
            placed = &lanes[units[u].key];
            vector = keyWidth[units[u].key];
            placed->resize(std::size_t(workers), 0);
        }
        // The vectors the unit adds on worker w, times the nodes and the width.
        auto cost = [&](int w) {
            const int before = placed ? (*placed)[std::size_t(w)] : 0;
            const int vectors = (before + channels + vector - 1) / vector - (before + vector - 1) / vector;
            return double(vectors) * vector * nodes;
        };
        // A merge (a bus) leans to worker 0, the caller: then no other worker ever waits for
        // the caller within a block (measured on W2: the bus on the second worker made it
        // spin for the caller's pans, 10 % more wall time).
        // Of several branches from the inputs, the first ones go to the last worker on a tie:
        // a merge downstream leans to the caller and adds its sources in declaration order, so
        // its first sources then come from another worker, which sums them there and hands
        // over one partial sum (leadingRun in Passes.h). A lone chain stays on the caller.
        const bool fromInputs = predecessors == 0 && sourceUnits > 1;
        int best = predecessor >= 0 && predecessors == 1 ? workerOf[std::size_t(predecessor)] : fromInputs ? workers - 1 : 0;
        if (predecessors == 1 && stageStart[u]) {
            // A pipeline stage: the least loaded worker other than the previous stage's (the
            // lowest index on a tie).
            const int previous = best;
            best = -1;
            for (int w = 0; w < workers; ++w)
                if (w != previous && (best < 0 || load[std::size_t(w)] + cost(w) < load[std::size_t(best)] + cost(best)))
                    best = w;
            if (best < 0) best = previous;
        } else if (predecessors != 1) {
            // A vector already opened (and charged) for this batch key is filled first, the
            // fullest one first, so that vectors close one at a time; else the lowest load.
            int fill = -1;
            for (int w = 0; w < workers && placed; ++w)
                if ((*placed)[std::size_t(w)] % vector != 0 && cost(w) == 0 &&
                    (fill < 0 || (*placed)[std::size_t(w)] > (*placed)[std::size_t(fill)]))
                    fill = w;
            // With no vector of its key open, a branch head stays on the worker of the one before
            // up to an even share of the key's lanes in whole vectors, so that consecutive branches (the first
            // sources of a merge) share a worker: with 8-lane vectors the first 16 of 32
            // strips, not 0-7 and 16-23, on two workers.
            if (fill < 0 && fromInputs && placed && lastHead.count(units[u].key)) {
                const int previous = lastHead[units[u].key];
                const int share = std::max(vector, keyLanes[units[u].key] / workers / vector * vector);
                if ((*placed)[std::size_t(previous)] + channels <= share) fill = previous;
            }
            if (fill >= 0) {
                best = fill;
            } else {
                double bestLoad = load[std::size_t(best)] + cost(best);
                for (int k = 0; k < workers; ++k) {
                    const int w = fromInputs ? workers - 1 - k : k; // ties to the first one tried
                    const double end = load[std::size_t(w)] + cost(w);
                    if (end < bestLoad) {
                        best = w;
                        bestLoad = end;
                    }
                }
            }
        }
        workerOf[u] = best;
        if (fromInputs && placed) lastHead[units[u].key] = best;
        load[std::size_t(best)] += cost(best);
        if (placed) (*placed)[std::size_t(best)] += channels;
    }
    return *std::max_element(load.begin(), load.end());
}

/// The units that start a pipeline stage (see the top of the file): in a chain that is most of
/// the graph's cost (a serial graph such as W1; never the strips of a mix, which already run
/// side by side and would only add hand-overs), cuts into min(workers, units of the chain) stages at the prefix
/// sums nearest k * chain / stages, kept only if the costliest stage is at most chain / 1.3.
std::vector<char> pipelineStages(const GraphModel& model, const std::vector<Unit>& units, const UnitLinks& links, int workers,
                                 int& tail, double& lightest) {
    std::vector<char> start(units.size(), 0);
    tail = -1;
    lightest = 0;
    if (workers <= 1 || units.empty()) return start;
    const auto& in = links.in;
    const auto& out = links.out;
    std::vector<double> cost(units.size());
    double total = 0;
    for (std::size_t u = 0; u < units.size(); ++u) total += cost[u] = laneCost(model, units[u]);
    auto linked = [&](int u) { // u continues the chain of its only predecessor
        return in[std::size_t(u)].size() == 1 && out[std::size_t(in[std::size_t(u)][0])].size() == 1;
    };
    for (std::size_t head = 0; head < units.size(); ++head) {
        if (linked(int(head))) continue;
        std::vector<int> chain{int(head)};
        while (out[std::size_t(chain.back())].size() == 1 && linked(out[std::size_t(chain.back())][0]))
            chain.push_back(out[std::size_t(chain.back())][0]);
        double sum = 0;
        for (int u : chain) sum += cost[std::size_t(u)];
        const int stages = std::min(workers, int(chain.size()));
        if (stages < 2 || !(sum * 2 > total)) continue;
        std::vector<int> cuts; // indices into chain where a stage starts
        double before = 0;
        std::size_t i = 0;
        for (int k = 1; k < stages; ++k) {
            const double goal = sum * k / stages;
            // Advance to the prefix sum nearest the goal, leaving a unit for each later stage.
            while (i + 1 < chain.size() - std::size_t(stages - k) + 1 &&
                   std::abs(before + cost[std::size_t(chain[i])] - goal) <= std::abs(before - goal)) {
                before += cost[std::size_t(chain[i])];
                ++i;
            }
            if (i == 0 || (!cuts.empty() && int(i) <= cuts.back())) {
                before += cost[std::size_t(chain[i])];
                ++i;
            }
            cuts.push_back(int(i));
        }
        double heaviest = 0, lightestHere = sum, stage = 0;
        std::size_t next = 0;
        for (std::size_t j = 0; j < chain.size(); ++j) {
            if (next < cuts.size() && int(j) == cuts[next]) {
                heaviest = std::max(heaviest, stage);
                lightestHere = std::min(lightestHere, stage);
                stage = 0;
                ++next;
            }
            stage += cost[std::size_t(chain[j])];
        }
        heaviest = std::max(heaviest, stage);
        lightestHere = std::min(lightestHere, stage);
        if (heaviest * 1.3 > sum) continue;
        for (int c : cuts) start[std::size_t(chain[std::size_t(c)])] = 1;
        tail = chain.back(); // at most one chain is more than half of the cost
        lightest = lightestHere;
    }
    return start;
}

/// Edge `e` is one of the leading run of the sum into its target's port, summed on `worker`
/// (leadingRun in Passes.h; units on the workers of `workerOf`).
bool inLeadingRun(const GraphModel& model, const std::vector<int>& unitOf, const std::vector<int>& workerOf, int e, int worker) {
    const Edge& edge = model.edge(e);
    const int consumer = unitOf[std::size_t(edge.to)];
    if (consumer < 0) return false; // an external output: the caller sums it after the block
    std::vector<int> sourceWorkers;
    int index = -1;
    for (int f : model.feeding(edge.to, edge.toPort)) {
        if (f == e) index = int(sourceWorkers.size());
        const int from = unitOf[std::size_t(model.edge(f).from)];
        sourceWorkers.push_back(from < 0 ? -1 : workerOf[std::size_t(from)]);
    }
    int runWorker = -1;
    const int length = leadingRun(sourceWorkers, workerOf[std::size_t(consumer)], runWorker);
    return index < length && runWorker == worker;
}

/// A unit that widens its signal (more channels out than in: a pan, mono to stereo), fed by one
/// unit and feeding only units of one other worker, moves to that worker: then its narrower
/// input is handed over between the workers instead of its output. Every buffer that crosses
/// is kept once per block of a round, and each of its cache lines moves between the cores
/// every round (measured on W2 with 16 strips per worker: the second worker's pans, whose 32
/// outputs the caller's bus sums, took 3 to 5 times the caller's CPU time for the same work).
/// The units run the same kernels on the same lanes wherever they are, so no output changes.
/// A unit whose outputs its own worker sums as a leading run stays: only the sum crosses.
void moveWideningUnits(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                       const UnitLinks& links, std::vector<int>& workerOf) {
    for (std::size_t u = 0; u < units.size(); ++u) {
        if (links.in[u].size() != 1 || links.readsInput[u]) continue; // fed by one unit alone
        int inChannels = 0;
        for (int v : units[u].vertices)
            for (int e : model.vertex(v).inEdges)
                if (unitOf[std::size_t(model.edge(e).from)] != int(u)) inChannels += model.edge(e).channels;
        int consumerWorker = -1, outChannels = 0;
        bool oneWorker = true;
        for (int e : model.vertex(units[u].tail()).outEdges) {
            const int to = unitOf[std::size_t(model.edge(e).to)];
            if (to < 0 || to == int(u)) { // an external output: the caller takes it from any worker
                oneWorker = false;
                break;
            }
            const int w = workerOf[std::size_t(to)];
            if (consumerWorker >= 0 && w != consumerWorker) oneWorker = false;
            consumerWorker = w;
            outChannels += model.edge(e).channels;
        }
        for (std::size_t k = 0; k + 1 < units[u].vertices.size() && oneWorker; ++k) // fed only through its tail
            if (model.vertex(units[u].vertices[k]).outEdges.size() != 1) oneWorker = false;
        // Summed on its own worker (its outputs in the leading run of the sums they feed): its
        // outputs never cross, only the partial sum.
        bool summedHere = true;
        for (int e : model.vertex(units[u].tail()).outEdges)
            summedHere = summedHere && inLeadingRun(model, unitOf, workerOf, e, workerOf[u]);
        if (!oneWorker || consumerWorker < 0 || consumerWorker == workerOf[u] || outChannels <= inChannels || summedHere)
            continue;
        workerOf[u] = consumerWorker;
    }
}

} // namespace

std::vector<int> assignWorkers(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                               int workers, int simdWidth, PartitionEstimate* estimate) {
    std::vector<int> workerOf(units.size(), 0);
    if (estimate) {
        *estimate = {};
        for (const Unit& unit : units) estimate->serial += laneCost(model, unit);
        estimate->parallel = estimate->serial;
    }
    if (workers <= 1) return workerOf;
    const UnitLinks links = linksOf(model, units, unitOf);
    const double serial = schedule(model, units, links, 1, simdWidth, std::vector<char>(units.size(), 0), workerOf);
    int tail = -1;
    double lightest = 0;
    const std::vector<char> stages = pipelineStages(model, units, links, workers, tail, lightest);
    const double parallel = schedule(model, units, links, workers, simdWidth, stages, workerOf);
    // In lane-nodes, as the serial figure: the vector schedule's speed-up applied to it.
    if (estimate && serial > 0) estimate->parallel = estimate->serial * parallel / serial;
    if (estimate) estimate->lightestStage = lightest;
    // A pipelined chain's last stage runs on the caller (worker 0; the workers swap names, the
    // loads stay): the caller also copies every block's inputs in and outputs out around a
    // round, so it takes the stage that ends the chain, and it never waits at the end of a
    // round for another worker's last block. Measured on W1 (bench_threads, thread CPU time)
    // with the limiter of then: EQ + compressor on the second worker and the limiter on the
    // caller, 0.30 s each, against 0.37 s and 0.19 s the other way round; with the cheaper
    // limiter the cut is EQ | compressor + limiter: caller 0.33 s, the other 0.23 s, wall 0.336 s
    // (0.339 s for the previous cut, with 0.08 s more CPU).
    if (tail >= 0 && workerOf[std::size_t(tail)] != 0) {
        const int last = workerOf[std::size_t(tail)];
        for (int& w : workerOf) w = w == last ? 0 : w == 0 ? last : w;
    }
    moveWideningUnits(model, units, unitOf, links, workerOf);
    return workerOf;
}

} // namespace sg::passes
