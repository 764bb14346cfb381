// `stagegraph render … --report FILE.json`: what a render measured, as one JSON object.
//
//   {
//     "graph": "master.yaml", "sample_rate": 48000, "frames": 480000, "duration_s": 10,
//     "latency_frames": 240, "block_frames": 1024, "threads": 1, "wall_seconds": 0.8,
//     "inputs":  [{"name": "mix", "file": "mix.wav"}],
//     "target":  {"name": "spotify", "integrated_lufs": -14, "ceiling_dbtp": -1} | null,
//     "outputs": [{"name": "master", "file": "out.wav", "format": "wav24", "sample_rate": 48000,
//                  "channels": 2, "duration_s": 10, "integrated_lufs": -14.0,
//                  "loudness_range_lu": 5.1, "true_peak_dbtp": -1.02, "sample_peak_dbfs": -1.3,
//                  "max_momentary_lufs": -9.8, "max_short_term_lufs": -12.1, "plr_db": 12.98,
//                  "clipped_samples": 0,
//                  "target": {"before_integrated_lufs": -22.3, "before_true_peak_dbtp": -7.1,
//                             "gain_db": 8.3, "pass2_runs": 1, "trim_db": -0.04, (after the limiter)
//                             "probe_runs": 2, "limiter_ceiling_dbtp": -1.02,
//                             "max_gain_reduction_db": 2.1, "mean_gain_reduction_db": 0.1,
//                             "limited_percent": 3.2, "pass2_seconds": 0.3,
//                             "output_encodes": 1}}],   (runs of pass 2 reuse cached samples)
//     "taps":    [{"node": "before", "type": "loudness",
//                  "values": {"integrated_lufs": {"value": -22.3, "unit": "LUFS"}, …},
//                  "series": [{"key": "momentary_lufs", "unit": "LUFS", "frames_per_value": 4800,
//                              "sample_rate": 48000, "reduction": "last",
//                              "values": [-23.1, -22.8, …]}, …]}]
//   }
// Output figures use the keys of `stagegraph analyze --json` and are measured on exactly the
// samples written (after format conversion and dither). "taps" lists every node that reports
// measurements (Executor::measurements(): loudness taps, limiters), in schedule order; with
// --target they are the graph's own figures, before the delivery gain. -inf and NaN are null.
// A tap that records time series (NodeKernel::series: level history, correlation) has "series":
// values[k] covers frames [k * frames_per_value, (k + 1) * frames_per_value) of the render from
// the node's first frame (the last value may cover fewer); taps without series have no key.
//
// The file is written atomically: a temporary file beside it, renamed when complete.
#pragma once

#include "host/cli/Render.h"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>

namespace sg::cli {

/// The report of a render as JSON text (2-space indented, ends with a newline): the graph, the
/// block size and the target `request` asked for, and what the render did (`summary`).
std::string reportJson(const RenderRequest& request, const RenderSummary& summary);

/// One written output as the report and the batch log show it: name, file, format, sample_rate,
/// channels, duration_s (`frames` at `sampleRate`), the figures (null when not measured) and
/// clipped_samples, in that order. Each caller adds what --target did in its own form.
nlohmann::ordered_json writtenOutputJson(const RenderedOutput& out, double sampleRate, std::int64_t frames);

/// A text file written through a temporary file beside it and renamed into place by commit();
/// destroyed without commit(), it removes the temporary file.
class AtomicTextFile {
public:
    AtomicTextFile() = default;
    ~AtomicTextFile();
    AtomicTextFile(const AtomicTextFile&) = delete;
    AtomicTextFile& operator=(const AtomicTextFile&) = delete;

    /// Creates the temporary file beside `path` (early, so a bad path fails before the work),
    /// or opens stdout ("-"), a device or a FIFO to stream to (host/io/OutputFiles.h). Returns ""
    /// or an error naming the file.
    std::string open(const std::string& path);
    /// Writes `text` as the whole content and renames the file over `path` (symbolic links
    /// followed). Returns "" or an error.
    std::string commit(const std::string& text);
    /// Removes the temporary file.
    void discard();
    const std::string& path() const { return path_; } ///< the target

private:
    std::string path_, finalPath_, tempPath_; // finalPath_: symbolic links followed
    int fd_ = -1;
};

/// Writes `text` as the whole content of `path` through an AtomicTextFile (open, then commit).
/// Returns "" or an error naming the file.
std::string writeTextFile(const std::string& path, const std::string& text);

} // namespace sg::cli
