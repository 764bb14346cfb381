// The graph compiler: compile() runs the rate-independent passes, instantiate() the
// rate-dependent ones on a copy of the compiled model. One file per pass under core/passes/
// (see core/passes/Passes.h and docs/architecture.md).
#include "core/Compiler.h"

#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/passes/Passes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

namespace sg {

using passes::quote;

Program::Program() = default;
Program::~Program() = default;

/// The immutable result of compile(): the graph as loaded, the resolved and checked model
/// (types, parameters, channel counts) and its topological order.
class CompiledGraph {
public:
    GraphDesc desc;
    const Registry* registry = nullptr;
    passes::GraphModel model;
    std::vector<int> order;
};

// ---- overrides -------------------------------------------------------------------------------

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
        // A node's parameter, else a template or file parameter (`vocal_ch.level`): every node
        // parameter it reaches unchanged (GraphDesc::paramBindings).
        std::vector<std::pair<std::string, std::string>> targets;
        if (std::any_of(graph.nodes.begin(), graph.nodes.end(), [&](const NodeDesc& n) { return n.name == node; })) {
            targets.emplace_back(node, param);
        } else {
            for (const ParamBinding& b : graph.paramBindings)
                if (b.path == node + "." + param) targets.emplace_back(b.node, b.key);
        }
        if (targets.empty()) {
            diags.error(mark, quote(text) + ": the graph has no node named " + quote(node) +
                                  " and no template or file instance with a parameter " + quote(param) +
                                  " that reaches a node unchanged");
            continue;
        }
        for (const auto& target : targets) {
            // Named copies: clang 14 (the fuzz build) cannot capture structured bindings.
            const std::string& targetNode = target.first;
            const std::string& key = target.second;
            auto it =
                std::find_if(graph.nodes.begin(), graph.nodes.end(), [&](const NodeDesc& n) { return n.name == targetNode; });
            auto p = std::find_if(it->params.begin(), it->params.end(), [&](const ParamDesc& d) { return d.key == key; });
            ParamDesc desc{key, mark, {value, mark}};
            if (p != it->params.end())
                *p = desc;
            else
                it->params.push_back(desc);
        }
    }
}

// ---- compile / instantiate -----------------------------------------------------------------

std::shared_ptr<const CompiledGraph> compile(const GraphDesc& graph, const Registry& registry, Diagnostics& diags) {
    const int errorsBefore = diags.errorCount();
    auto compiled = std::make_shared<CompiledGraph>();
    compiled->desc = graph;
    compiled->registry = &registry;
    passes::resolve(graph, registry, compiled->model, diags);
    passes::findCycles(compiled->model, diags);
    compiled->order = passes::topologicalOrder(compiled->model);
    passes::propagateChannels(compiled->model, compiled->order, graph, diags);
    if (diags.errorCount() > errorsBefore) return nullptr;
    return compiled;
}

