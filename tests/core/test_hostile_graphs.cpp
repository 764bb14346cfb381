// Hostile graphs with many independent errors of every kind, loader and compiler together: one
// run reports each of them once, and nothing that an earlier error explains (no follow-on
// errors). Before this file, `$undefined` in a value and a bad `channels:` were each reported
// twice (by the loader, then as an empty value or "channels must be at least 1" by the
// compiler), and the nodes fed by such an input were reported as unconnected.
#include "core/Compiler.h"
#include "core/Registry.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

using namespace sg;

namespace {

std::vector<std::string> check(const test::TempDir& dir, const std::string& name, const std::string& yaml, std::string& path) {
    path = dir.write(name, yaml);
    Diagnostics diags;
    CHECK_FALSE(loadAndCompile(path, {}, Registry::builtin(), diags));
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(d.format());
    return out;
}

} // namespace

TEST_CASE("hostile: twenty independent errors of every kind in one run, each once", "[compiler][errors][hostile]") {
    const std::string yaml = "stagegraph: 1\n"
                             "name: hostile\n"
                             "stage: mastring\n"
                             "inputs:\n"
                             "  mix: {channels: 2}\n"
                             "  side: {channels: 99}\n"
                             "  unused: {channels: 1}\n"
                             "outputs:\n"
                             "  out: {channels: 2}\n"
                             "  mono: {channels: 1}\n"
                             "  silent: {channels: 2}\n"
                             "templates:\n"
                             "  strip:\n"
                             "    params: {g: -3 dB}\n"
                             "    inputs: {i: {channels: 2}}\n"
                             "    outputs: {o: {channels: 2}}\n"
                             "    nodes:\n"
                             "      a: {type: gain, gain: $g}\n"
                             "      b: {type: gian}\n"
                             "    connections: [i -> a -> o]\n"
                             "nodes:\n"
                             "  eq: {type: peak, freq: 90 kHz, q: 1}\n"
                             "  comp: {type: compressor, attack: 3 dB, threshhold: -18 dB}\n"
                             "  lim: {type: limiter, ceiling: 3 dBTP}\n"
                             "  bad: {type: nosuchtype, x: 1}\n"
                             "  s1: {use: strip, g: loud}\n"
                             "  s2: {use: strip, gg: 1}\n"
                             "  s3: {use: missing}\n"
                             "  c1: {type: gain}\n"
                             "  c2: {type: gain}\n"
                             "  pan: {type: pan}\n"
                             "  x1: {type: gain, gain: $undefined}\n"
                             "  dup: {type: gain}\n"
                             "  dup: {type: gain}\n"
                             "connections:\n"
                             "  - mix -> eq -> comp -> lim -> out\n"
                             "  - mix -> nosuch -> out\n"
                             "  - mix -> s1 -> out\n"
                             "  - c1 -> c2 -> c1\n"
                             "  - mix -> pan -> mono\n"
                             "  - eq -> lim.nosuchport\n"
                             "  - mix -> x1\n";
    test::TempDir dir;
    std::string path;
    const auto all = check(dir, "many.yaml", yaml, path);
    CHECK(all ==
          std::vector<std::string>{
              path + ":3:8: error: unknown stage 'mastring' (did you mean 'mastering'?); expected mixing, mastering, "
                     "translation, utility or teaching",
              path + ":6:20: error: input 'side': channels must be an integer from 1 to 64, got '99'",
              path + ":27:20: error: template 'strip' has no parameter 'gg'; its parameters: g",
              path + ":28:13: error: node 's3': unknown template 'missing' (a file path needs a '/' or a .yaml ending)",
              path + ":32:26: error: undefined parameter '$undefined' in graph '" + path + "'",
              path + ":34:3: error: duplicate node name 'dup' (first defined at line 33)",
              path + ":37:12: error: unknown name 'nosuch' in connection",
              path + ":22:26: error: node 'eq': freq: 90000 Hz is out of range (10 Hz to 24000 Hz, a frequency (Hz, kHz))",
              path + ":23:36: error: node 'comp': attack: expected a time (ms, s), got '3 dB'",
              path + ":23:42: error: node 'comp': unknown parameter 'threshhold' for type 'compressor' (did you mean "
                     "'threshold'?); parameters: threshold, ratio, knee, attack, release, auto_release, makeup, sidechain_hpf, "
                     "detector, window, link",
              path + ":24:33: error: node 'lim': ceiling: 3 dBTP is out of range (-20 dBTP to 0 dBTP, a true-peak level (dBTP))",
              path + ":25:15: error: node 'bad': unknown node type 'nosuchtype' (see 'stagegraph nodes')",
              path + ":26:23: error: node 's1.a': gain: expected a gain (dB), got 'loud'",
              path + ":26:3: note: in instance 's1' (node 's1.a')",
              path + ":19:17: error: node 's1.b': unknown node type 'gian' (did you mean 'gain'?)",
              path + ":26:3: note: in instance 's1' (node 's1.b')",
              path + ":41:11: error: node 'lim' (limiter) has no input port 'nosuchport'; inputs: in",
              path + ":6:3: warning: input 'side' is not connected to anything",
              path + ":7:3: warning: input 'unused' is not connected to anything",
              path + ":29:3: error: cycle: c1 -> c2 -> c1 (a graph must not feed back into itself)",
              path + ":33:3: error: node 'dup': required input 'in' is not connected",
              path + ":40:19: error: channel mismatch: output 'mono' is declared with 1 channel, but 'pan' sends 2",
              path + ":11:3: error: output 'silent' is not connected"});
}

TEST_CASE("hostile: bad channel counts and undefined parameters give no follow-on errors", "[compiler][errors][hostile]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs:\n"
                             "  mix: {channels: 0}\n"
                             "  key: {}\n"
                             "outputs:\n"
                             "  out: {channels: two}\n"
                             "  main: {channels: 2}\n"
                             "nodes:\n"
                             "  g: {type: gain, gain: 3 Hz}\n"
                             "  h: {type: gain}\n"
                             "  k: {type: gain, gain: $nope}\n"
                             "connections:\n"
                             "  - mix -> g -> out\n"
                             "  - key -> h -> main\n"
                             "  - mix -> k -> main\n";
    test::TempDir dir;
    std::string path;
    const auto all = check(dir, "bad-in.yaml", yaml, path);
    CHECK(all ==
          std::vector<std::string>{path + ":3:19: error: input 'mix': channels must be an integer from 1 to 64, got '0'",
                                   path + ":4:3: error: input 'key': missing 'channels'",
                                   path + ":6:19: error: output 'out': channels must be an integer from 1 to 64, got 'two'",
                                   path + ":11:25: error: undefined parameter '$nope' in graph '" + path + "'",
                                   path + ":9:25: error: node 'g': gain: expected a gain (dB), got '3 Hz'"});
}
