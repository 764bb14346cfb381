// Shared by the per-pass unit tests (tests/core/test_pass_*.cpp): builds a small
// passes::GraphModel directly, vertex by vertex and edge by edge, the way resolve would leave it
// (declaration order keys: inputs first, then nodes in the order added, then outputs), so each
// test runs one pass on exactly the model it states.
#pragma once

#include "core/Registry.h"
#include "core/passes/Passes.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace sg::test {

class PassModel {
public:
    passes::GraphModel model;

    /// An external input of `channels` channels.
    int input(const std::string& name, int channels) {
        passes::Vertex v;
        v.kind = passes::VertexKind::Input;
        v.external = int(model.inputVertex.size());
        v.name = name;
        v.outputChannels = {channels};
        v.order = -1e9 + double(model.inputVertex.size());
        const int index = model.addVertex(std::move(v));
        model.inputVertex.push_back(index);
        return index;
    }

    /// An external output of `channels` channels.
    int output(const std::string& name, int channels) {
        passes::Vertex v;
        v.kind = passes::VertexKind::Output;
        v.external = int(model.outputVertex.size());
        v.name = name;
        v.inputChannels = {channels};
        v.order = 1e9 + double(model.outputVertex.size());
        const int index = model.addVertex(std::move(v));
        model.outputVertex.push_back(index);
        return index;
    }

    /// A node of `type` with its default parameters, declared after the nodes added before it.
    /// With `channels` > 0 its channel counts are set as the channels pass would for a type
    /// whose outputs follow its input (every port `channels`); 0 leaves them empty.
    int node(const std::string& name, const NodeType* type, int channels = 0) {
        REQUIRE(type != nullptr);
        passes::Vertex v;
        v.name = name;
        v.type = type;
        v.params = type->defaults();
        v.order = double(nodeCount_++);
        if (channels > 0) {
            v.inputChannels.assign(type->info().inputs.size(), channels);
            v.outputChannels.assign(type->info().outputs.size(), channels);
        }
        return model.addVertex(std::move(v));
    }
    /// A node of the built-in type named `typeName`.
    int node(const std::string& name, const std::string& typeName, int channels = 0) {
        const NodeType* type = Registry::builtin().find(typeName);
        INFO("built-in type " << typeName);
        REQUIRE(type != nullptr);
        return node(name, type, channels);
    }

    /// Sets parameter `id` (base unit) of node `v`.
    void set(int v, const std::string& id, double value) {
        passes::Vertex& vertex = model.vertex(v);
        const int index = vertex.type->paramIndex(id);
        INFO(vertex.name << "." << id);
        REQUIRE(index >= 0);
        vertex.params[std::size_t(index)] = value;
    }

    /// from.fromPort -> to.toPort, carrying `channels` (0 = not yet known, as before channels).
    int connect(int from, int to, int channels = 0, int fromPort = 0, int toPort = 0) {
        passes::Edge e;
        e.from = from;
        e.fromPort = fromPort;
        e.to = to;
        e.toPort = toPort;
        e.channels = channels;
        return model.addEdge(e);
    }

    /// Connects the vertices in series, port 0 to port 0; returns the last one.
    int chain(std::initializer_list<int> vertices, int channels = 0) {
        int previous = -1;
        for (int v : vertices) {
            if (previous >= 0) connect(previous, v, channels);
            previous = v;
        }
        return previous;
    }

    /// Index of the vertex named `name` (-1 if none).
    int find(const std::string& name) const {
        for (int v = 0; v < model.size(); ++v)
            if (model.vertex(v).name == name) return v;
        return -1;
    }

private:
    int nodeCount_ = 0;
};

/// "prefix" followed by the number (test vertex names). Appends rather than using
/// `"literal" + std::to_string(i)`, which GCC 12 misreads as an overlapping copy (-Wrestrict).
inline std::string numbered(const char* prefix, int number) {
    std::string text(prefix);
    text += std::to_string(number);
    return text;
}

/// A random DAG for the property tests: 1 to 3 inputs and `nodeCount` nodes of `channels`
/// channels, each node fed by 1 to 3 connections (repeats allowed: they are summed) from the
/// inputs and the nodes before it in a hidden topological rank; the nodes are declared in a
/// random order. Types: gain, peak and delay (three batch keys, peak chains fuse) and loudness
/// (not batchable). Every node nothing reads feeds the one output.
inline PassModel randomDag(std::mt19937& random, int nodeCount, int channels) {
    static const char* const kTypes[] = {"gain", "peak", "delay", "loudness"};
    PassModel m;
    const int inputs = std::uniform_int_distribution<int>(1, 3)(random);
    std::vector<int> sources;
    for (int i = 0; i < inputs; ++i) sources.push_back(m.input(numbered("in", i), channels));
    std::vector<int> declared(static_cast<std::size_t>(nodeCount));
    for (int i = 0; i < nodeCount; ++i) declared[std::size_t(i)] = i;
    std::shuffle(declared.begin(), declared.end(), random);
    std::discrete_distribution<int> pickType({4, 4, 2, 1});
    std::vector<int> nodes;
    for (int r = 0; r < nodeCount; ++r) {
        const int v = m.node(numbered("n", r), kTypes[pickType(random)], channels);
        m.model.vertex(v).order = declared[std::size_t(r)];
        const int fanIn = std::uniform_int_distribution<int>(1, 3)(random);
        for (int k = 0; k < fanIn; ++k) {
            // mostly recent sources, so chains form
            const int count = int(sources.size());
            const int back = std::min(count - 1, std::geometric_distribution<int>(0.4)(random));
            m.connect(sources[std::size_t(count - 1 - back)], v, channels);
        }
        sources.push_back(v);
        nodes.push_back(v);
    }
    const int out = m.output("out", channels);
    for (int v : nodes)
        if (m.model.vertex(v).outEdges.empty()) m.connect(v, out, channels);
    return m;
}

/// Every error message in `diags`, one per line.
inline std::string errorText(const Diagnostics& diags) {
    std::string all;
    for (const auto& d : diags.all())
        if (d.severity == Diagnostic::Severity::Error) all += d.message + "\n";
    return all;
}

} // namespace sg::test
