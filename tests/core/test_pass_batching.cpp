// Pass 7, batching (core/passes/Batching.cpp): units in steps. What must hold for any DAG: every
// unit in exactly one step, one key per step, every edge from an earlier step to a later one
// (so the steps run in a valid order and no step waits on itself), and no path between two
// units of one step. Plus the cases the engine is built for: parallel channel strips.
#include "PassModel.h"

#include <algorithm>
#include <functional>
#include <set>
#include <sstream>

using namespace sg;
using namespace sg::test;

namespace {

struct Batched {
    std::vector<passes::Unit> units;
    std::vector<int> unitOf;
    std::vector<passes::Step> steps;
};

Batched batch(const PassModel& m, bool fuse, bool batchOn) {
    Batched b;
    const std::vector<int> order = passes::topologicalOrder(m.model);
    b.units = passes::fuseChains(m.model, order, fuse, b.unitOf);
    b.steps = passes::batchUnits(m.model, b.units, b.unitOf, batchOn);
    return b;
}

/// unit -> units it reaches (its successors and theirs), from the model's edges alone.
std::vector<std::vector<bool>> reachability(const passes::GraphModel& model, const Batched& b) {
    const std::size_t n = b.units.size();
    std::vector<std::vector<int>> successors(n);
    for (const auto& e : model.edges) {
        const int from = b.unitOf[std::size_t(e.from)], to = b.unitOf[std::size_t(e.to)];
        if (from >= 0 && to >= 0 && from != to) successors[std::size_t(from)].push_back(to);
    }
    std::vector<std::vector<bool>> reaches(n, std::vector<bool>(n, false));
    for (std::size_t start = 0; start < n; ++start) {
        std::vector<int> stack(successors[start].begin(), successors[start].end());
        while (!stack.empty()) {
            const int u = stack.back();
            stack.pop_back();
            if (reaches[start][std::size_t(u)]) continue;
            reaches[start][std::size_t(u)] = true;
            stack.insert(stack.end(), successors[std::size_t(u)].begin(), successors[std::size_t(u)].end());
        }
    }
    return reaches;
}

/// The first broken schedule property, or "" when the steps are a valid schedule.
std::string scheduleViolation(const passes::GraphModel& model, const Batched& b) {
    std::ostringstream why;
    std::vector<int> stepOf(b.units.size(), -1);
    for (std::size_t s = 0; s < b.steps.size(); ++s) {
        if (b.steps[s].units.empty()) return "step " + std::to_string(s) + " is empty";
        for (int u : b.steps[s].units) {
            if (u < 0 || u >= int(b.units.size())) return "step " + std::to_string(s) + " names no unit";
            if (stepOf[std::size_t(u)] >= 0) {
                why << "unit " << u << " is in steps " << stepOf[std::size_t(u)] << " and " << s;
                return why.str();
            }
            stepOf[std::size_t(u)] = int(s);
        }
        const std::string& key = b.units[std::size_t(b.steps[s].units[0])].key;
        for (int u : b.steps[s].units)
            if (b.units[std::size_t(u)].key != key || (key.empty() && b.steps[s].units.size() > 1)) {
                why << "step " << s << " mixes keys '" << key << "' and '" << b.units[std::size_t(u)].key << "'";
                return why.str();
            }
        if (!key.empty() && b.steps[s].key != key) {
            why << "step " << s << " is keyed '" << b.steps[s].key << "', its units '" << key << "'";
            return why.str();
        }
    }
    for (std::size_t u = 0; u < b.units.size(); ++u)
        if (stepOf[u] < 0) return "unit " + std::to_string(u) + " is in no step";
    for (const auto& e : model.edges) {
        const int from = b.unitOf[std::size_t(e.from)], to = b.unitOf[std::size_t(e.to)];
        if (from < 0 || to < 0 || from == to) continue;
        if (stepOf[std::size_t(from)] >= stepOf[std::size_t(to)]) {
            why << "edge " << model.vertex(e.from).name << " -> " << model.vertex(e.to).name << " goes from step "
                << stepOf[std::size_t(from)] << " to step " << stepOf[std::size_t(to)];
            return why.str();
        }
    }
    const auto reaches = reachability(model, b);
    for (const auto& step : b.steps)
        for (int u : step.units)
            for (int w : step.units)
                if (reaches[std::size_t(u)][std::size_t(w)]) {
                    why << "units " << u << " and " << w << " share a step with a path between them";
                    return why.str();
                }
    return {};
}

/// The fewer of the step counts that grouping units by (level, key) gives, with levels as soon
/// as possible (longest path from a source) and as late as possible (depth minus the longest
/// path to a sink); units without a key count one step each. Computed from the edges alone.
int levellingSteps(const passes::GraphModel& model, const Batched& b) {
    const std::size_t n = b.units.size();
    std::vector<std::vector<int>> successors(n), predecessors(n);
    for (const auto& e : model.edges) {
        const int from = b.unitOf[std::size_t(e.from)], to = b.unitOf[std::size_t(e.to)];
        if (from < 0 || to < 0 || from == to) continue;
        successors[std::size_t(from)].push_back(to);
        predecessors[std::size_t(to)].push_back(from);
    }
    // longest paths by memoised depth-first search (the unit graph is a DAG)
    std::vector<int> fromStart(n, -1), toEnd(n, -1);
    std::function<int(int)> asap = [&](int u) {
        int& level = fromStart[std::size_t(u)];
        if (level < 0) {
            level = 0;
            for (int p : predecessors[std::size_t(u)]) level = std::max(level, asap(p) + 1);
        }
        return level;
    };
    std::function<int(int)> remaining = [&](int u) {
        int& level = toEnd[std::size_t(u)];
        if (level < 0) {
            level = 0;
            for (int s : successors[std::size_t(u)]) level = std::max(level, remaining(s) + 1);
        }
        return level;
    };
    int depth = 0;
    for (std::size_t u = 0; u < n; ++u) depth = std::max(depth, asap(int(u)));
    auto count = [&](auto levelOf) {
        std::set<std::pair<int, std::string>> groups;
        int alone = 0;
        for (std::size_t u = 0; u < n; ++u) {
            if (b.units[u].key.empty())
                ++alone;
            else
                groups.insert({levelOf(int(u)), b.units[u].key});
        }
        return int(groups.size()) + alone;
    };
    return std::min(count(asap), count([&](int u) { return depth - remaining(u); }));
}

/// The step holding the unit of vertex `v`.
int stepOfVertex(const Batched& b, int v) {
    for (std::size_t s = 0; s < b.steps.size(); ++s)
        for (int u : b.steps[s].units)
            if (u == b.unitOf[std::size_t(v)]) return int(s);
    return -1;
}

/// Channel strips `in_i -> [filters] -> fader_i -> pan_i -> bus -> out`, strip i with
/// `filters[i]` biquads; returns the model and the faders and pans.
struct Strips {
    PassModel m;
    std::vector<int> faders, pans;
    int bus = -1;
};

Strips strips(const std::vector<int>& filters) {
    Strips s;
    std::vector<int> ins;
    for (std::size_t i = 0; i < filters.size(); ++i) ins.push_back(s.m.input(numbered("t", int(i)), 1));
    s.bus = -1;
    std::vector<int> tails;
    for (std::size_t i = 0; i < filters.size(); ++i) {
        int previous = ins[i];
        for (int f = 0; f < filters[i]; ++f) {
            const int eq = s.m.node(numbered("eq", int(i)) + numbered(".", f), f == 0 ? "highpass" : "peak", 1);
            s.m.connect(previous, eq, 1);
            previous = eq;
        }
        const int fader = s.m.node(numbered("fader", int(i)), "gain", 1);
        const int pan = s.m.node(numbered("pan", int(i)), "pan", 1);
        s.m.model.vertex(pan).outputChannels = {2};
        s.m.connect(previous, fader, 1);
        s.m.connect(fader, pan, 1);
        s.faders.push_back(fader);
        s.pans.push_back(pan);
    }
    s.bus = s.m.node("bus", "gain", 2);
    for (int pan : s.pans) s.m.connect(pan, s.bus, 2);
    s.m.connect(s.bus, s.m.output("mix", 2), 2);
    return s;
}

std::vector<int> sorted(std::vector<int> v) {
    std::sort(v.begin(), v.end());
    return v;
}

} // namespace

