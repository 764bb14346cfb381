// Pass 6, fusion (core/passes/Fusion.cpp): a maximal series of nodes of one fusion family (one
// connection port 0 -> port 0 to the next, which has no other input; equal channels; no
// latency) is one unit, keyed by the family and the chain's total fusion units.
#include "PassModel.h"

#include <algorithm>

using namespace sg;
using namespace sg::test;

namespace {

/// A test-only type of fusion family "toy" whose size in the family is its `units` parameter,
/// and whose latency is its `lag` parameter (frames).
class ToyStage final : public DeclaredNodeType {
public:
    explicit ToyStage(const std::string& name) : DeclaredNodeType(declare(name)) {}
    int fusionUnits(const ParamValues& params) const override { return int(params[0]); }
    int latencyFrames(const ParamValues& params, double) const override { return int(params[1]); }
    std::unique_ptr<NodeKernel> createKernel() const override { return nullptr; }

private:
    static NodeTypeInfo declare(const std::string& name) {
        NodeTypeInfo info;
        info.name = name;
        info.family = "test";
        info.inputs = {{"in", "", true}};
        info.outputs = {{"out", "", true}};
        info.params = {{"units", UnitKind::Plain, 1, 16, 1, 0, "", {}}, {"lag", UnitKind::Plain, 0, 100, 0, 0, "", {}}};
        info.batchable = true;
        info.inPlace = true;
        info.fusionFamily = "toy";
        return info;
    }
};

const ToyStage& toyA() {
    static const ToyStage type("toyA");
    return type;
}
const ToyStage& toyB() {
    static const ToyStage type("toyB");
    return type;
}

/// The units as lists of vertex names (chains head first).
std::vector<std::vector<std::string>> unitNames(const passes::GraphModel& model, const std::vector<passes::Unit>& units) {
    std::vector<std::vector<std::string>> names;
    for (const auto& u : units) {
        names.emplace_back();
        for (int v : u.vertices) names.back().push_back(model.vertex(v).name);
    }
    return names;
}

/// Runs fusion over the model's order; checks that unitOf agrees with the units and that every
/// node vertex is in exactly one unit.
std::vector<passes::Unit> fuse(PassModel& m, bool enabled) {
    const std::vector<int> order = passes::topologicalOrder(m.model);
    std::vector<int> unitOf;
    std::vector<passes::Unit> units = passes::fuseChains(m.model, order, enabled, unitOf);
    REQUIRE(int(unitOf.size()) == m.model.size());
    std::vector<int> seen(std::size_t(m.model.size()), 0);
    for (std::size_t u = 0; u < units.size(); ++u)
        for (int v : units[u].vertices) {
            ++seen[std::size_t(v)];
            CHECK(unitOf[std::size_t(v)] == int(u));
        }
    for (int v = 0; v < m.model.size(); ++v) {
        INFO(m.model.vertex(v).name);
        const bool isNode = m.model.vertex(v).kind == passes::VertexKind::Node;
        CHECK(seen[std::size_t(v)] == (isNode ? 1 : 0));
        if (!isNode) CHECK(unitOf[std::size_t(v)] == -1);
    }
    return units;
}

using Names = std::vector<std::vector<std::string>>;

} // namespace

TEST_CASE("pass fusion: a series of biquad-family nodes is one unit keyed by family and total sections", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int hp = m.node("hp", "highpass", 2);
    m.set(hp, "slope", 24); // 2 sections
    const int bell = m.node("bell", "peak", 2);
    const int lp = m.node("lp", "lowpass", 2);
    m.set(lp, "slope", 48); // 4 sections
    const int level = m.node("level", "gain", 2);
    const int out = m.output("out", 2);
    m.chain({in, hp, bell, lp, level, out}, 2);
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"hp", "bell", "lp"}, {"level"}});
    REQUIRE(units.size() == 2);
    CHECK(units[0].key == "biquad7");
    CHECK(units[1].key == "gain");
}

