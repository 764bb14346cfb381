// Pass 3, order: Kahn's algorithm with a priority queue on declaration order, so the order is
// deterministic and as close to the file as the edges allow. O((V + E) log V). Vertices on a
// cycle (never reaching in-degree 0) are left out. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <queue>

namespace sg::passes {

std::vector<int> topologicalOrder(const GraphModel& model) {
    std::vector<int> indegree(model.vertices.size(), 0);
    for (const Edge& e : model.edges) ++indegree[std::size_t(e.to)];
    auto later = [&](int a, int b) { return model.vertex(a).order > model.vertex(b).order; };
    std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
    for (int v = 0; v < model.size(); ++v)
        if (indegree[std::size_t(v)] == 0) ready.push(v);
    std::vector<int> order;
    order.reserve(model.vertices.size());
    while (!ready.empty()) {
        const int v = ready.top();
        ready.pop();
        order.push_back(v);
        for (int e : model.vertex(v).outEdges) {
            const int s = model.edge(e).to;
            if (--indegree[std::size_t(s)] == 0) ready.push(s);
        }
    }
    return order;
}

} // namespace sg::passes
