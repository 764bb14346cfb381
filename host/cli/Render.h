// `stagegraph render`: a graph over audio files, offline.
//
//   stagegraph render GRAPH.yaml -i [NAME=]FILE… -o [NAME=]FILE… [--set node.param=VALUE…]
//                     [--format wav16|wav24|wav32f|flac16|flac24] [--block N] [--no-batch]
//
// Flow: load the graph → apply --set → map files to the graph's inputs and outputs → open the
// inputs (the graph runs at their sample rate; all must agree and match the declared channel
// counts) → compile → stream blocks through the executor → write every output through a
// temporary file renamed into place only when the whole render succeeded.
// The output is trimmed by the graph's latency (the first latencyFrames output frames are
// dropped and as many frames of silence are fed after the inputs end), so it is sample-aligned
// with the input and as long as the longest input; shorter inputs are padded with silence.
//
// Exit status: 0 success; 1 processing or I/O failure (unreadable or truncated input, write
// error, non-finite samples: no output is left behind); 2 usage or graph error (including
// inputs whose rate or channel count does not fit); 130 interrupted (no output left behind).
#pragma once

#include "host/io/AudioFile.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sg::cli {

/// What to render, as given on the command line.
struct RenderRequest {
    std::string graphPath;                ///< the YAML graph file
    std::vector<std::string> inputs;      ///< "[NAME=]FILE"
    std::vector<std::string> outputs;     ///< "[NAME=]FILE"
    std::vector<std::string> overrides;   ///< "node.param=VALUE"
    std::optional<io::OutputFormat> format;   ///< nullopt: from each output's extension
    int blockFrames = 1024;               ///< host block, 1 … 8192
    bool batch = true;                    ///< lane batching in the compiler
    bool printSummary = true;             ///< the summary on stdout
    bool showProgress = true;             ///< the progress bar (only ever on a terminal)
};

/// One file written by a render.
struct RenderedOutput {
    std::string name;                     ///< graph output
    std::string path;                     ///< the file written
    io::OutputFormat format = io::OutputFormat::Wav24;   ///< its format
    int channels = 0;                     ///< its channel count
    std::uint64_t clippedSamples = 0;     ///< samples clipped at full scale (integer formats)
};

/// What a successful render did.
struct RenderSummary {
    double sampleRate = 0;                ///< Hz
    std::int64_t frames = 0;              ///< frames written per output
    int latencyFrames = 0;                ///< graph latency, trimmed from the output
    double wallSeconds = 0;               ///< time spent processing and writing
    std::vector<std::pair<std::string, std::string>> inputs;   ///< graph input, file
    std::vector<RenderedOutput> outputs;  ///< files written, in the executor's output order
};

inline constexpr int kMinBlockFrames = 1;      ///< smallest --block
inline constexpr int kMaxBlockFrames = 8192;   ///< largest --block

/// Parses the arguments of `render` (after the command name). Returns "" or a usage error.
/// `helpRequested` is set by -h / --help.
std::string parseRenderArguments(const std::vector<std::string>& args, RenderRequest& request, bool& helpRequested);

/// Runs a render. Errors go to stderr (graph errors as file:line:col diagnostics). Returns the
/// exit status (see above); `summary` is filled on success.
int render(const RenderRequest& request, RenderSummary* summary = nullptr);

/// `stagegraph render ARGS…`: parse, render, print the summary. Returns the exit status.
int runRender(const std::vector<std::string>& args);

/// The usage text of `render`.
const char* renderUsage();

} // namespace sg::cli
