// Pass 7, batching: units in steps. Units of one batch key with no path between them share a
// step (one kernel call over all their lanes) wherever that creates no cycle. See
// core/passes/Passes.h for the method; docs/architecture.md for why it is cycle-free.
#include "core/passes/Passes.h"

#include <algorithm>
#include <map>
#include <set>

namespace sg::passes {

namespace {

/// The unit DAG: predecessors and successors of every unit (edges inside a chain left out).
struct UnitGraph {
    std::vector<std::vector<int>> predecessors, successors;
};

UnitGraph unitGraph(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf) {
    UnitGraph g;
    g.predecessors.resize(units.size());
    g.successors.resize(units.size());
    for (std::size_t u = 0; u < units.size(); ++u)
        for (int v : units[u].vertices)
            for (int e : model.vertex(v).inEdges) {
                const int from = unitOf[std::size_t(model.edge(e).from)];
                if (from < 0 || from == int(u)) continue;
                g.predecessors[u].push_back(from);
                g.successors[std::size_t(from)].push_back(int(u));
            }
    return g;
}

/// Steps grouped by (level, key), in level order then unit order. Same-level units never have
/// a path between them, and steps run level by level, so no grouping can create a cycle.
std::vector<Step> groupByLevel(const std::vector<Unit>& units, const std::vector<int>& level, bool batch) {
    std::vector<int> byLevel(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) byLevel[u] = int(u);
    std::stable_sort(byLevel.begin(), byLevel.end(), [&](int a, int b) { return level[std::size_t(a)] < level[std::size_t(b)]; });
    std::vector<Step> steps;
    std::map<std::pair<int, std::string>, std::size_t> open; // (level, key) -> step
    for (int u : byLevel) {
        const Unit& unit = units[std::size_t(u)];
        if (batch && !unit.key.empty()) {
            auto [it, inserted] = open.try_emplace({level[std::size_t(u)], unit.key}, steps.size());
            if (!inserted) {
                steps[it->second].units.push_back(u);
                continue;
            }
        }
        steps.push_back({{u}, unit.key});
    }
    return steps;
}

/// Merges steps of one key across levels where no edge forbids it: a step moves to the first
/// earlier step of its key that comes after all of its predecessors, or to the last later one
/// that comes before all of its successors. Moving a step's units earlier is legal exactly when
/// none of their direct predecessors sits in a step at or after the destination: any path into
/// them from there would end in such a direct predecessor. Symmetrically for moving later.
void mergeAcrossLevels(std::vector<Step>& steps, const UnitGraph& g, std::size_t unitCount) {
    std::vector<int> stepOf(unitCount, -1);
    std::map<std::string, std::set<int>> stepsOfKey;
    for (std::size_t s = 0; s < steps.size(); ++s) {
        for (int u : steps[s].units) stepOf[std::size_t(u)] = int(s);
        if (!steps[s].key.empty()) stepsOfKey[steps[s].key].insert(int(s));
    }
    auto move = [&](int from, int to) {
        for (int u : steps[std::size_t(from)].units) stepOf[std::size_t(u)] = to;
        auto& into = steps[std::size_t(to)].units;
        into.insert(into.end(), steps[std::size_t(from)].units.begin(), steps[std::size_t(from)].units.end());
        std::sort(into.begin(), into.end()); // lane order = unit order, whatever the merges
        steps[std::size_t(from)].units.clear();
        stepsOfKey[steps[std::size_t(from)].key].erase(from);
    };
    for (int j = 0; j < int(steps.size()); ++j) { // earlier
        if (steps[std::size_t(j)].key.empty() || steps[std::size_t(j)].units.empty()) continue;
        int after = -1;
        for (int u : steps[std::size_t(j)].units)
            for (int p : g.predecessors[std::size_t(u)]) after = std::max(after, stepOf[std::size_t(p)]);
        const auto& same = stepsOfKey[steps[std::size_t(j)].key];
        auto it = same.upper_bound(after);
        if (it != same.end() && *it < j) move(j, *it);
    }
    for (int i = int(steps.size()) - 1; i >= 0; --i) { // later
        if (steps[std::size_t(i)].key.empty() || steps[std::size_t(i)].units.empty()) continue;
        int before = int(steps.size());
        for (int u : steps[std::size_t(i)].units)
            for (int s : g.successors[std::size_t(u)]) before = std::min(before, stepOf[std::size_t(s)]);
        const auto& same = stepsOfKey[steps[std::size_t(i)].key];
        auto it = same.lower_bound(before);
        if (it == same.begin()) continue;
        --it;
        if (*it > i) move(i, *it);
    }
    steps.erase(std::remove_if(steps.begin(), steps.end(), [](const Step& s) { return s.units.empty(); }), steps.end());
}

} // namespace

std::vector<Step> batchUnits(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                             bool batch) {
    const UnitGraph g = unitGraph(model, units, unitOf);
    // Units come in topological order (fuseChains walks the vertex order; a chain's inner
    // vertices have no input but the previous one), so one forward and one backward sweep
    // give the levels.
    std::vector<int> asap(units.size(), 0), fromEnd(units.size(), 0);
    for (std::size_t u = 0; u < units.size(); ++u)
        for (int p : g.predecessors[u]) asap[u] = std::max(asap[u], asap[std::size_t(p)] + 1);
    for (std::size_t u = units.size(); u-- > 0;)
        for (int s : g.successors[u]) fromEnd[u] = std::max(fromEnd[u], fromEnd[std::size_t(s)] + 1);
    int depth = 0;
    for (int a : asap) depth = std::max(depth, a);
    std::vector<int> alap(units.size());
    for (std::size_t u = 0; u < units.size(); ++u) alap[u] = depth - fromEnd[u];

    std::vector<Step> steps = groupByLevel(units, asap, batch);
    if (batch) {
        std::vector<Step> late = groupByLevel(units, alap, batch);
        if (late.size() < steps.size()) steps = std::move(late);
        mergeAcrossLevels(steps, g, units.size());
    }
    for (Step& step : steps)
        if (step.key.empty()) step.key = model.vertex(units[std::size_t(step.units[0])].head()).type->info().name;
    return steps;
}

} // namespace sg::passes
