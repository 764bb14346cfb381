// The compiler's graph model, shared by every pass under core/passes/.
//
// Vertices are the graph's external inputs, its nodes and its external outputs; edges are
// connections (port to port). Each vertex keeps the indices of its incoming and outgoing edges,
// so a pass visits a vertex's neighbours in O(degree) and a whole pass is O(V + E) (O((V + E)
// log V) where it keeps a priority queue). Passes mutate the model only through its methods,
// which keep the adjacency lists in step with the edges.
//
// Internal to the compiler: included by core/Compiler.cpp, core/passes/*.cpp and their tests,
// never by a public header (it names Registry types but no Boost or yaml-cpp).
#pragma once

#include "core/Diagnostics.h"
#include "core/Node.h"

#include <string>
#include <vector>

namespace sg::passes {

enum class VertexKind { Input, Node, Output };

struct Vertex {
    VertexKind kind = VertexKind::Node;
    int external = -1; ///< index into the graph's inputs/outputs for Input/Output
    std::string name;  ///< dotted node name, or the external port's name
    SourceMark mark;
    std::string instance;    ///< the template/file instance the node came from ("" = top level)
    SourceMark instanceMark; ///< where that instance is written in the top-level file
    const NodeType* type = nullptr;
    ParamValues params;
    double order = 0;      ///< declaration order key (ties in topological order)
    bool inserted = false; ///< a latency-compensation delay added by the compiler
    bool valid = true;     ///< resolved without error
    bool poisoned = false; ///< an earlier error invalidated its inputs: no follow-on errors
    std::vector<int> inputChannels, outputChannels;
    int latency = 0;                    ///< its own latency, frames
    int arrival = 0;                    ///< latency of its output signal relative to the graph's inputs, frames
    std::vector<int> inEdges, outEdges; ///< edge indices
    int inputPorts() const;
    int outputPorts() const;
};

struct Edge {
    int from = 0, fromPort = 0, to = 0, toPort = 0;
    SourceMark mark;
    int channels = 0;
};

class GraphModel {
public:
    std::vector<Vertex> vertices;
    std::vector<Edge> edges;
    std::vector<int> inputVertex, outputVertex; ///< external index -> vertex

    /// Appends a vertex (its adjacency lists are cleared); returns its index.
    int addVertex(Vertex vertex);
    /// Appends an edge and records it in both endpoints' adjacency; returns its index.
    int addEdge(const Edge& edge);
    /// Moves edge `e`'s target to (to, toPort).
    void retarget(int e, int to, int toPort);
    /// Moves edge `e`'s source to (from, fromPort).
    void resource(int e, int from, int fromPort);

    /// The edges into port `port` of vertex `v`, in the order they were added (the order in
    /// which a sum of them adds its sources).
    std::vector<int> feeding(int v, int port) const;

    Vertex& vertex(int v) { return vertices[std::size_t(v)]; }
    const Vertex& vertex(int v) const { return vertices[std::size_t(v)]; }
    const Edge& edge(int e) const { return edges[std::size_t(e)]; }
    int size() const { return int(vertices.size()); }
};

/// After an error about a node inside a template or included graph: a note at the instance
/// the user wrote ("in instance 'm'"), so the error is found from the file they edit.
void noteInstance(const Vertex& vertex, Diagnostics& diags);

/// "'name'".
std::string quote(const std::string& text);
/// "a, b, c" or "none".
std::string listNames(const std::vector<std::string>& names);

} // namespace sg::passes
