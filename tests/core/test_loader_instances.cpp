// Loader tests for instance paths (core/GraphDesc.h): every expanded node names the instance
// it came from as the user wrote it, and instance inputs that nothing connects to are listed
// with the mark of the instance entry and the inner endpoints they would have fed, so that
// errors can name what the user wrote rather than only the inner node.
#include <catch2/catch.hpp>

#include "support/TestSupport.h"
#include "tests/core/LoaderTesting.h"

using namespace sg;
using namespace sg::test;

namespace {

/// "instance:input @line:column -> consumer, consumer" (marks without the file).
std::vector<std::string> openInputs(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& open : g.openInstanceInputs) {
        std::string consumers;
        for (const auto& c : open.consumers) {
            consumers += consumers.empty() ? "" : ", ";
            consumers += c.port.empty() ? c.node : c.node + "." + c.port;
        }
        out.push_back(open.instance + ":" + open.input + " @" + std::to_string(open.mark.line) + ":" +
                      std::to_string(open.mark.column) + " -> " + consumers);
    }
    return out;
}

/// "name: instance" for every node, instance "-" for the top-level file.
std::vector<std::string> nodeInstances(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& n : g.nodes) out.push_back(n.name + ": " + (n.instance.empty() ? "-" : n.instance));
    return out;
}

} // namespace

TEST_CASE("loader: nodes name the template instance they were expanded from", "[loader][instance]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes: {eq: {type: peak}}\n"
                             "    connections: [in -> eq -> out]\n"
                             "  bus:\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes:\n"
                             "      first: {use: strip}\n"
                             "      second: {use: strip}\n"
                             "    connections: [in -> first -> second -> out]\n"
                             "nodes:\n"
                             "  pre: {type: gain}\n"
                             "  m: {use: strip}\n"
                             "  bus: {use: bus}\n"
                             "connections: [mix -> pre -> m -> bus -> master]\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    CHECK(nodeInstances(l.graph) == Lines{"pre: -", "m.eq: m", "bus.first.eq: bus.first", "bus.second.eq: bus.second"});
    // The instance mark is the outermost instance's entry in the top-level file, even for a
    // node two levels down; a top-level node has none.
    INFO("pre: " + at(node(l.graph, "pre").instanceMark));
    CHECK(node(l.graph, "pre").instanceMark.line == 0);
    CHECK(at(node(l.graph, "m.eq").instanceMark) == "g.yaml:" + pos(text, "m: {use"));
    CHECK(at(node(l.graph, "bus.first.eq").instanceMark) == "g.yaml:" + pos(text, "bus: {use"));
    CHECK(at(node(l.graph, "bus.second.eq").instanceMark) == "g.yaml:" + pos(text, "bus: {use"));
    // The node's own mark is still where it is written inside the template.
    CHECK(at(node(l.graph, "bus.second.eq").mark) == "g.yaml:" + pos(text, "eq: {type"));
    // Every input is connected: nothing is open.
    CHECK(openInputs(l.graph).empty());
}

TEST_CASE("loader: nodes of an included file name the instance in the top-level file", "[loader][instance]") {
    test::TempDir dir;
    const std::string part =
        "stagegraph: 1\n"
        "inputs: {x: {channels: 1}, key: {channels: 1}}\n"
        "outputs: {y: {channels: 1}}\n"
        "templates:\n"
        "  duck: {inputs: {in: {channels: 1}, sc: {channels: 1}}, outputs: {out: {channels: 1}},\n"
        "         nodes: {comp: {type: compressor}}, connections: [in -> comp -> out, sc -> comp.sidechain]}\n"
        "nodes:\n"
        "  lim: {type: limiter}\n"
        "  d: {use: duck}\n"
        "connections: [x -> d -> lim -> y, key -> d.sc]\n";
    const std::string top = "stagegraph: 1\n"
                            "inputs: {vox: {channels: 1}}\n"
                            "outputs: {out: {channels: 1}}\n"
                            "nodes:\n"
                            "  head: {type: gain}\n"
                            "  v: {use: parts/part.yaml}\n"
                            "connections: [vox -> head -> v -> out]\n";
    dir.write("parts/part.yaml", part);
    const std::string topPath = dir.write("top.yaml", top);
    Diagnostics diags;
    GraphDesc g = loadGraph(topPath, diags);
    INFO(diags.formatAll());
    REQUIRE(lines(diags).empty());
    CHECK(nodeInstances(g) == Lines{"head: -", "v.lim: v", "v.d.comp: v.d"});
    // Marked in the top-level file, where the user wrote `v`, not inside the included file.
    CHECK(at(node(g, "v.lim").instanceMark) == topPath + ":" + pos(top, "v: {use"));
    CHECK(at(node(g, "v.d.comp").instanceMark) == topPath + ":" + pos(top, "v: {use"));

    // v's input `key` is declared but nothing outside connects to it: it would have fed the
    // compressor's sidechain through the template instance v.d, and is marked at `v` in top.
    const std::string partPath = dir.path() + "/parts/part.yaml";
    REQUIRE(g.openInstanceInputs.size() == 1);
    const OpenInstanceInput& open = g.openInstanceInputs[0];
    CHECK(open.instance == "v");
    CHECK(open.input == "key");
    CHECK(at(open.mark) == topPath + ":" + pos(top, "v: {use"));
    REQUIRE(open.consumers.size() == 1);
    CHECK(open.consumers[0].node == "v.d.comp");
    CHECK(open.consumers[0].port == "sidechain");
    // The consumer keeps the mark of where its end is written, inside the template.
    CHECK(at(open.consumers[0].mark) == partPath + ":" + pos(part, "comp.sidechain"));
}

