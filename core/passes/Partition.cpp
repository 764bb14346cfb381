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
#include "core/passes/Passes.h"

#include <algorithm>
#include <map>
#include <string>

namespace sg::passes {

namespace {

/// Nodes a unit runs (a fused chain of four biquads: four) and the channels through it.
void unitShape(const GraphModel& model, const Unit& unit, int& nodes, int& channels) {
    nodes = int(unit.vertices.size());
    channels = 1;
    for (int v : unit.vertices) {
        const Vertex& vertex = model.vertex(v);
        for (int c : vertex.inputChannels) channels = std::max(channels, c);
        for (int c : vertex.outputChannels) channels = std::max(channels, c);
    }
}

/// Lane-nodes: channels through a unit times the nodes it runs.
double laneCost(const GraphModel& model, const Unit& unit) {
    int nodes = 0, channels = 0;
    unitShape(model, unit, nodes, channels);
    return double(nodes) * channels;
}

/// The vector-counting schedule; returns the estimated load of the busiest worker in
/// lane-nodes. A worker runs the blocks of a round ahead of the others (core/WorkerPool.h), so
/// the throughput is set by the busiest worker's load, not by the critical path of one block:
/// a unit goes to the worker whose load it raises least, but a unit fed by exactly one other
/// unit stays on that unit's worker (a chain is never cut: no hand-over per block, and its
/// lanes line up with its predecessor's batch). A batchable unit first fills a vector its key
/// has open on some worker (the fullest); a merge is costed alone. Ties go to the worker of a
/// chain's predecessor, else to the lowest index (a merge thus to the caller).
double schedule(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf, int workers, int width,
                std::vector<int>& workerOf) {
    workerOf.assign(units.size(), 0);
    width = std::max(width, 1);
    std::vector<double> load(std::size_t(workers), 0);
    // Lanes of each batch key already placed on each worker, and the vector size counted for
    // the key: the SIMD width, or less when the key has too few lanes to give every worker a
    // whole vector (a power of two, so that vectors still line up with the hardware's).
    std::map<std::string, std::vector<int>> lanes;
    std::map<std::string, int> keyWidth;
    for (const Unit& unit : units) {
        if (unit.key.empty()) continue;
        int nodes = 0, channels = 0;
        unitShape(model, unit, nodes, channels);
        keyWidth[unit.key] += channels;
    }
    for (auto& [key, total] : keyWidth) {
        int fit = 1;
        while (fit * 2 <= std::min(width, total / workers)) fit *= 2;
        total = fit;
    }
    // Units are in topological order (fuseChains walks the vertex order).
    for (std::size_t u = 0; u < units.size(); ++u) {
        int predecessor = -1, predecessors = 0; // a feeding unit, and how many distinct ones
        for (int v : units[u].vertices)
            for (int e : model.vertex(v).inEdges) {
                const int from = unitOf[std::size_t(model.edge(e).from)];
                if (from < 0 || from == int(u) || from == predecessor) continue;
                if (predecessors == 0 || from > predecessor) predecessor = from;
                ++predecessors;
            }
        int nodes = 0, channels = 0;
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
        int best = predecessor >= 0 && predecessors == 1 ? workerOf[std::size_t(predecessor)] : 0;
        if (predecessors != 1) {
            // A vector already opened (and charged) for this batch key is filled first, the
            // fullest one first, so that vectors close one at a time; else the lowest load.
            int fill = -1;
            for (int w = 0; w < workers && placed; ++w)
                if ((*placed)[std::size_t(w)] % vector != 0 && cost(w) == 0 &&
                    (fill < 0 || (*placed)[std::size_t(w)] > (*placed)[std::size_t(fill)]))
                    fill = w;
            if (fill >= 0) {
                best = fill;
            } else {
                double bestLoad = load[std::size_t(best)] + cost(best);
                for (int w = 0; w < workers; ++w) {
                    const double end = load[std::size_t(w)] + cost(w);
                    if (end < bestLoad) {
                        best = w;
                        bestLoad = end;
                    }
                }
            }
        }
        workerOf[u] = best;
        load[std::size_t(best)] += cost(best);
        if (placed) (*placed)[std::size_t(best)] += channels;
    }
    return *std::max_element(load.begin(), load.end());
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
    const double serial = schedule(model, units, unitOf, 1, simdWidth, workerOf);
    const double parallel = schedule(model, units, unitOf, workers, simdWidth, workerOf);
    // In lane-nodes, as the serial figure: the vector schedule's speed-up applied to it.
    if (estimate && serial > 0) estimate->parallel = estimate->serial * parallel / serial;
    return workerOf;
}

} // namespace sg::passes
