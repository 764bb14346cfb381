// Loader phase 3, expand: the top body is expanded; a `use:` node expands its template or
// file body with a dotted prefix and a parameter scope (phase 2, core/loader/Substitute.h).
// Each expanded body is summarised by its port aliases (input port -> internal endpoints,
// internal sources -> output port, input -> output pass-through); the enclosing body rewrites
// its connections through them, so the result holds only real nodes and external
// inputs/outputs.
#include "core/loader/LoaderModel.h"
#include "core/loader/Substitute.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>

namespace sg::loader {
namespace {

namespace fs = std::filesystem;

enum class VertexKind { Real, BodyIn, BodyOut, ChildIn, ChildOut };

/// One end of a connection inside one body: a real node (or, at the top, an external
/// input/output), this body's own port, or a port of a child instance.
struct Vertex {
    VertexKind kind = VertexKind::Real;
    int child = -1;
    std::string node; ///< Real: full node name
    std::string port; ///< Real: port ("" = default); others: port name
    SourceMark mark;

    bool terminal() const { return kind == VertexKind::Real || kind == VertexKind::BodyIn || kind == VertexKind::BodyOut; }
    std::string key() const { return std::to_string(int(kind)) + ":" + std::to_string(child) + ":" + port; }
    EndpointDesc endpoint() const { return {node, port, mark}; }
};

struct Edge {
    Vertex from, to;
    int order = -1; ///< declaration index in this body; -1 for a child's summary edge
};

/// An instance input left open somewhere inside a body, on its way up to the top.
struct OpenInput {
    OpenInstanceInput record;
    /// Outputs of the body that the open input passes through to; the enclosing body, which
    /// knows what they feed, turns them into consumers.
    std::vector<std::string> throughOutputs;
};

/// How an expanded instance looks from outside: its ports, and what they alias inside.
/// Edges run BodyIn -> Real, Real -> BodyOut or BodyIn -> BodyOut.
struct Summary {
    std::vector<std::string> inputs, outputs; ///< declared order; the first is the default
    std::vector<Edge> edges;
    std::string owner;                 ///< "template 'x'" / "graph 'f.yaml'"
    std::vector<OpenInput> openInputs; ///< of the instances inside, outer first
};

/// Where a body is expanded: its instance path and the outermost instance's entry.
struct InstanceContext {
    std::string path;     ///< dotted, as written ("" = the top-level file)
    SourceMark outerMark; ///< of the outermost instance's entry in the top-level file
    std::string prefix() const { return path.empty() ? "" : path + "."; }
};

struct Element {
    std::string name, port;
    bool hasPort = false;
    SourceMark mark;
};

/// `path` made absolute, with `.`, `..` and symbolic links resolved as far as it exists.
fs::path canonicalPath(const std::string& path) {
    std::error_code ec;
    fs::path absolute = fs::absolute(path, ec);
    if (ec) return fs::path(path).lexically_normal();
    fs::path canonical = fs::weakly_canonical(absolute, ec);
    return ec ? absolute.lexically_normal() : canonical;
}

/// True if `path` is `root` or inside it (whole path components: /a/bc is not inside /a/b).
bool isInside(const fs::path& path, const fs::path& root) {
    auto p = path.begin(), r = root.begin();
    for (; r != root.end(); ++r, ++p) {
        if (r->empty()) continue; // a trailing separator
        if (p == path.end() || *p != *r) return false;
    }
    return true;
}

class Expander {
public:
    Expander(GraphDesc& graph, Documents& docs, ErrorSink& errors, const LoadOptions& options)
        : graph_(graph), docs_(docs), errors_(errors), options_(options) {}

    bool stopped() const { return stopped_; }

