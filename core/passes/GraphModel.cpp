#include "core/passes/GraphModel.h"

#include <algorithm>

namespace sg::passes {

int Vertex::inputPorts() const {
    if (kind == VertexKind::Output) return 1;
    if (kind == VertexKind::Input || !type) return 0;
    return int(type->info().inputs.size());
}

int Vertex::outputPorts() const {
    if (kind == VertexKind::Input) return 1;
    if (kind == VertexKind::Output || !type) return 0;
    return int(type->info().outputs.size());
}

int GraphModel::addVertex(Vertex v) {
    v.inEdges.clear();
    v.outEdges.clear();
    vertices.push_back(std::move(v));
    return int(vertices.size()) - 1;
}

int GraphModel::addEdge(const Edge& e) {
    const int index = int(edges.size());
    edges.push_back(e);
    vertex(e.from).outEdges.push_back(index);
    vertex(e.to).inEdges.push_back(index);
    return index;
}

std::vector<int> GraphModel::feeding(int v, int port) const {
    std::vector<int> edgesIn;
    for (int e : vertex(v).inEdges)
        if (edge(e).toPort == port) edgesIn.push_back(e);
    return edgesIn;
}

namespace {
void eraseValue(std::vector<int>& list, int value) { list.erase(std::find(list.begin(), list.end(), value)); }
} // namespace

void GraphModel::retarget(int e, int to, int toPort) {
    Edge& edge = edges[std::size_t(e)];
    eraseValue(vertex(edge.to).inEdges, e);
    edge.to = to;
    edge.toPort = toPort;
    vertex(to).inEdges.push_back(e);
}

void GraphModel::resource(int e, int from, int fromPort) {
    Edge& edge = edges[std::size_t(e)];
    eraseValue(vertex(edge.from).outEdges, e);
    edge.from = from;
    edge.fromPort = fromPort;
    vertex(from).outEdges.push_back(e);
}

void noteInstance(const Vertex& vertex, Diagnostics& diags) {
    if (vertex.instance.empty()) return;
    diags.note(vertex.instanceMark, "in instance " + quote(vertex.instance) + " (node " + quote(vertex.name) + ")");
}

std::string quote(const std::string& text) { return "'" + text + "'"; }

std::string listNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

} // namespace sg::passes
