// The options of `stagegraph render`, declared once (CLI11) for parsing and `--help`.
#include "core/Compiler.h"
#include "host/cli/CommandParser.h"
#include "host/cli/Render.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>

namespace sg::cli {

namespace {

std::string lowercase(std::string text) {
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

bool isGraphFileName(const std::string& arg) {
    const std::string ext = std::filesystem::path(arg).extension().string();
    return arg.find('=') == std::string::npos && (ext == ".yaml" || ext == ".yml");
}

/// "--target -14 LUFS", "--ceiling -1 dBTP": the unit given as a word of its own is joined to
/// the value before parsing, so the option keeps one value.
std::vector<std::string> joinUnits(const std::vector<std::string>& args) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        out.push_back(args[i]);
        const bool target = args[i] == "--target", ceiling = args[i] == "--ceiling", maxGain = args[i] == "--max-gain";
        if (!(target || ceiling || maxGain) || i + 2 >= args.size()) continue;
        const std::string unit = lowercase(args[i + 2]);
        if (unit == (target ? "lufs" : ceiling ? "dbtp" : "db") || (target && unit == "lkfs")) {
            out.push_back(args[i + 1] + " " + args[i + 2]);
            i += 2;
        }
    }
    return out;
}

/// A time: a bare number in seconds, or a number with ms / s.
bool parseTimeMs(const std::string& text, double& ms) {
    char* end = nullptr;
    const double bare = std::strtod(text.c_str(), &end);
    if (end && end != text.c_str() && *end == '\0') {
        ms = bare * 1000.0;
        return std::isfinite(ms);
    }
    const ParsedQuantity parsed = parseQuantity(text, UnitKind::Time);
    if (!parsed.value) return false;
    ms = *parsed.value;
    return std::isfinite(ms);
}

/// The values an invocation fills in, and the parser whose options point at them.
struct RenderOptions {
    std::vector<std::string> positional, inputs, outputs, overrides, includeDirs, swaps;
    std::string format, block, threads, target, ceiling, maxGain, report, duration, rate, html;
    std::string outputRate, resampleQuality, quality, bitrateMode;
    bool noBatch = false, album = false;
    std::unique_ptr<CLI::App> app;