    void expandTop(const FileDoc& doc) {
        // Includes are confined to the top file's folder tree, the shipped graphs and the
        // folders the caller names (symbolic links resolved, so a link cannot lead out).
        allowedRoots_.push_back(canonicalPath(doc.baseDir.empty() ? "." : doc.baseDir));
        if (!shippedGraphsDir().empty()) allowedRoots_.push_back(canonicalPath(shippedGraphsDir()));
        for (const auto& dir : options_.includeDirs) allowedRoots_.push_back(canonicalPath(dir));
        parseSwaps();
        Scope scope;
        scope.owner = "graph " + quote(doc.path);
        for (const auto& p : doc.body.params) scope.values[p.name.text] = {p.hasDefault, p.defaultValue};
        stack_.push_back({doc.identity, doc.path});
        Summary summary = expandBody(doc, doc.body, InstanceContext{}, scope, true);
        stack_.pop_back();
        // At the top every output is a real endpoint, so nothing is left to pass through.
        for (auto& open : summary.openInputs) graph_.openInstanceInputs.push_back(std::move(open.record));
        if (!stopped_) reportUnusedSwaps();
    }

private:
    GraphDesc& graph_;
    Documents& docs_;
    ErrorSink& errors_;
    const LoadOptions& options_;
    std::vector<fs::path> allowedRoots_;

    /// A `--swap NAME=FILE` (LoadOptions::swaps).
    struct Swap {
        std::string text; ///< as given
        std::string file; ///< absolute
        bool used = false;
    };
    std::map<std::string, Swap> swaps_;      ///< by instance path
    std::vector<std::string> instancePaths_; ///< every `use:` instance met, for messages

    void parseSwaps() {
        const SourceMark at{"--swap", 0, 0};
        for (const std::string& text : options_.swaps) {
            const auto eq = text.find('=');
            const std::string name = eq == std::string::npos ? "" : text.substr(0, eq);
            const std::string file = eq == std::string::npos ? "" : text.substr(eq + 1);
            bool nameOk = !name.empty();
            for (std::size_t begin = 0; nameOk && begin <= name.size();) {
                const std::size_t dot = std::min(name.find('.', begin), name.size());
                nameOk = isName(name.substr(begin, dot - begin));
                begin = dot + 1;
            }
            if (!nameOk || file.empty()) {
                errors_.error(at,
                              "expected NAME=FILE.yaml (NAME a `use:` instance, e.g. mastering=loud.yaml), got " + quote(text));
                continue;
            }
            if (!looksLikeFile(file)) {
                errors_.error(at,
                              quote(text) + ": " + quote(file) + " is not a graph file (a path with a '/' or a .yaml ending)");
                continue;
            }
            if (swaps_.count(name)) {
                errors_.error(at, quote(text) + ": instance " + quote(name) + " is swapped twice");
                continue;
            }
            const fs::path absolute = canonicalPath(file);
            allowedRoots_.push_back(absolute.parent_path());
            swaps_[name] = {text, absolute.string(), false};
        }
    }

    void reportUnusedSwaps() {
        for (const auto& [name, swap] : swaps_) {
            if (swap.used) continue;
            errors_.error(
                {"--swap", 0, 0},
                quote(swap.text) + ": the graph has no `use:` instance named " + quote(name) + suggestion(name, instancePaths_) +
                    (instancePaths_.empty() ? "; it has no instances" : "; its instances: " + joinNames(instancePaths_)));
        }
    }
    std::size_t expandedNodes_ = 0;       ///< nodes and instances so far ('expanded-nodes')
    std::size_t expandedConnections_ = 0; ///< steps of the connection walks so far ('expanded-connections')
    bool stopped_ = false;                ///< a limit was reached: expansion stops, nothing more is reported

    /// Counts one node or instance; at the limit, reports it at `at` and stops the expansion.
    bool countNode(const SourceMark& at) {
        if (stopped_) return false;
        if (++expandedNodes_ <= options_.limits.maxExpandedNodes) return true;
        errors_.error(at, limitMessage("nodes and template or file instances after expansion", options_.limits.maxExpandedNodes,
                                       "expanded-nodes"));
        stopped_ = true;
        return false;
    }
    /// Counts one step of a connection walk; at the limit, reports it at `at` and stops.
    bool countConnection(const SourceMark& at) {
        if (stopped_) return false;
        if (++expandedConnections_ <= options_.limits.maxExpandedConnections) return true;
        errors_.error(at, limitMessage("connections after expansion (through template and file ports)",
                                       options_.limits.maxExpandedConnections, "expanded-connections"));
        stopped_ = true;
        return false;
    }

    struct StackEntry {
        std::string identity; ///< file identity, or file identity + "#" + template
        std::string label;
    };
    std::vector<StackEntry> stack_;