namespace {

/// "256 MiB", "3.2 GiB": a byte count for messages.
std::string formatBytes(double bytes) {
    char text[32];
    if (bytes >= double(1 << 30))
        std::snprintf(text, sizeof text, "%.1f GiB", bytes / double(1 << 30));
    else
        std::snprintf(text, sizeof text, "%.1f MiB", bytes / double(1 << 20));
    return text;
}

/// 'delay-memory': the delay lines the prepared graph would hold, before any is allocated. A
/// node's latency is a delay line it keeps (a lookahead); the compensation-delay type (`delay`)
/// holds its delay, which it reports as its tail; both times its channels, 4 bytes a sample.
/// Reports at the node holding the most and returns false past the limit.
bool checkDelayMemory(const passes::GraphModel& model, const Registry& registry, const GraphDesc& desc,
                      const InstanceOptions& options, Diagnostics& diags) {
    const NodeType* delayType = registry.compensationDelay();
    double total = 0, largest = -1;
    const passes::Vertex* holder = nullptr;
    for (const passes::Vertex& v : model.vertices) {
        if (v.kind != passes::VertexKind::Node || !v.valid || !v.type) continue;
        double frames = std::max(0, v.type->latencyFrames(v.params, options.sampleRate));
        if (v.type == delayType)
            frames = std::max(frames, std::round(v.type->tailSeconds(v.params, options.sampleRate) * options.sampleRate));
        int channels = 0;
        for (int c : v.inputChannels) channels += std::max(c, 0);
        const double bytes = frames * std::max(channels, 1) * double(sizeof(float));
        total += bytes;
        if (bytes > largest) {
            largest = bytes;
            holder = &v;
        }
    }
    if (total <= double(options.limits.maxDelayMemoryBytes)) return true;
    SourceMark at = holder ? holder->mark : SourceMark{desc.file, 1, 1};
    std::string message = "delay lines at " + std::to_string(int(options.sampleRate)) + " Hz need " + formatBytes(total) +
                          ": more than " + formatBytes(double(options.limits.maxDelayMemoryBytes)) +
                          " (limit 'delay-memory', docs/safety.md)";
    if (holder) message += "; node " + quote(holder->name) + " alone holds " + formatBytes(largest);
    diags.error(at, message);
    if (holder) passes::noteInstance(*holder, diags);
    return false;
}

/// 'sample-rate': false with an error when the rate is outside the limits.
bool checkSampleRate(const GraphDesc& desc, const InstanceOptions& options, Diagnostics& diags) {
    const GraphLimits& limits = options.limits;
    if (options.sampleRate >= limits.minSampleRate && options.sampleRate <= limits.maxSampleRate) return true;
    char text[160];
    std::snprintf(text, sizeof text, "sample rate %g Hz is outside %g .. %g Hz (limit 'sample-rate', docs/safety.md)",
                  options.sampleRate, limits.minSampleRate, limits.maxSampleRate);
    diags.error({desc.file, 1, 1}, text);
    return false;
}

/// InstanceOptions::threads = 0: as many workers as the cores, but no more than leaves each at
/// least kAutoCostPerWorker of estimated work (channel-nodes; the 32-strip mix of
/// docs/performance.md has a few hundred), so that batches keep their SIMD width and the
/// hand-overs stay small beside the work; and only if the partition's estimated speed-up is at
/// least kAutoSpeedup. A graph with less work gets two workers if it is a chain that pipelines
/// (core/passes/Partition.cpp) into two stages of at least kAutoCostPerStage each, with internal
/// blocks of at least kAutoPipelineBlock frames (a stage hands over once per block). The W1
/// mastering chain (8 and 15 since the limiter got cheaper) stays on one thread: pipelined, its
/// render took the same wall time for a third more CPU. Else 1.
int autoThreads(const passes::GraphModel& model, const std::vector<passes::Unit>& units, const std::vector<int>& unitOf,
                int width, int blockFrames) {
    constexpr double kAutoSpeedup = 1.3, kAutoCostPerWorker = 96, kAutoCostPerStage = 10;
    constexpr int kAutoPipelineBlock = 256;
    const int cores = std::clamp(int(std::thread::hardware_concurrency()), 1, kMaxWorkerThreads);
    passes::PartitionEstimate estimate;
    passes::assignWorkers(model, units, unitOf, 1, width, &estimate);
    const int workers = std::min(cores, int(estimate.serial / kAutoCostPerWorker));
    if (workers <= 1) {
        if (cores < 2 || blockFrames < kAutoPipelineBlock) return 1;
        passes::assignWorkers(model, units, unitOf, 2, width, &estimate);
        const bool pays = estimate.lightestStage >= kAutoCostPerStage && estimate.parallel > 0 &&
                          estimate.serial / estimate.parallel >= kAutoSpeedup;
        return pays ? 2 : 1;
    }
    passes::assignWorkers(model, units, unitOf, workers, width, &estimate);
    if (!(estimate.parallel > 0) || estimate.serial / estimate.parallel < kAutoSpeedup) return 1;
    return workers;
}

} // namespace

void checkAtRate(const GraphDesc& graph, const Registry& registry, const InstanceOptions& options, Diagnostics& diags) {
    if (!checkSampleRate(graph, options, diags)) return;
    // The model as far as it resolves; its own errors were reported by compile() already.
    Diagnostics again;
    passes::GraphModel model;
    passes::resolve(graph, registry, model, again);
    const std::vector<int> order = passes::topologicalOrder(model);
    passes::propagateChannels(model, order, graph, again);
    checkDelayMemory(model, registry, graph, options, diags);
}

