// `stagegraph demo [--keep DIR]`: the built-in example, end to end.
//
// Synthesises a short stereo test mix (a detuned pad, a kick every 0.5 s, filtered-noise hats,
// slightly different left and right), renders it through graphs/mastering/streaming.yaml with
// the same code path as `stagegraph render`, and prints what changed: per channel peak and RMS
// in dBFS, integrated loudness (LUFS) and true peak (dBTP) before and after, and the graph's
// latency.
#pragma once

#include "core/Buffer.h"

#include <optional>
#include <string>
#include <vector>

namespace sg::cli {

/// `stagegraph demo ARGS…`. Returns the exit status.
int runDemo(const std::vector<std::string>& args);

/// Parses the arguments of `demo` (host/cli/DemoArgs.cpp). Returns "" or a usage error;
/// `help` is set by -h / --help.
std::string parseDemoArguments(const std::vector<std::string>& args, std::string& keepFolder, bool& help);
/// The usage text of `demo`.
const char* demoUsage();

/// The demo's synthetic stereo mix: `seconds` long at `sampleRate`, peak at -6 dBFS.
/// Deterministic (fixed noise seed).
AudioBuffer makeDemoMix(double sampleRate, double seconds);

/// Peak of one channel in dBFS (20 log10 max |x|; -inf for silence).
double peakDbfs(const float* samples, int frames);
/// RMS of one channel in dBFS (full-scale sine = -3.01 dBFS; -inf for silence).
double rmsDbfs(const float* samples, int frames);

/// Integrated loudness in LUFS (ITU-R BS.1770-5, gated; sg::LoudnessMeter), or nullopt when
/// nothing passes the gates or the meter cannot take the channel count (1..8).
std::optional<double> integratedLoudnessLufs(const AudioBuffer& audio, double sampleRate);
/// True peak in dBTP (BS.1770-5 Annex 2, 4x), or nullopt for silence or an unmeasurable buffer.
std::optional<double> truePeakDbtp(const AudioBuffer& audio, double sampleRate);

/// Where the shipped graphs are: $STAGEGRAPH_GRAPHS, <exe>/../graphs, <exe>/../../graphs,
/// <exe>/../share/stagegraph/graphs, and the source tree (STAGEGRAPH_SOURCE_DIR), in that order.
std::vector<std::string> graphSearchFolders();
/// The first folder of graphSearchFolders() holding `relativePath`, joined with it; "" if none.
std::string findShippedGraph(const std::string& relativePath);

} // namespace sg::cli