TEST_CASE("pass batching: on random DAGs the steps are a valid schedule of one-key, path-free batches", "[passes]") {
    std::mt19937 random(7);
    for (int round = 0; round < 400; ++round) {
        const int nodes = std::uniform_int_distribution<int>(5, 40)(random);
        const int channels = std::uniform_int_distribution<int>(1, 2)(random);
        const PassModel m = randomDag(random, nodes, channels);
        for (const bool fuse : {false, true}) {
            INFO("round " << round << ", " << nodes << " nodes, fuse " << fuse);
            const Batched b = batch(m, fuse, true);
            const std::string violation = scheduleViolation(m.model, b);
            INFO(violation);
            CHECK(violation.empty());
            // A valid schedule alone could be one unit per step; Passes.h promises at most as
            // many steps as the better of the as-soon- and as-late-as-possible levellings.
            const int bound = levellingSteps(m.model, b);
            INFO(b.steps.size() << " steps, levelling bound " << bound);
            CHECK(int(b.steps.size()) <= bound);
            const Batched one = batch(m, fuse, false);
            const std::string unbatchedViolation = scheduleViolation(m.model, one);
            INFO("unbatched: " << unbatchedViolation);
            CHECK(unbatchedViolation.empty());
            CHECK(one.steps.size() == one.units.size());
        }
    }
}