TEST_CASE("pass fusion: a test-only family fuses across its types and sums their declared units", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 1);
    const int a = m.node("a", &toyA(), 1), b = m.node("b", &toyB(), 1), c = m.node("c", &toyA(), 1);
    m.set(a, "units", 3);
    m.set(b, "units", 5);
    const int out = m.output("out", 1);
    m.chain({in, a, b, c, out}, 1);
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"a", "b", "c"}});
    REQUIRE(units.size() == 1);
    CHECK(units[0].key == "toy9");
}

TEST_CASE("pass fusion: a branch (two out edges) ends a chain", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int a = m.node("a", "peak", 2), b = m.node("b", "peak", 2), split = m.node("split", "peak", 2);
    const int left = m.node("left", "peak", 2), right = m.node("right", "peak", 2);
    const int outL = m.output("left", 2), outR = m.output("right", 2);
    m.chain({in, a, b, split}, 2);
    m.chain({split, left, outL}, 2);
    m.chain({split, right, outR}, 2);
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"a", "b", "split"}, {"left"}, {"right"}});
    REQUIRE(units.size() == 3);
    CHECK(units[0].key == "biquad3");
    CHECK(units[1].key == "biquad1");
}

TEST_CASE("pass fusion: a second input breaks the chain in front of the node that takes it", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2), side = m.input("side", 2);
    const int a = m.node("a", "peak", 2), b = m.node("b", "peak", 2), c = m.node("c", "peak", 2), d = m.node("d", "peak", 2);
    const int out = m.output("out", 2);
    m.chain({in, a, b, c, d, out}, 2);
    m.connect(side, c, 2); // c sums b and side
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"a", "b"}, {"c", "d"}});
}

TEST_CASE("pass fusion: a node with latency is never fused", "[passes]") {
    // The latency pass has set each vertex's latency; b's lag makes it latent.
    PassModel m;
    const int in = m.input("mix", 1);
    const int a = m.node("a", &toyA(), 1), b = m.node("b", &toyA(), 1), c = m.node("c", &toyA(), 1), d = m.node("d", &toyA(), 1);
    m.set(b, "lag", 12);
    for (int v : {a, b, c, d}) m.model.vertex(v).latency = m.model.vertex(v).type->latencyFrames(m.model.vertex(v).params, 48000);
    const int out = m.output("out", 1);
    m.chain({in, a, b, c, d, out}, 1);
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"a"}, {"b"}, {"c", "d"}});
}

TEST_CASE("pass fusion: a different family or a change of channel count ends a chain", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 1);
    const int a = m.node("a", "peak", 1), t = m.node("t", &toyA(), 1), b = m.node("b", "peak", 1);
    const int pan = m.node("pan", "pan", 1);
    m.model.vertex(pan).outputChannels = {2};
    const int c = m.node("c", "peak", 2), d = m.node("d", "peak", 2);
    const int out = m.output("out", 2);
    m.chain({in, a, t, b, pan}, 1);
    m.chain({pan, c, d, out}, 2);
    // a mono peak whose output is declared stereo cannot be a stage of a mono chain
    const int wide = m.node("wide", "peak", 1);
    m.model.vertex(wide).outputChannels = {2};
    const int in2 = m.input("mono", 1);
    const int e = m.node("e", "peak", 1);
    const int out2 = m.output("wideOut", 2);
    m.chain({in2, e, wide, out2}, 1);
    const auto units = fuse(m, true);
    CHECK(unitNames(m.model, units) == Names{{"a"}, {"t"}, {"b"}, {"pan"}, {"c", "d"}, {"e"}, {"wide"}});
}

TEST_CASE("pass fusion: fuse=false gives one unit per node, keyed by its own batch key", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int hp = m.node("hp", "highpass", 2);
    m.set(hp, "slope", 24);
    const int bell = m.node("bell", "peak", 2);
    const int meter = m.node("meter", "loudness", 2);
    const int out = m.output("out", 2);
    m.chain({in, hp, bell, meter, out}, 2);
    const auto units = fuse(m, false);
    CHECK(unitNames(m.model, units) == Names{{"hp"}, {"bell"}, {"meter"}});
    REQUIRE(units.size() == 3);
    CHECK(units[0].key == "biquad2");
    CHECK(units[1].key == "biquad1");
    CHECK(units[2].key.empty()); // not batchable
}
