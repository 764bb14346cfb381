// Pass 9, lowering: the symbolic plan becomes the executor's plan (kernels created and
// prepared with their instances, lane pointers into allocated slots) and the readable
// schedule. See core/passes/Passes.h.
#include "core/passes/Passes.h"

#include "core/Compiler.h"
#include "core/Elementwise.h"
#include "core/Executor.h"
#include "core/ExecutorPlan.h"

#include <algorithm>
#include <set>

namespace sg {

/// The compiler's access to Program's private parts.
struct ProgramAccess {
    static std::unique_ptr<Program> make() { return std::unique_ptr<Program>(new Program()); }
    static Schedule& schedule(Program& p) { return p.schedule_; }
    static std::unique_ptr<Executor>& executor(Program& p) { return p.executor_; }
};

namespace passes {

namespace {

/// The instance a unit runs as: one node, or a fused chain whose nodes are its stages
/// (parameter indices run through the stages by offset).
InstanceSetup instanceOf(const GraphModel& model, const Unit& unit) {
    const Vertex& head = model.vertex(unit.head());
    if (unit.vertices.size() == 1) return {head.params, head.inputChannels, head.outputChannels, head.type->info().name};
    InstanceSetup setup{{}, head.inputChannels, model.vertex(unit.tail()).outputChannels, head.type->info().name};
    for (int c : unit.vertices) {
        const Vertex& cv = model.vertex(c);
        setup.stages.push_back({cv.type->info().name, cv.params});
        setup.params.insert(setup.params.end(), cv.params.begin(), cv.params.end());
    }
    return setup;
}

} // namespace

std::unique_ptr<Program> lower(const GraphModel& model, const GraphDesc& graph, const std::vector<int>& order,
                               const std::vector<Unit>& units, const std::vector<Step>& steps, const BufferPlan& buffers,
                               int latencyFrames, const InstanceOptions& options, Diagnostics& diags,
                               const std::vector<int>& unitRank) {
    auto plan = std::make_unique<ExecutorPlan>();
    plan->sampleRate = options.sampleRate;
    plan->maxBlockFrames = options.maxBlockFrames;
    plan->latencyFrames = latencyFrames;
    plan->stepWorker = buffers.stepWorker;
    for (const auto& in : graph.inputs) plan->inputs.push_back({in.name, in.channels});
    for (const auto& out : graph.outputs) plan->outputs.push_back({out.name, out.channels});

    plan->slots.resize(std::size_t(buffers.slotCount));
    for (auto& slot : plan->slots) slot.resize(1, options.maxBlockFrames);
    plan->silence.resize(1, options.maxBlockFrames);
    auto slotPtr = [&](int slot) -> float* {
        return slot < 0 ? plan->silence.channel(0) : plan->slots[std::size_t(slot)].channel(0);
    };
    for (const auto& channels : buffers.inputSlots) {
        plan->inputSlots.emplace_back();
        for (int slot : channels) plan->inputSlots.back().push_back(slotPtr(slot));
    }
    for (const auto& channels : buffers.outputSources) {
        plan->outputSources.emplace_back();
        for (const auto& sources : channels) {
            OutputChannelSource source;
            for (int slot : sources) source.sources.push_back(slotPtr(slot));
            plan->outputSources.back().push_back(std::move(source));
        }
    }

    const PrepareSpec spec{options.sampleRate, options.maxBlockFrames, options.simd};
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const Step& step = steps[s];
        const SymbolicCall& symbolic = buffers.calls[s];
        const Vertex& first = model.vertex(units[std::size_t(step.units[0])].head());
        KernelCall call;
        call.kernel = first.type->createKernel();
        auto sumOp = [&](const SymbolicSum& sum) {
            SumOp op;
            op.destination = slotPtr(sum.destination);
            for (int src : sum.sources) op.sources.push_back(slotPtr(src));
            op.add = Elementwise::forArch(options.simd).sumSources;
            return op;
        };
        for (const auto& sum : symbolic.sums) call.sums.push_back(sumOp(sum));
        for (const auto& sum : symbolic.sumsAfter) call.sumsAfter.push_back(sumOp(sum));
        for (const auto& lanes : symbolic.inputLanes) {
            call.inputLanes.emplace_back();
            for (int slot : lanes) call.inputLanes.back().push_back(slotPtr(slot));
        }
        for (const auto& lanes : symbolic.outputLanes) {
            call.outputLanes.emplace_back();
            for (int slot : lanes) call.outputLanes.back().push_back(slotPtr(slot));
        }
        for (auto& lanes : call.inputLanes) call.inputPorts.push_back(lanes.data());
        for (auto& lanes : call.outputLanes) call.outputPorts.push_back(lanes.data());
        std::vector<InstanceSetup> instances;
        for (std::size_t m = 0; m < step.units.size(); ++m) {
            const Unit& unit = units[std::size_t(step.units[m])];
            const Vertex& head = model.vertex(unit.head());
            instances.push_back(instanceOf(model, unit));
            if (!unitRank.empty()) call.instanceRanks.push_back(unitRank[std::size_t(step.units[m])]);
            call.instanceNames.push_back(head.name);
            call.instanceTypes.push_back(head.type->info().name);
            int offset = 0;
            for (int c : unit.vertices) {
                const Vertex& cv = model.vertex(c);
                const auto& params = cv.type->info().params;
                if (!cv.inserted)
                    for (std::size_t p = 0; p < params.size(); ++p)
                        plan->params.push_back(
                            {cv.name, params[p].id, int(s), int(m), offset + int(p), params[p].minValue, params[p].maxValue});
                offset += int(params.size());
            }
        }
        const std::string why = call.kernel->prepare(spec, instances);
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
    for (int w : buffers.stepWorker) sched.workers = std::max(sched.workers, w + 1);
    sched.latencyFrames = latencyFrames;
    std::vector<int> nodeIndex(model.vertices.size(), -1);
    for (int vi = 0; vi < model.size(); ++vi) {
        const Vertex& v = model.vertex(vi);
        if (v.kind != VertexKind::Node) continue;
        nodeIndex[std::size_t(vi)] = int(sched.nodes.size());
        sched.nodes.push_back({v.name, v.type->info().name, v.inserted, v.latency, v.arrival, v.inputChannels, v.outputChannels});
        sched.tailSeconds = std::max(sched.tailSeconds, v.type->tailSeconds(v.params, options.sampleRate));
        if (v.inserted) ++sched.insertedDelays;
    }
    for (int vi : order)
        if (nodeIndex[std::size_t(vi)] >= 0) sched.topologicalOrder.push_back(nodeIndex[std::size_t(vi)]);
    auto endpoint = [&](int vi) {
        const Vertex& v = model.vertex(vi);
        return v.kind == VertexKind::Node ? nodeIndex[std::size_t(vi)] : -1 - v.external;
    };
    for (const Edge& e : model.edges) sched.edges.push_back({endpoint(e.from), e.fromPort, endpoint(e.to), e.toPort, e.channels});
    sched.edgeCount = int(model.edges.size());
    sched.bufferCount = buffers.slotCount;
    sched.bufferChannels = buffers.slotCount;
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
        for (int u : steps[s].units) fused |= units[std::size_t(u)].vertices.size() > 1;
        for (int u : steps[s].units) {
            const Unit& unit = units[std::size_t(u)];
            for (int c : unit.vertices) st.nodes.push_back(nodeIndex[std::size_t(c)]);
            if (fused) st.stages.push_back(int(unit.vertices.size()));
        }
        st.kernel = steps[s].key;
        const SymbolicCall& symbolic = buffers.calls[s];
        st.lanes = symbolic.outputLanes.empty() ? 0 : int(symbolic.outputLanes[0].size());
        std::set<int> ins, outs;
        for (const auto& lanes : symbolic.inputLanes)
            for (int slot : lanes)
                if (slot >= 0) ins.insert(slot);
        for (const auto& lanes : symbolic.outputLanes) outs.insert(lanes.begin(), lanes.end());
        st.inputBuffers.assign(ins.begin(), ins.end());
        st.outputBuffers.assign(outs.begin(), outs.end());
        st.sumsBefore = int(symbolic.sums.size());
        st.sumsAfter = int(symbolic.sumsAfter.size());
        for (const auto& sum : symbolic.sumsAfter) outs.insert(sum.destination);
        st.outputBuffers.assign(outs.begin(), outs.end());
        st.worker = buffers.stepWorker.empty() ? 0 : buffers.stepWorker[s];
        sched.steps.push_back(std::move(st));
    }
    ProgramAccess::executor(*program) = std::make_unique<Executor>(std::move(plan));
    return program;
}

} // namespace passes
} // namespace sg
