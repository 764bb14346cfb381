// Tests for the YAML graph loader (core/GraphLoader.h): error messages with exact positions,
// and the flat graph that templates, included files and connection chains expand to.
//
// Expected positions are computed from the test's own YAML text (line and column of a
// searched substring), never taken from the loader.
#include <catch2/catch.hpp>

#include "core/GraphLoader.h"
#include "support/TestSupport.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

using namespace sg;

namespace {

/// "line:column" (1-based) of the `nth` occurrence (1 = first) of `needle` in `text`.
std::string pos(const std::string& text, const std::string& needle, int nth = 1) {
    std::size_t at = std::string::npos, from = 0;
    for (int i = 0; i < nth; ++i) {
        at = text.find(needle, from);
        if (at == std::string::npos) throw std::logic_error("test text has no '" + needle + "'");
        from = at + 1;
    }
    int line = 1, column = 1;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else
            ++column;
    }
    return std::to_string(line) + ":" + std::to_string(column);
}

/// Every diagnostic, formatted, one per entry.
std::vector<std::string> lines(const Diagnostics& diags) {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(d.format());
    return out;
}

struct Loaded {
    GraphDesc graph;
    Diagnostics diags;
};

Loaded loadText(const std::string& text, const std::string& baseDir = ".") {
    Loaded l;
    l.graph = loadGraphFromString(text, "g.yaml", baseDir, l.diags);
    return l;
}

/// "from.port -> to.port" ("from -> to" for default ports).
std::string describe(const ConnectionDesc& c) {
    auto end = [](const EndpointDesc& e) { return e.port.empty() ? e.node : e.node + "." + e.port; };
    return end(c.from) + " -> " + end(c.to);
}
std::vector<std::string> connections(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& c : g.connections) out.push_back(describe(c));
    return out;
}
std::vector<std::string> nodeNames(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& n : g.nodes) out.push_back(n.name);
    return out;
}
const NodeDesc& node(const GraphDesc& g, const std::string& name) {
    for (const auto& n : g.nodes)
        if (n.name == name) return n;
    throw std::logic_error("no node " + name);
}
const ParamDesc& param(const NodeDesc& n, const std::string& key) {
    for (const auto& p : n.params)
        if (p.key == key) return p;
    throw std::logic_error("node " + n.name + " has no param " + key);
}
std::string at(const SourceMark& m) { return m.file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column); }

using Lines = std::vector<std::string>;

} // namespace

// ---- errors ------------------------------------------------------------------------------

TEST_CASE("loader: malformed YAML is reported at the parser's position", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "nodes:\n"
                             "  a: {type: gain}}\n";
    auto l = loadText(text);
    // The stray '}' closes a flow map that is not open.
    CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, "}\n") + ": error: malformed YAML: illegal flow end"});
}

TEST_CASE("loader: malformed YAML, illegal map value", "[loader]") {
    const std::string text = "stagegraph: 1\nname: a: b\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, ": b") + ": error: malformed YAML: illegal map value"});
}

TEST_CASE("loader: missing or wrong format version", "[loader]") {
    SECTION("missing: reported at the document start") {
        auto l = loadText("# a comment\nname: x\nnodes: {}\n");
        CHECK(lines(l.diags) == Lines{"g.yaml:1:1: error: missing format version: add 'stagegraph: 1'"});
        CHECK(l.graph.version == 0);
    }
    SECTION("empty file") {
        auto l = loadText("");
        CHECK(lines(l.diags) == Lines{"g.yaml:1:1: error: missing format version: add 'stagegraph: 1'"});
    }
    SECTION("other value") {
        const std::string text = "stagegraph: 2\n";
        auto l = loadText(text);
        CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, "2") +
                                      ": error: unsupported format version '2': this stagegraph reads 'stagegraph: 1'"});
    }
    SECTION("1 is accepted") {
        auto l = loadText("stagegraph: 1\nname: n\nstage: mastering\ndescription: d\n");
        CHECK(lines(l.diags).empty());
        CHECK(l.graph.version == 1);
        CHECK(l.graph.name == "n");
        CHECK(l.graph.stage == "mastering");
        CHECK(l.graph.description == "d");
        CHECK(l.graph.file == "g.yaml");
    }
}