std::unique_ptr<Program> instantiate(const CompiledGraph& compiled, const InstanceOptions& options, Diagnostics& diags) {
    const SourceMark fileMark{compiled.desc.file, 1, 1};
    if (!checkSampleRate(compiled.desc, options, diags)) return nullptr;
    if (options.maxBlockFrames < 1 || options.maxBlockFrames > 8192) {
        diags.error(fileMark, "block size " + std::to_string(options.maxBlockFrames) + " is outside 1 .. 8192 frames");
        return nullptr;
    }
    passes::GraphModel model = compiled.model; // instantiating never changes the compiled graph
    const int latency =
        passes::compensateLatency(model, *compiled.registry, compiled.order, options.sampleRate, options.minLatencyFrames, diags);
    if (diags.hasErrors()) return nullptr;
    if (!checkDelayMemory(model, *compiled.registry, compiled.desc, options, diags)) return nullptr;
    const std::vector<int> order = passes::topologicalOrder(model); // with the inserted delays
    std::vector<int> unitOf;
    const std::vector<passes::Unit> units = passes::fuseChains(model, order, options.batch && options.fuse, unitOf);
    int threads = std::clamp(options.threads, 1, kMaxWorkerThreads);
    if (options.threads == 0) threads = autoThreads(model, units, unitOf, simdWidth(options.simd), options.maxBlockFrames);
    std::vector<passes::Step> steps;
    std::vector<int> stepWorker; // empty: one worker, today's schedule exactly
    if (threads == 1) {
        steps = passes::batchUnits(model, units, unitOf, options.batch);
    } else {
        // Workers first, then batching within each worker: the batch key carries the worker.
        const std::vector<int> workerOf = passes::assignWorkers(model, units, unitOf, threads, simdWidth(options.simd));
        std::vector<passes::Unit> keyed = units;
        for (std::size_t u = 0; u < keyed.size(); ++u)
            if (!keyed[u].key.empty()) keyed[u].key += "\x1fworker" + std::to_string(workerOf[u]);
        steps = passes::batchUnits(model, keyed, unitOf, options.batch);
        for (passes::Step& step : steps) {
            const passes::Unit& first = units[std::size_t(step.units[0])];
            step.key = first.key.empty() ? model.vertex(first.head()).type->info().name : first.key;
            stepWorker.push_back(workerOf[std::size_t(step.units[0])]);
        }
        // Workers numbered in order of their first step, but the partition's worker 0 (where
        // merges lean) stays the caller's thread when it has steps; an unused worker index is
        // never left in the middle.
        std::vector<int> renumber(std::size_t(threads), -1);
        int next = 0;
        if (std::find(stepWorker.begin(), stepWorker.end(), 0) != stepWorker.end()) renumber[0] = next++;
        for (int& w : stepWorker) {
            if (renumber[std::size_t(w)] < 0) renumber[std::size_t(w)] = next++;
            w = renumber[std::size_t(w)];
        }
        if (next <= 1) stepWorker.clear();
    }
    const passes::BufferPlan buffers = passes::allocateBuffers(model, units, unitOf, steps, stepWorker);
    // Measurements in the one-worker schedule's order, whatever the thread count.
    std::vector<int> unitRank;
    if (!stepWorker.empty()) {
        unitRank.assign(units.size(), 0);
        int rank = 0;
        for (const passes::Step& step : passes::batchUnits(model, units, unitOf, options.batch))
            for (int u : step.units) unitRank[std::size_t(u)] = rank++;
    }
    return passes::lower(model, compiled.desc, order, units, steps, buffers, latency, options, diags, unitRank);
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

const NodeType* compiledNodeType(const CompiledGraph& compiled, const std::string& name) {
    for (const passes::Vertex& v : compiled.model.vertices)
        if (v.kind == passes::VertexKind::Node && !v.inserted && v.name == name) return v.type;
    return nullptr;
}

std::shared_ptr<const CompiledGraph> loadAndCompile(const std::string& path, const std::vector<std::string>& overrides,
                                                    const Registry& registry, Diagnostics& diags, GraphDesc* desc) {
    return loadAndCompile(path, overrides, registry, diags, LoadOptions{}, desc);
}

std::shared_ptr<const CompiledGraph> loadAndCompile(const std::string& path, const std::vector<std::string>& overrides,
                                                    const Registry& registry, Diagnostics& diags, const LoadOptions& load,
                                                    GraphDesc* desc) {
    // The loader drops what it could not read (a node without a type, a connection to an
    // unknown name) and reports it, so the rest still compiles without follow-on errors.
    GraphDesc graph = loadGraph(path, diags, load);
    if (!overrides.empty()) applyOverrides(graph, overrides, diags);
    const bool loaded = !diags.hasErrors();
    // A file that could not be read or parsed into a graph map has nothing worth compiling: its
    // errors are the loader's alone. Nor has a graph a limit stopped loading: it is partial
    // (GraphDesc::complete is false for both). A missing or unsupported `stagegraph:` version is
    // one error among others: the rest is still compiled and checked.
    auto compiled = graph.complete ? compile(graph, registry, diags) : nullptr;
    if (desc) *desc = std::move(graph);
    return loaded ? compiled : nullptr;
}

std::unique_ptr<Program> compileGraph(const GraphDesc& graph, const Registry& registry, const CompileOptions& options,
                                      Diagnostics& diags) {
    auto compiled = compile(graph, registry, diags);
    if (!compiled) return nullptr;
    return instantiate(*compiled, options, diags);
}

} // namespace sg
