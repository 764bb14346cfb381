// The graph compiler. See core/Compiler.h for the pass list and docs/architecture.md for why.
#include "core/Compiler.h"

#include "core/Executor.h"
#include "core/ExecutorPlan.h"

#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/strong_components.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <queue>
#include <set>
#include <sstream>

namespace sg {

Program::Program() = default;
Program::~Program() = default;

/// The compiler's access to Program's private parts.
struct ProgramAccess {
    static std::unique_ptr<Program> make() { return std::unique_ptr<Program>(new Program()); }
    static Schedule& schedule(Program& p) { return p.schedule_; }
    static std::unique_ptr<Executor>& executor(Program& p) { return p.executor_; }
};

namespace {

// ---- the compiler's own model ---------------------------------------------------------------

enum class VertexKind { Input, Node, Output };

struct Vertex {
    VertexKind kind = VertexKind::Node;
    int external = -1; // index into inputs/outputs for Input/Output
    std::string name;
    SourceMark mark;
    const NodeType* type = nullptr;
    ParamValues params;
    double order = 0; // declaration order key (ties in topological order)
    bool inserted = false;
    bool valid = true;     // resolved without error
    bool poisoned = false; // a connection into it failed: no follow-on errors
    std::vector<int> inputChannels, outputChannels;
    int latency = 0;
    int arrival = 0; // latency of this vertex's output signal
    int level = 0;
    int inputPorts() const {
        return kind == VertexKind::Output ? 1 : kind == VertexKind::Input ? 0 : int(type->info().inputs.size());
    }
    int outputPorts() const {
        return kind == VertexKind::Input ? 1 : kind == VertexKind::Output ? 0 : int(type->info().outputs.size());
    }
};

struct Edge {
    int from = 0, fromPort = 0, to = 0, toPort = 0;
    SourceMark mark;
    int channels = 0;
};

struct Model {
    std::vector<Vertex> vertices;
    std::vector<Edge> edges;
    std::vector<int> inputVertex, outputVertex; // external index -> vertex
};

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string listNames(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out.empty() ? "none" : out;
}

// ---- pass 1: resolve types, parameters, ports ----------------------------------------------

bool parseParam(const NodeType& type, int index, const ValueDesc& value, const std::string& nodeName, ParamValues& params,
                Diagnostics& diags) {
    const ParamInfo& info = type.info().params[std::size_t(index)];
    ParsedQuantity q = parseQuantity(value.text, info.unit);
    if (!q.value) {
        diags.error(value.mark, "node " + quote(nodeName) + ": " + info.id + ": " + q.error);
        return false;
    }
    double v = *q.value;
    if (!info.choices.empty()) {
        bool ok = std::any_of(info.choices.begin(), info.choices.end(), [&](double c) { return std::fabs(c - v) < 1e-9; });
        if (!ok) {
            std::vector<std::string> names;
            for (double c : info.choices) names.push_back(formatQuantity(c, info.unit));
            diags.error(value.mark, "node " + quote(nodeName) + ": " + info.id + ": " + formatQuantity(v, info.unit) +
                                        " is not one of the accepted values (" + listNames(names) + ")");
            return false;
        }
    } else if (v < info.minValue || v > info.maxValue) {
        diags.error(value.mark, "node " + quote(nodeName) + ": " + info.id + ": " + formatQuantity(v, info.unit) +
                                    " is out of range (" + formatQuantity(info.minValue, info.unit) + " to " +
                                    formatQuantity(info.maxValue, info.unit) + ", " + unitKindDescription(info.unit) + ")");
        return false;
    }
    params[std::size_t(index)] = v;
    return true;
}

void resolveNodes(const GraphDesc& graph, const Registry& registry, Model& model, Diagnostics& diags) {
    // An input and an output may share a name: direction tells them apart.
    std::map<std::string, int> sources, destinations;
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        Vertex v;
        v.kind = VertexKind::Input;
        v.external = int(i);
        v.name = graph.inputs[i].name;
        v.mark = graph.inputs[i].mark;
        v.outputChannels = {graph.inputs[i].channels};
        v.order = -1e9 + double(i);
        model.inputVertex.push_back(int(model.vertices.size()));
        sources[v.name] = int(model.vertices.size());
        model.vertices.push_back(std::move(v));
    }
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const NodeDesc& nd = graph.nodes[i];
        Vertex v;
        v.name = nd.name;
        v.mark = nd.mark;
        v.order = double(i);
        v.type = registry.find(nd.type);
        if (!v.type) {
            std::string hint = registry.closest(nd.type);
            diags.error(nd.typeMark.line ? nd.typeMark : nd.mark,
                        "node " + quote(nd.name) + ": unknown node type " + quote(nd.type) +
                            (hint.empty() ? " (see 'stagegraph nodes')" : " (did you mean " + quote(hint) + "?)"));
            v.valid = false;
        } else {
            v.params = v.type->defaults();
            bool ok = true;
            std::set<std::string> seen;
            for (const ParamDesc& p : nd.params) {
                int index = v.type->paramIndex(p.key);
                if (index < 0) {
                    std::vector<std::string> ids;
                    std::string hint;
                    int best = 3;
                    for (const auto& info : v.type->info().params) {
                        ids.push_back(info.id);
                        int d = editDistance(p.key, info.id);
                        if (d < best) {
                            best = d;
                            hint = info.id;
                        }
                    }
                    diags.error(p.keyMark, "node " + quote(nd.name) + ": unknown parameter " + quote(p.key) + " for type " +
                                               quote(nd.type) + (hint.empty() ? "" : " (did you mean " + quote(hint) + "?)") +
                                               "; parameters: " + listNames(ids));
                    ok = false;
                    continue;
                }
                if (!seen.insert(p.key).second) {
                    diags.error(p.keyMark, "node " + quote(nd.name) + ": parameter " + quote(p.key) + " given twice");
                    ok = false;
                    continue;
                }
                ok &= parseParam(*v.type, index, p.value, nd.name, v.params, diags);
            }
            if (ok) {
                std::string why = v.type->validate(v.params);
                if (!why.empty()) {
                    diags.error(nd.mark, "node " + quote(nd.name) + ": " + why);
                    ok = false;
                }
            }
            v.valid = ok;
        }
        if (sources.count(v.name) || destinations.count(v.name)) diags.error(nd.mark, "duplicate name " + quote(v.name));
        sources[v.name] = destinations[v.name] = int(model.vertices.size());
        model.vertices.push_back(std::move(v));
    }
    for (std::size_t i = 0; i < graph.outputs.size(); ++i) {
        Vertex v;
        v.kind = VertexKind::Output;
        v.external = int(i);
        v.name = graph.outputs[i].name;
        v.mark = graph.outputs[i].mark;
        v.inputChannels = {graph.outputs[i].channels};
        v.order = 1e9 + double(i);
        model.outputVertex.push_back(int(model.vertices.size()));
        destinations[v.name] = int(model.vertices.size());
        model.vertices.push_back(std::move(v));
    }

