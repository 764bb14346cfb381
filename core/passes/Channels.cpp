// Pass 4, channels: channel counts propagated in topological order through each type's
// resolveChannels; mismatches and unconnected required inputs reported once, nodes downstream
// of an error poisoned. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <map>
#include <set>

namespace sg::passes {

namespace {

/// (node, port name) -> the open instance input that would have fed it. A consumer written
/// with no port means the node's first input.
std::map<std::pair<std::string, std::string>, std::size_t> openInputConsumers(const GraphDesc& graph) {
    std::map<std::pair<std::string, std::string>, std::size_t> consumers;
    for (std::size_t i = 0; i < graph.openInstanceInputs.size(); ++i)
        for (const EndpointDesc& e : graph.openInstanceInputs[i].consumers) consumers.try_emplace({e.node, e.port}, i);
    return consumers;
}

} // namespace

void propagateChannels(GraphModel& model, const std::vector<int>& order, const GraphDesc& graph, Diagnostics& diags) {
    const auto openConsumers = openInputConsumers(graph);
    std::set<std::size_t> reportedOpen; // one error per open instance input, however many nodes it feeds
    for (int vi : order) {
        Vertex& v = model.vertex(vi);
        if (v.kind == VertexKind::Input) continue;
        if (v.kind == VertexKind::Node && !v.type) continue;
        const int ports = v.inputPorts();
        std::vector<int> channels(std::size_t(ports), 0);
        std::vector<bool> mismatchReported(std::size_t(ports), false); // one error per summed port
        bool ok = true;
        for (int ei : v.inEdges) {
            Edge& e = model.edges[std::size_t(ei)];
            const Vertex& src = model.vertex(e.from);
            if (std::size_t(e.fromPort) >= src.outputChannels.size()) { // the source failed, reported
                v.poisoned = true;
                continue;
            }
            e.channels = src.outputChannels[std::size_t(e.fromPort)];
            int& have = channels[std::size_t(e.toPort)];
            std::string portName = v.kind == VertexKind::Output ? "" : v.type->info().inputs[std::size_t(e.toPort)].name;
            if (have != 0 && have != e.channels) {
                ok = false;
                if (mismatchReported[std::size_t(e.toPort)]) continue;
                mismatchReported[std::size_t(e.toPort)] = true;
                diags.error(e.mark, "channel mismatch: " + quote(src.name) + " sends " +
                                        plural(e.channels, "channel", "channels") + " into " +
                                        quote(v.name + (portName.empty() ? "" : "." + portName)) + ", which already receives " +
                                        std::to_string(have) + " from another connection");
                continue;
            }
            have = e.channels;
            // An output without a valid count (-1) was reported by the loader: no mismatch to add.
            if (v.kind == VertexKind::Output && v.inputChannels[0] >= 1 && e.channels != v.inputChannels[0]) {
                diags.error(e.mark, "channel mismatch: output " + quote(v.name) + " is declared with " +
                                        plural(v.inputChannels[0], "channel", "channels") + ", but " + quote(src.name) +
                                        " sends " + std::to_string(e.channels));
                ok = false;
            }
        }
        if (v.kind == VertexKind::Output) {
            if (channels[0] == 0 && !v.poisoned) diags.error(v.mark, "output " + quote(v.name) + " is not connected");
            continue;
        }
        // A node whose parameters failed (reported by resolve) still passes channel counts on,
        // from its defaults, so the nodes after it are checked too; it stays invalid.
        if (!ok || v.poisoned) {
            v.valid = false;
            continue;
        }
        const auto& inputs = v.type->info().inputs;
        for (std::size_t p = 0; p < inputs.size(); ++p) {
            if (channels[p] != 0 || !inputs[p].required) continue;
            ok = false;
            // Left open by the user at an instance: say so where they wrote the instance.
            auto open = openConsumers.find({v.name, inputs[p].name});
            if (open == openConsumers.end() && p == 0) open = openConsumers.find({v.name, ""});
            if (open != openConsumers.end()) {
                if (reportedOpen.insert(open->second).second) {
                    const OpenInstanceInput& in = graph.openInstanceInputs[open->second];
                    diags.error(in.mark, "instance " + quote(in.instance) + ": input " + quote(in.input) +
                                             " is not connected (it feeds " + quote(v.name + "." + inputs[p].name) + ")");
                }
                continue;
            }
            diags.error(v.mark, "node " + quote(v.name) + ": required input " + quote(inputs[p].name) + " is not connected");
            noteInstance(v, diags);
        }
        if (!ok) {
            v.valid = false;
            continue;
        }
        std::vector<int> out;
        std::string why = v.type->resolveChannels(v.params, channels, out);
        if (!why.empty()) {
            diags.error(v.mark, "node " + quote(v.name) + " (" + v.type->info().name + "): channel mismatch: " + why);
            noteInstance(v, diags);
            v.valid = false;
            continue;
        }
        v.inputChannels = channels;
        v.outputChannels = out;
    }
}

} // namespace sg::passes
