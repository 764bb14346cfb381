// Pass 5, latency (core/passes/Latency.cpp): arrivals along the order; the early inputs of a
// vertex get exactly the compensation delay that lines them up, of the registry's compensation
// type; outputs padded to max(graph latency, minLatencyFrames); one delay per source port and
// shift.
#include "PassModel.h"

#include <algorithm>

using namespace sg;
using namespace sg::test;

namespace {

constexpr double kRate = 48000;

/// The vertices the pass inserted.
std::vector<int> insertedDelays(const passes::GraphModel& model) {
    std::vector<int> found;
    for (int v = 0; v < model.size(); ++v)
        if (model.vertex(v).inserted) found.push_back(v);
    return found;
}

/// The compensation delay of vertex `v`, in frames (from the type's declared parameter).
double delayFrames(const passes::GraphModel& model, int v) {
    const passes::Vertex& d = model.vertex(v);
    return d.params[std::size_t(d.type->paramIndex(d.type->info().compensationParam))];
}

/// The sources feeding vertex `v`, in edge order.
std::vector<int> sourcesOf(const passes::GraphModel& model, int v) {
    std::vector<int> from;
    for (int e : model.vertex(v).inEdges) from.push_back(model.edge(e).from);
    std::sort(from.begin(), from.end());
    return from;
}

/// Every vertex's inputs arrive together: a property independent of where the delays went.
/// For each vertex, the arrival of every source (plus nothing: the inserted delays carry their
/// frames in their own arrival) equals the latest one.
bool inputsAligned(const passes::GraphModel& model) {
    bool aligned = true;
    for (int v = 0; v < model.size(); ++v) {
        const auto& ins = model.vertex(v).inEdges;
        for (int e : ins)
            aligned &= model.vertex(model.edge(e).from).arrival == model.vertex(model.edge(ins.front()).from).arrival;
    }
    return aligned;
}

} // namespace

TEST_CASE("pass latency: a diamond with a latent branch gets one delay of that latency on the other branch", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int slow = m.node("slow", "latency", 2);
    m.set(slow, "samples", 100);
    const int dry = m.node("dry", "gain", 2);
    const int join = m.node("join", "gain", 2);
    const int out = m.output("out", 2);
    m.chain({in, slow, join, out}, 2);
    m.chain({in, dry, join}, 2);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    const int latency = passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 0, diags);
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    CHECK(latency == 100);
    const std::vector<int> delays = insertedDelays(m.model);
    REQUIRE(delays.size() == 1);
    const int d = delays[0];
    CHECK(m.model.vertex(d).type == Registry::builtin().compensationDelay());
    CHECK(m.model.vertex(d).type->info().name == "delay");
    CHECK(delayFrames(m.model, d) == 100);
    // on the dry branch: dry -> delay -> join
    CHECK(sourcesOf(m.model, d) == std::vector<int>{dry});
    CHECK(sourcesOf(m.model, join) == std::vector<int>{slow, d});
    CHECK(m.model.vertex(d).inputChannels == std::vector<int>{2});
    CHECK(m.model.vertex(d).outputChannels == std::vector<int>{2});
    // arrivals
    CHECK(m.model.vertex(in).arrival == 0);
    CHECK(m.model.vertex(slow).latency == 100);
    CHECK(m.model.vertex(slow).arrival == 100);
    CHECK(m.model.vertex(dry).arrival == 0);
    CHECK(m.model.vertex(d).arrival == 100);
    CHECK(m.model.vertex(join).arrival == 100);
    CHECK(m.model.vertex(out).arrival == 100);
    CHECK(inputsAligned(m.model));
    // the inserted delay runs with the model: it is in a fresh order, between dry and join
    const std::vector<int> again = passes::topologicalOrder(m.model);
    CHECK(int(again.size()) == m.model.size());
}

TEST_CASE("pass latency: latencies add along a path and the shorter paths get the difference", "[passes]") {
    // mix -> a(30) -> b(70) -> join; mix -> c(20) -> join; mix -> join: delays of 80 after c and
    // of 100 on the direct edge; limiter latency is the type's own (lookahead at the rate).
    PassModel m;
    const int in = m.input("mix", 1);
    const int a = m.node("a", "latency", 1), b = m.node("b", "latency", 1), c = m.node("c", "latency", 1);
    m.set(a, "samples", 30);
    m.set(b, "samples", 70);
    m.set(c, "samples", 20);
    const int join = m.node("join", "gain", 1);
    const int lim = m.node("lim", "limiter", 1);
    const int out = m.output("out", 1);
    m.chain({in, a, b, join, lim, out}, 1);
    m.chain({in, c, join}, 1);
    m.connect(in, join, 1);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    const int latency = passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 0, diags);
    INFO(diags.formatAll());
    const int limiterFrames = m.model.vertex(lim).type->latencyFrames(m.model.vertex(lim).params, kRate);
    CHECK(limiterFrames > 0);
    CHECK(latency == 100 + limiterFrames);
    CHECK(m.model.vertex(join).arrival == 100);
    CHECK(m.model.vertex(lim).arrival == 100 + limiterFrames);
    std::vector<double> frames;
    for (int d : insertedDelays(m.model)) frames.push_back(delayFrames(m.model, d));
    std::sort(frames.begin(), frames.end());
    CHECK(frames == std::vector<double>{80, 100});
    CHECK(inputsAligned(m.model));
}