    struct BodyNames {
        std::map<std::string, std::string> real; ///< local name -> full name
        std::map<std::string, int> children;     ///< local name -> index in summaries
        std::set<std::string> broken;            ///< declared but failed: no further errors
        std::vector<Summary> summaries;
        std::vector<const NodeDecl*> childDecls; ///< parallel to summaries: the `use:` entries
    };

    Summary expandBody(const FileDoc& doc, const Body& body, const InstanceContext& instance, const Scope& scope, bool top) {
        const std::string prefix = instance.prefix();
        Summary summary;
        summary.owner = scope.owner;
        BodyNames names;

        // Ports.
        for (int side = 0; side < 2; ++side) {
            bool isInput = side == 0;
            for (const auto& port : isInput ? body.inputs : body.outputs) {
                (isInput ? summary.inputs : summary.outputs).push_back(port.name.text);
                ExternalDesc ext;
                ext.name = port.name.text;
                ext.mark = port.name.mark;
                ext.channels = -1; // missing or bad: reported here, so the compiler stays quiet about it
                if (port.hasChannels) {
                    Substituted c = substitute(port.channels, scope, errors_);
                    int channels = 0;
                    if (c.ok && (!parseInt(c.text, channels) || channels < 1 || channels > kMaxChannels))
                        errors_.error(c.mark, std::string(isInput ? "input " : "output ") + quote(ext.name) +
                                                  ": channels must be an integer from 1 to 64, got " + quote(c.text));
                    else if (c.ok)
                        ext.channels = channels;
                }
                if (port.hasFile) {
                    Substituted f = substitute(port.file, scope, errors_);
                    if (f.ok && !f.text.empty()) {
                        fs::path p(f.text);
                        ext.file = p.is_absolute() ? f.text : (fs::path(doc.baseDir) / p).string();
                    }
                }
                if (top) (isInput ? graph_.inputs : graph_.outputs).push_back(std::move(ext));
            }
        }

        // Nodes, in order; instances expand in place.
        for (const auto& node : body.nodes) {
            const std::string fullName = prefix + node.name.text;
            if (!countNode(top ? node.name.mark : instance.outerMark)) return summary;
            if (!node.isUse) {
                NodeDesc desc;
                desc.name = fullName;
                desc.mark = node.name.mark;
                Substituted type = substitute(node.target, scope, errors_);
                desc.type = type.text;
                desc.typeMark = type.mark;
                if (type.ok && type.text.empty()) errors_.error(type.mark, "node " + quote(fullName) + ": empty 'type'");
                for (const auto& [key, value] : node.params) {
                    Substituted v = substitute(value, scope, errors_);
                    // An undefined `$name` is reported; the parameter keeps its default, so the
                    // compiler does not report the empty text again.
                    if (v.ok) desc.params.push_back({key.text, key.mark, {v.text, v.mark}});
                    if (const std::string ref = wholeReference(value); !ref.empty())
                        if (auto it = scope.paths.find(ref); it != scope.paths.end())
                            for (const auto& path : it->second) graph_.paramBindings.push_back({path, fullName, key.text});
                }
                desc.instance = instance.path;
                desc.instanceMark = instance.outerMark;
                names.real[node.name.text] = fullName;
                graph_.nodes.push_back(std::move(desc));
                continue;
            }
            InstanceContext childInstance{fullName, top ? node.name.mark : instance.outerMark};
            std::optional<Summary> child = expandUse(doc, node, childInstance, scope);
            if (!child) {
                names.broken.insert(node.name.text);
                continue;
            }
            names.children[node.name.text] = int(names.summaries.size());
            names.summaries.push_back(std::move(*child));
            names.childDecls.push_back(&node);
        }

        // Edges: the children's port aliases, then this body's connections.
        std::vector<Edge> edges;
        for (std::size_t c = 0; c < names.summaries.size(); ++c) {
            for (const auto& e : names.summaries[c].edges) {
                Edge lifted = e;
                for (Vertex* v : {&lifted.from, &lifted.to}) {
                    if (v->kind == VertexKind::BodyIn) {
                        v->kind = VertexKind::ChildIn;
                        v->child = int(c);
                    } else if (v->kind == VertexKind::BodyOut) {
                        v->kind = VertexKind::ChildOut;
                        v->child = int(c);
                    }
                }
                lifted.order = -1;
                edges.push_back(std::move(lifted));
            }
        }
        int order = 0;
        for (const auto& line : body.connections) {
            std::vector<Element> elements;
            if (!parseConnection(line, scope, elements)) continue;
            for (std::size_t i = 0; i + 1 < elements.size(); ++i) {
                Element from = elements[i];
                if (i > 0) {
                    from.port.clear();
                    from.hasPort = false;
                } // a middle port is the input side
                std::optional<Vertex> a = resolve(from, true, body, names, prefix, top);
                std::optional<Vertex> b = resolve(elements[i + 1], false, body, names, prefix, top);
                if (a && b) edges.push_back({*a, *b, order});
                ++order;
            }
        }

        // Paths from terminal sources through instance ports to terminal destinations. A path
        // takes the place of the last declared connection it uses (a connection exists once
        // its last piece is declared); a child's own aliases come in the child's order.
        struct Path {
            Vertex from, to;
            int order;
        };
        std::vector<Path> paths;
        std::multimap<std::string, std::size_t> outgoing; // virtual vertex -> edges leaving it
        for (std::size_t i = 0; i < edges.size(); ++i)
            if (!edges[i].from.terminal()) outgoing.emplace(edges[i].from.key(), i);
        std::set<std::string> onPath;
        const SourceMark walkMark = top ? SourceMark{doc.path, 1, 1} : instance.outerMark;
        auto walk = [&](auto& self, const Vertex& source, const Edge& edge, int lastOrder) -> void {
            if (!countConnection(top ? edge.from.mark : walkMark)) return;
            lastOrder = std::max(lastOrder, edge.order);
            if (edge.to.terminal()) {
                paths.push_back({source, edge.to, lastOrder});
                return;
            }
            std::string k = edge.to.key();
            if (!onPath.insert(k).second) return; // a loop made only of pass-through ports
            auto [begin, end] = outgoing.equal_range(k);
            for (auto it = begin; it != end; ++it) self(self, source, edges[it->second], lastOrder);
            onPath.erase(k);
        };
        for (const auto& e : edges)
            if (e.from.terminal()) walk(walk, e.from, e, -1);
        if (stopped_) return summary;
        std::stable_sort(paths.begin(), paths.end(), [](const Path& a, const Path& b) { return a.order < b.order; });
        for (const auto& p : paths) {
            if (p.from.kind == VertexKind::Real && p.to.kind == VertexKind::Real)
                graph_.connections.push_back({p.from.endpoint(), p.to.endpoint()});
            else
                summary.edges.push_back({p.from, p.to, -1});
        }
        collectOpenInputs(edges, names, prefix, summary);
        return summary;
    }