    // connections
    for (const ConnectionDesc& c : graph.connections) {
        auto fromIt = sources.find(c.from.node);
        auto toIt = destinations.find(c.to.node);
        bool ok = true;
        if (fromIt == sources.end()) {
            diags.error(c.from.mark, destinations.count(c.from.node)
                                         ? quote(c.from.node) + " is a graph output; it cannot feed a connection"
                                         : "unknown node or input " + quote(c.from.node));
            ok = false;
        }
        if (toIt == destinations.end()) {
            diags.error(c.to.mark, sources.count(c.to.node)
                                       ? quote(c.to.node) + " is a graph input; it cannot receive a connection"
                                       : "unknown node or output " + quote(c.to.node));
            ok = false;
        }
        if (!ok) {
            if (toIt != destinations.end()) model.vertices[std::size_t(toIt->second)].poisoned = true;
            continue;
        }
        Edge e;
        e.from = fromIt->second;
        e.to = toIt->second;
        e.mark = c.to.mark;
        const Vertex& src = model.vertices[std::size_t(e.from)];
        Vertex& dst = model.vertices[std::size_t(e.to)];
        const bool dstPoisonedBefore = dst.poisoned;
        dst.poisoned = true; // restored below once the connection resolves
        if (src.kind == VertexKind::Output) {
            diags.error(c.from.mark, quote(src.name) + " is a graph output; it cannot feed a connection");
            continue;
        }
        if (dst.kind == VertexKind::Input) {
            diags.error(c.to.mark, quote(dst.name) + " is a graph input; it cannot receive a connection");
            continue;
        }
        if (src.kind == VertexKind::Input) {
            if (!c.from.port.empty()) {
                diags.error(c.from.mark, "graph input " + quote(src.name) + " has no ports");
                continue;
            }
            e.fromPort = 0;
        } else if (src.type) {
            const auto& outs = src.type->info().outputs;
            if (c.from.port.empty()) {
                if (outs.empty()) {
                    diags.error(c.from.mark, "node " + quote(src.name) + " has no output");
                    continue;
                }
                e.fromPort = 0;
            } else {
                e.fromPort = src.type->outputIndex(c.from.port);
                if (e.fromPort < 0) {
                    std::vector<std::string> names;
                    for (const auto& p : outs) names.push_back(p.name);
                    diags.error(c.from.mark, "node " + quote(src.name) + " (" + src.type->info().name + ") has no output port " +
                                                 quote(c.from.port) + "; outputs: " + listNames(names));
                    continue;
                }
            }
        } else {
            e.fromPort = 0; // unknown type, already reported: keep the edge so errors do not cascade
        }
        if (dst.kind == VertexKind::Output) {
            if (!c.to.port.empty()) {
                diags.error(c.to.mark, "graph output " + quote(dst.name) + " has no ports");
                continue;
            }
            e.toPort = 0;
        } else if (dst.type) {
            const auto& ins = dst.type->info().inputs;
            if (c.to.port.empty()) {
                if (ins.empty()) {
                    diags.error(c.to.mark, "node " + quote(dst.name) + " has no input");
                    continue;
                }
                e.toPort = 0;
            } else {
                e.toPort = dst.type->inputIndex(c.to.port);
                if (e.toPort < 0) {
                    std::vector<std::string> names;
                    for (const auto& p : ins) names.push_back(p.name);
                    diags.error(c.to.mark, "node " + quote(dst.name) + " (" + dst.type->info().name + ") has no input port " +
                                               quote(c.to.port) + "; inputs: " + listNames(names));
                    continue;
                }
            }
        } else {
            e.toPort = 0;
        }
        dst.poisoned = dstPoisonedBefore;
        model.edges.push_back(e);
    }
}

// ---- pass 2: cycles (Boost.Graph strong components) -------------------------------------------

using BoostGraph = boost::adjacency_list<boost::vecS, boost::vecS, boost::bidirectionalS>;

BoostGraph toBoost(const Model& model) {
    BoostGraph g(model.vertices.size());
    for (const Edge& e : model.edges) boost::add_edge(std::size_t(e.from), std::size_t(e.to), g);
    return g;
}

bool detectCycles(const Model& model, Diagnostics& diags) {
    BoostGraph g = toBoost(model);
    std::vector<int> component(model.vertices.size());
    int count =
        boost::strong_components(g, boost::make_iterator_property_map(component.begin(), boost::get(boost::vertex_index, g)));
    std::vector<std::vector<int>> members(static_cast<std::size_t>(count));
    for (std::size_t v = 0; v < component.size(); ++v) members[std::size_t(component[v])].push_back(int(v));
    bool found = false;
    for (auto& scc : members) {
        bool selfLoop = scc.size() == 1 && std::any_of(model.edges.begin(), model.edges.end(),
                                                       [&](const Edge& e) { return e.from == scc[0] && e.to == scc[0]; });
        if (scc.size() < 2 && !selfLoop) continue;
        found = true;
        // Name one cycle: start at the first-declared member, walk to successors inside the
        // component (breadth-first back to the start).
        std::sort(scc.begin(), scc.end(),
                  [&](int a, int b) { return model.vertices[std::size_t(a)].order < model.vertices[std::size_t(b)].order; });
        std::set<int> inScc(scc.begin(), scc.end());
        int start = scc.front();
        std::map<int, int> parent;
        std::queue<int> q;
        q.push(start);
        int last = -1;
        while (!q.empty() && last < 0) {
            int v = q.front();
            q.pop();
            for (const Edge& e : model.edges) {
                if (e.from != v || !inScc.count(e.to)) continue;
                if (e.to == start) {
                    last = v;
                    break;
                }
                if (!parent.count(e.to)) {
                    parent[e.to] = v;
                    q.push(e.to);
                }
            }
        }
        std::vector<int> path;
        for (int v = last; v != start && v >= 0; v = parent[v]) path.push_back(v);
        path.push_back(start);
        std::reverse(path.begin(), path.end());
        std::string text;
        for (int v : path) text += model.vertices[std::size_t(v)].name + " -> ";
        text += model.vertices[std::size_t(start)].name;
        diags.error(model.vertices[std::size_t(start)].mark, "cycle: " + text + " (a graph must not feed back into itself)");
    }
    return found;
}

