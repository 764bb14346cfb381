// `stagegraph render`: a graph over audio files, offline.
//
//   stagegraph render GRAPH.yaml -i [NAME=]FILE… -o [NAME=]FILE… [--set node.param=VALUE…]
//                     [--target -14LUFS|PRESET [--ceiling -1dBTP]] [--report FILE.json]
//                     [--format wav16|wav24|wav32f|flac16|flac24] [--block N] [--no-batch]
//                     [--duration SECONDS] [--rate HZ] [--output-rate HZ] [--html FILE]
//                     [--resample-quality quick|low|medium|high|very-high] [--quality Q]
//                     [--bitrate-mode constant|average|variable]
//
// Flow: load the graph → apply --set → map files to the graph's inputs and outputs → open the
// inputs (the graph runs at the first input's rate or --rate; inputs at other rates are
// resampled to it, host/io/Resampler.h; each must match its declared channel count) → compile → stream blocks through the
// executor → write every output through a temporary file renamed into place only when the whole render succeeded. The output is
// trimmed by the graph's latency (the first latencyFrames output frames are dropped and as many frames of silence are fed after
// the inputs end), so it is sample-aligned with the input and as long as the longest input; shorter inputs are padded with
// silence.
//
// --duration: the output is exactly round(SECONDS * rate) frames long. A graph with no inputs
// (sources only: noise, sine, sweep) needs it, and runs at --rate (default 48 kHz). With inputs
// it fixes the length too: shorter inputs are padded with silence (tails ring out up to the
// end), longer ones are cut.
// --output-rate: every output is resampled after the graph (and after the latency trim) to
// this rate, exactly round(frames * out/in) frames, aligned: frame n of the graph's output is
// at n * out/in. --target then works at the output rate: it measures and limits what is
// delivered. An input that declares no length (a pipe) is read to its end.
// --target: every written output is brought to an integrated loudness under a true-peak ceiling
// in two streamed passes (host/cli/Target.h); the figures are measured on the written samples.
// --report: a JSON file with every tap's figures, each output's loudness figures and the render
// facts (host/cli/Report.h), written atomically once the outputs are committed.
// --html: a page with plots of every written output (read back and measured once committed),
// the graph's gain reduction over time and its diagram (host/cli/HtmlPages.h).
//
// Exit status: 0 success; 1 processing or I/O failure (unreadable or truncated input, write
// error, non-finite samples, a target that cannot be reached: no output is left behind);
// 2 usage or graph error (including inputs whose channel count does not fit, a format that
// cannot hold the output's rate or channels, a bad --target or --ceiling); 130 interrupted (no output left behind).
#pragma once

#include "core/Executor.h"
#include "core/Node.h"
#include "host/cli/Target.h"
#include "host/io/AudioFile.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sg::cli {

struct RenderGraph; // host/cli/RenderPlan.h