    /// Adds to `summary` the inputs of this body's instances that no connection of this body
    /// feeds, then the open inputs found inside each instance, resolving what they pass
    /// through the instance's outputs to.
    void collectOpenInputs(const std::vector<Edge>& edges, const BodyNames& names, const std::string& prefix, Summary& summary) {
        std::set<std::pair<int, std::string>> fed; // (child, input port) with a connection into it
        std::multimap<std::string, const Edge*> outgoing;
        for (const auto& e : edges) {
            if (e.order >= 0 && e.to.kind == VertexKind::ChildIn) fed.emplace(e.to.child, e.to.port);
            if (!e.from.terminal()) outgoing.emplace(e.from.key(), &e);
        }
        // Real endpoints (and this body's outputs) reachable from a virtual vertex.
        auto reach = [&](const Vertex& start, OpenInput& open) {
            std::set<std::string> visited{start.key()};
            std::vector<std::string> pending{start.key()};
            while (!pending.empty()) {
                std::string key = pending.back();
                pending.pop_back();
                auto [begin, end] = outgoing.equal_range(key);
                for (auto it = begin; it != end; ++it) {
                    const Vertex& to = it->second->to;
                    auto& consumers = open.record.consumers;
                    if (to.kind == VertexKind::Real) {
                        bool known = std::any_of(consumers.begin(), consumers.end(),
                                                 [&](const EndpointDesc& c) { return c.node == to.node && c.port == to.port; });
                        if (!known) consumers.push_back(to.endpoint());
                    } else if (to.kind == VertexKind::BodyOut) {
                        auto& through = open.throughOutputs;
                        if (std::find(through.begin(), through.end(), to.port) == through.end()) through.push_back(to.port);
                    } else if (visited.insert(to.key()).second) {
                        pending.push_back(to.key());
                    }
                }
            }
        };
        for (std::size_t c = 0; c < names.summaries.size(); ++c) {
            const Summary& child = names.summaries[c];
            const NodeDecl& decl = *names.childDecls[c];
            for (const auto& input : child.inputs) {
                if (fed.count({int(c), input})) continue;
                OpenInput open;
                open.record.instance = prefix + decl.name.text;
                open.record.input = input;
                open.record.mark = decl.name.mark;
                Vertex start;
                start.kind = VertexKind::ChildIn;
                start.child = int(c);
                start.port = input;
                reach(start, open);
                summary.openInputs.push_back(std::move(open));
            }
            for (const auto& inner : child.openInputs) {
                OpenInput open;
                open.record = inner.record;
                for (const auto& output : inner.throughOutputs) {
                    Vertex start;
                    start.kind = VertexKind::ChildOut;
                    start.child = int(c);
                    start.port = output;
                    reach(start, open);
                }
                summary.openInputs.push_back(std::move(open));
            }
        }
    }

