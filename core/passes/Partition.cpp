// Pass 7a, partition: with more than one worker thread, every unit gets a worker before
// batching, so a batched step never spans workers and independent branches (the strips of a
// mix) run side by side. Static and deterministic: a list schedule over the units in
// topological order with a cost estimate (lanes times the nodes a unit runs); the partition
// depends on the graph and the thread count only, never on timing. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <algorithm>

namespace sg::passes {

namespace {

/// A unit's estimated cost: channels through it times the nodes it runs (a fused chain of
/// four biquads costs four). Only relative sizes matter.
double unitCost(const GraphModel& model, const Unit& unit) {
    double cost = 0;
    for (int v : unit.vertices) {
        const Vertex& vertex = model.vertex(v);
        int channels = 0;
        for (int c : vertex.inputChannels) channels = std::max(channels, c);
        for (int c : vertex.outputChannels) channels = std::max(channels, c);
        cost += std::max(channels, 1);
    }
    return cost;
}

} // namespace

std::vector<int> assignWorkers(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                               int workers, PartitionEstimate* estimate) {
    std::vector<int> workerOf(units.size(), 0);
    if (estimate) {
        *estimate = {};
        for (const Unit& unit : units) estimate->serial += unitCost(model, unit);
        estimate->parallel = estimate->serial;
    }
    if (workers <= 1) return workerOf;
    std::vector<double> finish(units.size(), 0), available(std::size_t(workers), 0);
    // Units are in topological order (fuseChains walks the vertex order).
    for (std::size_t u = 0; u < units.size(); ++u) {
        double ready = 0;
        int critical = -1; // the worker of the predecessor that finishes last
        for (int v : units[u].vertices)
            for (int e : model.vertex(v).inEdges) {
                const int from = unitOf[std::size_t(model.edge(e).from)];
                if (from < 0 || from == int(u)) continue;
                if (finish[std::size_t(from)] > ready || critical < 0) {
                    ready = std::max(ready, finish[std::size_t(from)]);
                    critical = workerOf[std::size_t(from)];
                }
            }
        const double cost = unitCost(model, units[u]);
        // Earliest estimated finish; ties go to the critical predecessor's worker (no wait on
        // another thread), then to the lowest index.
        int best = critical >= 0 ? critical : 0;
        double bestFinish = std::max(ready, available[std::size_t(best)]) + cost;
        for (int w = 0; w < workers; ++w) {
            const double end = std::max(ready, available[std::size_t(w)]) + cost;
            if (end < bestFinish) {
                best = w;
                bestFinish = end;
            }
        }
        workerOf[u] = best;
        finish[u] = bestFinish;
        available[std::size_t(best)] = bestFinish;
    }
    if (estimate) estimate->parallel = *std::max_element(available.begin(), available.end());
    return workerOf;
}

} // namespace sg::passes
