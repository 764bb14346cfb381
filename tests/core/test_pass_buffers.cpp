// Pass 8, buffers (core/passes/Buffers.cpp): slots by liveness. Checked by simulation: walk the
// steps, track which value each slot holds, and assert that every read finds the value the
// graph says it should, and that no write (a sum or a kernel output) overwrites a value that is
// still to be read, except an in-place type writing lane i over its own port-0 lane i. Plus the
// slot counts liveness allows on chains.
#include "PassModel.h"

#include <algorithm>
#include <sstream>
#include <tuple>

using namespace sg;
using namespace sg::test;

namespace {

struct Compiled {
    std::vector<passes::Unit> units;
    std::vector<int> unitOf;
    std::vector<passes::Step> steps;
    passes::BufferPlan plan;
};

Compiled allocate(const PassModel& m, bool fuse = true, bool batchOn = true) {
    Compiled c;
    const std::vector<int> order = passes::topologicalOrder(m.model);
    c.units = passes::fuseChains(m.model, order, fuse, c.unitOf);
    c.steps = passes::batchUnits(m.model, c.units, c.unitOf, batchOn);
    c.plan = passes::allocateBuffers(m.model, c.units, c.unitOf, c.steps);
    return c;
}

/// What a slot holds: nothing, channel `channel` of output `port` of vertex `vertex`, or the
/// temporary of sum `sum` before step `step`.
struct Value {
    enum Kind { Empty, Signal, Sum } kind = Empty;
    int vertex = -1, port = -1, channel = -1; // Signal
    int step = -1, sum = -1;                  // Sum
    bool operator==(const Value& o) const {
        return std::tie(kind, vertex, port, channel, step, sum) == std::tie(o.kind, o.vertex, o.port, o.channel, o.step, o.sum);
    }
    bool operator<(const Value& o) const {
        return std::tie(kind, vertex, port, channel, step, sum) < std::tie(o.kind, o.vertex, o.port, o.channel, o.step, o.sum);
    }
};

Value signal(int vertex, int port, int channel) {
    Value v;
    v.kind = Value::Signal;
    v.vertex = vertex;
    v.port = port;
    v.channel = channel;
    return v;
}

std::string describe(const passes::GraphModel& model, const Value& v) {
    std::ostringstream text;
    if (v.kind == Value::Empty) text << "nothing";
    if (v.kind == Value::Signal) text << model.vertex(v.vertex).name << "." << v.port << "[" << v.channel << "]";
    if (v.kind == Value::Sum) text << "sum " << v.sum << " of step " << v.step;
    return text.str();
}

/// The first way the plan loses or misreads a value, or "" if running it is sound.
std::string bufferViolation(const passes::GraphModel& model, const Compiled& c) {
    const passes::BufferPlan& plan = c.plan;
    const int end = int(c.steps.size()); // the external outputs read after the last step
    std::vector<int> stepOfUnit(c.units.size(), -1);
    for (std::size_t s = 0; s < c.steps.size(); ++s)
        for (int u : c.steps[s].units) stepOfUnit[std::size_t(u)] = int(s);
    // The steps that read signal (vertex, port), from the edges: a value is still needed at
    // step s while one of them is s or later. Edges inside a fused chain carry no slot.
    auto lastReader = [&](int vertex, int port) {
        int last = -1;
        for (int e : model.vertex(vertex).outEdges) {
            const passes::Edge& edge = model.edge(e);
            if (edge.fromPort != port) continue;
            const int to = c.unitOf[std::size_t(edge.to)];
            if (to >= 0 && to == c.unitOf[std::size_t(vertex)]) continue;
            last = std::max(last, to < 0 ? end : stepOfUnit[std::size_t(to)]);
        }
        return last;
    };
    std::ostringstream why;
    std::vector<Value> slot(std::size_t(std::max(plan.slotCount, 0)));
    auto valid = [&](int s) { return s >= 0 && s < plan.slotCount; };

    for (std::size_t i = 0; i < model.inputVertex.size(); ++i) {
        const int v = model.inputVertex[i];
        if (plan.inputSlots.size() <= i || int(plan.inputSlots[i].size()) != model.vertex(v).outputChannels[0])
            return "input " + model.vertex(v).name + " has the wrong number of slots";
        for (int ch = 0; ch < model.vertex(v).outputChannels[0]; ++ch) {
            const int s = plan.inputSlots[i][std::size_t(ch)];
            if (!valid(s)) return "input slot out of range";
            const Value held = slot[std::size_t(s)];
            if (held.kind == Value::Signal && lastReader(held.vertex, held.port) >= 0) {
                why << "input " << model.vertex(v).name << " is written over " << describe(model, held);
                return why.str();
            }
            slot[std::size_t(s)] = signal(v, 0, ch);
        }
    }
    if (plan.calls.size() != c.steps.size()) return "one call per step expected";

    for (int s = 0; s < end; ++s) {
        const passes::SymbolicCall& call = plan.calls[std::size_t(s)];
        const passes::Step& step = c.steps[std::size_t(s)];
        // 1. sums, in order: each source must hold a value; the destination must hold nothing
        //    that this step or a later one still reads
        std::vector<std::vector<Value>> summed(call.sums.size());
        for (std::size_t k = 0; k < call.sums.size(); ++k) {
            for (int source : call.sums[k].sources) {
                if (!valid(source)) return "sum source out of range";
                summed[k].push_back(slot[std::size_t(source)]);
            }
            const int d = call.sums[k].destination;
            if (!valid(d)) return "sum destination out of range";
            const Value held = slot[std::size_t(d)];
            const bool needed = (held.kind == Value::Signal && lastReader(held.vertex, held.port) >= s) ||
                                (held.kind == Value::Sum && held.step == s);
            if (needed) {
                why << "step " << s << ": sum " << k << " overwrites " << describe(model, held);
                return why.str();
            }
            Value temp;
            temp.kind = Value::Sum;
            temp.step = s;
            temp.sum = int(k);
            slot[std::size_t(d)] = temp;
        }
        // 2. inputs: every lane holds what the graph feeds it
        const passes::Vertex& firstHead = model.vertex(c.units[std::size_t(step.units[0])].head());
        const int inPorts = firstHead.inputPorts();
        if (int(call.inputLanes.size()) != inPorts) return "step " + std::to_string(s) + ": wrong input port count";
        for (int p = 0; p < inPorts; ++p) {
            std::size_t lane = 0;
            for (int u : step.units) {
                const int head = c.units[std::size_t(u)].head();
                const passes::Vertex& h = model.vertex(head);
                std::vector<const passes::Edge*> feeding;
                for (int e : h.inEdges)
                    if (model.edge(e).toPort == p) feeding.push_back(&model.edge(e));
                for (int ch = 0; ch < h.inputChannels[std::size_t(p)]; ++ch, ++lane) {
                    if (lane >= call.inputLanes[std::size_t(p)].size()) return "too few input lanes";
                    const int at = call.inputLanes[std::size_t(p)][lane];
                    std::vector<Value> expected;
                    for (const passes::Edge* e : feeding) expected.push_back(signal(e->from, e->fromPort, ch));
                    std::sort(expected.begin(), expected.end());
                    std::vector<Value> got;
                    if (feeding.empty()) {
                        if (at != -1) return "an unconnected port reads a slot";
                        continue;
                    }
                    if (!valid(at)) return "input lane out of range";
                    const Value held = slot[std::size_t(at)];
                    if (feeding.size() == 1)
                        got = {held};
                    else if (held.kind == Value::Sum && held.step == s)
                        got = summed[std::size_t(held.sum)];
                    std::sort(got.begin(), got.end());
                    if (got != expected) {
                        why << "step " << s << ": " << h.name << " port " << p << " channel " << ch << " reads "
                            << (got.empty() ? "an unsummed " + describe(model, held) : describe(model, got[0])) << ", expected "
                            << describe(model, expected[0]) << (expected.size() > 1 ? " + ..." : "");
                        return why.str();
                    }
                }
            }
            if (lane != call.inputLanes[std::size_t(p)].size()) return "too many input lanes";
        }
        // 3. outputs, all written at once: a slot may take an output only if its value is dead
        //    after this step and no lane of this step reads it, except lane i of port 0 under
        //    output lane i of port 0 of an in-place type
        const int outPorts = model.vertex(c.units[std::size_t(step.units[0])].tail()).outputPorts();
        if (int(call.outputLanes.size()) != outPorts) return "step " + std::to_string(s) + ": wrong output port count";
        std::vector<std::pair<int, Value>> writes;
        for (int p = 0; p < outPorts; ++p) {
            std::size_t lane = 0;
            for (int u : step.units) {
                const passes::Unit& unit = c.units[std::size_t(u)];
                const passes::Vertex& tail = model.vertex(unit.tail());
                const bool inPlace = model.vertex(unit.head()).type->info().inPlace;
                for (int ch = 0; ch < tail.outputChannels[std::size_t(p)]; ++ch, ++lane) {
                    if (lane >= call.outputLanes[std::size_t(p)].size()) return "too few output lanes";
                    const int at = call.outputLanes[std::size_t(p)][lane];
                    if (!valid(at)) return "output lane out of range";
                    const Value held = slot[std::size_t(at)];
                    if (held.kind == Value::Signal && lastReader(held.vertex, held.port) > s) {
                        why << "step " << s << ": " << tail.name << " writes over " << describe(model, held) << ", read later";
                        return why.str();
                    }
                    for (int q = 0; q < inPorts; ++q)
                        for (std::size_t i = 0; i < call.inputLanes[std::size_t(q)].size(); ++i) {
                            const bool ownLane = inPlace && p == 0 && q == 0 && i == lane;
                            if (call.inputLanes[std::size_t(q)][i] == at && !ownLane) {
                                why << "step " << s << ": " << tail.name << " writes output lane " << lane
                                    << " into the slot of input lane " << i << " of port " << q;
                                return why.str();
                            }
                        }
                    for (const auto& w : writes)
                        if (w.first == at) return "step " + std::to_string(s) + ": two outputs share a slot";
                    writes.push_back({at, signal(unit.tail(), p, ch)});
                }
            }
            if (lane != call.outputLanes[std::size_t(p)].size()) return "too many output lanes";
        }
        for (const auto& [at, value] : writes) slot[std::size_t(at)] = value;
    }

    // 4. the external outputs read what feeds them
    for (std::size_t o = 0; o < model.outputVertex.size(); ++o) {
        const passes::Vertex& out = model.vertex(model.outputVertex[o]);
        for (int ch = 0; ch < out.inputChannels[0]; ++ch) {
            std::vector<Value> expected, got;
            for (int e : out.inEdges) expected.push_back(signal(model.edge(e).from, model.edge(e).fromPort, ch));
            for (int at : plan.outputSources[o][std::size_t(ch)]) {
                if (!valid(at)) return "output source out of range";
                got.push_back(slot[std::size_t(at)]);
            }
            std::sort(expected.begin(), expected.end());
            std::sort(got.begin(), got.end());
            if (got != expected) {
                why << "output " << out.name << " channel " << ch << " reads "
                    << (got.empty() ? "nothing" : describe(model, got[0]));
                return why.str();
            }
        }
    }
    return {};
}

/// in -> n nodes of `type` in series -> out, all of `channels` channels.
PassModel chainOf(const std::string& type, int n, int channels) {
    PassModel m;
    int previous = m.input("in", channels);
    for (int i = 0; i < n; ++i) {
        const int v = m.node(numbered("n", i), type, channels);
        m.connect(previous, v, channels);
        previous = v;
    }
    m.connect(previous, m.output("out", channels), channels);
    return m;
}

} // namespace

