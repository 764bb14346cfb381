// Every error one run can find is reported in that run: an error stops a later pass only for
// the parts it invalidated, and errors inside templates and included graphs are reported where
// the user wrote the instance.
#include "core/Compiler.h"
#include "core/Registry.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sg;
using namespace sg::test;

namespace {

/// The formatted lines of `diags` ("file:line:col: error: ...").
std::vector<std::string> lines(const Diagnostics& diags) {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(d.format());
    return out;
}

bool anyContains(const std::vector<std::string>& all, const std::string& needle) {
    return std::any_of(all.begin(), all.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

/// "line:col" of the `nth` occurrence of `needle` in `text` (1-based, as marks are).
std::string positionOf(const std::string& text, const std::string& needle) {
    const auto at = text.find(needle);
    REQUIRE(at != std::string::npos);
    const int line = 1 + int(std::count(text.begin(), text.begin() + std::ptrdiff_t(at), '\n'));
    const auto lineStart = text.rfind('\n', at);
    const int column = int(at - (lineStart == std::string::npos ? 0 : lineStart + 1)) + 1;
    return std::to_string(line) + ":" + std::to_string(column);
}

} // namespace

TEST_CASE("errors: a bad connection does not hide an independent bad parameter", "[compiler][errors]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {out: {channels: 2}}\n"
                             "nodes:\n"
                             "  eq: {type: peak, freq: 90 kHz}\n"
                             "  g: {type: gain}\n"
                             "  lim: {type: limiter, ceiling: 3 dBTP}\n"
                             "connections:\n"
                             "  - mix -> eq -> g.nosuch\n"
                             "  - mix -> lim -> out\n";
    Diagnostics diags;
    auto program = compileYaml(yaml, diags);
    const auto all = lines(diags);
    INFO(diags.formatAll());
    CHECK_FALSE(program);
    CHECK(anyContains(all, "has no input port 'nosuch'"));
    CHECK(anyContains(all, "freq: 90000 Hz is out of range"));
    CHECK(anyContains(all, "ceiling: 3 dBTP is out of range"));
    CHECK(diags.errorCount() == 3);
}

TEST_CASE("errors: a loader error (bad stage) does not hide range errors", "[compiler][errors]") {
    TempDir dir;
    const std::string yaml = "stagegraph: 1\n"
                             "stage: mastring\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {out: {channels: 2}}\n"
                             "nodes:\n"
                             "  eq: {type: peak, gain: 40 dB}\n"
                             "connections:\n"
                             "  - mix -> eq -> out\n";
    const std::string path = dir.write("bad.yaml", yaml);
    Diagnostics diags;
    auto compiled = loadAndCompile(path, {}, Registry::builtin(), diags);
    const auto all = lines(diags);
    INFO(diags.formatAll());
    CHECK_FALSE(compiled);
    CHECK(anyContains(all, "bad.yaml:" + positionOf(yaml, "mastring") + ": error: unknown stage 'mastring'"));
    CHECK(anyContains(all, "bad.yaml:" + positionOf(yaml, "40 dB") + ": error: node 'eq': gain: 40 dB is out of range"));
    CHECK(diags.errorCount() == 2);
}

TEST_CASE("errors: an unreadable graph file gives the loader's error alone", "[compiler][errors]") {
    TempDir dir;
    Diagnostics diags;
    auto compiled = loadAndCompile(dir.file("missing.yaml"), {}, Registry::builtin(), diags);
    INFO(diags.formatAll());
    CHECK_FALSE(compiled);
    CHECK(diags.errorCount() == 1);
    CHECK_FALSE(anyContains(lines(diags), "no outputs"));
}

TEST_CASE("errors: a cycle does not hide an error elsewhere, nor cause follow-on errors", "[compiler][errors]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {out: {channels: 2}, side: {channels: 2}}\n"
                             "nodes:\n"
                             "  a: {type: gain}\n"
                             "  b: {type: gain}\n"
                             "  after: {type: gain}\n"
                             "  c: {type: pan, pan: 300 %}\n"
                             "connections:\n"
                             "  - mix -> a -> b -> a\n"
                             "  - b -> after -> out\n"
                             "  - mix -> c -> side\n";
    Diagnostics diags;
    auto program = compileYaml(yaml, diags);
    const auto all = lines(diags);
    INFO(diags.formatAll());
    CHECK_FALSE(program);
    CHECK(anyContains(all, "cycle: a -> b -> a"));
    CHECK(anyContains(all, "pan: 300 % is out of range"));
    CHECK(diags.errorCount() == 2); // nothing about 'after' or 'out', which the cycle invalidated
}

TEST_CASE("errors: an instance input left open is reported where the instance is written", "[compiler][errors]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    inputs: {in: {channels: 2}, extra: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes: {g: {type: gain}, h: {type: gain}}\n"
                             "    connections: [in -> g -> out, extra -> h -> out]\n"
                             "nodes:\n"
                             "  m: {use: strip}\n"
                             "connections:\n"
                             "  - mix -> m -> master\n";
    Diagnostics diags;
    auto program = compileYaml(yaml, diags, {}, "top.yaml");
    const auto all = lines(diags);
    INFO(diags.formatAll());
    CHECK_FALSE(program);
    CHECK(anyContains(all, "top.yaml:" + positionOf(yaml, "m: {use") +
                               ": error: instance 'm': input 'extra' is not connected (it feeds 'm.h.in')"));
    CHECK(diags.errorCount() == 1);
}

TEST_CASE("errors: a bad value inside a template names the instance the user wrote", "[compiler][errors]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {level: 0 dB}\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes: {fader: {type: gain, gain: $level}}\n"
                             "    connections: [in -> fader -> out]\n"
                             "nodes:\n"
                             "  quiet: {use: strip, level: -3 dB}\n"
                             "  loud: {use: strip, level: 90 dB}\n"
                             "connections:\n"
                             "  - mix -> quiet -> loud -> master\n";
    Diagnostics diags;
    auto program = compileYaml(yaml, diags, {}, "top.yaml");
    const auto all = lines(diags);
    INFO(diags.formatAll());
    CHECK_FALSE(program);
    CHECK(anyContains(all, "node 'loud.fader': gain: 90 dB is out of range"));
    CHECK(anyContains(all, "top.yaml:" + positionOf(yaml, "loud: {use") + ": note: in instance 'loud' (node 'loud.fader')"));
    CHECK_FALSE(anyContains(all, "'quiet"));
    CHECK(diags.errorCount() == 1);
}
