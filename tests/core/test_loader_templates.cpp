// Loader tests for templates (core/GraphLoader.h): parameters and `$name` substitution, nested
// instances and dotted names, instance ports, and the errors in them with exact positions.
#include <catch2/catch.hpp>

#include "tests/core/LoaderTesting.h"

using namespace sg;
using namespace sg::test;

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