    /// Expands `{use: target, p: v}`; nullopt if it failed (errors reported).
    std::optional<Summary> expandUse(const FileDoc& doc, const NodeDecl& node, const InstanceContext& instance,
                                     const Scope& scope) {
        const std::string& fullName = instance.path;
        instancePaths_.push_back(fullName);
        Substituted target;
        const auto swap = swaps_.find(fullName);
        if (swap != swaps_.end()) {
            swap->second.used = true;
            target.text = swap->second.file;
            target.mark = {"--swap", 0, 0};
        } else {
            target = substitute(node.target, scope, errors_);
        }
        if (!target.ok) return std::nullopt;
        const SourceMark& at = target.mark;

        const FileDoc* childDoc = nullptr;
        const Body* childBody = nullptr;
        std::string identity, label, owner;
        std::vector<std::string> templateNames;
        if (looksLikeFile(target.text)) {
            fs::path p(target.text);
            std::string joined = p.is_absolute() ? target.text : (fs::path(doc.baseDir) / p).string();
            std::error_code ec;
            fs::path canonical = fs::weakly_canonical(fs::absolute(joined, ec), ec);
            identity = ec ? joined : canonical.string();
            label = joined;
            owner = "graph " + quote(joined);
            if (options_.confineIncludes && !allowed(canonicalPath(joined))) {
                errors_.error(at, "included graph " + quote(joined) +
                                      " is outside the folders graphs are included from (the top-level graph's folder, "
                                      "the shipped graphs, and --include-dir folders)");
                return std::nullopt;
            }
            if (onStack(identity, at, label)) return std::nullopt;
            childDoc = docs_.find(identity);
            if (!childDoc) {
                std::string text, reason;
                switch (readGraphFile(joined, options_, text, reason)) {
                case ReadStatus::Ok:
                    graph_.files.push_back({joined, text});
                    break;
                case ReadStatus::Failed:
                    errors_.error(at, "cannot read included graph " + quote(joined) + ": " + reason);
                    return std::nullopt;
                case ReadStatus::TooBig:
                    errors_.error(at, fileTooBigMessage(joined, options_.limits));
                    return std::nullopt;
                }
                std::string base = fs::path(joined).parent_path().string();
                childDoc = &docs_.add(identity, joined, base, text, true);
            }
            if (childDoc->notGraph) {
                errors_.error(at,
                              "included file " + quote(joined) + " is not a stagegraph graph (no 'stagegraph: 1' at its top)");
                return std::nullopt;
            }
            if (!childDoc->usable) return std::nullopt; // its errors are reported in its file
            childBody = &childDoc->body;
        } else {
            const Template* t = doc.findTemplate(target.text);
            if (!t) {
                for (const auto& tt : doc.templates) templateNames.push_back(tt.name.text);
                errors_.error(at, "node " + quote(fullName) + ": unknown template " + quote(target.text) +
                                      suggestion(target.text, templateNames) + " (a file path needs a '/' or a .yaml ending)");
                return std::nullopt;
            }
            identity = doc.identity + "#" + target.text;
            label = "template " + quote(target.text);
            owner = label;
            if (onStack(identity, at, label)) return std::nullopt;
            childDoc = &doc;
            childBody = &t->body;
        }
        if (int(stack_.size()) > options_.limits.maxNestingDepth) {
            errors_.error(
                at, limitMessage("'use:' nested inside 'use:'", std::size_t(options_.limits.maxNestingDepth), "nesting-depth"));
            stopped_ = true; // the instances around it would report it again, one level up each
            return std::nullopt;
        }

        // The instance's parameter scope: supplied values (substituted here), else defaults.
        Scope childScope;
        childScope.owner = owner;
        bool ok = true;
        std::vector<std::string> declared;
        for (const auto& p : childBody->params) declared.push_back(p.name.text);
        for (const auto& [key, value] : node.params) {
            if (std::find(declared.begin(), declared.end(), key.text) == declared.end()) {
                errors_.error(key.mark, owner + " has no parameter " + quote(key.text) + suggestion(key.text, declared) +
                                            "; its parameters: " + joinNames(declared));
                ok = false;
                continue;
            }
            Substituted v = substitute(value, scope, errors_);
            if (!v.ok) {
                ok = false;
                continue;
            }
            childScope.values[key.text] = {true, {v.text, v.mark, v.quoted}};
            if (const std::string ref = wholeReference(value); !ref.empty())
                if (auto it = scope.paths.find(ref); it != scope.paths.end()) childScope.paths[key.text] = it->second;
        }
        for (const auto& p : childBody->params) childScope.paths[p.name.text].push_back(fullName + "." + p.name.text);
        for (const auto& p : childBody->params) {
            if (childScope.values.count(p.name.text)) continue;
            if (p.hasDefault) {
                childScope.values[p.name.text] = {true, p.defaultValue};
            } else {
                errors_.error(at, owner + " parameter " + quote(p.name.text) + " not supplied");
                ok = false;
            }
        }
        if (!ok) return std::nullopt;

        stack_.push_back({identity, label});
        Summary s = expandBody(*childDoc, *childBody, instance, childScope, false);
        stack_.pop_back();
        return s;
    }