TEST_CASE("pass batching: 8 strips of biquads, fader and pan into a bus take 4 steps", "[passes]") {
    Strips s = strips(std::vector<int>(8, 2));
    const Batched b = batch(s.m, true, true);
    const std::string violation = scheduleViolation(s.m.model, b);
    INFO(violation);
    CHECK(violation.empty());
    REQUIRE(b.steps.size() == 4);
    CHECK(b.steps[0].key == "biquad2");
    CHECK(b.steps[0].units.size() == 8);
    CHECK(b.steps[1].key == "gain");
    CHECK(b.steps[1].units.size() == 8);
    CHECK(b.steps[2].key == "pan");
    CHECK(b.steps[2].units.size() == 8);
    CHECK(b.steps[3].key == "gain");
    CHECK(b.steps[3].units == std::vector<int>{b.unitOf[std::size_t(s.bus)]});
    // lanes in unit order: strip i is lane i
    CHECK(std::is_sorted(b.steps[1].units.begin(), b.steps[1].units.end()));

    // the checker itself can fail: the bus moved into the faders' step is caught
    Batched broken = b;
    broken.steps[1].units.push_back(broken.steps[3].units[0]);
    broken.steps.pop_back();
    CHECK_FALSE(scheduleViolation(s.m.model, broken).empty());
}

TEST_CASE("pass batching: strips of different depths still get their faders and pans into one step each", "[passes]") {
    // Like graphs/mixing/four-stems.yaml: strips of 0, 2, 2 and 4 filters, and a send from the
    // third strip's pan through its own delay, filter and level back into the bus. The faders
    // sit at different depths from the inputs and from the outputs.
    for (const bool fuse : {false, true}) {
        INFO("fuse " << fuse);
        Strips s = strips({0, 2, 2, 4});
        PassModel& m = s.m;
        const int slap = m.node("slap", "delay", 2);
        const int tone = m.node("slap_tone", "lowpass", 2);
        const int level = m.node("slap_lvl", "gain", 2);
        m.connect(s.pans[2], slap, 2);
        m.connect(s.pans[3], slap, 2);
        m.chain({slap, tone, level, s.bus}, 2);
        const Batched b = batch(m, fuse, true);
        const std::string violation = scheduleViolation(m.model, b);
        INFO(violation);
        CHECK(violation.empty());
        std::vector<int> faderUnits, panUnits;
        for (int f : s.faders) faderUnits.push_back(b.unitOf[std::size_t(f)]);
        for (int p : s.pans) panUnits.push_back(b.unitOf[std::size_t(p)]);
        const int faderStep = stepOfVertex(b, s.faders[0]);
        REQUIRE(faderStep >= 0);
        CHECK(sorted(b.steps[std::size_t(faderStep)].units) == sorted(faderUnits));
        const int panStep = stepOfVertex(b, s.pans[0]);
        REQUIRE(panStep >= 0);
        CHECK(sorted(b.steps[std::size_t(panStep)].units) == sorted(panUnits));
    }
}

TEST_CASE("pass batching: batch=false gives one step per unit in a valid order", "[passes]") {
    Strips s = strips(std::vector<int>(8, 2));
    const Batched b = batch(s.m, false, false);
    CHECK(b.units.size() == 8 * 4 + 1);
    CHECK(b.steps.size() == b.units.size());
    const std::string violation = scheduleViolation(s.m.model, b);
    INFO(violation);
    CHECK(violation.empty());
    for (const auto& step : b.steps) CHECK(step.units.size() == 1);
    // each step is keyed by its type name even when the unit has no batch key
    CHECK(b.steps.back().key == "gain");
}

TEST_CASE("pass batching: a non-batchable type is alone in its step, keyed by its type name", "[passes]") {
    PassModel m;
    std::vector<int> meters;
    const int out = m.output("out", 2);
    for (int i = 0; i < 4; ++i) {
        const int in = m.input(numbered("in", i), 2);
        const int meter = m.node(numbered("meter", i), "loudness", 2);
        m.chain({in, meter, out}, 2);
        meters.push_back(meter);
    }
    const Batched b = batch(m, true, true);
    CHECK(b.steps.size() == 4);
    for (const auto& step : b.steps) {
        CHECK(step.units.size() == 1);
        CHECK(step.key == "loudness");
    }
}
