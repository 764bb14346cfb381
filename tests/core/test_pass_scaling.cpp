// Scaling as a property, never a timing: a 20,000-node chain and a 2,000-wide fan-in compile
// (compile() + instantiate()) and give the step and edge counts their shape implies. A pass that
// is not O(V + E) (or O((V + E) log V)) shows up as a test that takes minutes; the elapsed time
// is printed when it passes a minute, but never fails the test.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/Registry.h"

#include <catch2/catch.hpp>

#include <chrono>

using namespace sg;

namespace {

SourceMark at() { return {"scale.yaml", 1, 1}; }

std::string numbered(const char* prefix, int number) {
    std::string text(prefix);
    text += std::to_string(number);
    return text;
}

void connect(GraphDesc& g, const std::string& from, const std::string& to) {
    g.connections.push_back({{from, "", at()}, {to, "", at()}});
}

/// compile() then instantiate() with batching; the program or nullptr.
std::unique_ptr<Program> build(const GraphDesc& g, Diagnostics& diags) {
    const auto started = std::chrono::steady_clock::now();
    auto compiled = compile(g, Registry::builtin(), diags);
    std::unique_ptr<Program> program;
    if (compiled) {
        InstanceOptions options;
        options.maxBlockFrames = 64;
        program = instantiate(*compiled, options, diags);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (seconds > 60) WARN("compile + instantiate took " << seconds << " s");
    return program;
}

} // namespace

TEST_CASE("pass scaling: a 20,000-node chain compiles to 20,000 steps", "[passes]") {
    constexpr int kNodes = 20000;
    GraphDesc g;
    g.file = "scale.yaml";
    g.inputs.push_back({"in", 1, "", at()});
    g.outputs.push_back({"out", 1, "", at()});
    std::string previous = "in";
    for (int i = 0; i < kNodes; ++i) {
        NodeDesc n;
        n.name = numbered("g", i);
        n.type = "gain";
        n.mark = n.typeMark = at();
        g.nodes.push_back(n);
        connect(g, previous, n.name);
        previous = n.name;
    }
    connect(g, previous, "out");
    Diagnostics diags;
    auto program = build(g, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    const Schedule& s = program->schedule();
    CHECK(s.steps.size() == std::size_t(kNodes)); // a chain: nothing to batch
    CHECK(s.edgeCount == kNodes + 1);
    CHECK(s.topologicalOrder.size() == std::size_t(kNodes));
    CHECK(s.bufferCount == 1); // in-place gains: the input's slot all the way
    CHECK(s.latencyFrames == 0);
}

TEST_CASE("pass scaling: a 2,000-wide fan-in compiles to one batched step and the bus", "[passes]") {
    constexpr int kWidth = 2000;
    GraphDesc g;
    g.file = "scale.yaml";
    g.inputs.push_back({"in", 1, "", at()});
    g.outputs.push_back({"out", 1, "", at()});
    for (int i = 0; i < kWidth; ++i) {
        NodeDesc n;
        n.name = numbered("g", i);
        n.type = "gain";
        n.mark = n.typeMark = at();
        g.nodes.push_back(n);
    }
    NodeDesc bus;
    bus.name = "bus";
    bus.type = "gain";
    bus.mark = bus.typeMark = at();
    g.nodes.push_back(bus);
    for (int i = 0; i < kWidth; ++i) {
        connect(g, "in", numbered("g", i));
        connect(g, numbered("g", i), "bus");
    }
    connect(g, "bus", "out");
    Diagnostics diags;
    auto program = build(g, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    const Schedule& s = program->schedule();
    REQUIRE(s.steps.size() == 2);
    CHECK(s.steps[0].lanes == kWidth);
    CHECK(s.steps[1].lanes == 1);
    CHECK(s.steps[1].sumsBefore == 1);
    CHECK(s.edgeCount == 2 * kWidth + 1);
}