    bool allowed(const fs::path& path) const {
        return std::any_of(allowedRoots_.begin(), allowedRoots_.end(),
                           [&](const fs::path& root) { return isInside(path, root); });
    }

    bool onStack(const std::string& identity, const SourceMark& at, const std::string& label) {
        auto it = std::find_if(stack_.begin(), stack_.end(), [&](const StackEntry& e) { return e.identity == identity; });
        if (it == stack_.end()) return false;
        std::string chain;
        for (; it != stack_.end(); ++it) chain += it->label + " -> ";
        errors_.error(at, "'use:' cycle: " + chain + label);
        return true;
    }

    /// Splits `a -> b.port -> c` into elements with their marks.
    bool parseConnection(const Scalar& line, const Scope& scope, std::vector<Element>& elements) {
        Substituted s = substitute(line, scope, errors_);
        if (!s.ok) return false;
        const std::string& t = s.text;
        bool ok = true;
        std::size_t begin = 0;
        while (true) {
            std::size_t arrow = t.find("->", begin);
            std::size_t end = arrow == std::string::npos ? t.size() : arrow;
            std::size_t a = begin, b = end;
            while (a < b && std::isspace(static_cast<unsigned char>(t[a]))) ++a;
            while (b > a && std::isspace(static_cast<unsigned char>(t[b - 1]))) --b;
            std::string piece = t.substr(a, b - a);
            if (piece.empty()) {
                errors_.error(s.markAt(line, std::min(end, t.size() ? t.size() - 1 : 0)),
                              "connection " + quote(t) + ": missing name (connections look like 'a -> b.port -> c')");
                ok = false;
            } else {
                Element e;
                e.mark = s.markAt(line, a);
                std::size_t dot = piece.find('.');
                e.name = piece.substr(0, dot);
                if (dot != std::string::npos) {
                    e.port = piece.substr(dot + 1);
                    e.hasPort = true;
                }
                if (!isName(e.name)) {
                    errors_.error(e.mark, "connection " + quote(t) + ": " + quote(piece) +
                                              " is not a name or name.port (connections look like 'a -> b.port -> c')");
                    ok = false;
                } else if (e.hasPort && e.port.empty()) {
                    errors_.error(e.mark, "connection " + quote(t) + ": missing port name after " + quote(e.name + "."));
                    ok = false;
                } else {
                    elements.push_back(std::move(e));
                }
            }
            if (arrow == std::string::npos) break;
            begin = arrow + 2;
        }
        if (ok && elements.size() < 2) {
            errors_.error(s.markAt(line, 0), "connection " + quote(t) + " needs at least two names: 'a -> b'");
            ok = false;
        }
        return ok;
    }