// ---- pass 3: deterministic topological order (Kahn, ties by declaration order) ---------------

std::vector<int> topologicalOrder(const Model& model) {
    std::vector<int> indegree(model.vertices.size(), 0);
    std::vector<std::vector<int>> successors(model.vertices.size());
    for (const Edge& e : model.edges) {
        ++indegree[std::size_t(e.to)];
        successors[std::size_t(e.from)].push_back(e.to);
    }
    auto later = [&](int a, int b) { return model.vertices[std::size_t(a)].order > model.vertices[std::size_t(b)].order; };
    std::priority_queue<int, std::vector<int>, decltype(later)> ready(later);
    for (std::size_t v = 0; v < model.vertices.size(); ++v)
        if (indegree[v] == 0) ready.push(int(v));
    std::vector<int> order;
    while (!ready.empty()) {
        int v = ready.top();
        ready.pop();
        order.push_back(v);
        for (int s : successors[std::size_t(v)])
            if (--indegree[std::size_t(s)] == 0) ready.push(s);
    }
    return order;
}

// ---- pass 4: channel propagation ----------------------------------------------------------------

void propagateChannels(Model& model, const std::vector<int>& order, Diagnostics& diags) {
    for (int vi : order) {
        Vertex& v = model.vertices[std::size_t(vi)];
        if (v.kind == VertexKind::Input) continue;
        if (v.kind == VertexKind::Node && !v.type) continue;
        const int ports = v.inputPorts();
        std::vector<int> channels(std::size_t(ports), 0);
        bool ok = true;
        for (Edge& e : model.edges) {
            if (e.to != vi) continue;
            const Vertex& src = model.vertices[std::size_t(e.from)];
            if (std::size_t(e.fromPort) >= src.outputChannels.size()) {
                v.poisoned = true;
                continue;
            } // source failed, reported
            e.channels = src.outputChannels[std::size_t(e.fromPort)];
            int& have = channels[std::size_t(e.toPort)];
            std::string portName = v.kind == VertexKind::Output ? "" : v.type->info().inputs[std::size_t(e.toPort)].name;
            if (have != 0 && have != e.channels) {
                diags.error(e.mark, "channel mismatch: " + quote(src.name) + " sends " + std::to_string(e.channels) +
                                        " channels into " + quote(v.name + (portName.empty() ? "" : "." + portName)) +
                                        ", which already receives " + std::to_string(have) + " from another connection");
                ok = false;
                continue;
            }
            have = e.channels;
            if (v.kind == VertexKind::Output && e.channels != v.inputChannels[0]) {
                diags.error(e.mark, "channel mismatch: output " + quote(v.name) + " is declared with " +
                                        std::to_string(v.inputChannels[0]) + " channels, but " + quote(src.name) + " sends " +
                                        std::to_string(e.channels));
                ok = false;
            }
        }
        if (v.kind == VertexKind::Output) {
            if (channels[0] == 0 && !v.poisoned) diags.error(v.mark, "output " + quote(v.name) + " is not connected");
            continue;
        }
        if (!v.valid || !ok || v.poisoned) {
            v.valid = false;
            continue;
        }
        const auto& inputs = v.type->info().inputs;
        for (std::size_t p = 0; p < inputs.size(); ++p) {
            if (channels[p] == 0 && inputs[p].required) {
                diags.error(v.mark, "node " + quote(v.name) + ": required input " + quote(inputs[p].name) + " is not connected");
                ok = false;
            }
        }
        if (!ok) {
            v.valid = false;
            continue;
        }
        std::vector<int> out;
        std::string why = v.type->resolveChannels(v.params, channels, out);
        if (!why.empty()) {
            diags.error(v.mark, "node " + quote(v.name) + " (" + v.type->info().name + "): channel mismatch: " + why);
            v.valid = false;
            continue;
        }
        v.inputChannels = channels;
        v.outputChannels = out;
    }
}

// ---- pass 5: latency compensation -----------------------------------------------------------------

int insertDelay(Model& model, const Registry& registry, int edgeIndex, int frames, Diagnostics& diags) {
    const NodeType* delayType = registry.compensationDelay();
    int samplesParam = delayType ? delayType->paramIndex(delayType->info().compensationParam) : -1;
    if (!delayType || samplesParam < 0) {
        diags.error(model.vertices[std::size_t(model.edges[std::size_t(edgeIndex)].to)].mark,
                    "internal: latency compensation needs a node type that declares a compensation parameter");
        return -1;
    }
    Edge e = model.edges[std::size_t(edgeIndex)];
    const Vertex& src = model.vertices[std::size_t(e.from)];
    const Vertex& dst = model.vertices[std::size_t(e.to)];
    Vertex d;
    d.name = src.name + "~" + dst.name + ".delay";
    d.mark = e.mark;
    d.type = delayType;
    d.params = delayType->defaults();
    d.params[std::size_t(samplesParam)] = frames;
    d.order = dst.order - 0.5;
    d.inserted = true;
    d.inputChannels = {e.channels};
    d.outputChannels = {e.channels};
    d.arrival = src.arrival + frames;
    int di = int(model.vertices.size());
    model.vertices.push_back(std::move(d));
    Edge toDelay = e;
    toDelay.to = di;
    toDelay.toPort = 0;
    Edge fromDelay = e;
    fromDelay.from = di;
    fromDelay.fromPort = 0;
    model.edges[std::size_t(edgeIndex)] = toDelay;
    model.edges.push_back(fromDelay);
    return di;
}

