// The compiler's passes, one file each under core/passes/ (docs/architecture.md explains the
// order and why). compile() runs the rate-independent ones (resolve, cycles, order, channels);
// instantiate() runs the rate-dependent ones (latency, fusion, batching, buffers, lowering) on
// a copy of the compiled model. Every pass reports into `diags` and keeps going where an
// earlier error leaves the rest of the graph meaningful: a vertex marked invalid or poisoned is
// skipped by later passes without follow-on errors, the others are still checked.
#pragma once

#include "core/GraphDesc.h"
#include "core/Registry.h"
#include "core/passes/GraphModel.h"

#include <memory>
#include <string>
#include <vector>

namespace sg {
class Program;
struct InstanceOptions;
} // namespace sg

namespace sg::passes {

// ---- rate-independent ------------------------------------------------------------------------

/// resolve: vertices for inputs, nodes and outputs; types looked up, parameters parsed with
/// units and checked against each type's table (and its validate()), ports and connections
/// resolved. Every error of every node is reported; a bad connection poisons only its target.
void resolve(const GraphDesc& graph, const Registry& registry, GraphModel& model, Diagnostics& diags);

/// cycles: each strongly connected component with a cycle is reported once, naming one cycle
/// node by node from its first-declared member. Its members are marked poisoned (order and
/// channels skip them). Returns true if any cycle was found. O(V + E).
bool findCycles(GraphModel& model, Diagnostics& diags);

/// order: a deterministic topological order (Kahn; ties broken by declaration order) of every
/// vertex neither on a cycle nor downstream of one (what a cycle feeds is invalid too, and later
/// passes skip it without follow-on errors). O((V + E) log V).
std::vector<int> topologicalOrder(const GraphModel& model);

/// channels: channel counts from the inputs through every node in `order` (each type's
/// resolveChannels), mismatches and unconnected required inputs reported. Nodes downstream of
/// an error are poisoned, not reported again. Reports instance inputs left open
/// (GraphDesc::openInstanceInputs) as the user wrote them.
void propagateChannels(GraphModel& model, const std::vector<int>& order, const GraphDesc& graph, Diagnostics& diags);

// ---- rate-dependent --------------------------------------------------------------------------

/// latency: every vertex's arrival (its output's latency from the inputs) in `order`; where the
/// inputs of a vertex arrive at different times, the early edges get a delay of the registry's
/// compensation type (one delay per source port and shift, shared by every edge that needs it).
/// Outputs are padded to max(largest arrival, minLatencyFrames). Returns the graph's latency.
int compensateLatency(GraphModel& model, const Registry& registry, const std::vector<int>& order, double sampleRate,
                      int minLatencyFrames, Diagnostics& diags);

/// One unit of scheduling: a vertex, or a fused chain of vertices run as one instance.
struct Unit {
    std::vector<int> vertices; ///< the chain in series (head first); one vertex when not fused
    std::string key;           ///< batch key ("" = not batchable)
    int head() const { return vertices.front(); }
    int tail() const { return vertices.back(); }
};

/// fusion: node vertices in `order` grouped into units. With `fuse`, a maximal series of
/// vertices whose types declare the same fusionFamily (each one connection port 0 -> port 0 to
/// the next, which has no other input; equal channels; zero latency) is one unit whose key is
/// the family and the chain's total fusionUnits. unitOf[v] = the unit holding vertex v (-1 for
/// inputs and outputs).
std::vector<Unit> fuseChains(const GraphModel& model, const std::vector<int>& order, bool fuse, std::vector<int>& unitOf);

/// partition: with `workers` > 1, the worker thread of every unit (0 .. workers - 1): a static
/// list schedule over the units in topological order with an estimated cost per unit in whole
/// SIMD vectors of `simdWidth` lanes (a unit that fills a vector its batch key already opened
/// on a worker costs nothing more there). A unit fed by one other stays on its worker; the
/// others go where the worker's load stays lowest, ties to worker 0 (the caller). Batching then groups units of one worker only.
/// All zeros with one worker. O(V + E) * workers. `estimate`, if given, receives the estimated cost of the whole graph on one
/// worker (channel-nodes) and on `workers` (the same, scaled by the vector schedule's estimated speed-up).
struct PartitionEstimate {
    double serial = 0, parallel = 0;
    /// A chain cut into pipeline stages: the estimated cost of its lightest stage (0 if none).
    double lightestStage = 0;
};
std::vector<int> assignWorkers(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                               int workers, int simdWidth, PartitionEstimate* estimate = nullptr);

/// One step of the schedule: units run by one kernel call, in lane order.
struct Step {
    std::vector<int> units;
    std::string key;
};

/// batching: units in steps, steps in an order that respects every edge. With `batch`, units
/// of one batch key that have no path between them share a step wherever that creates no
/// cycle: both the as-soon-as-possible and the as-late-as-possible levellings are tried (the one
/// with fewer steps is kept), then each step joins the first earlier step of its key after
/// all of its predecessors (and each the last later one before all its successors).
/// O((V + E) log V).
std::vector<Step> batchUnits(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf, bool batch);

/// The symbolic buffer plan: slot numbers (mono buffers) for every lane, sums before steps.
struct SymbolicSum {
    int destination = 0;
    std::vector<int> sources;
};
struct SymbolicCall {
    std::vector<SymbolicSum> sums;
    /// Partial sums done after the step, on its worker (see leadingRun): several workers only.
    std::vector<SymbolicSum> sumsAfter = {};
    std::vector<std::vector<int>> inputLanes, outputLanes; ///< [port][lane]: slot, or -1 = silence
};
struct BufferPlan {
    std::vector<SymbolicCall> calls;                          ///< per step
    std::vector<std::vector<int>> inputSlots;                 ///< [external input][channel]
    std::vector<std::vector<std::vector<int>>> outputSources; ///< [external output][channel] -> slots summed
    int slotCount = 0;
    std::vector<int> stepWorker; ///< per step: the worker thread that runs it (empty = one worker)
};

/// A port fed by several connections, an external output's included (the caller sums those
/// after the block), adds its sources in the order of its edges (a left fold,
/// Elementwise::sumSources). Its leading run: the longest prefix of those sources produced on
/// one worker other than `sumWorker`, when it holds at least two (sourceWorkers[i]: the worker
/// of source i, -1 for an external input). That worker adds them after the last of them and
/// hands over one partial sum, which the port's sum takes as its first source: the same
/// additions in the same order as on one thread, so the same bits, with one signal crossing
/// between the cores instead of every source. Returns the run's length (0: none) and sets
/// `runWorker`.
int leadingRun(const std::vector<int>& sourceWorkers, int sumWorker, int& runWorker);

/// buffers: liveness over the schedule; a slot is reused once its last reader has run; a
/// type that declares inPlace writes over its port-0 input when nothing else reads it. With
/// `stepWorker` (per step, several workers) a slot is reused only by the worker that wrote and
/// read it: a signal that crosses workers keeps its slots for the whole block, so the threads
/// never wait on each other for a buffer, only for the signals they read; a sum's leading run
/// (leadingRun) is summed on its own worker, after the step that produces the last of it.
BufferPlan allocateBuffers(const GraphModel& model, const std::vector<Unit>& units, const std::vector<int>& unitOf,
                           const std::vector<Step>& steps, const std::vector<int>& stepWorker = {});

/// lowering: kernels created and prepared, lane pointers fixed, the executor plan and the
/// readable schedule built. `unitRank` (several workers): each unit's place in the schedule on
/// one worker, so measurements come in the same order whatever the thread count. Returns nullptr with errors in `diags` if a
/// kernel cannot prepare.
std::unique_ptr<Program> lower(const GraphModel& model, const GraphDesc& graph, const std::vector<int>& order,
                               const std::vector<Unit>& units, const std::vector<Step>& steps, const BufferPlan& buffers,
                               int latencyFrames, const InstanceOptions& options, Diagnostics& diags,
                               const std::vector<int>& unitRank = {});

} // namespace sg::passes