TEST_CASE("pass buffers: a long chain of in-place gains runs in the input's own slots", "[passes]") {
    const PassModel m = chainOf("gain", 50, 2);
    const Compiled c = allocate(m);
    CHECK(c.steps.size() == 50);
    const std::string violation = bufferViolation(m.model, c);
    INFO(violation);
    CHECK(violation.empty());
    CHECK(c.plan.slotCount == 2);
    for (const auto& call : c.plan.calls) CHECK(call.outputLanes[0] == c.plan.inputSlots[0]);
}

TEST_CASE("pass buffers: a chain of a type that is not in place needs its input and output alive, no more", "[passes]") {
    // pan (stereo in, stereo out) never writes over its input: each step needs 2 + 2 slots.
    PassModel m = chainOf("pan", 30, 2);
    const Compiled c = allocate(m);
    const std::string violation = bufferViolation(m.model, c);
    INFO(violation);
    CHECK(violation.empty());
    CHECK(c.plan.slotCount == 4);
}

TEST_CASE("pass buffers: a signal read twice is not written over in place", "[passes]") {
    // in -> a -> b and a -> c: b is in place but a's output is still needed by c.
    PassModel m;
    const int in = m.input("in", 1);
    const int a = m.node("a", "gain", 1), b = m.node("b", "peak", 1), c = m.node("c", "delay", 1);
    const int outB = m.output("b", 1), outC = m.output("c", 1);
    m.chain({in, a, b, outB}, 1);
    m.chain({a, c, outC}, 1);
    const Compiled compiled = allocate(m);
    const std::string violation = bufferViolation(m.model, compiled);
    INFO(violation);
    CHECK(violation.empty());
}