int compensateLatency(Model& model, const Registry& registry, const std::vector<int>& order, double sampleRate, int minLatency,
                      Diagnostics& diags) {
    // Arrival of every vertex's output in topological order; delays on the early edges.
    std::map<std::tuple<int, int, int>, int> sharedDelays; // (source, port, frames) -> delay vertex
    auto alignInto = [&](int vi, int target) {
        for (std::size_t ei = 0; ei < model.edges.size(); ++ei) {
            Edge& e = model.edges[ei];
            if (e.to != vi) continue;
            int arrival = model.vertices[std::size_t(e.from)].arrival;
            if (arrival >= target) continue;
            int frames = target - arrival;
            auto key = std::make_tuple(e.from, e.fromPort, frames);
            auto it = sharedDelays.find(key);
            if (it != sharedDelays.end()) { // one delay line serves every edge needing the same shift
                e.from = it->second;
                e.fromPort = 0;
                continue;
            }
            int di = insertDelay(model, registry, int(ei), frames, diags);
            if (di >= 0) sharedDelays[key] = di;
        }
    };
    for (int vi : order) {
        Vertex& v = model.vertices[std::size_t(vi)];
        if (v.kind == VertexKind::Input) {
            v.arrival = 0;
            continue;
        }
        if (v.kind == VertexKind::Output) continue;
        int maxIn = 0;
        for (const Edge& e : model.edges)
            if (e.to == vi) maxIn = std::max(maxIn, model.vertices[std::size_t(e.from)].arrival);
        alignInto(vi, maxIn);
        Vertex& again = model.vertices[std::size_t(vi)]; // vertices may have grown
        again.latency = again.valid ? again.type->latencyFrames(again.params, sampleRate) : 0;
        again.arrival = maxIn + again.latency;
    }
    int total = std::max(0, minLatency);
    for (int vi : model.outputVertex)
        for (const Edge& e : model.edges)
            if (e.to == vi) total = std::max(total, model.vertices[std::size_t(e.from)].arrival);
    for (int vi : model.outputVertex) {
        alignInto(vi, total);
        model.vertices[std::size_t(vi)].arrival = total;
    }
    return total;
}

// ---- pass 6: levels and lane batching ---------------------------------------------------------------

struct Step {
    std::vector<int> members; // vertices, lane order (a fused chain by its head)
    std::string key;
};

// ---- chain fusion (with batching) ------------------------------------------------------------------
//
// A maximal series v1 -> v2 -> ... -> vk of biquad-family nodes (batch key "biquad<sections>"),
// where each vi's one connection goes from its port 0 to port 0 of v(i+1), which has no other
// input, with equal channel counts and zero latency, runs as ONE instance of the biquad kernel
// whose sections are the nodes' sections in order (InstanceSetup::stages); its key becomes
// "biquad<total sections>". The kernel rounds a lane's value to float after the last section of
// each stage, as the separate nodes' float buffers did, so fused and unfused renders are
// bit-identical. CompileOptions::fuse turns it on; it needs batching too (--no-batch = one step
// per node).

/// Fusion units of a fusable vertex, or 0.
int biquadSections(const Vertex& v) {
    if (v.kind != VertexKind::Node || !v.valid || v.inserted || v.latency != 0 || !v.type->info().batchable) return 0;
    if (v.type->info().fusionFamily.empty()) return 0;
    return v.type->fusionUnits(v.params);
}

/// chains[v] = the vertices of the fused chain v heads (v first), empty if v heads none
/// (alone, or inside another chain: then absorbed[v]).
void fusedChains(const Model& model, const std::vector<int>& order, std::vector<std::vector<int>>& chains,
                 std::vector<bool>& absorbed) {
    chains.assign(model.vertices.size(), {});
    absorbed.assign(model.vertices.size(), false);
    auto next = [&](int vi) {
        const Vertex& v = model.vertices[std::size_t(vi)];
        if (biquadSections(v) == 0) return -1;
        const Edge* out = nullptr;
        for (const Edge& e : model.edges) {
            if (e.from != vi) continue;
            if (out) return -1;
            out = &e;
        }
        if (!out || out->fromPort != 0 || out->toPort != 0) return -1;
        const Vertex& w = model.vertices[std::size_t(out->to)];
        if (biquadSections(w) == 0) return -1;
        for (const Edge& e : model.edges)
            if (e.to == out->to && &e != out) return -1;
        if (v.outputChannels.empty() || w.inputChannels.empty() || w.outputChannels.empty() ||
            v.outputChannels[0] != w.inputChannels[0] || w.outputChannels[0] != w.inputChannels[0])
            return -1;
        return out->to;
    };
    for (int vi : order) { // predecessors first: a chain is met at its head
        if (absorbed[std::size_t(vi)]) continue;
        std::vector<int> chain{vi};
        for (int w = next(vi); w >= 0; w = next(w)) chain.push_back(w);
        if (chain.size() < 2) continue;
        for (std::size_t i = 1; i < chain.size(); ++i) absorbed[std::size_t(chain[i])] = true;
        chains[std::size_t(vi)] = std::move(chain);
    }
}

