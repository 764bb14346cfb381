// The files of a render: opened as temporaries before the first block, committed after the last.
//
// Every output is written to a temporary file beside its target (io::AudioFileWriter); with
// --target, pass 1 goes to an unlinked float scratch file (TempSampleFile) measured by a
// LoudnessMeter, and pass 2 (host/cli/Target.h) opens the writer. Nothing is renamed into
// place until every output has been written; then the warnings, and the --report JSON
// (AtomicTextFile, itself committed last).
#pragma once

#include "host/cli/Render.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/Report.h"

#include <chrono>
#include <memory>
#include <vector>

namespace sg::cli {

/// The files and meters of one render, per executor output.
struct RenderOutputs {
    bool targeting = false;                                       ///< --target: pass 1 goes to scratch files
    std::vector<bool> writes;                                     ///< the output is written (it has a file)
    std::vector<io::AudioFileWriter> writers;                     ///< the final files (pass 2 opens them with --target)
    std::vector<std::unique_ptr<WrittenSampleMeter>> meters;      ///< without --target: the written samples, measured
    std::vector<std::unique_ptr<TempSampleFile>> pass1Files;      ///< --target: the graph's output, as float
    std::vector<std::unique_ptr<LoudnessMeter>> pass1Meters;      ///< --target: its loudness
    std::vector<std::unique_ptr<ProbeReference>> probeReferences; ///< --target: the probe's stretches, as measured (else null)
    AtomicTextFile reportFile;                                    ///< --report, open early so a bad path fails first
    std::vector<std::unique_ptr<io::Resampler>> resamplers;       ///< --output-rate: per output, after the graph (else null)
};

/// What the pipeline did, for the summary and the report.
struct StreamedRender {
    std::int64_t frames = 0;                         ///< frames per output at the graph's rate (the longest input)
    double pass1Seconds = 0;                         ///< running the graph and writing pass 1
    std::chrono::steady_clock::time_point started{}; ///< when streaming began
};

/// Opens every output's temporary file (or scratch file), its meter, and the --report file.
/// Returns kExitOk or the exit status after printing why.
int openRenderOutputs(const RenderRequest& request, const RenderPlan& plan, RenderOutputs& outputs);

/// Renames every written output's temporary file over its target, in output order. Returns ""
/// or the first error (the writers not committed remove their temporary files when destroyed).
std::string commitOutputFiles(RenderOutputs& outputs);

/// After the pipeline: --target's pass 2, every output committed, the warnings, the --report
/// file. Fills `summary`. Returns kExitOk or the exit status after printing why (no output is
/// left behind on failure, except that a failed --report leaves the committed audio files).
int commitRender(const RenderRequest& request, RenderPlan& plan, RenderOutputs& outputs, const StreamedRender& streamed,
                 RenderSummary& summary);

} // namespace sg::cli
