// The registry of node types. Built explicitly (no static-initialisation tricks that a static
// library would drop): registerBuiltinNodes() adds the node library.
#pragma once

#include "core/Node.h"

#include <memory>
#include <string>
#include <vector>

namespace sg {

class Registry {
public:
    /// Adds a type; its name must be new.
    void add(std::unique_ptr<NodeType> type);
    /// The type named `name`, or nullptr.
    const NodeType* find(const std::string& name) const;
    /// All types, sorted by family then name.
    std::vector<const NodeType*> all() const;
    /// The type latency compensation inserts (the first registered whose declaration names a
    /// compensationParam), or nullptr.
    const NodeType* compensationDelay() const;
    /// The closest registered name to `name` (for "did you mean"), or "".
    std::string closest(const std::string& name) const;

    /// The registry with every built-in node (built once, thread-safe).
    static const Registry& builtin();

private:
    std::vector<std::unique_ptr<NodeType>> types_;
};

/// Adds the node library (defined in nodes/Builtin.cpp).
void registerBuiltinNodes(Registry& registry);

/// Edit distance, for suggestions.
int editDistance(const std::string& a, const std::string& b);

} // namespace sg