std::vector<Step> buildSteps(Model& model, const std::vector<int>& order, bool batch, const std::vector<std::vector<int>>& chains,
                             const std::vector<bool>& absorbed) {
    std::vector<int> position(model.vertices.size(), 0);
    for (std::size_t i = 0; i < order.size(); ++i) position[std::size_t(order[i])] = int(i);
    for (int vi : order) { // level = longest path from a source
        Vertex& v = model.vertices[std::size_t(vi)];
        v.level = 0;
        for (const Edge& e : model.edges)
            if (e.to == vi) v.level = std::max(v.level, model.vertices[std::size_t(e.from)].level + 1);
    }
    std::vector<Step> steps;
    std::map<std::pair<int, std::string>, std::size_t> groups;
    for (int vi : order) {
        const Vertex& v = model.vertices[std::size_t(vi)];
        if (v.kind != VertexKind::Node || absorbed[std::size_t(vi)]) continue;
        std::string key = v.type->batchKey(v.params);
        if (!chains[std::size_t(vi)].empty()) {
            int sections = 0;
            for (int c : chains[std::size_t(vi)]) sections += biquadSections(model.vertices[std::size_t(c)]);
            key = v.type->info().fusionFamily + std::to_string(sections);
        }
        if (batch && v.type->info().batchable) {
            // Same-level vertices never have a path between them, and steps run level by level,
            // so grouping by (level, key) cannot create a cycle.
            auto [it, inserted] = groups.try_emplace({v.level, key}, steps.size());
            if (!inserted) {
                steps[it->second].members.push_back(vi);
                continue;
            }
        }
        steps.push_back({{vi}, v.type->info().batchable ? key : v.type->info().name});
    }
    if (batch) {
        std::stable_sort(steps.begin(), steps.end(), [&](const Step& a, const Step& b) {
            const Vertex& va = model.vertices[std::size_t(a.members[0])];
            const Vertex& vb = model.vertices[std::size_t(b.members[0])];
            if (va.level != vb.level) return va.level < vb.level;
            return position[std::size_t(a.members[0])] < position[std::size_t(b.members[0])];
        });
    }
    return steps;
}

// ---- pass 7: buffers by liveness, kernels, executor plan ------------------------------------------

class SlotPool {
public:
    int acquire() {
        if (!free_.empty()) {
            int s = *free_.begin();
            free_.erase(free_.begin());
            return s;
        }
        return count_++;
    }
    void release(int slot) { free_.insert(slot); }
    int count() const { return count_; }

private:
    std::set<int> free_; // lowest first: deterministic
    int count_ = 0;
};

} // namespace

// ---- overrides -------------------------------------------------------------------------------------

void applyOverrides(GraphDesc& graph, const std::vector<std::string>& overrides, Diagnostics& diags, const std::string& origin) {
    for (const std::string& text : overrides) {
        SourceMark mark{origin, 0, 0};
        auto eq = text.find('=');
        auto dot = text.rfind('.', eq);
        if (eq == std::string::npos || dot == std::string::npos || dot == 0 || dot + 1 >= eq) {
            diags.error(mark, "expected node.param=VALUE, got " + quote(text));
            continue;
        }
        std::string node = text.substr(0, dot), param = text.substr(dot + 1, eq - dot - 1), value = text.substr(eq + 1);
        auto it = std::find_if(graph.nodes.begin(), graph.nodes.end(), [&](const NodeDesc& n) { return n.name == node; });
        if (it == graph.nodes.end()) {
            diags.error(mark, quote(text) + ": the graph has no node named " + quote(node));
            continue;
        }
        auto p = std::find_if(it->params.begin(), it->params.end(), [&](const ParamDesc& d) { return d.key == param; });
        ParamDesc desc{param, mark, {value, mark}};
        if (p != it->params.end())
            *p = desc;
        else
            it->params.push_back(desc);
    }
}

// ---- the whole compiler --------------------------------------------------------------------------

