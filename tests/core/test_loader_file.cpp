// Loader tests for one file without templates (core/GraphLoader.h): the structure of a graph
// file, its nodes and connection chains as loaded, and the errors in them with exact positions.
#include <catch2/catch.hpp>

#include "tests/core/LoaderTesting.h"

using namespace sg;
using namespace sg::test;

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
