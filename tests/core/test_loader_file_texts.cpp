// Loader tests for GraphDesc::files and LoadOptions::fileTexts: a load records every graph file
// it read with its text, and the same texts load the same graph where the files are not (how a
// pickled Python Graph is compiled again elsewhere).
#include <catch2/catch.hpp>

#include "support/TestSupport.h"
#include "tests/core/LoaderTesting.h"

#include <cstdio>

using namespace sg;
using namespace sg::test;

namespace {

const std::string kTop = "stagegraph: 1\n"
                         "inputs: {x: {channels: 1}}\n"
                         "outputs: {y: {channels: 1}}\n"
                         "nodes:\n"
                         "  a: {use: parts/strip.yaml, level: -2 dB}\n"
                         "connections:\n"
                         "  - x -> a -> y\n";
const std::string kStrip = "stagegraph: 1\n"
                           "params: {level: 0 dB}\n"
                           "inputs: {in: {channels: 1}}\n"
                           "outputs: {out: {channels: 1}}\n"
                           "nodes:\n"
                           "  fader: {type: gain, gain: $level}\n"
                           "connections:\n"
                           "  - in -> fader -> out\n";

} // namespace

TEST_CASE("loader: a load lists every file it read, with its text", "[loader]") {
    test::TempDir dir;
    const std::string top = dir.write("top.yaml", kTop);
    dir.write("parts/strip.yaml", kStrip);
    Diagnostics diags;
    const GraphDesc g = loadGraph(top, diags);
    REQUIRE_FALSE(diags.hasErrors());
    REQUIRE(g.files.size() == 2);
    CHECK(g.files[0].path == top);
    CHECK(g.files[0].text == kTop);
    CHECK(g.files[1].path == dir.path() + "/parts/strip.yaml");
    CHECK(g.files[1].text == kStrip);
}

TEST_CASE("loader: file texts load the same graph where the files are not", "[loader]") {
    test::TempDir dir;
    const std::string top = dir.write("top.yaml", kTop);
    dir.write("parts/strip.yaml", kStrip);
    Diagnostics first;
    const GraphDesc original = loadGraph(top, first);
    REQUIRE_FALSE(first.hasErrors());

    std::remove(top.c_str());
    std::remove(dir.file("parts/strip.yaml").c_str());
    LoadOptions options;
    options.fileTexts = original.files;
    Diagnostics diags;
    const GraphDesc again = loadGraph(top, diags, options);
    REQUIRE_FALSE(diags.hasErrors());
    REQUIRE(again.nodes.size() == 1);
    CHECK(again.nodes[0].name == "a.fader");
    CHECK(again.nodes[0].params[0].value.text == "-2 dB");
    CHECK(again.nodes[0].mark.file == dir.path() + "/parts/strip.yaml"); // the node, from the included text
    CHECK(again.nodes[0].params[0].value.mark.file == top);              // its value, from the top-level text
    CHECK(again.files.size() == 2);

    // Without the texts the files are gone: the usual error, naming the file.
    Diagnostics missing;
    loadGraph(top, missing);
    CHECK(missing.hasErrors());
}

TEST_CASE("loader: file texts keep the size limit and the include rules", "[loader]") {
    test::TempDir dir;
    const std::string top = dir.file("top.yaml");
    LoadOptions options;
    options.limits.maxFileBytes = 100;
    options.fileTexts = {{top, kTop}, {dir.path() + "/parts/strip.yaml", kStrip}};
    Diagnostics diags;
    loadGraph(top, diags, options);
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message.find("graph-file-size") != std::string::npos);

    // A text for a file outside the allowed folders is still refused.
    const std::string outside = "stagegraph: 1\nnodes:\n  a: {use: /elsewhere/strip.yaml}\n";
    LoadOptions confined;
    confined.fileTexts = {{top, outside}, {"/elsewhere/strip.yaml", kStrip}};
    Diagnostics refused;
    loadGraph(top, refused, confined);
    REQUIRE(refused.errorCount() == 1);
    CHECK(lines(refused)[0] == top + ":" + pos(outside, "/elsewhere") +
                                   ": error: included graph '/elsewhere/strip.yaml' is outside the folders graphs are "
                                   "included from (the top-level graph's folder, the shipped graphs, and --include-dir folders)");
}