std::unique_ptr<Program> instantiateDesc(const GraphDesc& graph, const Registry& registry, const InstanceOptions& options,
                                         Diagnostics& diags) {
    SourceMark fileMark{graph.file, 0, 0};
    if (options.sampleRate < 1000 || options.sampleRate > 768000) {
        diags.error(fileMark, "sample rate " + std::to_string(options.sampleRate) + " Hz is outside 1 kHz .. 768 kHz");
        return nullptr;
    }
    if (options.maxBlockFrames < 1 || options.maxBlockFrames > 8192) {
        diags.error(fileMark, "block size " + std::to_string(options.maxBlockFrames) + " is outside 1 .. 8192 frames");
        return nullptr;
    }
    Model model;
    resolveNodes(graph, registry, model, diags);
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        if (graph.inputs[i].channels < 1)
            diags.error(graph.inputs[i].mark, "input " + quote(graph.inputs[i].name) + ": channels must be at least 1");
        bool used =
            std::any_of(model.edges.begin(), model.edges.end(), [&](const Edge& e) { return e.from == model.inputVertex[i]; });
        if (!used) diags.warning(graph.inputs[i].mark, "input " + quote(graph.inputs[i].name) + " is not connected to anything");
    }
    if (graph.outputs.empty()) diags.error(fileMark, "the graph has no outputs");
    if (detectCycles(model, diags)) return nullptr;
    std::vector<int> order = topologicalOrder(model);
    propagateChannels(model, order, diags);
    if (diags.hasErrors()) return nullptr;

    const int latency = compensateLatency(model, registry, order, options.sampleRate, options.minLatencyFrames, diags);
    if (diags.hasErrors()) return nullptr;
    order = topologicalOrder(model); // with the inserted delays
    std::vector<std::vector<int>> chains;
    std::vector<bool> absorbed;
    if (options.batch && options.fuse)
        fusedChains(model, order, chains, absorbed);
    else
        chains.assign(model.vertices.size(), {}), absorbed.assign(model.vertices.size(), false);
    std::vector<Step> steps = buildSteps(model, order, options.batch, chains, absorbed);
    // The vertex whose outputs a step member produces: a fused chain's last node.
    auto tailOf = [&](int vi) { return chains[std::size_t(vi)].empty() ? vi : chains[std::size_t(vi)].back(); };

    // Consumers of every (vertex, output port): which step reads it, and how.
    std::vector<int> stepOf(model.vertices.size(), -1);
    for (std::size_t s = 0; s < steps.size(); ++s)
        for (int v : steps[s].members) {
            stepOf[std::size_t(v)] = int(s);
            for (int c : chains[std::size_t(v)]) stepOf[std::size_t(c)] = int(s);
        }
    const int kOutputStep = int(steps.size()); // external outputs are read after the last step
    auto consumerStep = [&](int v) {
        return model.vertices[std::size_t(v)].kind == VertexKind::Output ? kOutputStep : stepOf[std::size_t(v)];
    };
    std::map<std::pair<int, int>, int> lastUse;       // (vertex, port) -> step
    std::map<std::pair<int, int>, int> consumerCount; // (vertex, port) -> edges reading it
    for (const Edge& e : model.edges) {
        auto key = std::make_pair(e.from, e.fromPort);
        lastUse[key] = std::max(lastUse.count(key) ? lastUse[key] : -1, consumerStep(e.to));
        ++consumerCount[key];
    }

    auto plan = std::make_unique<ExecutorPlan>();
    plan->sampleRate = options.sampleRate;
    plan->maxBlockFrames = options.maxBlockFrames;
    plan->latencyFrames = latency;
    for (const auto& in : graph.inputs) plan->inputs.push_back({in.name, in.channels});
    for (const auto& out : graph.outputs) plan->outputs.push_back({out.name, out.channels});

    SlotPool pool;
    std::map<std::pair<int, int>, std::vector<int>> valueSlots; // (vertex, port) -> channel slots
    auto releaseValue = [&](std::pair<int, int> key) {
        for (int s : valueSlots[key]) pool.release(s);
    };
    // Symbolic slot numbers first; pointers after the pool size is known.
    struct SymbolicSum {
        int destination;
        std::vector<int> sources;
    };
    struct SymbolicCall {
        std::vector<SymbolicSum> sums;
        std::vector<std::vector<int>> inputLanes, outputLanes; // slot or -1 = silence
    };
    std::vector<SymbolicCall> symbolic(steps.size());
    std::vector<std::vector<int>> inputSlotIds(graph.inputs.size());

    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        auto key = std::make_pair(model.inputVertex[i], 0);
        for (int c = 0; c < graph.inputs[i].channels; ++c) inputSlotIds[i].push_back(pool.acquire());
        valueSlots[key] = inputSlotIds[i];
        if (!lastUse.count(key)) releaseValue(key);
    }

    for (std::size_t s = 0; s < steps.size(); ++s) {
        const Step& step = steps[s];
        SymbolicCall& call = symbolic[s];
        const Vertex& first = model.vertices[std::size_t(step.members[0])];
        const int inPorts = first.inputPorts(), outPorts = first.outputPorts();
        call.inputLanes.resize(std::size_t(inPorts));
        call.outputLanes.resize(std::size_t(outPorts));
        std::vector<int> sumSlots; // released after the step
        for (int vi : step.members) {
            const Vertex& v = model.vertices[std::size_t(vi)];
            for (int p = 0; p < inPorts; ++p) {
                std::vector<const Edge*> feeding;
                for (const Edge& e : model.edges)
                    if (e.to == vi && e.toPort == p) feeding.push_back(&e);
                const int channels = v.inputChannels[std::size_t(p)];
                if (feeding.empty()) {
                    for (int c = 0; c < channels; ++c) call.inputLanes[std::size_t(p)].push_back(-1);
                } else if (feeding.size() == 1) {
                    const auto& slots = valueSlots[{feeding[0]->from, feeding[0]->fromPort}];
                    for (int c = 0; c < channels; ++c) call.inputLanes[std::size_t(p)].push_back(slots[std::size_t(c)]);
                } else {
                    for (int c = 0; c < channels; ++c) {
                        SymbolicSum sum{pool.acquire(), {}};
                        for (const Edge* e : feeding) sum.sources.push_back(valueSlots[{e->from, e->fromPort}][std::size_t(c)]);
                        call.inputLanes[std::size_t(p)].push_back(sum.destination);
                        sumSlots.push_back(sum.destination);
                        call.sums.push_back(std::move(sum));
                    }
                }
            }
        }
        for (int head : step.members) {
            const int vi = tailOf(head);
            const Vertex& v = model.vertices[std::size_t(vi)];
            for (int p = 0; p < outPorts; ++p) {
                auto key = std::make_pair(vi, p);
                const int channels = v.outputChannels[std::size_t(p)];
                std::vector<int> slots;
                // In place: port 0 output over port 0 input when that input is read by this node alone.
                if (p == 0 && v.type->info().inPlace && inPorts > 0) {
                    std::vector<const Edge*> feeding;
                    for (const Edge& e : model.edges)
                        if (e.to == head && e.toPort == 0) feeding.push_back(&e);
                    if (feeding.size() == 1) {
                        auto src = std::make_pair(feeding[0]->from, feeding[0]->fromPort);
                        if (consumerCount[src] == 1 &&
                            valueSlots[src].size() == std::size_t(channels)) { // input slots are refilled every block
                            slots = valueSlots[src];
                            valueSlots[src].clear(); // ownership moves to the output
                        }
                    }
                }
                if (slots.empty())
                    for (int c = 0; c < channels; ++c) slots.push_back(pool.acquire());
                for (int c = 0; c < channels; ++c) call.outputLanes[std::size_t(p)].push_back(slots[std::size_t(c)]);
                valueSlots[key] = slots;
            }
        }
        // Release what this step was the last to read, sums, and outputs nobody reads.
        for (auto& [key, use] : lastUse)
            if (use == int(s)) releaseValue(key);
        for (int slot : sumSlots) pool.release(slot);
        for (int head : step.members)
            for (int p = 0; p < outPorts; ++p)
                if (!lastUse.count({tailOf(head), p})) releaseValue({tailOf(head), p});
    }

    // Allocate the slots and turn symbols into pointers.
    plan->slots.resize(std::size_t(pool.count()));
    for (auto& slot : plan->slots) slot.resize(1, options.maxBlockFrames);
    plan->silence.resize(1, options.maxBlockFrames);
    auto slotPtr = [&](int slot) -> float* {
        return slot < 0 ? plan->silence.channel(0) : plan->slots[std::size_t(slot)].channel(0);
    };
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        plan->inputSlots.emplace_back();
        for (int slot : inputSlotIds[i]) plan->inputSlots.back().push_back(slotPtr(slot));
    }
    plan->outputSources.resize(graph.outputs.size());
    for (std::size_t o = 0; o < graph.outputs.size(); ++o) {
        int vi = model.outputVertex[o];
        plan->outputSources[o].resize(std::size_t(graph.outputs[o].channels));
        for (const Edge& e : model.edges) {
            if (e.to != vi) continue;
            const auto& slots = valueSlots[{e.from, e.fromPort}];
            for (int c = 0; c < graph.outputs[o].channels; ++c)
                plan->outputSources[o][std::size_t(c)].sources.push_back(slotPtr(slots[std::size_t(c)]));
        }
    }

    PrepareSpec spec{options.sampleRate, options.maxBlockFrames, options.simd};
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const Step& step = steps[s];
        const Vertex& first = model.vertices[std::size_t(step.members[0])];
        KernelCall call;
        call.kernel = first.type->createKernel();
        for (const auto& sum : symbolic[s].sums) {
            SumOp op;
            op.destination = slotPtr(sum.destination);
            for (int src : sum.sources) op.sources.push_back(slotPtr(src));
            call.sums.push_back(std::move(op));
        }
        for (const auto& lanes : symbolic[s].inputLanes) {
            call.inputLanes.emplace_back();
            for (int slot : lanes) call.inputLanes.back().push_back(slotPtr(slot));
        }
        for (const auto& lanes : symbolic[s].outputLanes) {
            call.outputLanes.emplace_back();
            for (int slot : lanes) call.outputLanes.back().push_back(slotPtr(slot));
        }
        for (auto& lanes : call.inputLanes) call.inputPorts.push_back(lanes.data());
        for (auto& lanes : call.outputLanes) call.outputPorts.push_back(lanes.data());
        std::vector<InstanceSetup> instances;
        for (std::size_t m = 0; m < step.members.size(); ++m) {
            const Vertex& v = model.vertices[std::size_t(step.members[m])];
            const std::vector<int>& chain = chains[std::size_t(step.members[m])];
            if (chain.empty()) {
                instances.push_back({v.params, v.inputChannels, v.outputChannels, v.type->info().name});
            } else { // a fused chain: its nodes as stages, parameter indices by offset
                InstanceSetup setup{
                    {}, v.inputChannels, model.vertices[std::size_t(chain.back())].outputChannels, v.type->info().name};
                for (int c : chain) {
                    const Vertex& cv = model.vertices[std::size_t(c)];
                    setup.stages.push_back({cv.type->info().name, cv.params});
                    setup.params.insert(setup.params.end(), cv.params.begin(), cv.params.end());
                }
                instances.push_back(std::move(setup));
            }
            call.instanceNames.push_back(v.name);
            call.instanceTypes.push_back(v.type->info().name);
            int offset = 0;
            for (int c : chain.empty() ? std::vector<int>{step.members[m]} : chain) {
                const Vertex& cv = model.vertices[std::size_t(c)];
                const auto& params = cv.type->info().params;
                if (!cv.inserted)
                    for (std::size_t p = 0; p < params.size(); ++p)
                        plan->params.push_back(
                            {cv.name, params[p].id, int(s), int(m), offset + int(p), params[p].minValue, params[p].maxValue});
                offset += int(params.size());
            }
        }
        std::string why = call.kernel->prepare(spec, instances);
        if (!why.empty()) {
            diags.error(first.mark, "node " + quote(first.name) + ": " + why);
            continue;
        }
        call.kernel->reset();
        plan->calls.push_back(std::move(call));
    }
    if (diags.hasErrors()) return nullptr;

    // The readable schedule.
    auto program = ProgramAccess::make();
    Schedule& sched = ProgramAccess::schedule(*program);
    sched.sampleRate = options.sampleRate;
    sched.maxBlockFrames = options.maxBlockFrames;
    sched.simd = simdArchName(options.simd);
    sched.batched = options.batch;
    sched.latencyFrames = latency;
    std::vector<int> nodeIndex(model.vertices.size(), -1);
    for (std::size_t vi = 0; vi < model.vertices.size(); ++vi) {
        const Vertex& v = model.vertices[vi];
        if (v.kind != VertexKind::Node) continue;
        nodeIndex[vi] = int(sched.nodes.size());
        sched.nodes.push_back({v.name, v.type->info().name, v.inserted, v.latency, v.arrival, v.inputChannels, v.outputChannels});
        sched.tailSeconds = std::max(sched.tailSeconds, v.type->tailSeconds(v.params, options.sampleRate));
        if (v.inserted) ++sched.insertedDelays;
    }
    for (int vi : order)
        if (nodeIndex[std::size_t(vi)] >= 0) sched.topologicalOrder.push_back(nodeIndex[std::size_t(vi)]);
    auto endpoint = [&](int vi) {
        const Vertex& v = model.vertices[std::size_t(vi)];
        return v.kind == VertexKind::Node ? nodeIndex[std::size_t(vi)] : -1 - v.external;
    };
    for (const Edge& e : model.edges) sched.edges.push_back({endpoint(e.from), e.fromPort, endpoint(e.to), e.toPort, e.channels});
    sched.edgeCount = int(model.edges.size());
    sched.bufferCount = pool.count();
    sched.bufferChannels = pool.count();
    for (const auto& in : graph.inputs) {
        sched.inputNames.push_back(in.name);
        sched.inputChannels.push_back(in.channels);
    }
    for (const auto& out : graph.outputs) {
        sched.outputNames.push_back(out.name);
        sched.outputChannels.push_back(out.channels);
    }
    for (std::size_t s = 0; s < steps.size(); ++s) {
        ScheduleStep st;
        bool fused = false;
        for (int vi : steps[s].members) fused |= !chains[std::size_t(vi)].empty();
        for (int vi : steps[s].members) {
            const std::vector<int>& chain = chains[std::size_t(vi)];
            for (int c : chain.empty() ? std::vector<int>{vi} : chain) st.nodes.push_back(nodeIndex[std::size_t(c)]);
            if (fused) st.stages.push_back(chain.empty() ? 1 : int(chain.size()));
        }
        st.kernel = steps[s].key;
        st.lanes = symbolic[s].outputLanes.empty() ? 0 : int(symbolic[s].outputLanes[0].size());
        std::set<int> ins, outs;
        for (const auto& lanes : symbolic[s].inputLanes)
            for (int slot : lanes)
                if (slot >= 0) ins.insert(slot);
        for (const auto& lanes : symbolic[s].outputLanes) outs.insert(lanes.begin(), lanes.end());
        st.inputBuffers.assign(ins.begin(), ins.end());
        st.outputBuffers.assign(outs.begin(), outs.end());
        st.sumsBefore = int(symbolic[s].sums.size());
        sched.steps.push_back(std::move(st));
    }
    ProgramAccess::executor(*program) = std::make_unique<Executor>(std::move(plan));
    return program;
}

