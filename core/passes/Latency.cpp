// Pass 5, latency compensation (rate-dependent): arrivals in topological order; shorter paths
// into a vertex get a delay of the registry's compensation type. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace sg::passes {

namespace {

/// Inserts a compensation delay of `frames` on edge `e` (source -> delay -> target); returns the
/// delay vertex, or -1 with an error when the registry has no compensation type.
int insertDelay(GraphModel& model, const NodeType* delayType, int e, int frames, Diagnostics& diags) {
    const int param = delayType ? delayType->paramIndex(delayType->info().compensationParam) : -1;
    const Edge edge = model.edge(e);
    if (param < 0) {
        diags.error(model.vertex(edge.to).mark, "internal: latency compensation needs a node type that declares a "
                                                "compensation parameter");
        return -1;
    }
    const Vertex& src = model.vertex(edge.from);
    const Vertex& dst = model.vertex(edge.to);
    Vertex d;
    d.name = src.name + "~" + dst.name + ".delay";
    d.mark = edge.mark;
    d.type = delayType;
    d.params = delayType->defaults();
    d.params[std::size_t(param)] = frames;
    d.order = dst.order - 0.5;
    d.inserted = true;
    d.inputChannels = {edge.channels};
    d.outputChannels = {edge.channels};
    d.arrival = src.arrival + frames;
    const int di = model.addVertex(std::move(d));
    Edge fromDelay = edge;
    fromDelay.from = di;
    fromDelay.fromPort = 0;
    model.retarget(e, di, 0);
    model.addEdge(fromDelay);
    return di;
}

} // namespace

int compensateLatency(GraphModel& model, const Registry& registry, const std::vector<int>& order, double sampleRate,
                      int minLatencyFrames, Diagnostics& diags) {
    const NodeType* delayType = registry.compensationDelay();
    std::map<std::tuple<int, int, int>, int> sharedDelays; // (source, port, frames) -> delay vertex
    // Every edge into `vi` whose source arrives before `target` is delayed to it. One delay line
    // serves every edge that needs the same shift of the same source port.
    auto alignInto = [&](int vi, int target) {
        const std::vector<int> incoming = model.vertex(vi).inEdges; // insertDelay edits the list
        for (int e : incoming) {
            const Edge edge = model.edge(e);
            const int arrival = model.vertex(edge.from).arrival;
            if (arrival >= target) continue;
            const int frames = target - arrival;
            const auto key = std::make_tuple(edge.from, edge.fromPort, frames);
            if (auto it = sharedDelays.find(key); it != sharedDelays.end()) {
                model.resource(e, it->second, 0);
                continue;
            }
            const int di = insertDelay(model, delayType, e, frames, diags);
            if (di >= 0) sharedDelays[key] = di;
        }
    };
    for (int vi : order) {
        Vertex& v = model.vertex(vi);
        if (v.kind == VertexKind::Input) {
            v.arrival = 0;
            continue;
        }
        if (v.kind == VertexKind::Output) continue;
        int latest = 0;
        for (int e : v.inEdges) latest = std::max(latest, model.vertex(model.edge(e).from).arrival);
        alignInto(vi, latest);
        Vertex& again = model.vertex(vi); // vertices may have grown
        again.latency = again.valid ? again.type->latencyFrames(again.params, sampleRate) : 0;
        again.arrival = latest + again.latency;
    }
    int total = std::max(0, minLatencyFrames);
    for (int vi : model.outputVertex)
        for (int e : model.vertex(vi).inEdges) total = std::max(total, model.vertex(model.edge(e).from).arrival);
    for (int vi : model.outputVertex) {
        alignInto(vi, total);
        model.vertex(vi).arrival = total;
    }
    return total;
}

} // namespace sg::passes