TEST_CASE("loader: misspelled top-level key gets a suggestion", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {out: {channels: 2}}\n"
                             "conections:\n"
                             "  - mix -> out\n"
                             "frobnicate: 3\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{
              "g.yaml:" + pos(text, "conections") + ": error: unknown key 'conections' (did you mean 'connections'?)",
              "g.yaml:" + pos(text, "frobnicate") + ": error: unknown key 'frobnicate'",
          });
    CHECK(l.graph.connections.empty());
}

TEST_CASE("loader: unknown stage value", "[loader]") {
    const std::string text = "stagegraph: 1\nstage: masterin\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, "masterin") +
                                  ": error: unknown stage 'masterin' (did you mean 'mastering'?); expected mixing, "
                                  "mastering, translation, utility or teaching"});
}

TEST_CASE("loader: inputs and outputs are checked", "[loader]") {
    SECTION("unknown key in an input") {
        const std::string text = "stagegraph: 1\n"
                                 "inputs:\n"
                                 "  vocal: {channels: 1, fiel: vocal.wav}\n";
        auto l = loadText(text);
        CHECK(lines(l.diags) ==
              Lines{"g.yaml:" + pos(text, "fiel") + ": error: input 'vocal': unknown key 'fiel' (did you mean 'file'?)"});
    }
    SECTION("file is not a key of an output") {
        const std::string text = "stagegraph: 1\noutputs:\n  out: {channels: 2, file: x.wav}\n";
        auto l = loadText(text);
        CHECK(lines(l.diags) == Lines{"g.yaml:" + pos(text, "file") + ": error: output 'out': unknown key 'file'"});
    }
    SECTION("channels: required, integer 1..64") {
        const std::string text = "stagegraph: 1\n"
                                 "inputs:\n"
                                 "  a: {description: no channels}\n"
                                 "  b: {channels: 0}\n"
                                 "  c: {channels: 65}\n"
                                 "  d: {channels: two}\n"
                                 "  e: {channels: 64}\n";
        auto l = loadText(text);
        CHECK(lines(l.diags) ==
              Lines{
                  "g.yaml:" + pos(text, "a:") + ": error: input 'a': missing 'channels'",
                  "g.yaml:" + pos(text, "0}") + ": error: input 'b': channels must be an integer from 1 to 64, got '0'",
                  "g.yaml:" + pos(text, "65") + ": error: input 'c': channels must be an integer from 1 to 64, got '65'",
                  "g.yaml:" + pos(text, "two") + ": error: input 'd': channels must be an integer from 1 to 64, got 'two'",
              });
        REQUIRE(l.graph.inputs.size() == 5);
        CHECK(l.graph.inputs[4].name == "e");
        CHECK(l.graph.inputs[4].channels == 64);
    }
}

TEST_CASE("loader: duplicate node names are detected at the second occurrence", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "nodes:\n"
                             "  eq: {type: peak}\n"
                             "  comp: {type: compressor}\n"
                             "  eq: {type: highpass}\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{"g.yaml:" + pos(text, "eq", 2) + ": error: duplicate node name 'eq' (first defined at line 3)"});
    // The first definition is kept.
    REQUIRE(nodeNames(l.graph) == Lines{"eq", "comp"});
    CHECK(l.graph.nodes[0].type == "peak");
}

TEST_CASE("loader: node names and node shape", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "nodes:\n"
                             "  mix: {type: gain}\n"
                             "  a.b: {type: gain}\n"
                             "  9x: {type: gain}\n"
                             "  both: {type: gain, use: strip}\n"
                             "  neither: {tpye: gain}\n"
                             "  listy: {type: gain, freq: [1, 2]}\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{
              "g.yaml:" + pos(text, "mix", 2) + ": error: node 'mix' has the same name as input 'mix' (line 2)",
              "g.yaml:" + pos(text, "a.b") + ": error: node name 'a.b' must not contain '.' (dots separate instance names)",
              "g.yaml:" + pos(text, "9x") +
                  ": error: invalid node name '9x': use letters, digits, '_' and '-', starting with a letter or '_'",
              "g.yaml:" + pos(text, "both") + ": error: node 'both' has both 'type' and 'use'; a node is one or the other",
              "g.yaml:" + pos(text, "neither") +
                  ": error: node 'neither' needs 'type: <node type>' or 'use: <template or file>' (did you mean 'type'?)",
              "g.yaml:" + pos(text, "[1, 2]") + ": error: node 'listy': parameter 'freq': expected a single value, got a list",
          });
}

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

