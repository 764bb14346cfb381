// Pass 2, cycles (core/passes/Cycles.cpp): each cyclic component reported once, named node by
// node from its first-declared member; its members poisoned; no false cycle on a DAG.
#include "PassModel.h"

using namespace sg;
using namespace sg::test;

namespace {

int errorsContaining(const Diagnostics& diags, const std::string& text) {
    int n = 0;
    for (const auto& d : diags.all())
        if (d.severity == Diagnostic::Severity::Error && d.message.find(text) != std::string::npos) ++n;
    return n;
}

} // namespace

TEST_CASE("pass cycles: a 3-node cycle is named node by node from its first-declared member", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    // Added to the model as c, a, b but declared (order keys) a, b, c: the report starts at a
    // whatever the vertex numbering.
    const int c = m.node("c", "gain");
    const int a = m.node("a", "gain");
    const int b = m.node("b", "gain");
    m.model.vertex(a).order = 0;
    m.model.vertex(b).order = 1;
    m.model.vertex(c).order = 2;
    m.model.vertex(a).mark = {"g.yaml", 7, 3};
    const int out = m.output("out", 2);
    m.connect(in, a);
    m.chain({a, b, c});
    m.connect(c, a);
    m.connect(c, out);
    Diagnostics diags;
    const bool found = passes::findCycles(m.model, diags);
    INFO(diags.formatAll());
    CHECK(found);
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "cycle: a -> b -> c -> a (a graph must not feed back into itself)");
    CHECK(diags.all()[0].mark.line == 7);
    for (int v : {a, b, c}) {
        INFO(m.model.vertex(v).name);
        CHECK(m.model.vertex(v).poisoned);
        CHECK_FALSE(m.model.vertex(v).valid);
    }
    // the input and output are not on the cycle
    CHECK_FALSE(m.model.vertex(in).poisoned);
    CHECK_FALSE(m.model.vertex(out).poisoned);
}

TEST_CASE("pass cycles: the named cycle is one closed walk even when the component has chords", "[passes]") {
    // a -> b -> c -> d -> a plus b -> d and d -> b: one component; whatever cycle is named must
    // start at a and follow real edges back to a.
    PassModel m;
    const int a = m.node("a", "gain"), b = m.node("b", "gain"), c = m.node("c", "gain"), d = m.node("d", "gain");
    m.chain({a, b, c, d, a});
    m.connect(b, d);
    m.connect(d, b);
    Diagnostics diags;
    CHECK(passes::findCycles(m.model, diags));
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    std::string message = diags.all()[0].message;
    REQUIRE_THAT(message, Catch::StartsWith("cycle: a -> "));
    const std::string walk = message.substr(7, message.find(" (") - 7);
    std::vector<std::string> names;
    for (std::size_t start = 0;;) {
        const std::size_t arrow = walk.find(" -> ", start);
        names.push_back(walk.substr(start, arrow - start));
        if (arrow == std::string::npos) break;
        start = arrow + 4;
    }
    CHECK(names.front() == "a");
    CHECK(names.back() == "a");
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        const int from = m.find(names[i]), to = m.find(names[i + 1]);
        bool edge = false;
        for (const auto& e : m.model.edges) edge |= e.from == from && e.to == to;
        INFO(names[i] << " -> " << names[i + 1]);
        CHECK(edge);
    }
    for (int v : {a, b, c, d}) CHECK(m.model.vertex(v).poisoned);
}

TEST_CASE("pass cycles: a self-loop is a cycle", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 1);
    const int g = m.node("loop", "gain");
    const int after = m.node("after", "gain");
    m.connect(in, g);
    m.connect(g, g);
    m.connect(g, after);
    Diagnostics diags;
    CHECK(passes::findCycles(m.model, diags));
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "cycle: loop -> loop (a graph must not feed back into itself)");
    CHECK(m.model.vertex(g).poisoned);
    CHECK_FALSE(m.model.vertex(after).poisoned); // downstream, not on the cycle
}

TEST_CASE("pass cycles: two separate cycles are both reported, each once", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int a = m.node("a", "gain"), b = m.node("b", "gain");
    const int between = m.node("between", "gain");
    const int x = m.node("x", "gain"), y = m.node("y", "gain"), z = m.node("z", "gain");
    const int out = m.output("out", 2);
    m.chain({in, a, b, a});
    m.chain({b, between, x, y, z, x});
    m.connect(z, out);
    Diagnostics diags;
    CHECK(passes::findCycles(m.model, diags));
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 2);
    CHECK(errorsContaining(diags, "cycle: a -> b -> a ") == 1);
    CHECK(errorsContaining(diags, "cycle: x -> y -> z -> x ") == 1);
    for (int v : {a, b, x, y, z}) {
        INFO(m.model.vertex(v).name);
        CHECK(m.model.vertex(v).poisoned);
    }
    CHECK_FALSE(m.model.vertex(between).poisoned);
    CHECK_FALSE(m.model.vertex(in).poisoned);
    CHECK_FALSE(m.model.vertex(out).poisoned);
}

TEST_CASE("pass cycles: a diamond and a summed fan-in are not cycles", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int split = m.node("split", "gain"), left = m.node("left", "gain"), right = m.node("right", "gain");
    const int join = m.node("join", "gain");
    const int out = m.output("out", 2);
    m.chain({in, split, left, join, out});
    m.chain({split, right, join});
    m.connect(in, join); // a third path, skipping everything
    m.connect(split, join);
    Diagnostics diags;
    CHECK_FALSE(passes::findCycles(m.model, diags));
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    for (const auto& v : m.model.vertices) {
        INFO(v.name);
        CHECK_FALSE(v.poisoned);
        CHECK(v.valid);
    }
}