TEST_CASE("pass latency: minLatencyFrames pads every output, latent or not", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int g = m.node("g", "gain", 2);
    const int slow = m.node("slow", "latency", 2);
    m.set(slow, "samples", 40);
    const int dry = m.output("dry", 2);
    const int wet = m.output("wet", 2);
    m.chain({in, g, dry}, 2);
    m.chain({in, slow, wet}, 2);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    const int latency = passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 64, diags);
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    CHECK(latency == 64);
    const std::vector<int> delays = insertedDelays(m.model);
    REQUIRE(delays.size() == 2);
    // g -> 64 frames -> dry, slow -> 24 frames -> wet
    for (int d : delays) {
        const int source = sourcesOf(m.model, d)[0];
        INFO("delay after " << m.model.vertex(source).name);
        CHECK(delayFrames(m.model, d) == (source == g ? 64 : 24));
        CHECK(m.model.vertex(d).arrival == 64);
    }
    CHECK(m.model.vertex(dry).arrival == 64);
    CHECK(m.model.vertex(wet).arrival == 64);
    CHECK(inputsAligned(m.model));
}

TEST_CASE("pass latency: without latency and padding nothing is inserted", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int a = m.node("a", "gain", 2), b = m.node("b", "peak", 2);
    const int out = m.output("out", 2);
    m.chain({in, a, b, out}, 2);
    m.connect(in, b, 2);
    const std::size_t edgesBefore = m.model.edges.size();
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    CHECK(passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 0, diags) == 0);
    CHECK(insertedDelays(m.model).empty());
    CHECK(m.model.edges.size() == edgesBefore);
}

TEST_CASE("pass latency: two edges that need the same shift of one source port share one delay", "[passes]") {
    // mix feeds slow (100) and, directly, both a and b, which also take slow: mix -> a and
    // mix -> b both need +100 frames of mix.
    PassModel m;
    const int in = m.input("mix", 2);
    const int slow = m.node("slow", "latency", 2);
    m.set(slow, "samples", 100);
    const int a = m.node("a", "gain", 2), b = m.node("b", "gain", 2);
    const int outA = m.output("outA", 2), outB = m.output("outB", 2);
    m.connect(in, slow, 2);
    m.chain({in, a, outA}, 2);
    m.chain({in, b, outB}, 2);
    m.connect(slow, a, 2);
    m.connect(slow, b, 2);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    CHECK(passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 0, diags) == 100);
    INFO(diags.formatAll());
    const std::vector<int> delays = insertedDelays(m.model);
    REQUIRE(delays.size() == 1);
    const int d = delays[0];
    CHECK(delayFrames(m.model, d) == 100);
    CHECK(sourcesOf(m.model, d) == std::vector<int>{in});
    CHECK(m.model.vertex(d).outEdges.size() == 2);
    CHECK(sourcesOf(m.model, a) == std::vector<int>{slow, d});
    CHECK(sourcesOf(m.model, b) == std::vector<int>{slow, d});
    CHECK(m.model.vertex(in).outEdges.size() == 2); // slow and the delay
    CHECK(inputsAligned(m.model));
}

TEST_CASE("pass latency: different shifts of one source get different delays", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 1);
    const int s1 = m.node("s1", "latency", 1), s2 = m.node("s2", "latency", 1);
    m.set(s1, "samples", 10);
    m.set(s2, "samples", 20);
    const int a = m.node("a", "gain", 1), b = m.node("b", "gain", 1);
    const int outA = m.output("outA", 1), outB = m.output("outB", 1);
    m.chain({in, s1, a, outA}, 1);
    m.chain({in, s2, b, outB}, 1);
    m.connect(in, a, 1);
    m.connect(in, b, 1);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    Diagnostics diags;
    CHECK(passes::compensateLatency(m.model, Registry::builtin(), order, kRate, 0, diags) == 20);
    std::vector<double> frames;
    for (int d : insertedDelays(m.model)) frames.push_back(delayFrames(m.model, d));
    std::sort(frames.begin(), frames.end());
    // a: in +10; b: in +20; outA: a arrives 10, padded +10 to the graph's 20 (a delay after a)
    CHECK(frames == std::vector<double>{10, 10, 20});
    CHECK(inputsAligned(m.model));
    CHECK(m.model.vertex(outA).arrival == 20);
    CHECK(m.model.vertex(outB).arrival == 20);
}
