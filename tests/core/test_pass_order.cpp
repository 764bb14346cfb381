// Pass 3, order (core/passes/Order.cpp): a topological order in which every edge goes forward,
// ties broken by declaration order, vertices on a cycle left out.
#include "PassModel.h"

#include <algorithm>
#include <random>

using namespace sg;
using namespace sg::test;

namespace {

/// position[v] in `order`, -1 if absent.
std::vector<int> positions(const passes::GraphModel& model, const std::vector<int>& order) {
    std::vector<int> at(std::size_t(model.size()), -1);
    for (std::size_t i = 0; i < order.size(); ++i) at[std::size_t(order[i])] = int(i);
    return at;
}

} // namespace

TEST_CASE("pass order: independent vertices follow declaration order, not vertex numbering", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int z = m.node("z", "gain"), y = m.node("y", "gain"), x = m.node("x", "gain");
    const int out = m.output("out", 2);
    m.connect(in, x);
    m.connect(in, z);
    m.connect(in, y);
    m.connect(x, out);
    m.connect(y, out);
    m.connect(z, out);
    // declared (order keys) y, x, z: numbering and edge order say otherwise
    m.model.vertex(y).order = 0;
    m.model.vertex(x).order = 1;
    m.model.vertex(z).order = 2;
    const std::vector<int> order = passes::topologicalOrder(m.model);
    CHECK(order == std::vector<int>{in, y, x, z, out});
}

TEST_CASE("pass order: every edge goes forward and ties take the first-declared ready vertex (random DAGs)", "[passes]") {
    std::mt19937 random(20240611);
    for (int round = 0; round < 200; ++round) {
        PassModel m;
        const int n = std::uniform_int_distribution<int>(2, 30)(random);
        // rank r is a hidden topological position; declaration order is a random permutation
        std::vector<int> declared(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) declared[std::size_t(i)] = i;
        std::shuffle(declared.begin(), declared.end(), random);
        std::vector<int> vertexOfRank(static_cast<std::size_t>(n));
        for (int r = 0; r < n; ++r) {
            vertexOfRank[std::size_t(r)] = m.node(std::to_string(r), "gain");
            m.model.vertex(vertexOfRank[std::size_t(r)]).order = declared[std::size_t(r)];
        }
        for (int r = 1; r < n; ++r) {
            const int fanIn = std::uniform_int_distribution<int>(0, 3)(random);
            for (int k = 0; k < fanIn; ++k)
                m.connect(vertexOfRank[std::size_t(std::uniform_int_distribution<int>(0, r - 1)(random))],
                          vertexOfRank[std::size_t(r)]);
        }
        const std::vector<int> order = passes::topologicalOrder(m.model);
        INFO("round " << round << ", " << n << " vertices, " << m.model.edges.size() << " edges");
        REQUIRE(int(order.size()) == n);
        const std::vector<int> at = positions(m.model, order);
        CHECK(std::count(at.begin(), at.end(), -1) == 0);
        bool forward = true;
        for (const auto& e : m.model.edges) forward &= at[std::size_t(e.from)] < at[std::size_t(e.to)];
        CHECK(forward);
        // At each position the vertex taken is the first-declared of those whose predecessors
        // are all placed: the order is as close to the file as the edges allow.
        std::vector<int> waiting(std::size_t(n), 0);
        for (const auto& e : m.model.edges) ++waiting[std::size_t(e.to)];
        bool firstDeclared = true;
        for (int v : order) {
            for (int w = 0; w < n; ++w)
                if (waiting[std::size_t(w)] == 0 && at[std::size_t(w)] >= at[std::size_t(v)])
                    firstDeclared &= m.model.vertex(v).order <= m.model.vertex(w).order;
            for (int e : m.model.vertex(v).outEdges) --waiting[std::size_t(m.model.edge(e).to)];
        }
        CHECK(firstDeclared);
    }
}

TEST_CASE("pass order: vertices on a cycle are left out, the rest keeps its order", "[passes]") {
    PassModel m;
    const int in = m.input("mix", 2);
    const int before = m.node("before", "gain");
    const int a = m.node("a", "gain"), b = m.node("b", "gain");
    const int side = m.node("side", "gain");
    const int out = m.output("out", 2);
    m.chain({in, before, a, b, a});
    m.chain({in, side, out});
    const std::vector<int> order = passes::topologicalOrder(m.model);
    CHECK(std::count(order.begin(), order.end(), a) == 0);
    CHECK(std::count(order.begin(), order.end(), b) == 0);
    CHECK(order == std::vector<int>{in, before, side, out});
}

TEST_CASE("order: vertices downstream of a cycle are left out with it", "[passes]") {
    // The cycle invalidates everything it feeds: Kahn's algorithm never frees a vertex fed by
    // one, so later passes skip those vertices without follow-on errors (tests/core/
    // test_compiler_errors.cpp: a cycle does not hide an error elsewhere).
    PassModel m;
    const int in = m.input("mix", 2);
    const int a = m.node("a", "gain"), b = m.node("b", "gain");
    const int after = m.node("after", "gain");
    const int elsewhere = m.node("elsewhere", "gain");
    m.chain({in, a, b, a});
    m.connect(b, after);
    m.connect(in, elsewhere);
    const std::vector<int> order = passes::topologicalOrder(m.model);
    INFO("order has " << order.size() << " vertices");
    CHECK(std::count(order.begin(), order.end(), a) == 0);
    CHECK(std::count(order.begin(), order.end(), b) == 0);
    CHECK(std::count(order.begin(), order.end(), after) == 0);
    CHECK(std::count(order.begin(), order.end(), elsewhere) == 1);
    CHECK(std::count(order.begin(), order.end(), in) == 1);
}
