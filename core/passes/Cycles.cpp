// Pass 2, cycles: Boost.Graph's strong components (Tarjan, O(V + E)); each component with a
// cycle is reported once, naming one cycle node by node. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>

#include <algorithm>
#include <queue>

namespace sg::passes {

bool findCycles(GraphModel& model, Diagnostics& diags) {
    using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS>;
    BoostGraph g(model.vertices.size());
    for (const Edge& e : model.edges) boost::add_edge(std::size_t(e.from), std::size_t(e.to), g);
    std::vector<int> component(model.vertices.size());
    const int count =
        boost::strong_components(g, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, g)));
    std::vector<std::vector<int>> members(static_cast<std::size_t>(count));
    for (std::size_t v = 0; v < component.size(); ++v) members[std::size_t(component[v])].push_back(int(v));

    bool found = false;
    std::vector<int> parent(model.vertices.size(), -1);
    for (auto& scc : members) {
        const auto selfLoop = [&](int v) {
            for (int e : model.vertex(v).outEdges)
                if (model.edge(e).to == v) return true;
            return false;
        };
        if (scc.size() < 2 && !selfLoop(scc[0])) continue;
        found = true;
        // One cycle through the first-declared member: breadth-first inside the component
        // until an edge leads back to the start.
        const int start = *std::min_element(scc.begin(), scc.end(),
                                            [&](int a, int b) { return model.vertex(a).order < model.vertex(b).order; });
        const int id = component[std::size_t(start)];
        std::queue<int> queue;
        queue.push(start);
        parent[std::size_t(start)] = start;
        int last = -1;
        while (!queue.empty() && last < 0) {
            const int v = queue.front();
            queue.pop();
            for (int e : model.vertex(v).outEdges) {
                const int w = model.edge(e).to;
                if (component[std::size_t(w)] != id) continue;
                if (w == start) {
                    last = v;
                    break;
                }
                if (parent[std::size_t(w)] < 0) {
                    parent[std::size_t(w)] = v;
                    queue.push(w);
                }
            }
        }
        std::vector<int> path;
        for (int v = last; v != start && v >= 0; v = parent[std::size_t(v)]) path.push_back(v);
        path.push_back(start);
        std::reverse(path.begin(), path.end());
        std::string text;
        for (int v : path) text += model.vertex(v).name + " -> ";
        text += model.vertex(start).name;
        diags.error(model.vertex(start).mark, "cycle: " + text + " (a graph must not feed back into itself)");
        for (int v : scc) {
            model.vertex(v).poisoned = true;
            model.vertex(v).valid = false;
        }
    }
    return found;
}

} // namespace sg::passes
