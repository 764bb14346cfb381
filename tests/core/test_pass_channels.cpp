// Pass 4, channels (core/passes/Channels.cpp): channel counts from the inputs through each
// type's resolveChannels; each error reported once, nothing downstream of it reported again.
#include "PassModel.h"

using namespace sg;
using namespace sg::test;

namespace {

/// Runs the channels pass over the model's own topological order.
void propagate(PassModel& m, Diagnostics& diags) {
    const std::vector<int> order = passes::topologicalOrder(m.model);
    REQUIRE(int(order.size()) == m.model.size()); // the test models have no cycle
    passes::propagateChannels(m.model, order, GraphDesc{}, diags);
}

} // namespace

TEST_CASE("pass channels: mono into pan gives two channels, carried on to the output", "[passes]") {
    PassModel m;
    const int in = m.input("voice", 1);
    const int eq = m.node("eq", "peak");
    const int pan = m.node("pan", "pan");
    const int level = m.node("level", "gain");
    const int out = m.output("out", 2);
    const int toEq = m.connect(in, eq);
    const int toPan = m.connect(eq, pan);
    const int toLevel = m.connect(pan, level);
    const int toOut = m.connect(level, out);
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    CHECK(m.model.vertex(eq).inputChannels == std::vector<int>{1});
    CHECK(m.model.vertex(eq).outputChannels == std::vector<int>{1});
    CHECK(m.model.vertex(pan).inputChannels == std::vector<int>{1});
    CHECK(m.model.vertex(pan).outputChannels == std::vector<int>{2});
    CHECK(m.model.vertex(level).outputChannels == std::vector<int>{2});
    CHECK(m.model.edge(toEq).channels == 1);
    CHECK(m.model.edge(toPan).channels == 1);
    CHECK(m.model.edge(toLevel).channels == 2);
    CHECK(m.model.edge(toOut).channels == 2);
}

TEST_CASE("pass channels: a mismatch into a summed port is reported once, and not again downstream", "[passes]") {
    PassModel m;
    const int voice = m.input("voice", 1);
    const int mix = m.input("mix", 2);
    const int bus = m.node("bus", "gain");
    const int after = m.node("after", "peak");
    const int out = m.output("out", 2);
    m.connect(voice, bus);
    m.connect(mix, bus);
    m.chain({bus, after, out});
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message ==
          "channel mismatch: 'mix' sends 2 channels into 'bus.in', which already receives 1 from another connection");
    CHECK_FALSE(m.model.vertex(bus).valid);
    CHECK_FALSE(m.model.vertex(after).valid);
    CHECK(m.model.vertex(after).poisoned);
}

TEST_CASE("pass channels: equal channel counts into a summed port are fine", "[passes]") {
    PassModel m;
    const int a = m.input("a", 2), b = m.input("b", 2), c = m.input("c", 2);
    const int bus = m.node("bus", "gain");
    const int out = m.output("out", 2);
    for (int in : {a, b, c}) m.connect(in, bus);
    m.connect(bus, out);
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    CHECK(m.model.vertex(bus).inputChannels == std::vector<int>{2});
    CHECK(m.model.vertex(bus).outputChannels == std::vector<int>{2});
}

TEST_CASE("pass channels: an unconnected required input is reported once, its dependants are not", "[passes]") {
    PassModel m;
    m.input("mix", 2);
    const int open = m.node("open", "gain");
    const int next = m.node("next", "gain");
    const int out = m.output("out", 2);
    m.model.vertex(open).mark = {"g.yaml", 7, 3};
    m.chain({open, next, out});
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "node 'open': required input 'in' is not connected");
    CHECK(diags.all()[0].mark.line == 7);
    CHECK_FALSE(m.model.vertex(open).valid);
    CHECK(m.model.vertex(next).poisoned);
    CHECK(m.model.vertex(out).poisoned);
}

TEST_CASE("pass channels: an output nothing feeds is reported", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int g = m.node("g", "gain");
    m.output("out", 2);
    m.connect(in, g);
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "output 'out' is not connected");
}

TEST_CASE("pass channels: a type's own rule is checked (pan takes 1 or 2 channels)", "[passes]") {
    PassModel m;
    const int in = m.input("surround", 6);
    const int pan = m.node("pan", "pan");
    const int after = m.node("after", "gain");
    const int out = m.output("out", 2);
    m.chain({in, pan, after, out});
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK_THAT(diags.all()[0].message, Catch::StartsWith("node 'pan' (pan): channel mismatch: ") && Catch::Contains("got 6"));
    CHECK(m.model.vertex(after).poisoned);
}

TEST_CASE("pass channels: a node with bad parameters still passes its channels on", "[passes]") {
    // resolve marked `eq` invalid (say, an out-of-range gain); the nodes after it are still
    // checked, so a real mismatch further down is found in the same run.
    PassModel m;
    const int voice = m.input("voice", 1);
    const int mix = m.input("mix", 2);
    const int eq = m.node("eq", "peak");
    const int pan = m.node("pan", "pan");
    const int bus = m.node("bus", "gain");
    const int out = m.output("out", 2);
    m.model.vertex(eq).valid = false;
    m.chain({voice, eq, pan, bus, out});
    m.connect(mix, bus);
    const int wrong = m.output("mono", 1);
    m.connect(pan, wrong); // 2 channels into a 1-channel output: the one error to report
    Diagnostics diags;
    propagate(m, diags);
    INFO(diags.formatAll());
    CHECK(m.model.vertex(eq).outputChannels == std::vector<int>{1});
    CHECK(m.model.vertex(pan).outputChannels == std::vector<int>{2});
    CHECK(m.model.vertex(bus).outputChannels == std::vector<int>{2});
    CHECK_FALSE(m.model.vertex(eq).valid); // still invalid
    CHECK(m.model.vertex(pan).valid);
    CHECK_FALSE(m.model.vertex(pan).poisoned);
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "channel mismatch: output 'mono' is declared with 1 channel, but 'pan' sends 2");
}