TEST_CASE("pass buffers: summed inputs get a sum slot of their own", "[passes]") {
    PassModel m;
    const int x = m.input("x", 2), y = m.input("y", 2), z = m.input("z", 2);
    const int bus = m.node("bus", "gain", 2);
    const int out = m.output("out", 2);
    m.connect(x, bus, 2);
    m.connect(y, bus, 2);
    m.connect(z, bus, 2);
    m.connect(bus, out, 2);
    const Compiled c = allocate(m);
    const std::string violation = bufferViolation(m.model, c);
    INFO(violation);
    CHECK(violation.empty());
    REQUIRE(c.plan.calls.size() == 1);
    const passes::SymbolicCall& call = c.plan.calls[0];
    REQUIRE(call.sums.size() == 2); // one per channel
    std::vector<int> inputs;
    for (const auto& slots : c.plan.inputSlots) inputs.insert(inputs.end(), slots.begin(), slots.end());
    for (int ch = 0; ch < 2; ++ch) {
        const passes::SymbolicSum& sum = call.sums[std::size_t(ch)];
        CHECK(sum.sources.size() == 3);
        CHECK(std::count(inputs.begin(), inputs.end(), sum.destination) == 0);
        CHECK(call.inputLanes[0][std::size_t(ch)] == sum.destination);
    }
    CHECK(call.sums[0].destination != call.sums[1].destination);
}