TEST_CASE("loader: template parameters must be supplied and declared", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {gain: ~, pan: 0}\n"
                             "    nodes:\n"
                             "      g: {type: gain, gain: $gain}\n"
                             "nodes:\n"
                             "  a: {use: strip}\n"
                             "  b: {use: strip, gain: -3 dB, pna: 10 %}\n"
                             "  c: {use: strp}\n";
    auto l = loadText(text);
    CHECK(
        lines(l.diags) ==
        Lines{
            "g.yaml:" + pos(text, "strip}") + ": error: template 'strip' parameter 'gain' not supplied",
            "g.yaml:" + pos(text, "pna") +
                ": error: template 'strip' has no parameter 'pna' (did you mean 'pan'?); its parameters: gain, pan",
            "g.yaml:" + pos(text, "strp") +
                ": error: node 'c': unknown template 'strp' (did you mean 'strip'?) (a file path needs a '/' or a .yaml ending)",
        });
    CHECK(l.graph.nodes.empty());
}

TEST_CASE("loader: undefined $name inside a template is reported at its position", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {gain: 0 dB}\n"
                             "    nodes:\n"
                             "      g: {type: gain, gain: $gian}\n"
                             "      h: {type: gain, gain: \"x $nope\"}\n"
                             "nodes:\n"
                             "  a: {use: strip}\n"
                             "  b: {use: strip}\n";
    auto l = loadText(text);
    // Expanded twice, reported once each. In the quoted scalar, the column counts the quote.
    CHECK(lines(l.diags) ==
          Lines{
              "g.yaml:" + pos(text, "$gian") + ": error: undefined parameter '$gian' in template 'strip' (did you mean 'gain'?)",
              "g.yaml:" + pos(text, "$nope") + ": error: undefined parameter '$nope' in template 'strip'",
          });
}

TEST_CASE("loader: unknown names in connections are reported at the element", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "nodes:\n"
                             "  hpf: {type: highpass}\n"
                             "  tone: {type: peak}\n"
                             "connections:\n"
                             "  - mix -> hpf ->   tnoe -> master\n"
                             "  - \"mix -> nothing\"\n"
                             "  - [mix -> hpf]\n"
                             "  - master -> mix\n"
                             "  - mix.left -> hpf\n"
                             "  - hpf -> -> tone\n"
                             "  - hpf\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{
              "g.yaml:" + pos(text, "tnoe") + ": error: unknown name 'tnoe' in connection (did you mean 'tone'?)",
              "g.yaml:" + pos(text, "nothing") + ": error: unknown name 'nothing' in connection",
              "g.yaml:" + pos(text, "[mix") + ": error: connection: expected a single value, got a list",
              "g.yaml:" + pos(text, "master -> mix") + ": error: output 'master' can only be a destination (right of '->')",
              "g.yaml:" + pos(text, "mix\n") + ": error: input 'mix' can only be a source (left of '->')",
              "g.yaml:" + pos(text, "mix.left") + ": error: input 'mix' has no ports; write just 'mix'",
              "g.yaml:" + pos(text, "-> tone") +
                  ": error: connection 'hpf -> -> tone': missing name (connections look like 'a -> b.port -> c')",
              "g.yaml:" + pos(text, "hpf\n", 2) + ": error: connection 'hpf' needs at least two names: 'a -> b'",
          });
    // The valid pairs of the first chain are kept.
    CHECK(connections(l.graph) == Lines{"mix -> hpf"});
}