TEST_CASE("loader: an unconnected template input is listed with what it would feed", "[loader][instance]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}, kick: {channels: 1}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  duck:\n"
                             "    inputs: {in: {channels: 2}, kick: {channels: 1}, spare: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes: {comp: {type: compressor}, meter: {type: gain}}\n"
                             "    connections: [in -> comp -> out, kick -> comp.sidechain, kick -> meter]\n"
                             "nodes:\n"
                             "  m: {use: duck}\n"
                             "  n: {use: duck}\n"
                             "connections:\n"
                             "  - mix -> m -> n -> master\n"
                             "  - kick -> n.kick\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    // m.kick feeds two inner endpoints (fan-out); `spare` feeds nothing inside, and is listed
    // with no consumers. n.kick is connected.
    const std::string m = pos(text, "m: {use"), n = pos(text, "n: {use");
    CHECK(openInputs(l.graph) == Lines{
                                     "m:kick @" + m + " -> m.comp.sidechain, m.meter",
                                     "m:spare @" + m + " -> ",
                                     "n:spare @" + n + " -> ",
                                 });
    // The instance paths are real instances: their nodes carry the same path.
    CHECK(node(l.graph, "m.comp").instance == "m");
}

TEST_CASE("loader: open inputs of nested instances and through pass-through ports", "[loader][instance]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  duck:\n"
                             "    inputs: {in: {channels: 2}, sc: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes: {comp: {type: compressor}}\n"
                             "    connections: [in -> comp -> out, sc -> comp.sidechain]\n"
                             "  wire:\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    connections: [in -> out]\n"
                             "  bus:\n"
                             "    inputs: {in: {channels: 2}, key: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}, tap: {channels: 2}}\n"
                             "    nodes:\n"
                             "      inner: {use: duck}\n"
                             "      other: {use: duck}\n"
                             "      w: {use: wire}\n"
                             "    connections:\n"
                             "      - in -> inner -> other -> out\n"
                             "      - key -> inner.sc\n"
                             "      - w -> tap\n"
                             "nodes:\n"
                             "  b: {use: bus}\n"
                             "  g: {type: gain}\n"
                             "connections:\n"
                             "  - mix -> b -> master\n"
                             "  - b.tap -> g -> master\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    // b.key is open at the top; inside b it feeds inner.sc, so b.inner.sc is not open itself.
    // b.other.sc is open inside the template: marked at its entry there. b.w.in passes
    // through w to b's output `tap`, which the top file connects to g.
    CHECK(openInputs(l.graph) == Lines{
                                     "b:key @" + pos(text, "b: {use") + " -> b.inner.comp.sidechain",
                                     "b.other:sc @" + pos(text, "other: {use") + " -> b.other.comp.sidechain",
                                     "b.w:in @" + pos(text, "w: {use") + " -> g",
                                 });
    // Connecting b.key from outside closes it and nothing else changes.
    std::string closed = text;
    closed.insert(closed.find("  - b.tap"), "  - mix -> b.key\n");
    auto c = loadText(closed);
    INFO(c.diags.formatAll());
    REQUIRE(lines(c.diags).empty());
    CHECK(openInputs(c.graph) == Lines{
                                     "b.other:sc @" + pos(closed, "other: {use") + " -> b.other.comp.sidechain",
                                     "b.w:in @" + pos(closed, "w: {use") + " -> g",
                                 });
}

TEST_CASE("loader: an open input passing straight to a top-level output feeds that output", "[loader][instance]") {
    const std::string text = "stagegraph: 1\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  wire: {inputs: {in: {channels: 2}}, outputs: {out: {channels: 2}}, connections: [in -> out]}\n"
                             "nodes:\n"
                             "  w1: {use: wire}\n"
                             "  w2: {use: wire}\n"
                             "connections: [w1 -> w2 -> master]\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    // w2.in is connected (from w1), so only w1.in is open; through both wires it reaches the
    // external output, which is then its consumer.
    CHECK(openInputs(l.graph) == Lines{"w1:in @" + pos(text, "w1: {use") + " -> master"});
    CHECK(l.graph.connections.empty());
}
