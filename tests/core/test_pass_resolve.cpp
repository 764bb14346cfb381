// Pass 1, resolve (core/passes/Resolve.cpp): types, parameters and connections from a GraphDesc
// built in code. Every error of every node is reported in one run; a bad connection poisons
// only its target.
#include "PassModel.h"

#include <algorithm>

using namespace sg;
using namespace sg::test;

namespace {

SourceMark at(int line, int column) { return {"g.yaml", line, column}; }

/// A GraphDesc with input `mix` (2 channels) and output `out` (2 channels).
GraphDesc stereoGraph() {
    GraphDesc g;
    g.file = "g.yaml";
    g.inputs.push_back({"mix", 2, "", at(3, 3)});
    g.outputs.push_back({"out", 2, "", at(5, 3)});
    return g;
}

/// Node `name` of `type` declared on `line`, with `params` as (key, value text) pairs.
void addNode(GraphDesc& g, const std::string& name, const std::string& type, int line,
             std::vector<std::pair<std::string, std::string>> params = {}) {
    NodeDesc n;
    n.name = name;
    n.mark = at(line, 3);
    n.type = type;
    n.typeMark = at(line, 10);
    int column = 20;
    for (auto& [key, text] : params) {
        n.params.push_back({key, at(line, column), {text, at(line, column + 6)}});
        column += 20;
    }
    g.nodes.push_back(n);
}

void connect(GraphDesc& g, const std::string& from, const std::string& to, int line, const std::string& toPort = "") {
    g.connections.push_back({{from, "", at(line, 5)}, {to, toPort, at(line, 15)}});
}

int countErrors(const Diagnostics& diags) { return diags.errorCount(); }

/// The diagnostics whose message contains `text`.
std::vector<Diagnostic> errorsWith(const Diagnostics& diags, const std::string& text) {
    std::vector<Diagnostic> found;
    for (const auto& d : diags.all())
        if (d.severity == Diagnostic::Severity::Error && d.message.find(text) != std::string::npos) found.push_back(d);
    return found;
}

const passes::Vertex& named(const passes::GraphModel& model, const std::string& name) {
    for (const auto& v : model.vertices)
        if (v.name == name) return v;
    FAIL("no vertex " << name);
    return model.vertices.front();
}

} // namespace

TEST_CASE("pass resolve: a clean graph gives one vertex per input, node and output, and one edge per connection", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "eq", "peak", 7, {{"freq", "2 kHz"}, {"gain", "-3 dB"}});
    addNode(g, "level", "gain", 8);
    connect(g, "mix", "eq", 10);
    connect(g, "eq", "level", 11);
    connect(g, "level", "out", 12);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    CHECK(diags.errorCount() == 0);
    CHECK(model.size() == 4);
    CHECK(model.edges.size() == 3);
    const passes::Vertex& eq = named(model, "eq");
    CHECK(eq.valid);
    CHECK_FALSE(eq.poisoned);
    CHECK(eq.type == Registry::builtin().find("peak"));
    CHECK(eq.params[std::size_t(eq.type->paramIndex("freq"))] == Approx(2000));
    CHECK(eq.params[std::size_t(eq.type->paramIndex("gain"))] == Approx(-3));
    // unset parameters keep the type's defaults
    CHECK(eq.params[std::size_t(eq.type->paramIndex("q"))] == eq.type->defaults()[std::size_t(eq.type->paramIndex("q"))]);
    // declaration order: inputs before nodes before outputs, nodes in file order
    CHECK(model.vertex(model.inputVertex[0]).order < eq.order);
    CHECK(eq.order < named(model, "level").order);
    CHECK(named(model, "level").order < model.vertex(model.outputVertex[0]).order);
    // adjacency agrees with the edges
    for (int e = 0; e < int(model.edges.size()); ++e) {
        const passes::Edge& edge = model.edge(e);
        const auto& outs = model.vertex(edge.from).outEdges;
        const auto& ins = model.vertex(edge.to).inEdges;
        CHECK(std::count(outs.begin(), outs.end(), e) == 1);
        CHECK(std::count(ins.begin(), ins.end(), e) == 1);
    }
}

TEST_CASE("pass resolve: an unknown type is reported at its type with the closest name", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "eq", "peek", 7, {{"freq", "1 kHz"}});
    connect(g, "mix", "eq", 10);
    connect(g, "eq", "out", 11);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "node 'eq': unknown node type 'peek' (did you mean 'peak'?)");
    CHECK(diags.all()[0].mark.line == 7);
    CHECK(diags.all()[0].mark.column == 10);
    CHECK_FALSE(named(model, "eq").valid);
    // its connections are kept, so later passes see its neighbours and report nothing more
    CHECK(model.edges.size() == 2);
}

TEST_CASE("pass resolve: an unknown parameter is reported with a suggestion and the type's parameters", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "eq", "peak", 7, {{"frek", "1 kHz"}});
    connect(g, "mix", "eq", 10);
    connect(g, "eq", "out", 11);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK_THAT(diags.all()[0].message,
               Catch::StartsWith("node 'eq': unknown parameter 'frek' for type 'peak' (did you mean 'freq'?); parameters: "));
    CHECK_THAT(diags.all()[0].message, Catch::Contains("freq") && Catch::Contains("gain") && Catch::Contains("q"));
    CHECK(diags.all()[0].mark.line == 7);
    CHECK(diags.all()[0].mark.column == 20); // the key, not the value
    CHECK_FALSE(named(model, "eq").valid);
}

