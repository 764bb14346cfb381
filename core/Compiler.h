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
#include "core/Registry.h"
#include "core/Schedule.h"
#include "core/Simd.h"

#include <memory>
#include <string>
#include <vector>

namespace sg {

class Executor;

struct CompileOptions {
    double sampleRate = 48000; ///< Hz
    int maxBlockFrames = 512;  ///< internal block; hosts may pass any size to process()
    bool batch = true;         ///< lane batching (false = one step per node)
    /// Chain fusion (with batch only): a series of biquad nodes runs as one multi-section
    /// instance whose sections are software-pipelined (see core/Compiler.cpp); bit-identical
    /// either way, 2.4x faster on an 8-biquad stereo chain here.
    bool fuse = true;
    SimdArch simd = detectSimdArch();
};

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
    friend std::unique_ptr<Program> compileGraph(const GraphDesc&, const Registry&, const CompileOptions&, Diagnostics&);
    Program();
    Schedule schedule_;
    std::unique_ptr<Executor> executor_;
};

/// Compiles and prepares. Returns nullptr if diags has errors.
std::unique_ptr<Program> compileGraph(const GraphDesc& graph, const Registry& registry, const CompileOptions& options,
                                      Diagnostics& diags);

/// Graphviz DOT of the graph as compiled (nodes, ports, channels, inserted delays).
std::string scheduleToDot(const Schedule& schedule, const GraphDesc& graph);

} // namespace sg
