// Pass 6, fusion (rate-dependent, since latency decides what may fuse): node vertices grouped
// into units; a series of nodes of one fusion family becomes one unit run as a multi-stage
// instance of the head's kernel. The kernel rounds to float between stages as the separate
// nodes' buffers would, so fused and unfused renders are bit-identical (nodes/filters/Biquad.h).
// See core/passes/Passes.h.
#include "core/passes/Passes.h"

namespace sg::passes {

namespace {

bool fusable(const Vertex& v) {
    return v.kind == VertexKind::Node && v.valid && !v.inserted && v.latency == 0 && v.type->info().batchable &&
           !v.type->info().fusionFamily.empty();
}

/// The vertex `vi` fuses with downstream, or -1.
int nextInChain(const GraphModel& model, int vi) {
    const Vertex& v = model.vertex(vi);
    if (!fusable(v) || v.outEdges.size() != 1) return -1;
    const Edge& out = model.edge(v.outEdges[0]);
    if (out.fromPort != 0 || out.toPort != 0) return -1;
    const Vertex& w = model.vertex(out.to);
    if (!fusable(w) || w.inEdges.size() != 1 || w.type->info().fusionFamily != v.type->info().fusionFamily) return -1;
    if (v.outputChannels.empty() || w.inputChannels.empty() || w.outputChannels.empty() ||
        v.outputChannels[0] != w.inputChannels[0] || w.outputChannels[0] != w.inputChannels[0])
        return -1;
    return out.to;
}

} // namespace

std::vector<Unit> fuseChains(const GraphModel& model, const std::vector<int>& order, bool fuse, std::vector<int>& unitOf) {
    std::vector<Unit> units;
    unitOf.assign(model.vertices.size(), -1);
    for (int vi : order) { // predecessors first: a chain is met at its head
        const Vertex& v = model.vertex(vi);
        if (v.kind != VertexKind::Node || unitOf[std::size_t(vi)] >= 0) continue;
        Unit unit;
        unit.vertices.push_back(vi);
        if (fuse)
            for (int w = nextInChain(model, vi); w >= 0; w = nextInChain(model, w)) unit.vertices.push_back(w);
        const NodeTypeInfo& info = v.type->info();
        if (unit.vertices.size() > 1) {
            int total = 0;
            for (int c : unit.vertices) total += model.vertex(c).type->fusionUnits(model.vertex(c).params);
            unit.key = info.fusionFamily + std::to_string(total);
        } else if (info.batchable) {
            unit.key = v.type->batchKey(v.params);
        }
        for (int c : unit.vertices) unitOf[std::size_t(c)] = int(units.size());
        units.push_back(std::move(unit));
    }
    return units;
}

} // namespace sg::passes