TEST_CASE("loader: several errors are reported in one run, in file order", "[loader]") {
    const std::string text = "name: many\n"
                             "inputs:\n"
                             "  mix: {channels: 100}\n"
                             "nodes:\n"
                             "  a: {type: gain}\n"
                             "  a: {type: gain}\n"
                             "  b: {use: missing-template}\n"
                             "connections:\n"
                             "  - mix -> a -> c\n"
                             "outptus: {}\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{
              "g.yaml:1:1: error: missing format version: add 'stagegraph: 1'",
              "g.yaml:" + pos(text, "100") + ": error: input 'mix': channels must be an integer from 1 to 64, got '100'",
              "g.yaml:" + pos(text, "a:", 2) + ": error: duplicate node name 'a' (first defined at line 5)",
              "g.yaml:" + pos(text, "missing-template") +
                  ": error: node 'b': unknown template 'missing-template' (a file path needs a '/' or a .yaml ending)",
              "g.yaml:" + pos(text, "c\n") + ": error: unknown name 'c' in connection",
              "g.yaml:" + pos(text, "outptus") + ": error: unknown key 'outptus' (did you mean 'outputs'?)",
          });
    CHECK(l.diags.errorCount() == 6);
    CHECK(connections(l.graph) == Lines{"mix -> a"});
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

TEST_CASE("loader: referring into an instance is not allowed", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    inputs: {in: {channels: 1}}\n"
                             "    outputs: {out: {channels: 1}}\n"
                             "    nodes: {eq: {type: peak}}\n"
                             "    connections: [in -> eq -> out]\n"
                             "nodes:\n"
                             "  vocal: {use: strip}\n"
                             "connections:\n"
                             "  - mix -> vocal.eq.in\n"
                             "  - mix -> vocal.side\n";
    auto l = loadText(text);
    CHECK(
        lines(l.diags) ==
        Lines{
            "g.yaml:" + pos(text, "vocal.eq") +
                ": error: cannot connect inside instance 'vocal' of template 'strip': use its input ports (in)",
            "g.yaml:" + pos(text, "vocal.side") + ": error: 'vocal' (template 'strip') has no input port 'side'; its inputs: in",
        });
}

// ---- expansion ---------------------------------------------------------------------------

TEST_CASE("loader: nodes keep parameters as written, with marks", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "nodes:\n"
                             "  tone: {type: peak, freq: 3 kHz, q: 1.50, gain: \"-1.5 dB\"}\n"
                             "  limit:\n"
                             "    type: limiter\n"
                             "    ceiling: -1 dBTP\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    REQUIRE(nodeNames(l.graph) == Lines{"tone", "limit"});
    const NodeDesc& tone = node(l.graph, "tone");
    CHECK(tone.type == "peak");
    CHECK(at(tone.mark) == "g.yaml:" + pos(text, "tone"));
    CHECK(at(tone.typeMark) == "g.yaml:" + pos(text, "peak"));
    REQUIRE(tone.params.size() == 3);
    CHECK(tone.params[0].key == "freq");
    CHECK(tone.params[0].value.text == "3 kHz");
    CHECK(at(tone.params[0].keyMark) == "g.yaml:" + pos(text, "freq"));
    CHECK(at(tone.params[0].value.mark) == "g.yaml:" + pos(text, "3 kHz"));
    CHECK(tone.params[1].value.text == "1.50");
    CHECK(tone.params[2].value.text == "-1.5 dB");
    const NodeDesc& limit = node(l.graph, "limit");
    CHECK(limit.type == "limiter");
    CHECK(param(limit, "ceiling").value.text == "-1 dBTP");
    CHECK(at(param(limit, "ceiling").value.mark) == "g.yaml:" + pos(text, "-1 dBTP"));
}

TEST_CASE("loader: connection chains, ports and summing", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}, kick: {channels: 1}}\n"
                             "outputs: {master: {channels: 2}}\n"
                             "nodes:\n"
                             "  hpf: {type: highpass}\n"
                             "  comp: {type: compressor}\n"
                             "  duck: {type: compressor}\n"
                             "  sum: {type: gain}\n"
                             "connections:\n"
                             "  - mix->hpf   ->comp -> master\n"
                             "  - kick -> duck.sidechain\n"
                             "  - hpf -> duck.in -> sum\n"
                             "  - mix -> sum\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    CHECK(connections(l.graph) == Lines{
                                      "mix -> hpf", "hpf -> comp", "comp -> master", "kick -> duck.sidechain", "hpf -> duck.in",
                                      "duck -> sum", // the middle port is duck's input; its default output feeds sum
                                      "mix -> sum",  // a second connection into sum's input: kept, summed later
                                  });
    // Endpoint marks point at each element of the chain.
    const ConnectionDesc& c = l.graph.connections[1];
    CHECK(at(c.from.mark) == "g.yaml:" + pos(text, "hpf   "));
    CHECK(at(c.to.mark) == "g.yaml:" + pos(text, "comp ->"));
    CHECK(at(l.graph.connections[4].to.mark) == "g.yaml:" + pos(text, "duck.in"));
    CHECK(l.graph.inputs.size() == 2);
    CHECK(l.graph.outputs.size() == 1);
}

