// Stage swapping (LoadOptions::swaps, `--swap NAME=FILE`) and `--set` on template and file
// parameters (GraphDesc::paramBindings, applyOverrides): what a swap replaces, what its errors
// say, and that a parameter set on an instance reaches the same node parameters as the value
// written at its use site.
#include <catch2/catch.hpp>

#include "tests/core/LoaderTesting.h"
#include "tests/support/TestSupport.h"

#include "core/Compiler.h"

#include <algorithm>

using namespace sg;
using namespace sg::test;

namespace {

/// Two stage files and a session using them, in `dir`.
void writeStages(const TempDir& dir) {
    dir.write("soft.yaml", "stagegraph: 1\n"
                           "params: {trim: -1 dB}\n"
                           "inputs: {in: {channels: 2}}\n"
                           "outputs: {out: {channels: 2}}\n"
                           "nodes:\n"
                           "  g: {type: gain, gain: $trim}\n"
                           "connections: [in -> g -> out]\n");
    dir.write("hard.yaml", "stagegraph: 1\n"
                           "params: {trim: 0 dB}\n"
                           "inputs: {in: {channels: 2}}\n"
                           "outputs: {out: {channels: 2}}\n"
                           "nodes:\n"
                           "  drive: {type: gain, gain: $trim}\n"
                           "  limit: {type: limiter, ceiling: -1 dBTP}\n"
                           "connections: [in -> drive -> limit -> out]\n");
    dir.write("session.yaml", "stagegraph: 1\n"
                              "inputs: {mix: {channels: 2}}\n"
                              "outputs: {out: {channels: 2}}\n"
                              "templates:\n"
                              "  strip:\n"
                              "    params: {level: 0 dB}\n"
                              "    inputs: {in: {channels: 2}}\n"
                              "    outputs: {out: {channels: 2}}\n"
                              "    nodes:\n"
                              "      fader: {type: gain, gain: $level}\n"
                              "      again: {type: gain, gain: $level}\n"
                              "      other: {type: gain, gain: \"${level}\"}\n"
                              "    connections: [in -> fader -> again -> other -> out]\n"
                              "  bus:\n"
                              "    params: {bus_level: 0 dB}\n"
                              "    inputs: {in: {channels: 2}}\n"
                              "    outputs: {out: {channels: 2}}\n"
                              "    nodes:\n"
                              "      ch: {use: strip, level: $bus_level}\n"
                              "    connections: [in -> ch -> out]\n"
                              "nodes:\n"
                              "  mixing: {use: bus, bus_level: -3 dB}\n"
                              "  mastering: {use: soft.yaml, trim: -2 dB}\n"
                              "connections: [mix -> mixing -> mastering -> out]\n");
}

GraphDesc loadWith(const TempDir& dir, const std::vector<std::string>& swaps, Diagnostics& diags) {
    LoadOptions options;
    options.swaps = swaps;
    return loadGraph(dir.file("session.yaml"), diags, options);
}

} // namespace

TEST_CASE("swap: --swap NAME=FILE expands FILE in place of the instance, with its use-site parameters", "[loader][swap]") {
    TempDir dir;
    writeStages(dir);
    Diagnostics plain;
    const GraphDesc before = loadWith(dir, {}, plain);
    REQUIRE_FALSE(plain.hasErrors());
    CHECK(nodeNames(before) == std::vector<std::string>{"mixing.ch.fader", "mixing.ch.again", "mixing.ch.other", "mastering.g"});

    Diagnostics diags;
    const GraphDesc swapped = loadWith(dir, {"mastering=" + dir.file("hard.yaml")}, diags);
    INFO(diags.formatAll());
    REQUIRE_FALSE(diags.hasErrors());
    CHECK(nodeNames(swapped) == std::vector<std::string>{"mixing.ch.fader", "mixing.ch.again", "mixing.ch.other",
                                                         "mastering.drive", "mastering.limit"});
    // The use site's `trim: -2 dB` now sets hard.yaml's parameter.
    CHECK(param(node(swapped, "mastering.drive"), "gain").value.text == "-2 dB");
    std::vector<std::string> edges = connections(swapped);
    std::sort(edges.begin(), edges.end());
    CHECK(edges == std::vector<std::string>{"mastering.drive -> mastering.limit", "mastering.limit -> out",
                                            "mix -> mixing.ch.fader", "mixing.ch.again -> mixing.ch.other",
                                            "mixing.ch.fader -> mixing.ch.again", "mixing.ch.other -> mastering.drive"});
    // The swapped graph compiles like any other.
    Diagnostics compileDiags;
    CHECK(compileGraph(swapped, Registry::builtin(), {}, compileDiags) != nullptr);
}

TEST_CASE("swap: a nested instance is swapped by its dotted path", "[loader][swap]") {
    TempDir dir;
    writeStages(dir);
    dir.write("flat.yaml", "stagegraph: 1\n"
                           "params: {level: 0 dB}\n"
                           "inputs: {in: {channels: 2}}\n"
                           "outputs: {out: {channels: 2}}\n"
                           "nodes:\n"
                           "  only: {type: gain, gain: $level}\n"
                           "connections: [in -> only -> out]\n");
    Diagnostics diags;
    const GraphDesc g = loadWith(dir, {"mixing.ch=" + dir.file("flat.yaml")}, diags);
    INFO(diags.formatAll());
    REQUIRE_FALSE(diags.hasErrors());
    CHECK(nodeNames(g) == std::vector<std::string>{"mixing.ch.only", "mastering.g"});
    CHECK(param(node(g, "mixing.ch.only"), "gain").value.text == "-3 dB");
}

