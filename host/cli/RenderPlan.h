// Planning a render: everything decided before the first frame is read.
//
// Load the graph, apply --set, compile ONCE (rate-independent: every graph error is reported
// here, before any input is opened), bind files to the graph's ports, check outputs and
// --report against the inputs and each other, open the inputs (the first sets the rate unless
// --rate does; the others are resampled to it; each must match its declared channel count; a
// graph without inputs runs at --rate, 48 kHz by default, for --duration, which it needs), check
// that every output format holds the output rate, then instantiate the compiled graph at that
// rate and block size.
#pragma once

#include "core/Compiler.h"
#include "host/cli/Render.h"
#include "host/io/AudioFile.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg::cli {

/// A graph loaded with its overrides and compiled, as a render needs it. Immutable: renders of
/// the same graph and overrides may share one (batch does, across threads).
struct RenderGraph {
    std::shared_ptr<const CompiledGraph> compiled; ///< null when the graph has errors
    std::vector<std::string> graphFiles;           ///< the graph and every file it `use:`s
    std::string diagnostics;                       ///< every error and warning, one formatted line each ("" = none)
};

/// Loads request.graphPath (with request.includeDirs), applies request.overrides and compiles
/// it. Prints nothing: planRender() prints `diagnostics`.
std::shared_ptr<const RenderGraph> loadRenderGraph(const RenderRequest& request);

/// What planning decided; the pipeline and the commit stage read it.
struct RenderPlan {
    std::shared_ptr<const CompiledGraph> compiled; ///< the graph, compiled once
    std::vector<ExternalDesc> inputs, outputs;     ///< the graph's ports, in declaration order
    std::vector<std::string> inputFiles;           ///< per declared input
    std::vector<std::string> outputFiles;          ///< per declared output ("" = not written)
    std::vector<io::OutputFormat> formats;         ///< per declared output
    std::vector<std::string> graphFiles;           ///< the graph and every file it `use:`s
    std::vector<std::string> protectedPaths;       ///< inputs and graphFiles: never overwritten
    std::vector<io::AudioFileReader> readers;      ///< per declared input, open
    double sampleRate = 0;                         ///< Hz, the graph's: the first input's, or --rate (48 kHz without inputs)
    double outputRate = 0;                         ///< Hz, the outputs' (--output-rate, else sampleRate)
    std::int64_t durationFrames = -1;              ///< --duration in frames: the exact output length; -1 = the inputs'
    std::unique_ptr<Program> program;              ///< instantiated at sampleRate
    std::vector<int> inputSlot;                    ///< executor input k -> declared input
    std::vector<int> outputSlot;                   ///< executor output k -> declared output
};

/// Plans `request`. Returns kExitOk, or the exit status after printing why (graph errors as
/// file:line:col diagnostics, usage errors with the --help hint, unreadable inputs).
int planRender(const RenderRequest& request, RenderPlan& plan);

} // namespace sg::cli
