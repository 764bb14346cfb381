// The documented limits (core/GraphLimits.h, docs/safety.md "Graph limits"): a small hostile
// graph must not cost minutes or gigabytes. Each limit gives one error at file:line:col that
// names it, before the cost is paid; and a graph as large as a limit allows still checks quickly.
#include <catch2/catch.hpp>

#include "core/Compiler.h"
#include "core/GraphLoader.h"
#include "support/TestSupport.h"
#include "tests/core/LoaderTesting.h"

#include <chrono>
#include <sys/stat.h>

using namespace sg;
using namespace sg::test;

namespace {

/// `depth` templates, each holding `fanOut` instances of the next, the last one gain node:
/// fanOut^depth nodes from a file of a few hundred bytes a level.
std::string nestedTemplates(int depth, int fanOut) {
    std::string text = "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\ntemplates:\n";
    for (int level = 0; level < depth; ++level) {
        text +=
            std::string("  t") + std::to_string(level) + ":\n    inputs: {i: {channels: 1}}\n    outputs: {o: {channels: 1}}\n";
        if (level + 1 == depth) {
            text += "    nodes: {g: {type: gain}}\n    connections: [i -> g -> o]\n";
            continue;
        }
        text += "    nodes:\n";
        std::string chain = "i";
        for (int k = 0; k < fanOut; ++k) {
            text += std::string("      c") + std::to_string(k) + std::string(": {use: t") + std::to_string(level + 1) + "}\n";
            chain += std::string(" -> c") + std::to_string(k);
        }
        text += "    connections: [" + chain + " -> o]\n";
    }
    text += "nodes:\n  top: {use: t0}\nconnections: [mix -> top -> out]\n";
    return text;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

TEST_CASE("limits: templates nested 30 deep with fan-out 2 stop at 'expanded-nodes'", "[limits]") {
    // 2^29 gain nodes as written: today's loader expanded them until memory ran out.
    const std::string text = nestedTemplates(30, 2);
    const auto start = std::chrono::steady_clock::now();
    auto l = loadText(text);
    CHECK(secondsSince(start) < 20);
    REQUIRE(l.diags.errorCount() == 1);
    CHECK_THAT(lines(l.diags)[0],
               Catch::StartsWith("g.yaml:" + pos(text, "top:")) && Catch::Contains("more than 250000 (limit 'expanded-nodes'"));
    CHECK_FALSE(l.graph.complete);
}

TEST_CASE("limits: 'use:' nested deeper than 32 is 'nesting-depth'", "[limits]") {
    const std::string text = nestedTemplates(40, 1); // 40 nodes, but 40 levels
    auto l = loadText(text);
    REQUIRE(l.diags.errorCount() == 1);
    CHECK_THAT(lines(l.diags)[0], Catch::StartsWith("g.yaml:" + pos(text, "t32}") + ": error: 'use:' nested inside 'use:'") &&
                                      Catch::Contains("more than 32 (limit 'nesting-depth'"));
    auto shallow = loadText(nestedTemplates(32, 1)); // 32 levels: t0 .. t31
    CHECK(lines(shallow.diags) == Lines{});
    CHECK(shallow.graph.nodes.size() == 1);
}

TEST_CASE("limits: pass-through instances in diamonds stop at 'expanded-connections'", "[limits]") {
    // Each diamond doubles the paths from a to b: 2^40 connections as written.
    std::string text = "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\n"
                       "templates:\n  p: {inputs: {i: {channels: 1}}, outputs: {o: {channels: 1}}, connections: [i -> o]}\n"
                       "nodes:\n  a: {type: gain}\n  b: {type: gain}\n";
    std::string connections = "connections:\n  - mix -> a\n";
    std::string previous = "a";
    for (int k = 0; k < 40; ++k) {
        const std::string n = std::to_string(k);
        text += "  l" + n + ": {use: p}\n  r" + n + ": {use: p}\n  m" + n + ": {use: p}\n";
        connections += "  - " + previous + " -> l" + n + " -> m" + n + "\n  - " + previous + " -> r" + n + " -> m" + n + "\n";
        previous = "m" + n;
    }
    text += connections + "  - " + previous + " -> b -> out\n";
    const auto start = std::chrono::steady_clock::now();
    auto l = loadText(text);
    CHECK(secondsSince(start) < 20);
    REQUIRE(l.diags.errorCount() == 1);
    CHECK_THAT(lines(l.diags)[0], Catch::Contains("(limit 'expanded-connections'"));
}

TEST_CASE("limits: a graph file over 1 MiB is 'graph-file-size', checked before reading it", "[limits]") {
    test::TempDir dir;
    std::string text = "stagegraph: 1\ndescription: \"" + std::string(std::size_t(1) << 20, 'x') + "\"\n";
    const std::string path = dir.write("big.yaml", text);
    Diagnostics diags;
    GraphDesc g = loadGraph(path, diags);
    CHECK(lines(diags) == Lines{path + ":1:1: error: graph file '" + path +
                                "' is too large: bytes: more than 1048576 (limit 'graph-file-size', docs/safety.md)"});
    Loaded fromText = loadText(text);
    CHECK_THAT(lines(fromText.diags).at(0), Catch::Contains("limit 'graph-file-size'"));
}

TEST_CASE("limits: YAML values and nesting are counted before yaml-cpp builds a tree", "[limits]") {
    SECTION("a long list: 'yaml-nodes'") {
        std::string text = "stagegraph: 1\ndescription: [";
        for (int i = 0; i < 300000; ++i) text += "0,";
        text += "0]\n";
        auto l = loadText(text);
        REQUIRE(l.diags.errorCount() == 1);
        CHECK_THAT(lines(l.diags)[0], Catch::StartsWith("g.yaml:2:") && Catch::Contains("(limit 'yaml-nodes'"));
    }
    SECTION("lists in lists: 'nesting-depth'") {
        const std::string text = "stagegraph: 1\nname: " + std::string(5000, '[') + std::string(5000, ']') + "\n";
        auto l = loadText(text);
        REQUIRE(l.diags.errorCount() == 1);
        CHECK(lines(l.diags)[0] == std::string("g.yaml:2:") + std::to_string(6 + 32) +
                                       ": error: YAML maps and lists nested inside each other: more than 32 (limit "
                                       "'nesting-depth', docs/safety.md)");
    }
}

TEST_CASE("limits: graphs are read only from regular files", "[limits]") {
    test::TempDir dir;
    SECTION("/dev/zero: refused, not read until memory runs out") {
        Diagnostics diags;
        loadGraph("/dev/zero", diags);
        CHECK(lines(diags) == Lines{"/dev/zero: error: cannot read graph file '/dev/zero': not a regular file"});
    }
    SECTION("a FIFO: refused without waiting for a writer") {
        const std::string fifo = dir.file("pipe.yaml");
        REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
        Diagnostics diags;
        loadGraph(fifo, diags);
        CHECK(lines(diags) == Lines{fifo + ": error: cannot read graph file '" + fifo + "': not a regular file"});
    }
    SECTION("a folder") {
        Diagnostics diags;
        loadGraph(dir.path(), diags);
        CHECK(lines(diags) ==
              Lines{dir.path() + ": error: cannot read graph file '" + dir.path() + "': a folder, not a graph file"});
    }
    SECTION("use: /dev/zero, where includes are not confined") {
        LoadOptions options;
        options.confineIncludes = false;
        Loaded l;
        const std::string text = "stagegraph: 1\nnodes:\n  z: {use: /dev/zero}\n";
        l.graph = loadGraphFromString(text, "g.yaml", dir.path(), l.diags, options);
        CHECK(lines(l.diags) ==
              Lines{"g.yaml:" + pos(text, "/dev/zero") + ": error: cannot read included graph '/dev/zero': not a regular file"});
    }
}

TEST_CASE("limits: long delays at 768 kHz stop at 'delay-memory' before anything is allocated", "[limits]") {
    // Five stereo 10 s lookaheads at 768 kHz: 5 x 2 x 7.68 M frames x 4 bytes = 293 MiB.
    std::string text = "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\nnodes:\n";
    std::string connections = "connections:\n";
    for (int k = 0; k < 5; ++k) {
        const std::string n = std::string("d") + std::to_string(k);
        text += "  " + n + ": {type: latency, time: 10 s}\n";
        connections += "  - mix -> " + n + " -> out\n";
    }
    text += connections;
    auto l = loadText(text);
    REQUIRE(lines(l.diags) == Lines{});
    Diagnostics diags;
    auto compiled = compile(l.graph, Registry::builtin(), diags);
    REQUIRE(compiled);
    InstanceOptions options;
    options.sampleRate = 768000;
    CHECK_FALSE(instantiate(*compiled, options, diags));
    CHECK(lines(diags) == Lines{"g.yaml:" + pos(text, "d0:") +
                                ": error: delay lines at 768000 Hz need 293.0 MiB: more than 256.0 MiB (limit "
                                "'delay-memory', docs/safety.md); node 'd0' alone holds 58.6 MiB"});
    options.sampleRate = 48000; // 18 MiB
    Diagnostics fine;
    CHECK(instantiate(*compiled, options, fine));
    CHECK(lines(fine) == Lines{});
}

TEST_CASE("limits: 'delay-memory' is reported in the same run as the graph's other errors", "[limits][errors]") {
    // The five 10 s lookaheads above, no format version, an unknown type and a value out of
    // range: `check --rate 768000` reports all four, one run.
    std::string text = "inputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\nnodes:\n";
    std::string connections = "connections:\n";
    for (int k = 0; k < 5; ++k) {
        const std::string n = std::string("d") + std::to_string(k);
        text += "  " + n + ": {type: latency, time: 10 s}\n";
        connections += "  - mix -> " + n + " -> out\n";
    }
    text += "  odd: {type: gian}\n  loud: {type: gain, gain: 90 dB}\n";
    connections += "  - mix -> odd\n  - mix -> loud\n";
    text += connections;
    TempDir dir;
    const std::string path = dir.write("g.yaml", text);
    const CommandResult r = runCli("check " + path + " --rate 768000");
    INFO(r.err);
    CHECK(r.status == 2);
    CHECK(r.err.find("g.yaml:1:1: error: missing format version") != std::string::npos);
    CHECK(r.err.find("g.yaml:" + pos(text, "gian") + ": error: node 'odd': unknown node type 'gian'") != std::string::npos);
    CHECK(r.err.find("g.yaml:" + pos(text, "90 dB") + ": error: ") != std::string::npos);
    CHECK(r.err.find("g.yaml:" + pos(text, "d0:") + ": error: delay lines at 768000 Hz need 293.0 MiB") != std::string::npos);
    CHECK(r.err.find("4 errors") != std::string::npos);
    // At 48 kHz the delay lines fit: the other three errors only.
    const CommandResult at48 = runCli("check " + path + " --rate 48000");
    CHECK(at48.err.find("delay lines") == std::string::npos);
    CHECK(at48.err.find("3 errors") != std::string::npos);
}

TEST_CASE("limits: a sample rate outside 1 kHz .. 768 kHz names 'sample-rate'", "[limits]") {
    const std::string text =
        "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\nconnections: [mix -> out]\n";
    auto l = loadText(text);
    Diagnostics diags;
    auto compiled = compile(l.graph, Registry::builtin(), diags);
    REQUIRE(compiled);
    InstanceOptions options;
    options.sampleRate = 1e6;
    CHECK_FALSE(instantiate(*compiled, options, diags));
    CHECK(lines(diags) ==
          Lines{"g.yaml:1:1: error: sample rate 1e+06 Hz is outside 1000 .. 768000 Hz (limit 'sample-rate', docs/safety.md)"});
}

TEST_CASE("limits: a 100000-node chain written with templates loads, compiles and prepares in seconds", "[limits]") {
    // Five levels of ten instances in series: 10^5 gain nodes in one chain, from 1 KB of YAML.
    std::string text = "stagegraph: 1\ninputs: {mix: {channels: 1}}\noutputs: {out: {channels: 1}}\ntemplates:\n";
    for (int level = 0; level < 5; ++level) {
        text += std::string("  t") + std::to_string(level) +
                ":\n    inputs: {i: {channels: 1}}\n    outputs: {o: {channels: 1}}\n    nodes:\n";
        std::string chain = "i";
        for (int k = 0; k < 10; ++k) {
            const std::string n = std::string("n") + std::to_string(k);
            text += "      " + n;
            if (level == 4)
                text += ": {type: gain, gain: -0.001 dB}\n";
            else
                text += std::string(": {use: t") + std::to_string(level + 1) + "}\n";
            chain += " -> " + n;
        }
        text += "    connections: [" + chain + " -> o]\n";
    }
    text += "nodes:\n  chain: {use: t0}\nconnections: [mix -> chain -> out]\n";
    const auto start = std::chrono::steady_clock::now();
    auto l = loadText(text);
    REQUIRE(lines(l.diags) == Lines{});
    CHECK(l.graph.nodes.size() == 100000);
    CHECK(l.graph.connections.size() == 100001);
    Diagnostics diags;
    auto program = compileGraph(l.graph, Registry::builtin(), CompileOptions{}, diags);
    CHECK(program);
    CHECK(lines(diags) == Lines{});
    const double seconds = secondsSince(start);
    INFO("load + compile + instantiate: " << seconds << " s");
    CHECK(seconds < 60); // about 3 s here; an O(n^2) pass takes many minutes
}