TEST_CASE("swap: unknown names, bad syntax, unreadable files and parameters the new stage lacks are errors", "[loader][swap]") {
    TempDir dir;
    writeStages(dir);
    dir.write("bare.yaml", "stagegraph: 1\n"
                           "inputs: {in: {channels: 2}}\n"
                           "outputs: {out: {channels: 2}}\n"
                           "nodes: {g: {type: gain}}\n"
                           "connections: [in -> g -> out]\n");
    Diagnostics diags;
    loadWith(dir,
             {"masterin=" + dir.file("hard.yaml"), "nope", "mixing=x.txt", "mixing.ch=" + dir.file("missing.yaml"),
              "mastering=" + dir.file("bare.yaml")},
             diags);
    const std::string all = diags.formatAll();
    INFO(all);
    CHECK_THAT(all, Catch::Contains("--swap: error: 'masterin=" + dir.file("hard.yaml") +
                                    "': the graph has no `use:` instance named 'masterin' (did you mean 'mastering'?); its "
                                    "instances: mixing, mixing.ch, mastering"));
    CHECK_THAT(all, Catch::Contains(
                        "--swap: error: expected NAME=FILE.yaml (NAME a `use:` instance, e.g. mastering=loud.yaml), got 'nope'"));
    CHECK_THAT(all, Catch::Contains("--swap: error: 'mixing=x.txt': 'x.txt' is not a graph file"));
    CHECK_THAT(all, Catch::Contains("--swap: error: cannot read included graph '" + dir.file("missing.yaml") + "'"));
    // The use site's `trim:` is checked against the new stage, at the use site.
    const std::string sessionText = "  mastering: {use: soft.yaml, trim: -2 dB}";
    const std::string at = "23:" + std::to_string(sessionText.find("trim") + 1);
    CHECK_THAT(all, Catch::Contains(dir.file("session.yaml") + ":" + at + ": error: graph '" + dir.file("bare.yaml") +
                                    "' has no parameter 'trim'"));
}

TEST_CASE("set: a template or file parameter reaches every node parameter it is written into unchanged", "[loader][swap]") {
    TempDir dir;
    writeStages(dir);
    Diagnostics diags;
    GraphDesc g = loadWith(dir, {}, diags);
    REQUIRE_FALSE(diags.hasErrors());
    // mixing.ch.level reaches fader, again and other ("${level}" is the same whole reference);
    // mixing.bus_level reaches them too, through `level: $bus_level`.
    applyOverrides(g, {"mixing.ch.level=+4dB", "mastering.trim=-6 dB"}, diags);
    REQUIRE_FALSE(diags.hasErrors());
    for (const char* name : {"mixing.ch.fader", "mixing.ch.again", "mixing.ch.other"})
        CHECK(param(node(g, name), "gain").value.text == "+4dB");
    CHECK(param(node(g, "mastering.g"), "gain").value.text == "-6 dB");
    applyOverrides(g, {"mixing.bus_level=-10 dB"}, diags);
    for (const char* name : {"mixing.ch.fader", "mixing.ch.again", "mixing.ch.other"})
        CHECK(param(node(g, name), "gain").value.text == "-10 dB");

    // The same value written at the use site gives the same node parameters.
    {
        Diagnostics d;
        LoadOptions o;
        GraphDesc written =
            loadGraphFromString("stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                "nodes:\n  mastering: {use: soft.yaml, trim: -6 dB}\nconnections: [mix -> mastering -> out]\n",
                                "w.yaml", dir.path(), d, o);
        REQUIRE_FALSE(d.hasErrors());
        CHECK(param(node(written, "mastering.g"), "gain").value.text == param(node(g, "mastering.g"), "gain").value.text);
    }

    // Unknown parameters and instances are errors that say what was looked for.
    Diagnostics bad;
    applyOverrides(g, {"mixing.ch.lvl=1", "mixing.nothing.level=1"}, bad);
    CHECK(lines(bad) ==
          std::vector<std::string>{
              "--set: error: 'mixing.ch.lvl=1': the graph has no node named 'mixing.ch' and no template or file "
              "instance with a parameter 'lvl' that reaches a node unchanged",
              "--set: error: 'mixing.nothing.level=1': the graph has no node named 'mixing.nothing' and no template "
              "or file instance with a parameter 'level' that reaches a node unchanged"});
}

TEST_CASE("set: a parameter used inside a longer value is not a binding", "[loader][swap]") {
    const std::string text = "stagegraph: 1\n"
                             "templates:\n"
                             "  t:\n"
                             "    params: {f: 100}\n"
                             "    outputs: {out: {channels: 1}}\n"
                             "    nodes:\n"
                             "      s: {type: sine, freq: \"$f Hz\"}\n"
                             "    connections: [s -> out]\n"
                             "outputs: {o: {channels: 1}}\n"
                             "nodes:\n"
                             "  a: {use: t}\n"
                             "connections: [a -> o]\n";
    auto l = loadText(text);
    REQUIRE_FALSE(l.diags.hasErrors());
    CHECK(l.graph.paramBindings.empty());
    applyOverrides(l.graph, {"a.f=200"}, l.diags);
    CHECK(l.diags.hasErrors());
}