// ---- printing ------------------------------------------------------------------------------------

std::string Schedule::describe() const {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "schedule: %zu steps for %zu nodes, %s, %s, %.0f Hz, blocks of up to %d frames\n",
                  steps.size(), nodes.size(), simd.c_str(), batched ? "lane-batched" : "unbatched", sampleRate, maxBlockFrames);
    out << line;
    auto range = [](const std::vector<int>& v) {
        std::string s;
        for (int x : v) {
            if (!s.empty()) s += ',';
            s += std::to_string(x);
        }
        return s.empty() ? std::string("-") : s;
    };
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const ScheduleStep& st = steps[s];
        // Nodes fused into one instance (run in series) are joined by '>'.
        std::string names;
        for (std::size_t i = 0, k = 0; i < st.nodes.size(); ++k) {
            const int count = k < st.stages.size() ? st.stages[k] : 1;
            for (int j = 0; j < count && i < st.nodes.size(); ++j, ++i)
                names += (i == 0 ? "" : j == 0 ? " " : ">") + nodes[std::size_t(st.nodes[i])].name;
        }
        if (!st.stages.empty()) names += "  (fused)";
        std::snprintf(line, sizeof line, "  %3zu  %-10s %3d lane%s  in[%s] out[%s]%s  ", s + 1, st.kernel.c_str(), st.lanes,
                      st.lanes == 1 ? " " : "s", range(st.inputBuffers).c_str(), range(st.outputBuffers).c_str(),
                      st.sumsBefore ? (" +" + std::to_string(st.sumsBefore) + " sums").c_str() : "");
        out << line << names << '\n';
    }
    std::snprintf(line, sizeof line, "buffers: %d mono buffers for %d connections (%d channels carried)\n", bufferCount,
                  edgeCount, [&] {
                      int c = 0;
                      for (const auto& e : edges) c += e.channels;
                      return c;
                  }());
    out << line;
    std::snprintf(line, sizeof line, "latency: %d frames (%.3f ms), %d compensation delay%s inserted\n", latencyFrames,
                  1000.0 * latencyFrames / sampleRate, insertedDelays, insertedDelays == 1 ? "" : "s");
    out << line;
    return out.str();
}

