// The registry of node types. Built explicitly (no static-initialisation tricks that a static
// library would drop): registerBuiltinNodes() adds the node library.
#pragma once

#include "core/Node.h"

#include <memory>
#include <string>
#include <vector>

namespace sg {

class Diagnostics;
struct NodeDesc;

/// A family of node types whose ports and parameters come from outside the program (LV2
/// plugins, `{type: lv2, plugin: URI}`): it makes the type of one node from that node's settings.
/// Types it returns live as long as the provider; it may be called from several threads.
class NodeTypeProvider {
public:
    virtual ~NodeTypeProvider() = default;
    /// The YAML `type:` it answers to ("lv2").
    virtual const std::string& typeName() const = 0;
    /// One line for `stagegraph nodes`.
    virtual const std::string& description() const = 0;
    /// The type of `node`. Removes from node.params the settings that chose the type (`plugin`),
    /// leaving the parameters for the compiler to check against the returned type's table.
    /// nullptr after reporting why at the setting's mark (not installed, unsupported feature).
    virtual const NodeType* typeFor(NodeDesc& node, Diagnostics& diags) const = 0;
};

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
    /// Adds a provider of types made per node; its type name must be new.
    void addProvider(std::unique_ptr<NodeTypeProvider> provider);
    /// The provider answering to `name`, or nullptr.
    const NodeTypeProvider* findProvider(const std::string& name) const;
    /// All providers, in registration order.
    std::vector<const NodeTypeProvider*> providers() const;
    /// The closest registered name to `name` (for "did you mean"), or "".
    std::string closest(const std::string& name) const;

    /// The registry with every built-in node (built once, thread-safe).
    static const Registry& builtin();

private:
    std::vector<std::unique_ptr<NodeType>> types_;
    std::vector<std::unique_ptr<NodeTypeProvider>> providers_;
};

/// Adds the node library (defined in nodes/Builtin.cpp).
void registerBuiltinNodes(Registry& registry);

/// Edit distance, for suggestions.
int editDistance(const std::string& a, const std::string& b);

} // namespace sg