TEST_CASE("pass buffers: 8 strips into a bus reuse slots and read every value intact", "[passes]") {
    PassModel m;
    const int bus = m.node("bus", "gain", 2);
    for (int i = 0; i < 8; ++i) {
        const int in = m.input(numbered("t", i), 1);
        const int hp = m.node(numbered("hp", i), "highpass", 1), eq = m.node(numbered("eq", i), "peak", 1);
        const int fader = m.node(numbered("fader", i), "gain", 1), pan = m.node(numbered("pan", i), "pan", 1);
        m.model.vertex(pan).outputChannels = {2};
        m.chain({in, hp, eq, fader, pan}, 1);
        m.connect(pan, bus, 2);
    }
    m.connect(bus, m.output("mix", 2), 2);
    for (const bool batchOn : {true, false}) {
        INFO("batch " << batchOn);
        const Compiled c = allocate(m, true, batchOn);
        const std::string violation = bufferViolation(m.model, c);
        INFO(violation);
        CHECK(violation.empty());
        int signalChannels = 0;
        for (const auto& v : m.model.vertices)
            for (int ch : v.outputChannels) signalChannels += ch;
        CHECK(c.plan.slotCount < signalChannels);
    }
}

TEST_CASE("pass buffers: on random DAGs no slot is written over while its value is still to be read", "[passes]") {
    std::mt19937 random(11);
    for (int round = 0; round < 300; ++round) {
        const int nodes = std::uniform_int_distribution<int>(5, 40)(random);
        const int channels = std::uniform_int_distribution<int>(1, 2)(random);
        const PassModel m = randomDag(random, nodes, channels);
        for (const bool batchOn : {true, false}) {
            INFO("round " << round << ", " << nodes << " nodes, batch " << batchOn);
            const Compiled c = allocate(m, batchOn, batchOn);
            const std::string violation = bufferViolation(m.model, c);
            INFO(violation);
            CHECK(violation.empty());
        }
    }
}