    RenderOptions() {
        app = makeCommandApp({"usage: stagegraph render GRAPH.yaml -i [NAME=]FILE... -o [NAME=]FILE... [options]",
                              "Runs GRAPH.yaml over audio files. The graph runs at the first input's sample rate (or\n"
                              "--rate); inputs at other rates are resampled to it. The output is aligned with the input\n"
                              "(the graph's latency is trimmed) and as long as the longest input (or exactly --duration).\n"
                              "A graph with no inputs (sources only) needs --duration. FILE may be - (standard input or\n"
                              "output, WAV) or raw:RATE:CHANNELS:ENCODING:FILE for headerless samples (docs/formats.md).",
                              "Integer formats are TPDF-dithered. Outputs appear only when the render succeeded.\n"
                              "Exit status: 0 success, 1 processing or I/O failure, 2 usage or graph error."});
        app->add_option("GRAPH.yaml", positional, "the graph to run")->type_name("");
        app->add_option("-i,--input", inputs,
                        "input files (every format libsndfile reads; - or raw:48000:2:f32le:-);\n"
                        "a bare FILE fits a graph with one input left; inputs with a\n"
                        "default file need no -i")
            ->type_name("[NAME=]FILE...");
        app->add_option("-o,--output", outputs, "output files; a bare FILE fits a graph with one output")
            ->type_name("[NAME=]FILE...");
        app->add_option("--set", overrides, "override a parameter (repeatable), e.g. --set trim.gain=-2dB")
            ->type_name("node.param=VALUE");
        app->add_option("--swap", swaps,
                        "replace the stage included as NAME (a `use:` instance) by FILE\n"
                        "(repeatable), e.g. --swap mastering=graphs/mastering/loud.yaml")
            ->type_name("NAME=FILE")
            ->allow_extra_args(false);
        app->add_option("--include-dir", includeDirs, "a folder 'use:' may also include graphs from (repeatable)")
            ->type_name("DIR")
            ->allow_extra_args(false);
        app->add_option("--target", target,
                        "bring every output to a loudness: -14LUFS, or a preset: spotify\n"
                        "(-14 LUFS, -1 dBTP), apple (-16, -1), youtube (-14, -1), amazon\n"
                        "(-14, -2), ebu-r128 (-23, -1), atsc-a85 (-24, -2); gain, then a\n"
                        "true-peak limiter, measured on the written file (two passes)")
            ->type_name("VALUE");
        app->add_option("--ceiling", ceiling,
                        "true-peak ceiling for --target, e.g. -1dBTP (default: the\n"
                        "preset's, -1 dBTP for a bare loudness)")
            ->type_name("LEVEL");
        app->add_option("--max-gain", maxGain,
                        "the most gain --target may apply (default 20dB, at most 60dB);\n"
                        "an output that needs more is refused, not limited into shape")
            ->type_name("GAIN");
        app->add_option("--report", report, "write every tap's figures and each output's loudness to FILE")
            ->type_name("FILE.json");
        app->add_flag("--album", album,
                      "with --target: every -i is a track through the graph, one gain for all\n"
                      "(from the album's loudness, all tracks gated together); -o DIR/ or one\n"
                      "-o per input; prints a consistency table (docs/reports.md)");
        app->add_option("--html", html, "write a self-contained page with plots of every output (docs/reports.md)")
            ->type_name("FILE.html");
        app->add_option("--format", format,
                        "wav16 | wav24 | wav32f | flac16 | flac24 | wav8 | wav64f | aiff24 |\n"
                        "caf24 | w64-24 | rf64-24 | mp3 | opus | ogg | raw32f ... (every one:\n"
                        "docs/formats.md; default from the extension: wav24 for .wav and -,\n"
                        "flac24, aiff24, caf24, mp3, opus, ogg...)")
            ->type_name("FORMAT");
        app->add_option("--quality", quality,
                        "lossy formats (mp3, opus, ogg): 0 (smallest) to 1 (best); default:\n"
                        "libsndfile's")
            ->type_name("Q");
        app->add_option("--bitrate-mode", bitrateMode, "mp3 and opus: constant | average | variable")->type_name("MODE");
        app->add_option("--output-rate", outputRate,
                        "write the outputs at this rate (resampled after the graph, aligned,\n"
                        "round(frames * out/in) frames); --target then measures at it")
            ->type_name("HZ");
        app->add_option("--resample-quality", resampleQuality, "quick | low | medium | high | very-high (default very-high)")
            ->type_name("Q");
        app->add_option("--block", block, "host block in frames, 1..8192 (default 1024)")->type_name("N");
        app->add_flag("--no-batch", noBatch, "compile without lane batching");
        app->add_option("--threads", threads,
                        "threads that run the graph: auto (default: up to the machine's cores when\n"
                        "the graph has branches worth sharing, such as the strips of a mix,\n"
                        "and the load average is below the cores; else 1) or a count from 1\n"
                        "to 64; the output is bit-identical whatever the count\n"
                        "(docs/performance.md)")
            ->type_name("N|auto");
        app->add_option("--duration", duration,
                        "render exactly this long (5, 2.5s, 500ms); needed by a graph with\n"
                        "no inputs (sources only); with inputs, shorter ones are padded\n"
                        "with silence and longer ones cut")
            ->type_name("SECONDS");
        app->add_option("--rate", rate,
                        "the graph's sample rate: of a graph with no inputs (default\n"
                        "48000); with inputs, every input is resampled to it")
            ->type_name("HZ");
    }
};

} // namespace

bool parseSampleRate(const std::string& text, double& hz) {
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (!(end && end != text.c_str() && *end == '\0')) {
        const ParsedQuantity parsed = parseQuantity(text, UnitKind::Frequency);
        if (!parsed.value) return false;
        value = *parsed.value;
    }
    if (!(value >= 8000 && value <= 768000 && value == std::floor(value))) return false; // NaN fails here
    hz = value;
    return true;
}

const char* renderUsage() {
    static const std::string text = helpText(*RenderOptions().app);
    return text.c_str();
}

