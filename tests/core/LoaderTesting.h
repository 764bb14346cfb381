// Helpers shared by the loader tests (tests/core/test_loader_*.cpp): load from text, and
// expected positions computed from the test's own YAML text (line and column of a searched
// substring), never taken from the loader.
#pragma once

#include "core/GraphLoader.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace sg::test {

/// "line:column" (1-based) of the `nth` occurrence (1 = first) of `needle` in `text`.
inline std::string pos(const std::string& text, const std::string& needle, int nth = 1) {
    std::size_t at = std::string::npos, from = 0;
    for (int i = 0; i < nth; ++i) {
        at = text.find(needle, from);
        if (at == std::string::npos) throw std::logic_error("test text has no '" + needle + "'");
        from = at + 1;
    }
    int line = 1, column = 1;
    for (std::size_t i = 0; i < at; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else
            ++column;
    }
    return std::to_string(line) + ":" + std::to_string(column);
}

/// Every diagnostic, formatted, one per entry.
inline std::vector<std::string> lines(const Diagnostics& diags) {
    std::vector<std::string> out;
    for (const auto& d : diags.all()) out.push_back(d.format());
    return out;
}

/// A graph loaded from text, with its diagnostics.
struct Loaded {
    GraphDesc graph;
    Diagnostics diags;
};

/// Loads `text` as "g.yaml"; `use:` paths resolve from `baseDir`.
inline Loaded loadText(const std::string& text, const std::string& baseDir = ".") {
    Loaded l;
    l.graph = loadGraphFromString(text, "g.yaml", baseDir, l.diags);
    return l;
}

/// "from.port -> to.port" ("from -> to" for default ports).
inline std::string describe(const ConnectionDesc& c) {
    auto end = [](const EndpointDesc& e) { return e.port.empty() ? e.node : e.node + "." + e.port; };
    return end(c.from) + " -> " + end(c.to);
}
/// Every connection, described.
inline std::vector<std::string> connections(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& c : g.connections) out.push_back(describe(c));
    return out;
}
/// Every node name, in order.
inline std::vector<std::string> nodeNames(const GraphDesc& g) {
    std::vector<std::string> out;
    for (const auto& n : g.nodes) out.push_back(n.name);
    return out;
}
/// The node named `name` (throws if there is none).
inline const NodeDesc& node(const GraphDesc& g, const std::string& name) {
    for (const auto& n : g.nodes)
        if (n.name == name) return n;
    throw std::logic_error("no node " + name);
}
/// The parameter `key` of `n` (throws if there is none).
inline const ParamDesc& param(const NodeDesc& n, const std::string& key) {
    for (const auto& p : n.params)
        if (p.key == key) return p;
    throw std::logic_error("node " + n.name + " has no param " + key);
}
/// "file:line:column" of a mark.
inline std::string at(const SourceMark& m) { return m.file + ":" + std::to_string(m.line) + ":" + std::to_string(m.column); }

/// Expected diagnostics or connections, one per entry.
using Lines = std::vector<std::string>;

} // namespace sg::test
