// The I/O pipeline of a render: reader thread -> runner (this thread) -> writer thread.
//
// A reader thread decodes every input ahead into chunks; this thread runs the graph through
// the OfflineRunner (latency trimming, silence after shorter inputs, the block loop), whose
// sources take frames from those chunks and whose sinks put the trimmed output into chunks for
// a writer thread that dithers, encodes and meters. Each input and each output has its own
// stream of chunks, so every output's samples reach its writer in order and dither and meters
// see exactly the single-threaded sequence. One hand-off between threads per chunk of at least
// 16384 frames, so --block 1 costs no more synchronisation than --block 8192. Errors are
// reported at the block where a single-threaded loop would have met them.
#pragma once

#include "host/cli/RenderCommit.h"
#include "host/cli/RenderPlan.h"

namespace sg::cli {

/// Streams the planned render into the opened outputs (not committed). Returns kExitOk, or the
/// exit status after printing why (kExitFailure, kExitInterrupted).
int runRenderPipeline(const RenderRequest& request, RenderPlan& plan, RenderOutputs& outputs, StreamedRender& streamed);

} // namespace sg::cli