    /// The vertex an element names, as a source (`asSource`) or destination.
    std::optional<Vertex> resolve(const Element& e, bool asSource, const Body& body, const BodyNames& names,
                                  const std::string& prefix, bool top) {
        const std::string role = asSource ? "source" : "destination";
        auto isPort = [&](const std::vector<PortDecl>& ports) {
            return std::any_of(ports.begin(), ports.end(), [&](const PortDecl& p) { return p.name.text == e.name; });
        };
        bool isInput = isPort(body.inputs), isOutput = isPort(body.outputs);
        if ((asSource && isInput) || (!asSource && isOutput)) {
            const char* kind = isInput && asSource ? "input" : "output";
            if (e.hasPort) {
                errors_.error(e.mark, std::string(kind) + " " + quote(e.name) + " has no ports; write just " + quote(e.name));
                return std::nullopt;
            }
            Vertex v;
            v.kind = top ? VertexKind::Real : (asSource ? VertexKind::BodyIn : VertexKind::BodyOut);
            v.node = top ? e.name : "";
            v.port = top ? "" : e.name;
            v.mark = e.mark;
            return v;
        }
        if (isInput || isOutput) {
            errors_.error(e.mark, isInput ? "input " + quote(e.name) + " can only be a source (left of '->')"
                                          : "output " + quote(e.name) + " can only be a destination (right of '->')");
            return std::nullopt;
        }
        if (auto it = names.real.find(e.name); it != names.real.end()) {
            if (e.hasPort && !isName(e.port)) {
                errors_.error(e.mark, "node " + quote(it->second) + ": invalid port name " + quote(e.port));
                return std::nullopt;
            }
            Vertex v;
            v.kind = VertexKind::Real;
            v.node = it->second;
            v.port = e.port;
            v.mark = e.mark;
            return v;
        }
        if (auto it = names.children.find(e.name); it != names.children.end()) {
            const Summary& child = names.summaries[std::size_t(it->second)];
            const auto& ports = asSource ? child.outputs : child.inputs;
            const std::string side = asSource ? "output" : "input";
            if (e.hasPort && e.port.find('.') != std::string::npos) {
                errors_.error(e.mark, "cannot connect inside instance " + quote(prefix + e.name) + " of " + child.owner +
                                          ": use its " + side + " ports (" + joinNames(ports) + ")");
                return std::nullopt;
            }
            std::string port = e.port;
            if (!e.hasPort) {
                if (ports.empty()) {
                    errors_.error(e.mark, quote(prefix + e.name) + " (" + child.owner + ") has no " + side +
                                              "s, so it cannot be a " + role);
                    return std::nullopt;
                }
                port = ports.front();
            } else if (std::find(ports.begin(), ports.end(), port) == ports.end()) {
                errors_.error(e.mark, quote(prefix + e.name) + " (" + child.owner + ") has no " + side + " port " + quote(port) +
                                          suggestion(port, ports) + "; its " + side + "s: " + joinNames(ports));
                return std::nullopt;
            }
            Vertex v;
            v.kind = asSource ? VertexKind::ChildOut : VertexKind::ChildIn;
            v.child = it->second;
            v.port = port;
            v.mark = e.mark;
            return v;
        }
        if (names.broken.count(e.name)) return std::nullopt; // already reported
        std::vector<std::string> known;
        for (const auto& [n, full] : names.real) known.push_back(n);
        for (const auto& [n, c] : names.children) known.push_back(n);
        for (const auto& p : asSource ? body.inputs : body.outputs) known.push_back(p.name.text);
        errors_.error(e.mark, "unknown name " + quote(e.name) + " in connection" + suggestion(e.name, known));
        return std::nullopt;
    }
};

} // namespace

bool expandGraph(const FileDoc& top, Documents& docs, GraphDesc& graph, ErrorSink& errors, const LoadOptions& options) {
    Expander expander(graph, docs, errors, options);
    expander.expandTop(top);
    return !expander.stopped();
}

} // namespace sg::loader
