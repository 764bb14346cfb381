// Loader tests for files (core/GraphLoader.h): reading the top file, graphs included with
// `use: other.yaml` relative to the including file, include cycles, and default input files.
#include <catch2/catch.hpp>

#include "support/TestSupport.h"
#include "tests/core/LoaderTesting.h"

#include <cerrno>
#include <cstring>

using namespace sg;
using namespace sg::test;

TEST_CASE("loader: use of a missing file names the path at the use value", "[loader]") {
    test::TempDir dir;
    const std::string text = "stagegraph: 1\n"
                             "nodes:\n"
                             "  bus: {use: strips/missing.yaml}\n";
    auto l = loadText(text, dir.path());
    CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, "strips/") + ": error: cannot read included graph '" + dir.path() +
                                  "/strips/missing.yaml': " + std::strerror(ENOENT)});
}

TEST_CASE("loader: a missing top-level file reports the OS reason", "[loader]") {
    test::TempDir dir;
    std::string path = dir.file("nope.yaml");
    Diagnostics diags;
    GraphDesc g = loadGraph(path, diags);
    CHECK(lines(diags) == Lines{path + ": error: cannot read graph file '" + path + "': " + std::strerror(ENOENT)});
    CHECK(g.nodes.empty());
}

TEST_CASE("loader: include and template cycles are errors", "[loader]") {
    test::TempDir dir;
    dir.write("a.yaml", "stagegraph: 1\nnodes:\n  x: {use: b.yaml}\n");
    const std::string b = "stagegraph: 1\nnodes:\n  y: {use: ./a.yaml}\n";
    dir.write("b.yaml", b);
    Diagnostics diags;
    loadGraph(dir.file("a.yaml"), diags);
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].format() == dir.file("b.yaml") + ":" + pos(b, "./a") + ": error: 'use:' cycle: " + dir.file("a.yaml") +
                                         " -> " + dir.file("b.yaml") + " -> " + dir.path() + "/./a.yaml");

    const std::string text = "stagegraph: 1\n"
                             "templates:\n"
                             "  t1: {nodes: {n: {use: t2}}}\n"
                             "  t2: {nodes: {m: {use: t1}}}\n"
                             "nodes:\n"
                             "  x: {use: t1}\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{"g.yaml:" + pos(text, "t1}}}") + ": error: 'use:' cycle: template 't1' -> template 't2' -> template 't1'"});
}

