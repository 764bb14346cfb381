// `stagegraph dot --svg` through the CLI: Graphviz draws exactly the nodes and edges the YAML
// declares (counted from the graph file's own connections), the file is written atomically,
// and a missing Graphviz, a graph error or an output onto the graph are clear errors that
// leave nothing behind.
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>

using sg::test::TempDir;
namespace test = sg::test;

namespace {

std::string q(const std::string& path) { return "'" + path + "'"; }

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
    return n;
}

const char* kGraph = R"(stagegraph: 1
name: two-paths
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  low: {type: lowpass, freq: 200 Hz}
  high: {type: highpass, freq: 2 kHz}
  lim: {type: limiter, ceiling: -1 dBTP}
connections:
  - mix -> low -> out
  - mix -> high -> lim -> out
)";

} // namespace

TEST_CASE("dot --svg draws the graph's nodes and edges through Graphviz", "[dot][cli]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", kGraph);
    const std::string svgPath = dir.file("g.svg");
    const auto written = test::runCli("dot " + q(graph) + " --svg -o " + q(svgPath));
    INFO(written.err);
    REQUIRE(written.status == 0);
    CHECK(written.out.empty());
    const std::string svg = slurp(svgPath);
    REQUIRE(svg.find("<svg") != std::string::npos);
    CHECK(svg.find("</svg>") != std::string::npos);
    // 3 nodes + 1 input + 1 output, plus the compensation delay the compiler inserts on the
    // shorter path (the limiter's lookahead): one node per box, one edge per arrow.
    CHECK(count(svg, "class=\"node\"") == 6);
    for (const char* name :
         {"<title>low</title>", "<title>high</title>", "<title>lim</title>", "<title>in:mix</title>", "<title>out:out</title>"})
        CHECK(svg.find(name) != std::string::npos);
    CHECK(count(svg, "class=\"edge\"") == 6); // mix->low, low->delay, delay->out, mix->high, high->lim, lim->out
    // Without -o: the same SVG on stdout.
    const auto printed = test::runCli("dot " + q(graph) + " --svg");
    REQUIRE(printed.status == 0);
    CHECK(printed.out == svg);
    // Without --svg, -o writes the DOT text.
    REQUIRE(test::runCli("dot " + q(graph) + " -o " + q(dir.file("g.dot"))).status == 0);
    CHECK(slurp(dir.file("g.dot")).rfind("digraph", 0) == 0);
    for (const auto& name : dir.list()) CHECK(name.find(".tmp") == std::string::npos);
}

TEST_CASE("dot --svg: missing Graphviz, graph errors and bad outputs are clear errors", "[dot][cli]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", kGraph);
    const std::string svgPath = dir.file("g.svg");
    // No `dot` on PATH: exit 1, the message says what to install, no file.
    const auto missing =
        test::runShell("PATH=" + q(dir.path()) + " " + q(test::cliPath()) + " dot " + q(graph) + " --svg -o " + q(svgPath));
    CHECK(missing.status == 1);
    CHECK(missing.err.find("Graphviz is not installed") != std::string::npos);
    CHECK(missing.err.find("graphviz") != std::string::npos);
    const std::string bad = dir.write("bad.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: "
                                                  "2}}\nnodes: {g: {type: gain, gain: 3 ms}}\nconnections: [\"mix -> g -> "
                                                  "out\"]\n");
    const auto error = test::runCli("dot " + q(bad) + " --svg -o " + q(svgPath));
    CHECK(error.status == 2);
    CHECK(error.err.find("bad.yaml:4:") != std::string::npos);
    const auto onto = test::runCli("dot " + q(graph) + " --svg -o " + q(graph));
    CHECK(onto.status == 2);
    CHECK(slurp(graph) == kGraph); // untouched
    CHECK(test::runCli("dot " + q(graph) + " --svg -o " + q(dir.file("missing/g.svg"))).status == 1);
    const auto entries = dir.list();
    CHECK(std::find(entries.begin(), entries.end(), "g.svg") == entries.end());
    for (const auto& name : entries) CHECK(name.find(".tmp") == std::string::npos);
}
