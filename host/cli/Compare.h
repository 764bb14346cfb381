// `stagegraph compare`: candidate graphs over the same input, side by side at matched loudness.
//
//   stagegraph compare A.yaml B.yaml… -i [NAME=]FILE… [--set node.param=VALUE…]
//                      [--through PLAYBACK.yaml] [--level -16LUFS | --no-match] [--json]
//                      [--ab FILE [--ab-seconds N] [--crossfade MS]] [--null FILE [--null-pair A,B]]
//                      [--html FILE] [--block N] [--include-dir DIR]
//   stagegraph compare SESSION.yaml --swap NAME=A.yaml --swap NAME=B.yaml… -i …   one graph, stages swapped
//
// Flow (docs/compare.md):
//   1. every candidate is planned with render's machinery (RenderPlan: the same -i binding,
//      --set applied to every candidate); every graph error of every candidate is reported
//      before any audio is read (exit 2);
//   2. pass 1, per candidate: the graph runs over the inputs (OfflineRunner: latency trimmed,
//      so every candidate is sample-aligned with the input) and its first declared output is
//      streamed into an unlinked float scratch file while its integrated loudness is measured;
//      the nodes' measurements (limiter and compressor gain reduction) are kept;
//   3. matching: each candidate gets gain = reference - its integrated loudness, the reference
//      being --level or, by default, the quietest candidate (so no candidate is raised and
//      matching adds no peaks); --no-match applies no gain;
//   4. pass 2, per candidate: the scratch file, times the gain, through the --through playback
//      model if given, into SignalAnalyzer (host/cli/CompareFigures.h). With a playback model
//      the loudness is matched after the model (the listener sets the volume on that device):
//      pass 2 is repeated with corrected gains until every candidate lands within 0.02 LU;
//   5. --ab and --null read the pass-2 streams; the table or JSON is printed.
// Memory stays bounded for any input length: the audio lives in scratch files.
//
// Exit status: 0 success; 1 processing or I/O failure (unreadable input, a silent candidate that
// cannot be matched, non-finite samples); 2 usage or graph error.
#pragma once

#include "core/Executor.h"
#include "host/cli/CompareFigures.h"
#include "host/cli/Figures.h"

#include <optional>
#include <string>
#include <vector>

namespace sg::cli {

/// The command line of one comparison.
struct CompareRequest {
    std::vector<std::string> graphs;      ///< the candidates
    std::vector<std::string> inputs;      ///< "[NAME=]FILE", bound to every candidate
    std::vector<std::string> overrides;   ///< --set, applied to every candidate
    std::vector<std::string> includeDirs; ///< --include-dir
    /// --swap NAME=FILE, one a candidate: the one GRAPH with its stage NAME replaced by FILE
    /// (the same mix through several masters). Empty, or as long as `graphs`.
    std::vector<std::string> swaps;
    std::string throughPath;         ///< --through playback model ("" = none)
    std::optional<double> levelLufs; ///< --level; nullopt: the quietest candidate
    bool match = true;               ///< false: --no-match
    bool json = false;               ///< --json
    std::string abPath;              ///< --ab FILE
    double abSeconds = 4;            ///< --ab-seconds
    double crossfadeMs = 20;         ///< --crossfade
    std::string nullPath;            ///< --null FILE
    std::string nullPair;            ///< --null-pair A,B (labels or 1-based numbers)
    std::string htmlPath;            ///< --html FILE
    int blockFrames = 1024;          ///< --block
};

/// One node's gain reduction in a candidate.
struct GainReduction {
    std::string node, type;
    double maxDb = 0, meanDb = 0; ///< dB >= 0
};

/// What was measured of one candidate.
struct CandidateResult {
    std::string graph;                            ///< path as given
    std::string label;                            ///< the file's stem, made unique
    std::string output;                           ///< the graph output compared
    int channels = 0;                             ///< of that output
    double sourceIntegratedLufs = 0;              ///< before matching (and before --through)
    double gainDb = 0;                            ///< applied for matching
    OutputFigures figures;                        ///< after matching (and --through)
    BalanceFigures balance;                       ///< after matching (and --through)
    std::vector<GainReduction> gainReductions;    ///< nodes that report gain reduction
    std::vector<Executor::NodeMeasurements> taps; ///< every node's measurements and series
    SignalSeries series;                          ///< for --html
};

/// One segment of the --ab file.
struct AbSegment {
    double startSeconds = 0, endSeconds = 0;
    int candidate = 0; ///< index into the candidates
};

/// The difference of two candidates (--null).
struct NullResult {
    int first = 0, second = 1; ///< candidates: first - second
    double rmsDbfs = 0;        ///< RMS of the difference, all channels
    double relativeDb = 0;     ///< that RMS relative to the first candidate's RMS
    double peakDbfs = 0;       ///< largest |difference|
    double integratedLufs = 0; ///< loudness of the difference
};

/// Everything a comparison found.
struct CompareResult {
    double sampleRate = 0;
    std::int64_t frames = 0;
    double referenceLufs = 0;  ///< the level matched to (NaN with --no-match)
    std::string referenceKind; ///< "quietest", "level" or "none"
    std::vector<CandidateResult> candidates;
    std::vector<AbSegment> abSegments; ///< --ab
    std::optional<NullResult> null;    ///< --null
};

/// Parses the arguments of `compare`. Returns "" or a usage error; `helpRequested` on -h.
std::string parseCompareArguments(const std::vector<std::string>& args, CompareRequest& request, bool& helpRequested);

/// Runs a comparison (files written: --ab, --null; not --html). Errors go to stderr. Returns
/// the exit status.
int compare(const CompareRequest& request, CompareResult& result);

/// The JSON text of a result (2-space indented, ends with a newline).
std::string compareJson(const CompareRequest& request, const CompareResult& result);

/// `stagegraph compare ARGS…`. Returns the exit status.
int runCompare(const std::vector<std::string>& args);

/// The usage text of `compare`.
const char* compareUsage();

} // namespace sg::cli