TEST_CASE("loader: templates with parameters and $name substitution", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {vox: {channels: 1}}\n"
                             "outputs: {out: {channels: 1}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    description: EQ then gain\n"
                             "    params: {filter: peak, freq: ~, trim: 0, price: 5}\n"
                             "    inputs: {in: {channels: 1}}\n"
                             "    outputs: {out: {channels: 1}}\n"
                             "    nodes:\n"
                             "      eq: {type: $filter, freq: $freq, note: \"${trim} dB, $$$price\"}\n"
                             "      trim: {type: gain, gain: \"${trim}\"}\n" // quoted: braces end a flow map
                             "    connections:\n"
                             "      - in -> eq -> trim -> out\n"
                             "nodes:\n"
                             "  a: {use: strip, freq: 2 kHz, trim: -3}\n"
                             "  b: {use: strip, filter: lowshelf, freq: 100 Hz}\n"
                             "connections:\n"
                             "  - vox -> a -> b -> out\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    REQUIRE(nodeNames(l.graph) == Lines{"a.eq", "a.trim", "b.eq", "b.trim"});
    const NodeDesc& aEq = node(l.graph, "a.eq");
    CHECK(aEq.type == "peak");                                // the default
    CHECK(at(aEq.typeMark) == "g.yaml:" + pos(text, "peak")); // whole `$filter`: the default's mark
    CHECK(param(aEq, "freq").value.text == "2 kHz");
    CHECK(at(param(aEq, "freq").value.mark) == "g.yaml:" + pos(text, "2 kHz")); // the use site
    CHECK(at(param(aEq, "freq").keyMark) == "g.yaml:" + pos(text, "freq: $freq"));
    CHECK(param(aEq, "note").value.text == "-3 dB, $5");                            // partial substitution, `$$` is `$`
    CHECK(at(param(aEq, "note").value.mark) == "g.yaml:" + pos(text, "\"${trim}")); // partial: the template's mark
    CHECK(param(node(l.graph, "a.trim"), "gain").value.text == "-3");
    const NodeDesc& bEq = node(l.graph, "b.eq");
    CHECK(bEq.type == "lowshelf");
    CHECK(at(bEq.typeMark) == "g.yaml:" + pos(text, "lowshelf"));
    CHECK(param(bEq, "freq").value.text == "100 Hz");
    CHECK(param(node(l.graph, "b.trim"), "gain").value.text == "0");
    CHECK(at(node(l.graph, "b.trim").mark) == "g.yaml:" + pos(text, "trim: {"));
    // Internal connections of each instance come first, then the top-level ones.
    CHECK(connections(l.graph) == Lines{"a.eq -> a.trim", "b.eq -> b.trim", "vox -> a.eq", "a.trim -> b.eq", "b.trim -> out"});
}