TEST_CASE("pass buffers: the simulation catches a plan that loses a value", "[passes]") {
    // a test that cannot fail is a bug: break a sound plan and see the checker object
    PassModel m;
    const int in = m.input("in", 1);
    const int a = m.node("a", "gain", 1), b = m.node("b", "pan", 1), c = m.node("c", "pan", 1);
    m.model.vertex(b).outputChannels = {2};
    m.model.vertex(c).outputChannels = {2};
    const int outB = m.output("b", 2), outC = m.output("c", 2);
    m.chain({in, a, b, outB}, 1);
    m.connect(a, c, 1);
    m.connect(c, outC, 2);
    Compiled compiled = allocate(m, true, false);
    REQUIRE(bufferViolation(m.model, compiled).empty());
    // b's output written over a's value, which c still reads
    const int stepOfB = [&] {
        for (std::size_t s = 0; s < compiled.steps.size(); ++s)
            if (compiled.steps[s].units[0] == compiled.unitOf[std::size_t(b)]) return int(s);
        return -1;
    }();
    REQUIRE(stepOfB >= 0);
    auto& call = compiled.plan.calls[std::size_t(stepOfB)];
    call.outputLanes[0][0] = call.inputLanes[0][0];
    CHECK_FALSE(bufferViolation(m.model, compiled).empty());
}

