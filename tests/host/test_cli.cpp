// The command line: help, nodes, check, dot on shipped graphs, and every kind of bad graph giving
// exit status 2 with a file:line:col message.
#include "core/Registry.h"
#include "host/cli/Inspect.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

using namespace sg;
using namespace sg::test;

namespace {

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

const char* kGood = "stagegraph: 1\n"
                    "inputs:\n"
                    "  mix: {channels: 2}\n"
                    "outputs:\n"
                    "  out: {channels: 2}\n"
                    "nodes:\n"
                    "  eq: {type: peak, freq: 1 kHz, gain: 2 dB}\n"
                    "connections:\n"
                    "  - mix -> eq -> out\n";

} // namespace

TEST_CASE("cli: help and per-command help exit 0, unknown commands exit 2", "[cli]") {
    auto r = runCli("--help");
    CHECK(r.status == 0);
    CHECK_THAT(r.out, Catch::Contains("stagegraph render GRAPH.yaml"));
    for (const char* cmd : {"render", "check", "dot", "nodes", "demo", "analyze", "live"}) {
        auto h = runCli(std::string(cmd) + " --help");
        CAPTURE(cmd, h.err);
        CHECK(h.status == 0);
        CHECK_THAT(h.out, Catch::Contains("usage: stagegraph"));
    }
    CHECK(runCli("frobnicate").status == 2);
    CHECK(runCli("").status == 2);
    CHECK(runCli("check").status == 2);
    CHECK(runCli("check a.yaml --bogus").status == 2);
}

TEST_CASE("cli: nodes lists every registered type and its parameters", "[cli]") {
    auto r = runCli("nodes");
    REQUIRE(r.status == 0);
    for (const NodeType* t : Registry::builtin().all()) CHECK_THAT(r.out, Catch::Contains(t->info().name));
    auto peak = runCli("nodes peak");
    REQUIRE(peak.status == 0);
    CHECK_THAT(peak.out, Catch::Contains("freq"));
    CHECK_THAT(peak.out, Catch::Contains("gain"));
    auto typo = runCli("nodes peek");
    CHECK(typo.status == 2);
    CHECK_THAT(typo.err, Catch::Contains("did you mean 'peak'"));
}

TEST_CASE("cli: docs/nodes matches the registry (regenerate with 'make docs')", "[cli]") {
    const std::string dir = sourceDir() + "/docs/nodes/";
    CHECK(readFile(dir + "README.md") == cli::nodeIndexMarkdown());
    for (const NodeType* t : Registry::builtin().all()) {
        CAPTURE(t->info().name);
        CHECK(readFile(dir + t->info().name + ".md") == cli::nodeMarkdown(t->info().name, cli::nodeNotes(dir, t->info().name)));
    }
}

TEST_CASE("cli: shipped graphs check, print a schedule and draw", "[cli]") {
    for (const char* g : {"graphs/mastering/streaming.yaml", "graphs/mastering/loud.yaml", "graphs/mixing/four-stems.yaml"}) {
        std::string path = sourceDir() + "/" + g;
        auto r = runCli("check '" + path + "' --schedule");
        CAPTURE(g, r.err);
        CHECK(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("latency:"));
        CHECK_THAT(r.out, Catch::Contains("buffers:"));
        auto d = runCli("dot '" + path + "'");
        CHECK(d.status == 0);
        CHECK_THAT(d.out, Catch::StartsWith("digraph"));
        if (std::system("command -v dot >/dev/null 2>&1") == 0) {
            TempDir tmp;
            std::ofstream(tmp.file("g.dot")) << d.out;
            CHECK(runShell("dot -Tsvg '" + tmp.file("g.dot") + "' -o '" + tmp.file("g.svg") + "'").status == 0);
        }
    }
    // the mixing graph uses several inputs, a bus, a template and an included file, batched
    auto r = runCli("check '" + sourceDir() + "/graphs/mixing/four-stems.yaml' --schedule");
    CHECK_THAT(r.out, Catch::Contains("inputs:      kick (1 ch), bass (1 ch), guitar (1 ch), vocal (1 ch)"));
    CHECK_THAT(r.out, Catch::Matches("(.|\n)*biquad[0-9]+ +[34] lanes(.|\n)*")); // strips batched (and fused)
    CHECK_THAT(r.out, Catch::Contains("(fused)"));
    CHECK_THAT(r.out, Catch::Contains("sums"));
}

