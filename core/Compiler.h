// From a loaded GraphDesc to a runnable Program.
//
// Passes (see docs/architecture.md): resolve types, parameters (units, ranges) and ports →
// build the Boost.Graph model → cycle detection (names the cycle) → channel propagation →
// latency compensation (delays inserted on shorter paths; whole-graph latency known) →
// deterministic topological order → lane batching → buffer allocation by liveness →
// kernels prepared. Every error goes to `diags` with file:line:col; passes continue where
// they can so one run reports every error.
#pragma once

#include "core/Diagnostics.h"
#include "core/GraphDesc.h"
#include "core/GraphLimits.h"
#include "core/Registry.h"
#include "core/Schedule.h"
#include "core/Simd.h"

#include <memory>
#include <string>
#include <vector>

namespace sg {

class Executor;
class CompiledGraph;

/// The most worker threads one program runs on (InstanceOptions::threads).
inline constexpr int kMaxWorkerThreads = 64;

/// What instantiate() needs besides the compiled graph: everything that depends on the sample
/// rate, the block size or the machine.
struct InstanceOptions {
    double sampleRate = 48000; ///< Hz
    int maxBlockFrames = 512;  ///< internal block; hosts may pass any size to process()
    bool batch = true;         ///< lane batching (false = one step per node)
    /// Chain fusion (with batch only): a series of nodes whose types declare the same fusion
    /// family runs as one multi-stage instance; bit-identical either way, 2.4x faster on an
    /// 8-biquad stereo chain here.
    bool fuse = true;
    SimdArch simd = detectSimdArch();
    /// The outputs lag the inputs by at least this many frames: latency compensation pads every
    /// output path to max(graph latency, this). Live sessions align graphs of different latency.
    int minLatencyFrames = 0;
    /// 'sample-rate' and 'delay-memory' are checked here (core/GraphLimits.h).
    GraphLimits limits;
    /// Worker threads that run the graph's steps (1 = the caller's thread alone, today's path).
    /// With more, independent branches (the strips of a mix) are split between workers before
    /// batching and run side by side; the caller of process() is worker 0 and the others are
    /// started here, at instantiation. The output is bit-identical whatever the count: the
    /// same kernels on the same lanes, sums in the same order. A chain without branches that is
    /// most of the graph's cost is pipelined: cut into stages on consecutive workers, the last
    /// on the caller. Clamped to kMaxWorkerThreads. 0 = auto: up to the machine's cores, as
    /// many as leave each worker enough work to keep its batches wide (the 32-strip mix: 2),
    /// if the graph's branches are worth sharing (an estimated speed-up of 1.3 or more); 2 for
    /// a chain whose two pipeline stages are each worth a hand-over per block (the W1
    /// mastering chain at blocks of 256 frames or more); else 1.
    int threads = 1;
};
/// The options of the one-call compileGraph(): the same fields.
using CompileOptions = InstanceOptions;

/// `--set node.param=VALUE` overrides, applied to the desc before compiling. Each text is
/// "node.param=value" with a dotted node name. Errors go to diags with `origin` as file.
void applyOverrides(GraphDesc& graph, const std::vector<std::string>& overrides, Diagnostics& diags,
                    const std::string& origin = "--set");

/// A compiled, prepared graph: schedule plus executor.
class Program {
public:
    ~Program();
    const Schedule& schedule() const { return schedule_; }
    Executor& executor() { return *executor_; }
    const Executor& executor() const { return *executor_; }

private:
    friend struct ProgramAccess;
    Program();
    Schedule schedule_;
    std::unique_ptr<Executor> executor_;
};

/// The rate-independent half of compiling: types, parameters, ports, cycles, order and channel
/// counts resolved and checked, with every error found. Immutable; one compiled graph can be
/// instantiated any number of times, at any rate and block size, without reloading YAML.
/// Thread-safe to share (instantiate() only reads it).
std::shared_ptr<const CompiledGraph> compile(const GraphDesc& graph, const Registry& registry, Diagnostics& diags);

/// The rate-dependent half: latency compensation, fusion, batching, buffers and prepared
/// kernels at `options`. Returns nullptr with errors in `diags` (a rate or block size out of
/// range, delay lines past the 'delay-memory' limit, a node that cannot prepare at this rate).
std::unique_ptr<Program> instantiate(const CompiledGraph& compiled, const InstanceOptions& options, Diagnostics& diags);

/// The rate-dependent checks that still mean something when compile() found errors: the sample
/// rate's range and the 'delay-memory' limit over the nodes that resolved. A host that knows the
/// rate (check, render --rate) calls it after a failed compile, so one run reports these too.
void checkAtRate(const GraphDesc& graph, const Registry& registry, const InstanceOptions& options, Diagnostics& diags);

/// What hosts read of a compiled graph before instantiating it.
struct CompiledPorts {
    std::vector<std::string> inputNames, outputNames;
    std::vector<int> inputChannels, outputChannels;
};
/// The external inputs and outputs of a compiled graph, in declaration order.
CompiledPorts compiledPorts(const CompiledGraph& compiled);
/// The graph as loaded (with overrides applied) that `compiled` was made from.
const GraphDesc& compiledDesc(const CompiledGraph& compiled);
/// The resolved type of node `name` in `compiled` (a provider's node has its own type: an LV2
/// plugin's ports and parameters), or nullptr if there is no such node.
const NodeType* compiledNodeType(const CompiledGraph& compiled, const std::string& name);

/// Loads the graph file `path` (core/GraphLoader.h), applies `overrides` and compiles it, with
/// every error of every stage in one run: an error the loader finds (a bad `stage:`, an unknown
/// key) does not hide the compiler's (a value out of range, an unconnected input). Returns
/// nullptr if `diags` has errors; `desc`, if given, receives the graph as loaded.
std::shared_ptr<const CompiledGraph> loadAndCompile(const std::string& path, const std::vector<std::string>& overrides,
                                                    const Registry& registry, Diagnostics& diags, GraphDesc* desc = nullptr);
/// The same, with the loader's limits and include folders.
std::shared_ptr<const CompiledGraph> loadAndCompile(const std::string& path, const std::vector<std::string>& overrides,
                                                    const Registry& registry, Diagnostics& diags, const LoadOptions& load,
                                                    GraphDesc* desc = nullptr);

/// compile() then instantiate(). Returns nullptr if diags has errors.
std::unique_ptr<Program> compileGraph(const GraphDesc& graph, const Registry& registry, const CompileOptions& options,
                                      Diagnostics& diags);

/// Graphviz DOT of the graph as compiled (nodes, ports, channels, inserted delays).
std::string scheduleToDot(const Schedule& schedule, const GraphDesc& graph);

} // namespace sg