TEST_CASE("loader: use of another file, relative to the including file", "[loader]") {
    test::TempDir dir;
    const std::string strip = "stagegraph: 1\n"
                              "name: strip\n"
                              "params: {freq: ~, ceiling: -1 dBTP}\n"
                              "inputs: {in: {channels: 1, file: ignored.wav}}\n"
                              "outputs: {out: {channels: 1}}\n"
                              "templates:\n"
                              "  tone: {params: {f: ~}, inputs: {i: {channels: 1}}, outputs: {o: {channels: 1}},\n"
                              "         nodes: {eq: {type: peak, freq: $f}}, connections: [i -> eq -> o]}\n"
                              "nodes:\n"
                              "  t: {use: tone, f: $freq}\n"
                              "  lim: {use: ../parts/limit.yaml, ceiling: $ceiling}\n"
                              "connections:\n"
                              "  - in -> t -> lim -> out\n";
    const std::string limit = "stagegraph: 1\n"
                              "params: {ceiling: ~}\n"
                              "inputs: {x: {channels: 1}}\n"
                              "outputs: {y: {channels: 1}}\n"
                              "nodes:\n"
                              "  l: {type: limiter, ceiling: $ceiling}\n"
                              "connections: [x -> l -> y]\n";
    const std::string top = "stagegraph: 1\n"
                            "inputs: {vox: {channels: 1}}\n"
                            "outputs: {out: {channels: 1}}\n"
                            "nodes:\n"
                            "  v: {use: strips/strip.yaml, freq: 2 kHz}\n"
                            "connections: [vox -> v -> out]\n";
    dir.write("graphs/strips/strip.yaml", strip);
    dir.write("graphs/parts/limit.yaml", limit);
    const std::string topPath = dir.write("graphs/top.yaml", top);
    Diagnostics diags;
    GraphDesc g = loadGraph(topPath, diags);
    REQUIRE(lines(diags).empty());
    CHECK(g.file == topPath);
    CHECK(nodeNames(g) == Lines{"v.t.eq", "v.lim.l"});
    CHECK(param(node(g, "v.t.eq"), "freq").value.text == "2 kHz");
    CHECK(param(node(g, "v.lim.l"), "ceiling").value.text == "-1 dBTP");
    // Marks name the included files as joined, not canonicalised.
    const std::string stripPath = dir.path() + "/graphs/strips/strip.yaml";
    const std::string limitPath = dir.path() + "/graphs/strips/../parts/limit.yaml";
    CHECK(at(node(g, "v.t.eq").mark) == stripPath + ":" + pos(strip, "eq: {type"));
    CHECK(at(node(g, "v.lim.l").mark) == limitPath + ":" + pos(limit, "l: {type"));
    CHECK(at(param(node(g, "v.lim.l"), "ceiling").value.mark) == stripPath + ":" + pos(strip, "-1 dBTP"));
    // v's own connection t -> lim is complete inside v, so it comes before the top-level ones.
    CHECK(connections(g) == Lines{"v.t.eq -> v.lim.l", "vox -> v.t.eq", "v.lim.l -> out"});

    SECTION("errors inside an included file are reported in that file") {
        std::string bad = limit;
        bad.replace(bad.find("$ceiling}"), 9, "$ceilng}");
        dir.write("graphs/parts/limit.yaml", bad);
        Diagnostics d2;
        loadGraph(topPath, d2);
        CHECK(lines(d2) == Lines{limitPath + ":" + pos(bad, "$ceilng") + ": error: undefined parameter '$ceilng' in graph '" +
                                 limitPath + "' (did you mean 'ceiling'?)"});
    }
    SECTION("an included file's missing parameter is reported at the use site") {
        const std::string top2 = "stagegraph: 1\nnodes:\n  v: {use: strips/strip.yaml}\n";
        dir.write("graphs/top2.yaml", top2);
        Diagnostics d2;
        loadGraph(dir.file("graphs/top2.yaml"), d2);
        CHECK(lines(d2) == Lines{dir.file("graphs/top2.yaml") + ":" + pos(top2, "strips/") + ": error: graph '" + dir.path() +
                                 "/graphs/strips/strip.yaml' parameter 'freq' not supplied"});
    }
}

TEST_CASE("loader: default input files resolve relative to the graph file", "[loader]") {
    test::TempDir dir;
    const std::string text = "stagegraph: 1\n"
                             "inputs:\n"
                             "  vocal: {channels: 1, file: stems/vocal.flac}\n"
                             "  drums: {channels: 2, file: /abs/drums.wav}\n"
                             "  bass: {channels: 1}\n";
    const std::string path = dir.write("session/mix.yaml", text);
    Diagnostics diags;
    GraphDesc g = loadGraph(path, diags);
    REQUIRE(lines(diags).empty());
    REQUIRE(g.inputs.size() == 3);
    CHECK(g.inputs[0].file == dir.path() + "/session/stems/vocal.flac");
    CHECK(g.inputs[0].channels == 1);
    CHECK(at(g.inputs[0].mark) == path + ":" + pos(text, "vocal"));
    CHECK(g.inputs[1].file == "/abs/drums.wav");
    CHECK(g.inputs[2].file.empty());

    // From a string, the base folder given resolves it.
    Diagnostics d2;
    GraphDesc s = loadGraphFromString(text, "mix.yaml", "some/dir", d2);
    REQUIRE(lines(d2).empty());
    CHECK(s.inputs[0].file == "some/dir/stems/vocal.flac");
}