TEST_CASE("loader: nested templates give nested dotted names", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {v: {channels: 1}, g: {channels: 1}}\n"
                             "outputs: {mix: {channels: 2}}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {freq: 1 kHz}\n"
                             "    inputs: {in: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes:\n"
                             "      eq: {type: peak, freq: $freq}\n"
                             "      pan: {type: pan}\n"
                             "    connections: [in -> eq -> pan -> out]\n"
                             "  bus:\n"
                             "    params: {vocalFreq: ~}\n"
                             "    inputs: {vocalIn: {channels: 1}, guitarIn: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    nodes:\n"
                             "      vocal: {use: strip, freq: $vocalFreq}\n"
                             "      guitar: {use: strip}\n"
                             "      sum: {type: gain}\n"
                             "    connections:\n"
                             "      - vocalIn -> vocal -> sum\n"
                             "      - guitarIn -> guitar -> sum -> out\n"
                             "nodes:\n"
                             "  pre: {type: gain}\n"
                             "  bus: {use: bus, vocalFreq: 3 kHz}\n"
                             "  post: {type: gain}\n"
                             "connections:\n"
                             "  - v -> pre -> bus.vocalIn\n"
                             "  - g -> bus.guitarIn\n"
                             "  - bus -> post -> mix\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    CHECK(nodeNames(l.graph) ==
          Lines{"pre", "bus.vocal.eq", "bus.vocal.pan", "bus.guitar.eq", "bus.guitar.pan", "bus.sum", "post"});
    CHECK(param(node(l.graph, "bus.vocal.eq"), "freq").value.text == "3 kHz");
    CHECK(at(param(node(l.graph, "bus.vocal.eq"), "freq").value.mark) == "g.yaml:" + pos(text, "3 kHz"));
    CHECK(param(node(l.graph, "bus.guitar.eq"), "freq").value.text == "1 kHz");
    CHECK(connections(l.graph) == Lines{
                                      "bus.vocal.eq -> bus.vocal.pan",
                                      "bus.guitar.eq -> bus.guitar.pan", // innermost first
                                      "bus.vocal.pan -> bus.sum",
                                      "bus.guitar.pan -> bus.sum", // then the bus
                                      "v -> pre",
                                      "pre -> bus.vocal.eq",
                                      "g -> bus.guitar.eq",
                                      "bus.sum -> post",
                                      "post -> mix",
                                  });
}

TEST_CASE("loader: instance ports alias internal endpoints (fan-out, fan-in, pass-through)", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "inputs: {mix: {channels: 2}, key: {channels: 1}}\n"
                             "outputs: {master: {channels: 2}, aux: {channels: 2}}\n"
                             "templates:\n"
                             "  split:\n"
                             "    inputs: {in: {channels: 2}, sc: {channels: 1}}\n"
                             "    outputs: {out: {channels: 2}, thru: {channels: 2}}\n"
                             "    nodes:\n"
                             "      low: {type: lowpass}\n"
                             "      high: {type: highpass}\n"
                             "    connections:\n"
                             "      - in -> low -> out\n"
                             "      - in -> high -> out\n"
                             "      - sc -> high.sidechain\n"
                             "      - in -> thru\n"
                             "  wire:\n"
                             "    inputs: {in: {channels: 2}}\n"
                             "    outputs: {out: {channels: 2}}\n"
                             "    connections: [in -> out]\n"
                             "nodes:\n"
                             "  s: {use: split}\n"
                             "  w1: {use: wire}\n"
                             "  w2: {use: wire}\n"
                             "connections:\n"
                             "  - mix -> s -> master\n"
                             "  - key -> s.sc\n"
                             "  - s.thru -> w1\n"
                             "  - w1 -> w2 -> aux\n";
    auto l = loadText(text);
    INFO(l.diags.formatAll());
    REQUIRE(lines(l.diags).empty());
    CHECK(nodeNames(l.graph) == Lines{"s.low", "s.high"});
    CHECK(connections(l.graph) == Lines{
                                      "mix -> s.low", "mix -> s.high",       // fan-out: `in` feeds two nodes
                                      "s.low -> master", "s.high -> master", // fan-in: two sources feed `out`
                                      "key -> s.high.sidechain",             // a port alias keeps the internal port
                                      "mix -> aux",                          // in -> thru, then two pass-through wires; placed
                                  });                                        // at the last declared connection it uses
    // The endpoints keep the marks of where each end was written.
    const ConnectionDesc& fan = l.graph.connections[1];
    CHECK(at(fan.from.mark) == "g.yaml:" + pos(text, "mix -> s"));
    CHECK(at(fan.to.mark) == "g.yaml:" + pos(text, "high -> out"));
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

TEST_CASE("loader: top-level params give defaults to $name in a standalone file", "[loader]") {
    const std::string text = "stagegraph: 1\n"
                             "params: {ceiling: -1 dBTP, gain: ~}\n"
                             "nodes:\n"
                             "  lim: {type: limiter, ceiling: $ceiling}\n"
                             "  g: {type: gain, gain: $gain}\n";
    auto l = loadText(text);
    CHECK(lines(l.diags) ==
          Lines{"g.yaml:" + pos(text, "$gain") +
                ": error: parameter 'gain' has no default; it is set where graph 'g.yaml' is included with 'use:'"});
    CHECK(param(node(l.graph, "lim"), "ceiling").value.text == "-1 dBTP");
}
