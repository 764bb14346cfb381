// `stagegraph batch`: a catalogue of renders from a manifest, resumable, one JSON line per row.
//
//   stagegraph batch MANIFEST [--jobs N] [--shard K/N] [--log FILE.jsonl] [--force] [--include-dir DIR…]
//
// Every row of the manifest (host/cli/BatchManifest.h) is rendered exactly as `stagegraph
// render` renders the same arguments (the same RenderPlan, pipeline and commit; outputs through
// a temporary file renamed into place). --shard K/N takes the rows whose 0-based index i has
// i % N == K, so N machines (Slurm array tasks, Kubernetes Indexed Job pods) share a catalogue
// with no coordinator. --jobs N renders N rows at once on threads of this process, and each
// distinct graph + overrides is loaded and compiled once.
//
// Resuming: a row is skipped when it is complete: every output it names is a regular file, no
// input or graph file (the graph and every file it `use:`s) is newer than the oldest of them,
// and, when the --log file holds a record for the same outputs, the last such record has the
// row's settings (graph, inputs, outputs, set, target, ceiling, max_gain, format) and status ok
// or skipped. Since outputs only appear complete, an existing output is never half-written.
// --force renders every row of the shard.
//
// The log (--log, "-" for standard output) gets one JSON object per row of the shard, appended
// with a single write each: {"row", "line", "input", "output", "graph", "status": "ok" |
// "skipped" | "error", "settings", …} with each output's loudness figures for "ok", the reason
// for "skipped", the exit status and every message for "error" (docs/batch.md).
//
// Exit status: 0 every row ok or skipped; 1 a row failed (the others still ran) or the log could
// not be written; 2 usage error or a bad manifest (file:line:col, every error; nothing rendered);
// 130 interrupted (the rows running stop, leaving no output behind).
#pragma once

#include <string>
#include <vector>

namespace sg::cli {

/// `stagegraph batch ARGS…`. Returns the exit status.
int runBatch(const std::vector<std::string>& args);

/// The usage text of `batch`.
const char* batchUsage();

} // namespace sg::cli