std::string scheduleToDot(const Schedule& s, const GraphDesc& graph) {
    std::ostringstream out;
    auto esc = [](const std::string& t) {
        std::string r;
        for (char c : t) {
            if (c == '"' || c == '\\') r += '\\';
            r += c;
        }
        return r;
    };
    out << "digraph \"" << esc(graph.name.empty() ? graph.file : graph.name)
        << "\" {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n";
    for (std::size_t i = 0; i < s.inputNames.size(); ++i)
        out << "  \"in:" << esc(s.inputNames[i]) << "\" [shape=invhouse, label=\"" << esc(s.inputNames[i]) << "\\n"
            << s.inputChannels[i] << " ch\"];\n";
    for (std::size_t i = 0; i < s.outputNames.size(); ++i)
        out << "  \"out:" << esc(s.outputNames[i]) << "\" [shape=house, label=\"" << esc(s.outputNames[i]) << "\\n"
            << s.outputChannels[i] << " ch\"];\n";
    for (const auto& n : s.nodes) {
        out << "  \"" << esc(n.name) << "\" [shape=box" << (n.inserted ? ", style=dashed" : "") << ", label=\"" << esc(n.name)
            << "\\n"
            << esc(n.type);
        if (n.latencyFrames) out << "\\nlatency " << n.latencyFrames;
        out << "\"];\n";
    }
    auto name = [&](int index, bool isSource) {
        if (index >= 0) return "\"" + esc(s.nodes[std::size_t(index)].name) + "\"";
        int ext = -1 - index;
        return isSource ? "\"in:" + esc(s.inputNames[std::size_t(ext)]) + "\""
                        : "\"out:" + esc(s.outputNames[std::size_t(ext)]) + "\"";
    };
    for (const auto& e : s.edges)
        out << "  " << name(e.from, true) << " -> " << name(e.to, false) << " [label=\"" << e.channels << "\"];\n";
    out << "}\n";
    return out.str();
}

} // namespace sg

namespace sg {

// ---- compile / instantiate -----------------------------------------------------------------------

class CompiledGraph {
public:
    GraphDesc desc;
    const Registry* registry = nullptr;
};

std::shared_ptr<const CompiledGraph> compile(const GraphDesc& graph, const Registry& registry, Diagnostics& diags) {
    auto compiled = std::make_shared<CompiledGraph>();
    compiled->desc = graph;
    compiled->registry = &registry;
    InstanceOptions probe;
    if (!instantiateDesc(graph, registry, probe, diags)) return nullptr;
    return compiled;
}

std::unique_ptr<Program> instantiate(const CompiledGraph& compiled, const InstanceOptions& options, Diagnostics& diags) {
    return instantiateDesc(compiled.desc, *compiled.registry, options, diags);
}

CompiledPorts compiledPorts(const CompiledGraph& compiled) {
    CompiledPorts ports;
    for (const auto& in : compiled.desc.inputs) {
        ports.inputNames.push_back(in.name);
        ports.inputChannels.push_back(in.channels);
    }
    for (const auto& out : compiled.desc.outputs) {
        ports.outputNames.push_back(out.name);
        ports.outputChannels.push_back(out.channels);
    }
    return ports;
}

const GraphDesc& compiledDesc(const CompiledGraph& compiled) { return compiled.desc; }

std::unique_ptr<Program> compileGraph(const GraphDesc& graph, const Registry& registry, const CompileOptions& options,
                                      Diagnostics& diags) {
    auto compiled = compile(graph, registry, diags);
    if (!compiled) return nullptr;
    return instantiate(*compiled, options, diags);
}

} // namespace sg