TEST_CASE("pass buffers: a sum's leading run from another worker is summed there, in the same order", "[passes]") {
    // 8 strips (fader, pan) into a bus on worker 0; the strips whose numbers are in `other` run
    // on worker 1, one step per unit (unbatched).
    PassModel m;
    const int bus = m.node("bus", "gain", 2);
    std::vector<int> pans;
    for (int i = 0; i < 8; ++i) {
        const int in = m.input(numbered("t", i), 1);
        const int fader = m.node(numbered("fader", i), "peak", 1), pan = m.node(numbered("pan", i), "pan", 1);
        m.model.vertex(pan).outputChannels = {2};
        m.chain({in, fader, pan}, 1);
        m.connect(pan, bus, 2);
        pans.push_back(pan);
    }
    m.connect(bus, m.output("mix", 2), 2);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    std::vector<int> unitOf;
    const std::vector<passes::Unit> units = passes::fuseChains(m.model, order, false, unitOf);
    const std::vector<passes::Step> steps = passes::batchUnits(m.model, units, unitOf, false);
    auto stepOf = [&](int vertex) {
        for (std::size_t s = 0; s < steps.size(); ++s)
            if (steps[s].units[0] == unitOf[std::size_t(vertex)]) return int(s);
        return -1;
    };
    auto planFor = [&](const std::vector<int>& other) {
        std::vector<int> stepWorker(steps.size(), 0);
        for (int i : other)
            for (const char* prefix : {"fader", "pan"})
                for (int v = 0; v < m.model.size(); ++v)
                    if (m.model.vertex(v).name == numbered(prefix, i)) stepWorker[std::size_t(stepOf(v))] = 1;
        return passes::allocateBuffers(m.model, units, unitOf, steps, stepWorker);
    };
    auto slotOf = [&](const passes::BufferPlan& plan, int pan, int channel) {
        return plan.calls[std::size_t(stepOf(pan))].outputLanes[0][std::size_t(channel)];
    };
    const int busStep = stepOf(bus);
    int lastPanStep = -1; // of pans 0 to 3
    for (int i = 0; i < 4; ++i) lastPanStep = std::max(lastPanStep, stepOf(pans[std::size_t(i)]));

    SECTION("strips 0 to 3 on the other worker: their pans summed after the last of them") {
        const passes::BufferPlan plan = planFor({0, 1, 2, 3});
        for (std::size_t s = 0; s < steps.size(); ++s) CHECK(plan.calls[s].sumsAfter.size() == (int(s) == lastPanStep ? 2u : 0u));
        const auto& partials = plan.calls[std::size_t(lastPanStep)].sumsAfter;
        const auto& sums = plan.calls[std::size_t(busStep)].sums;
        REQUIRE(partials.size() == 2);
        REQUIRE(sums.size() == 2);
        for (int ch = 0; ch < 2; ++ch) {
            INFO("channel " << ch);
            const passes::SymbolicSum& partial = partials[std::size_t(ch)];
            std::vector<int> expected;
            for (int i = 0; i < 4; ++i) expected.push_back(slotOf(plan, pans[std::size_t(i)], ch));
            CHECK(partial.sources == expected); // pans 0 to 3, in order
            // The bus adds the partial first, then pans 4 to 7 in order: one thread's order.
            expected = {partial.destination};
            for (int i = 4; i < 8; ++i) expected.push_back(slotOf(plan, pans[std::size_t(i)], ch));
            CHECK(sums[std::size_t(ch)].sources == expected);
            // The partial's slot is its own: no lane, sum or input of the plan uses it.
            int uses = 0;
            for (const auto& call : plan.calls) {
                for (const auto& lanes : call.outputLanes)
                    uses += int(std::count(lanes.begin(), lanes.end(), partial.destination));
                for (const auto& sum : call.sums) uses += sum.destination == partial.destination;
                for (const auto& sum : call.sumsAfter) uses += sum.destination == partial.destination;
            }
            for (const auto& slots : plan.inputSlots) uses += int(std::count(slots.begin(), slots.end(), partial.destination));
            CHECK(uses == 1);
        }
    }
    SECTION("every strip on the other worker: the bus reads the partial sum, no sum of its own") {
        const passes::BufferPlan plan = planFor({0, 1, 2, 3, 4, 5, 6, 7});
        const auto& call = plan.calls[std::size_t(busStep)];
        CHECK(call.sums.empty());
        int last = -1;
        for (int pan : pans) last = std::max(last, stepOf(pan));
        const auto& partials = plan.calls[std::size_t(last)].sumsAfter;
        REQUIRE(partials.size() == 2);
        for (int ch = 0; ch < 2; ++ch) {
            CHECK(partials[std::size_t(ch)].sources.size() == 8);
            CHECK(call.inputLanes[0][std::size_t(ch)] == partials[std::size_t(ch)].destination);
        }
    }
    SECTION("no leading run: the first strip on the bus's worker, or a run of one") {
        for (const std::vector<int>& other :
             {std::vector<int>{1, 2, 3, 4, 5, 6, 7}, std::vector<int>{0, 2, 3}, std::vector<int>{}}) {
            const passes::BufferPlan plan = planFor(other);
            for (const auto& call : plan.calls) CHECK(call.sumsAfter.empty());
            REQUIRE(plan.calls[std::size_t(busStep)].sums.size() == 2);
            CHECK(plan.calls[std::size_t(busStep)].sums[0].sources.size() == 8);
        }
    }
}

TEST_CASE("pass buffers: leading runs", "[passes]") {
    int worker = -1;
    CHECK(passes::leadingRun({1, 1, 1, 0, 0}, 0, worker) == 3);
    CHECK(worker == 1);
    CHECK(passes::leadingRun({1, 1, 1, 1}, 0, worker) == 4);
    CHECK(passes::leadingRun({2, 2, 1, 1}, 0, worker) == 2);
    CHECK(worker == 2);
    CHECK(passes::leadingRun({1, 0, 1, 1}, 0, worker) == 0); // a run of one crosses as it is
    CHECK(worker == -1);
    CHECK(passes::leadingRun({0, 0, 1, 1}, 0, worker) == 0); // the summing worker's own first
    CHECK(passes::leadingRun({-1, -1, 1}, 0, worker) == 0);  // external inputs: the caller copies them
    CHECK(passes::leadingRun({1}, 0, worker) == 0);
    CHECK(passes::leadingRun({}, 0, worker) == 0);
}