std::string parseRenderArguments(const std::vector<std::string>& args, RenderRequest& request, bool& helpRequested) {
    helpRequested = false;
    RenderOptions o;
    const ParseOutcome outcome = parseCommandArguments(*o.app, joinUnits(args));
    if (outcome.help) {
        helpRequested = true;
        return {};
    }
    if (!outcome.error.empty()) return outcome.error;

    request.inputs.insert(request.inputs.end(), o.inputs.begin(), o.inputs.end());
    request.outputs.insert(request.outputs.end(), o.outputs.begin(), o.outputs.end());
    request.overrides.insert(request.overrides.end(), o.overrides.begin(), o.overrides.end());
    request.includeDirs = o.includeDirs;
    request.swaps.insert(request.swaps.end(), o.swaps.begin(), o.swaps.end());
    if (o.noBatch) request.batch = false;
    if (o.app->count("--format")) {
        request.format = io::parseOutputFormat(o.format);
        if (!request.format)
            return "--format: unknown format '" + o.format +
                   "' (wav16, wav24, wav32f, flac16, flac24, wav8, wav64f, aiff24, caf24, w64-24, rf64-24, mp3, opus, ogg, "
                   "raw32f...; every one in docs/formats.md)";
    }
    if (o.app->count("--quality")) {
        char* end = nullptr;
        const double q = std::strtod(o.quality.c_str(), &end);
        if (!(end && end != o.quality.c_str() && *end == '\0' && q >= 0 && q <= 1))
            return "--quality: expected a number from 0 (smallest) to 1 (best), got '" + o.quality + "'";
        request.quality = q;
    }
    if (o.app->count("--bitrate-mode")) {
        const std::string mode = lowercase(o.bitrateMode);
        if (mode == "constant" || mode == "cbr")
            request.bitrateMode = io::BitrateMode::Constant;
        else if (mode == "average" || mode == "abr")
            request.bitrateMode = io::BitrateMode::Average;
        else if (mode == "variable" || mode == "vbr")
            request.bitrateMode = io::BitrateMode::Variable;
        else
            return "--bitrate-mode: expected constant, average or variable, got '" + o.bitrateMode + "'";
    }
    if (o.app->count("--output-rate")) {
        double hz = 0;
        if (!parseSampleRate(o.outputRate, hz))
            return "--output-rate: expected a whole rate from 8000 to 768000 Hz, got '" + o.outputRate + "'";
        request.outputRate = hz;
    }
    if (o.app->count("--resample-quality")) {
        const auto quality = io::parseResampleQuality(o.resampleQuality);
        if (!quality)
            return "--resample-quality: expected quick, low, medium, high or very-high, got '" + o.resampleQuality + "'";
        request.resampleQuality = *quality;
    }
    if (o.app->count("--block")) {
        int frames = 0;
        const std::string& value = o.block;
        const auto [end, code] = std::from_chars(value.data(), value.data() + value.size(), frames);
        if (code != std::errc() || end != value.data() + value.size() || frames < kMinBlockFrames || frames > kMaxBlockFrames)
            return "--block: expected a frame count from " + std::to_string(kMinBlockFrames) + " to " +
                   std::to_string(kMaxBlockFrames) + ", got '" + value + "'";
        request.blockFrames = frames;
    }
    request.threads = 0; // auto: the output does not depend on it, only the time
    if (o.app->count("--threads") && o.threads != "auto") {
        int count = 0;
        const std::string& value = o.threads;
        const auto [end, code] = std::from_chars(value.data(), value.data() + value.size(), count);
        if (code != std::errc() || end != value.data() + value.size() || count < 1 || count > kMaxWorkerThreads)
            return "--threads: expected auto or a thread count from 1 to " + std::to_string(kMaxWorkerThreads) + ", got '" +
                   value + "'";
        request.threads = count;
    }
    if (o.app->count("--duration")) {
        double ms = 0;
        if (!parseTimeMs(o.duration, ms) || !(ms > 0))
            return "--duration: expected a time above 0 (5, 2.5s, 500ms), got '" + o.duration + "'";
        request.durationSeconds = ms / 1000.0;
    }
    if (o.app->count("--rate")) {
        double hz = 0;
        if (!parseSampleRate(o.rate, hz)) return "--rate: expected a whole rate from 8000 to 768000 Hz, got '" + o.rate + "'";
        request.sampleRate = hz;
    }
    if (o.app->count("--report")) {
        if (o.report.empty()) return "--report needs a file name";
        request.reportPath = o.report;
    }
    if (o.app->count("--html")) {
        if (o.html.empty()) return "--html needs a file name";
        request.htmlPath = o.html;
    }
    const bool haveTarget = o.app->count("--target") > 0, haveCeiling = o.app->count("--ceiling") > 0;
    const bool haveMaxGain = o.app->count("--max-gain") > 0;
    if (haveCeiling && !haveTarget) return "--ceiling needs --target (it is the true-peak ceiling of a loudness target)";
    if (haveMaxGain && !haveTarget) return "--max-gain needs --target (it caps the gain a loudness target applies)";
    if (haveTarget) {
        LoudnessTarget target;
        if (auto error = parseLoudnessTarget(o.target, target); !error.empty()) return error;
        if (haveCeiling)
            if (auto error = parseCeiling(o.ceiling, target.ceilingDbtp); !error.empty()) return error;
        if (haveMaxGain)
            if (auto error = parseMaxGain(o.maxGain, target.maxGainDb); !error.empty()) return error;
        request.target = target;
    }
    if (!o.positional.empty()) request.graphPath = o.positional[0];
    if (o.positional.size() > 1) return "unexpected argument '" + o.positional[1] + "' (one graph file per render)";
    if (request.graphPath.empty()) {
        // `render -i in.wav graph.yaml ...`: the graph was taken as an input.
        auto it = std::find_if(request.inputs.begin(), request.inputs.end(), isGraphFileName);
        if (it != request.inputs.end()) {
            request.graphPath = *it;
            request.inputs.erase(it);
        }
    }
    if (request.graphPath.empty()) return "no graph file given";
    if (o.album) {
        if (!request.target) return "--album needs --target (the album is brought to one loudness with one gain)";
        if (request.inputs.empty()) return "--album: no tracks given (-i FILE, one per track)";
        if (request.durationSeconds) return "--album and --duration exclude each other (each track keeps its length)";
        request.album = true;
    }
    if (request.outputs.empty()) return "no output file given (-o [NAME=]FILE)";
    return {};
}

} // namespace sg::cli
