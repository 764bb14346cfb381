// Pass 4, channels: channel counts propagated in topological order through each type's
// resolveChannels; mismatches and unconnected required inputs reported once, nodes downstream
// of an error poisoned. See core/passes/Passes.h.
#include "core/passes/Passes.h"

namespace sg::passes {

void propagateChannels(GraphModel& model, const std::vector<int>& order, const GraphDesc& graph, Diagnostics& diags) {
    (void)graph;
    for (int vi : order) {
        Vertex& v = model.vertex(vi);
        if (v.kind == VertexKind::Input) continue;
        if (v.kind == VertexKind::Node && !v.type) continue;
        const int ports = v.inputPorts();
        std::vector<int> channels(std::size_t(ports), 0);
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
        // A node whose parameters failed (reported by resolve) still passes channel counts on,
        // from its defaults, so the nodes after it are checked too; it stays invalid.
        if (!ok || v.poisoned) {
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

} // namespace sg::passes