/// What to render, as given on the command line.
struct RenderRequest {
    std::string graphPath;                  ///< the YAML graph file
    std::vector<std::string> inputs;        ///< "[NAME=]FILE"
    std::vector<std::string> outputs;       ///< "[NAME=]FILE"
    std::vector<std::string> overrides;     ///< "node.param=VALUE"
    std::vector<std::string> includeDirs;   ///< --include-dir: more folders `use:` may read from
    std::vector<std::string> swaps;         ///< --swap NAME=FILE: stages replaced (LoadOptions::swaps)
    std::optional<io::OutputFormat> format; ///< nullopt: from each output's extension
    int blockFrames = 1024;                 ///< host block, 1 … 8192
    bool batch = true;                      ///< lane batching in the compiler
    int threads = 1;                        ///< worker threads for the graph (InstanceOptions::threads; 0 = auto)
    bool printSummary = true;               ///< the summary on stdout
    bool showProgress = true;               ///< the progress bar (only ever on a terminal)
    std::optional<LoudnessTarget> target;   ///< --target (with --ceiling applied)
    std::string reportPath;                 ///< --report FILE.json ("" = none)
    bool album = false;                     ///< --album: one --target gain for every input (host/cli/RenderAlbum.h)
    std::string htmlPath;                   ///< --html FILE: a page with plots (host/cli/HtmlReport.h; "" = none)
    bool measureOutputs = false;            ///< measure written outputs even without --report
    std::optional<double> durationSeconds;  ///< --duration: exact output length (> 0)
    std::optional<double> sampleRate;       ///< --rate in Hz: the graph's rate (inputs are resampled to it)
    std::optional<double> outputRate;       ///< --output-rate in Hz: outputs resampled after the graph
    io::ResampleQuality resampleQuality = io::ResampleQuality::VeryHigh; ///< --resample-quality
    std::optional<double> quality;                          ///< --quality 0..1 (lossy formats): compression level 1 - quality
    io::BitrateMode bitrateMode = io::BitrateMode::Default; ///< --bitrate-mode (mp3, opus)
    bool handleInterrupts = true; ///< SIGINT / SIGTERM stop the render (false: the caller's InterruptGuard does)
    /// graphPath loaded with `overrides` and compiled already (batch: once per graph and
    /// overrides, loadRenderGraph()); null: the render loads it.
    std::shared_ptr<const RenderGraph> graph;
};

/// One file written by a render.
struct RenderedOutput {
    std::string name;                                  ///< graph output
    std::string path;                                  ///< the file written
    io::OutputFormat format = io::OutputFormat::Wav24; ///< its format
    int channels = 0;                                  ///< its channel count
    std::uint64_t clippedSamples = 0;                  ///< samples clipped at full scale (integer formats)
    bool measured = false;                             ///< `figures` is valid (--report, --target, measureOutputs)
    OutputFigures figures;                             ///< loudness figures of the samples written
    std::optional<TargetResult> target;                ///< what --target did to it
};

/// What a successful render did.
struct RenderSummary {
    double sampleRate = 0;                                   ///< Hz, the graph's
    double outputRate = 0;                                   ///< Hz, the written files' (--output-rate)
    std::int64_t frames = 0;                                 ///< frames written per output
    int latencyFrames = 0;                                   ///< graph latency, trimmed from the output
    int threads = 1;                                         ///< threads that ran the graph's steps
    double wallSeconds = 0;                                  ///< time spent processing and writing
    double pass1Seconds = 0;                                 ///< of which running the graph (the rest: --target's pass 2)
    std::vector<std::pair<std::string, std::string>> inputs; ///< graph input, file
    std::vector<RenderedOutput> outputs;                     ///< files written, in the executor's output order
    std::vector<Executor::NodeMeasurements> taps;            ///< figures of the graph's meters
};

inline constexpr int kMinBlockFrames = 1;           ///< smallest --block
inline constexpr int kMaxBlockFrames = 8192;        ///< largest --block
inline constexpr double kDefaultSourceRate = 48000; ///< Hz, a graph without inputs when --rate is not given

/// Parses the arguments of `render` (after the command name). Returns "" or a usage error.
/// `helpRequested` is set by -h / --help.
std::string parseRenderArguments(const std::vector<std::string>& args, RenderRequest& request, bool& helpRequested);

/// Runs a render. Errors go to stderr (graph errors as file:line:col diagnostics). Returns the
/// exit status (see above); `summary` is filled on success.
int render(const RenderRequest& request, RenderSummary* summary = nullptr);

/// `stagegraph render ARGS…`: parse, render, print the summary. Returns the exit status.
int runRender(const std::vector<std::string>& args);

/// A whole sample rate from 8000 to 768000 Hz ("44100", "48 kHz"); false for anything else
/// (NaN, infinities, fractions). Shared by render, check and dot.
bool parseSampleRate(const std::string& text, double& hz);

/// The usage text of `render`.
const char* renderUsage();

} // namespace sg::cli