TEST_CASE("cli: every kind of bad graph exits 2 with file:line:col", "[cli]") {
    TempDir tmp;
    struct Case {
        const char* what;
        std::string yaml;
        std::string expect; // regex on stderr
    };
    const std::string head = "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n";
    std::vector<Case> cases = {
        {"malformed YAML", "stagegraph: 1\nnodes: {a: [1, 2\n", R"(bad\.yaml:\d+:\d+: error: malformed YAML)"},
        {"missing format version", "inputs:\n  mix: {channels: 2}\n", R"(bad\.yaml:1:1: error: missing format version)"},
        {"unknown node type", head + "  eq: {type: peek}\nconnections:\n  - mix -> eq -> out\n",
         R"(bad\.yaml:7:14: error: node 'eq': unknown node type 'peek')"},
        {"unknown parameter", head + "  eq: {type: peak, frek: 1 kHz}\nconnections:\n  - mix -> eq -> out\n",
         R"(bad\.yaml:7:20: error: node 'eq': unknown parameter 'frek')"},
        {"wrong unit", head + "  eq: {type: peak, freq: 3 dB}\nconnections:\n  - mix -> eq -> out\n",
         R"(bad\.yaml:7:26: error: node 'eq': freq: expected a frequency)"},
        {"value out of range", head + "  eq: {type: peak, gain: 99 dB}\nconnections:\n  - mix -> eq -> out\n",
         R"(bad\.yaml:7:26: error: node 'eq': gain: 99 dB is out of range)"},
        {"unknown port", head + "  eq: {type: peak}\nconnections:\n  - mix -> eq.side\n  - eq -> out\n",
         R"(bad\.yaml:9:12: error: node 'eq' \(peak\) has no input port 'side')"},
        {"cycle", head + "  a: {type: gain}\n  b: {type: gain}\nconnections:\n  - mix -> a -> b -> out\n  - b -> a\n",
         R"(bad\.yaml:7:3: error: cycle: a -> b -> a)"},
        {"channel mismatch",
         "stagegraph: 1\ninputs:\n  mono: {channels: 1}\noutputs:\n  out: {channels: 2}\nnodes:\n  g: {type: "
         "gain}\nconnections:\n  - mono -> g -> out\n",
         R"(bad\.yaml:\d+:\d+: error: channel mismatch)"},
        {"unconnected required input",
         head + "  g: {type: gain}\n  h: {type: gain}\nconnections:\n  - mix -> g -> out\n  - h -> out\n",
         R"(bad\.yaml:8:3: error: node 'h': required input 'in' is not connected)"},
        {"duplicate node name", head + "  g: {type: gain}\n  g: {type: gain}\nconnections:\n  - mix -> g -> out\n",
         R"(bad\.yaml:8:3: error: duplicate node name 'g')"},
        {"misspelled key", head + "  g: {type: gain}\nconections:\n  - mix -> g -> out\n",
         R"(bad\.yaml:8:1: error: .*'conections'.*did you mean 'connections')"},
        {"use: of a missing file", head + "  s: {use: parts/nothere.yaml}\nconnections:\n  - mix -> s -> out\n",
         R"(bad\.yaml:7:12: error: .*parts/nothere\.yaml)"},
        {"template parameter not supplied",
         head.substr(0, head.size() - 7) +
             "templates:\n  t:\n    params: {level: ~}\n    inputs: {in: {channels: 2}}\n    outputs: {out: {channels: 2}}\n"
             "    nodes:\n      g: {type: gain, gain: $level}\n    connections:\n      - in -> g -> out\nnodes:\n  s: {use: "
             "t}\nconnections:\n  - mix -> s -> out\n",
         R"(bad\.yaml:16:\d+: error: .*template 't' parameter 'level' not supplied)"},
    };
    for (const auto& c : cases) {
        std::string path = tmp.write("bad.yaml", c.yaml);
        auto r = runShell("cd '" + tmp.path() + "' && '" + cliPath() + "' check bad.yaml");
        INFO(c.what << "\n--- stderr:\n" << r.err);
        CHECK(r.status == 2);
        CHECK(std::regex_search(r.err, std::regex(c.expect)));
        // render reports the same and writes nothing
        auto render = runShell("cd '" + tmp.path() + "' && '" + cliPath() + "' render bad.yaml -i nothing.wav -o out.wav");
        CHECK(render.status == 2);
        CHECK_FALSE(std::filesystem::exists(tmp.file("out.wav")));
    }
}

TEST_CASE("cli: one run reports every error", "[cli]") {
    TempDir tmp;
    tmp.write("bad.yaml", "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                          "  a: {type: peek}\n  b: {type: peak, freq: 3 dB}\n  c: {type: gain, gian: 1}\n"
                          "connections:\n  - mix -> a -> b -> c -> out\n");
    auto r = runShell("cd '" + tmp.path() + "' && '" + cliPath() + "' check bad.yaml");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:7:"));
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:8:"));
    CHECK_THAT(r.err, Catch::Contains("bad.yaml:9:"));
    CHECK_THAT(r.err, Catch::Contains("3 errors"));
}

TEST_CASE("cli: check accepts --set and reports a bad override", "[cli]") {
    TempDir tmp;
    std::string path = tmp.write("g.yaml", kGood);
    CHECK(runCli("check '" + path + "' --set eq.gain=-3dB").status == 0);
    auto r = runCli("check '" + path + "' --set eq.gain=3Hz");
    CHECK(r.status == 2);
    CHECK_THAT(r.err, Catch::Contains("--set: error: node 'eq': gain: expected a gain (dB), got '3Hz'"));
}
