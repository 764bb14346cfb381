// The manifest of `stagegraph batch`: one render per row, as CSV or YAML (docs/batch.md).
//
// CSV (RFC 4180: a header row, commas, "quoted" fields with "" for a quote, CRLF or LF; a UTF-8
// byte-order mark is skipped) or YAML (a list of maps), told apart by the file's extension
// (.csv, .yaml / .yml). Columns (keys), required first:
//   input    [NAME=]FILE;…   the row's inputs, like render's -i ("" = the graph's default files)
//   output   [NAME=]FILE;…   its outputs, like -o
//   graph    FILE            the graph
//   set      node.param=VALUE;…   like --set
//   target, ceiling, max_gain, format   like --target, --ceiling, --max-gain, --format
// In YAML, input and output may also be a map (NAME: FILE) or a list, and set a list.
// Relative paths are relative to the manifest's folder.
//
// What can be checked without opening a file is checked here, for every row, with the cell's
// file:line:col: the columns, the shape of every cell, the values of target, ceiling, max_gain and
// format, and that no two rows write the same file or read another row's output. What needs the
// graph or the audio (a bad --set, a missing input) is the row's own error when it runs.
#pragma once

#include "core/Diagnostics.h"
#include "host/cli/Target.h"
#include "host/io/AudioFile.h"

#include <optional>
#include <string>
#include <vector>

namespace sg::cli {

/// One row of a manifest, its paths resolved against the manifest's folder.
struct BatchRow {
    int index = 0;                          ///< 0-based, over the whole manifest (shards keep it)
    int line = 0;                           ///< 1-based line of the row in the manifest
    std::string inputText, outputText;      ///< the cells as written (for the log)
    std::string graphText;                  ///< the graph cell as written
    std::string graph;                      ///< the graph file, resolved
    std::vector<std::string> inputs;        ///< "[NAME=]FILE", FILE resolved (render's -i)
    std::vector<std::string> outputs;       ///< "[NAME=]FILE", FILE resolved (render's -o)
    std::vector<std::string> inputFiles;    ///< the resolved FILEs of `inputs`
    std::vector<std::string> outputFiles;   ///< the resolved FILEs of `outputs`
    std::vector<std::string> overrides;     ///< "node.param=VALUE"
    std::optional<LoudnessTarget> target;   ///< target (with ceiling and max_gain applied)
    std::optional<io::OutputFormat> format; ///< format
    SourceMark inputMark, outputMark;       ///< where the input and output cells are
};

/// The columns, in the order the documentation lists them.
const std::vector<std::string>& batchColumns();

/// Reads the manifest at `path`. Every problem goes to `diags` as a file:line:col error (all of
/// them, not only the first); `rows` holds the rows when there is none.
void readBatchManifest(const std::string& path, std::vector<BatchRow>& rows, Diagnostics& diags);

} // namespace sg::cli
