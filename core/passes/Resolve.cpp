// Pass 1, resolve: vertices for inputs, nodes and outputs; types, parameters (units, ranges,
// choices, cross-parameter checks), ports and connections. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace sg::passes {

namespace {

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

/// The port `endpoint` names on `v` (an input port when `asInput`), or -1 after reporting why.
int resolvePort(const Vertex& v, const EndpointDesc& endpoint, bool asInput, Diagnostics& diags) {
    const char* kind = asInput ? "input" : "output";
    if (v.kind != VertexKind::Node) { // an external input or output: one implicit port
        if (endpoint.port.empty()) return 0;
        diags.error(endpoint.mark, std::string("graph ") + (asInput ? "output " : "input ") + quote(v.name) + " has no ports");
        return -1;
    }
    if (!v.type) return 0; // unknown type, already reported: keep the edge so errors do not cascade
    const auto& ports = asInput ? v.type->info().inputs : v.type->info().outputs;
    if (endpoint.port.empty()) {
        if (!ports.empty()) return 0;
        diags.error(endpoint.mark, "node " + quote(v.name) + " has no " + kind);
        return -1;
    }
    const int index = asInput ? v.type->inputIndex(endpoint.port) : v.type->outputIndex(endpoint.port);
    if (index < 0) {
        std::vector<std::string> names;
        for (const auto& p : ports) names.push_back(p.name);
        diags.error(endpoint.mark, "node " + quote(v.name) + " (" + v.type->info().name + ") has no " + kind + " port " +
                                       quote(endpoint.port) + "; " + kind + "s: " + listNames(names));
    }
    return index;
}

/// The vertex of external input or output `i`: its channels on its one port, ordered before
/// (inputs) or after (outputs) every node for the topological order's ties.
Vertex externalVertex(const ExternalDesc& port, VertexKind kind, std::size_t i) {
    Vertex v;
    v.kind = kind;
    v.external = int(i);
    v.name = port.name;
    v.mark = port.mark;
    if (kind == VertexKind::Input) {
        // An input without a valid channel count feeds nothing checkable: what it feeds is
        // poisoned (no follow-on channel errors), like the output of a node that failed.
        if (port.channels >= 1) v.outputChannels = {port.channels};
        v.order = -1e9 + double(i);
    } else {
        v.inputChannels = {port.channels};
        v.order = 1e9 + double(i);
    }
    return v;
}

} // namespace

void resolve(const GraphDesc& graph, const Registry& registry, GraphModel& model, Diagnostics& diags) {
    // An input and an output may share a name: direction tells them apart.
    std::map<std::string, int> sources, destinations;
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        const int index = model.addVertex(externalVertex(graph.inputs[i], VertexKind::Input, i));
        model.inputVertex.push_back(index);
        sources[graph.inputs[i].name] = index;
    }
    for (std::size_t i = 0; i < graph.nodes.size(); ++i) {
        const int errorsBefore = diags.errorCount();
        // A provider's node (`{type: lv2, plugin: URI}`) gets its own type, made from its settings
        // (which the provider consumes from a copy); every other node is checked as written.
        NodeDesc provided;
        const NodeTypeProvider* provider =
            registry.find(graph.nodes[i].type) ? nullptr : registry.findProvider(graph.nodes[i].type);
        if (provider) provided = graph.nodes[i];
        const NodeDesc& nd = provider ? provided : graph.nodes[i];
        Vertex v;
        v.name = nd.name;
        v.mark = nd.mark;
        v.instance = nd.instance;
        v.instanceMark = nd.instanceMark;
        v.order = double(i);
        v.type = provider ? provider->typeFor(provided, diags) : registry.find(nd.type);
        if (provider && !v.type) {
            v.valid = false; // reported by the provider
        } else if (!v.type) {
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
                    // "<param>: ..." names a parameter; where the user set it, point at its value.
                    SourceMark at = nd.mark;
                    for (const ParamDesc& p : nd.params)
                        if (why.rfind(p.key + ":", 0) == 0) at = p.value.mark;
                    diags.error(at, "node " + quote(nd.name) + ": " + why);
                    ok = false;
                }
            }
            v.valid = ok;
        }
        if (diags.errorCount() > errorsBefore) noteInstance(v, diags);
        if (sources.count(v.name) || destinations.count(v.name)) diags.error(nd.mark, "duplicate name " + quote(v.name));
        const std::string name = v.name;
        sources[name] = destinations[name] = model.addVertex(std::move(v));
    }
    for (std::size_t i = 0; i < graph.outputs.size(); ++i) {
        const int index = model.addVertex(externalVertex(graph.outputs[i], VertexKind::Output, i));
        model.outputVertex.push_back(index);
        destinations[graph.outputs[i].name] = index;
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
            if (toIt != destinations.end()) model.vertex(toIt->second).poisoned = true;
            continue;
        }
        Edge e;
        e.from = fromIt->second;
        e.to = toIt->second;
        e.mark = c.to.mark;
        const Vertex& src = model.vertex(e.from);
        Vertex& dst = model.vertex(e.to);
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
        e.fromPort = resolvePort(src, c.from, false, diags);
        e.toPort = resolvePort(dst, c.to, true, diags);
        if (e.fromPort < 0 || e.toPort < 0) continue;
        dst.poisoned = dstPoisonedBefore;
        model.addEdge(e);
    }

    // External inputs: channel counts, and a warning for an input nothing reads.
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) {
        if (graph.inputs[i].channels == 0) // -1: the loader has reported it
            diags.error(graph.inputs[i].mark, "input " + quote(graph.inputs[i].name) + ": channels must be at least 1");
        if (model.vertex(model.inputVertex[i]).outEdges.empty())
            diags.warning(graph.inputs[i].mark, "input " + quote(graph.inputs[i].name) + " is not connected to anything");
    }
    if (graph.outputs.empty()) diags.error({graph.file, 0, 0}, "the graph has no outputs");
}

} // namespace sg::passes