TEST_CASE("pass resolve: an out-of-range value is reported at the value with the range", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "eq", "peak", 7, {{"freq", "1 kHz"}, {"gain", "60 dB"}});
    connect(g, "mix", "eq", 10);
    connect(g, "eq", "out", 11);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    REQUIRE(diags.errorCount() == 1);
    CHECK(diags.all()[0].message == "node 'eq': gain: 60 dB is out of range (-30 dB to 30 dB, a gain (dB))");
    CHECK(diags.all()[0].mark.line == 7);
    CHECK(diags.all()[0].mark.column == 46); // the value of the second parameter
    CHECK_FALSE(named(model, "eq").valid);
}

TEST_CASE("pass resolve: every error of several nodes is reported in one run", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "a", "peak", 7, {{"frek", "1 kHz"}});
    addNode(g, "b", "peak", 8, {{"freq", "3 dB"}, {"gain", "60 dB"}}); // two errors in one node
    addNode(g, "c", "gainn", 9);
    addNode(g, "d", "gain", 10, {{"gain", "-6 dB"}});
    addNode(g, "e", "peak", 11, {{"freq", "1 kHz"}, {"freq", "2 kHz"}});
    connect(g, "mix", "a", 13);
    connect(g, "a", "b", 14);
    connect(g, "b", "c", 15);
    connect(g, "c", "d", 16);
    connect(g, "d", "e", 17);
    connect(g, "e", "out", 18);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    CHECK(countErrors(diags) == 5);
    CHECK(errorsWith(diags, "node 'a': unknown parameter 'frek'").size() == 1);
    CHECK(errorsWith(diags, "node 'b': freq: expected a frequency").size() == 1);
    CHECK(errorsWith(diags, "node 'b': gain: 60 dB is out of range").size() == 1);
    CHECK(errorsWith(diags, "node 'c': unknown node type 'gainn' (did you mean 'gain'?)").size() == 1);
    CHECK(errorsWith(diags, "node 'e': parameter 'freq' given twice").size() == 1);
    CHECK_FALSE(named(model, "a").valid);
    CHECK_FALSE(named(model, "b").valid);
    CHECK_FALSE(named(model, "c").valid);
    CHECK(named(model, "d").valid);
    CHECK_FALSE(named(model, "e").valid);
    // parameter errors poison nothing: every connection resolved
    CHECK(model.edges.size() == 6);
    for (const auto& v : model.vertices) {
        INFO(v.name);
        CHECK_FALSE(v.poisoned);
    }
}

TEST_CASE("pass resolve: a bad connection poisons only its target; another node's bad parameter is still reported", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "g", "gain", 7);
    addNode(g, "h", "peak", 8, {{"gain", "99 dB"}});
    addNode(g, "k", "gain", 9);
    connect(g, "mix", "g", 11, "sidechain"); // gain has no port 'sidechain'
    connect(g, "mix", "h", 12);
    connect(g, "h", "k", 13);
    connect(g, "g", "k", 14);
    connect(g, "nowhere", "k", 15); // unknown source: poisons k
    connect(g, "k", "out", 16);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    CHECK(countErrors(diags) == 3);
    const auto port = errorsWith(diags, "node 'g' (gain) has no input port 'sidechain'; inputs: in");
    REQUIRE(port.size() == 1);
    CHECK(port[0].mark.line == 11);
    CHECK(errorsWith(diags, "node 'h': gain: 99 dB is out of range").size() == 1);
    CHECK(errorsWith(diags, "unknown node or input 'nowhere'").size() == 1);
    CHECK(named(model, "g").poisoned);
    CHECK(named(model, "g").valid); // its own declaration is fine
    CHECK_FALSE(named(model, "h").poisoned);
    CHECK_FALSE(named(model, "h").valid);
    CHECK(named(model, "k").poisoned);
    CHECK_FALSE(model.vertex(model.inputVertex[0]).poisoned);
    CHECK_FALSE(model.vertex(model.outputVertex[0]).poisoned);
    // the two bad connections are left out, the four good ones kept
    CHECK(model.edges.size() == 4);
}

TEST_CASE("pass resolve: a connection into a graph input or out of a graph output is an error", "[passes]") {
    GraphDesc g = stereoGraph();
    addNode(g, "g", "gain", 7);
    connect(g, "mix", "g", 10);
    connect(g, "g", "out", 11);
    connect(g, "g", "mix", 12);
    connect(g, "out", "g", 13);
    passes::GraphModel model;
    Diagnostics diags;
    passes::resolve(g, Registry::builtin(), model, diags);
    INFO(diags.formatAll());
    CHECK(countErrors(diags) == 2);
    CHECK(errorsWith(diags, "'mix' is a graph input; it cannot receive a connection").size() == 1);
    CHECK(errorsWith(diags, "'out' is a graph output; it cannot feed a connection").size() == 1);
    CHECK(model.edges.size() == 2);
}
