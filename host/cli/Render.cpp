#include "host/cli/Render.h"

#include "host/cli/CommandLine.h"
#include "host/cli/RenderCommit.h"
#include "host/cli/RenderPipeline.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/Target.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

// ---- messages ------------------------------------------------------------------------------

void printError(const std::string& message) { std::fprintf(stderr, "stagegraph render: error: %s\n", message.c_str()); }

int usageError(const std::string& message) {
    printError(message);
    std::fputs("(see 'stagegraph render --help')\n", stderr);
    return kExitUsage;
}

std::string formatRate(double hz) {
    char text[32];
    std::snprintf(text, sizeof text, "%g Hz", hz);
    return text;
}

// ---- arguments -----------------------------------------------------------------------------

std::string lowercase(std::string text) {
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

/// "-x" or "--xyz", but not a negative number such as "-6".
bool isOption(const std::string& arg) {
    return arg.size() > 1 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.';
}

bool isGraphFileName(const std::string& arg) {
    const std::string ext = fs::path(arg).extension().string();
    return arg.find('=') == std::string::npos && (ext == ".yaml" || ext == ".yml");
}

// ---- the summary ---------------------------------------------------------------------------

std::string level(double value, const char* unit) {
    if (!std::isfinite(value)) return std::string("-inf ") + unit;
    char text[48];
    std::snprintf(text, sizeof text, "%.2f %s", value, unit);
    return text;
}

std::string targetName(const LoudnessTarget& target) {
    char text[96];
    std::snprintf(text, sizeof text, "%g LUFS, true peak <= %g dBTP", target.integratedLufs, target.ceilingDbtp);
    return (target.name.empty() ? std::string() : target.name + ": ") + text;
}

std::string heavyLimitingText(const LoudnessTarget& target, const TargetResult& result) {
    char text[160];
    std::snprintf(text, sizeof text, "hitting %g LUFS needed heavy limiting: %.1f dB mean, %.1f dB max gain reduction",
                  target.integratedLufs, result.meanGainReductionDb, result.maxGainReductionDb);
    return text;
}

void printSummary(const RenderRequest& request, const RenderSummary& result) {
    const double seconds = double(result.frames) / result.sampleRate;
    std::printf("rendered %s: %lld frames, %.3f s at %s, in %.3f s (%.0fx realtime)\n", request.graphPath.c_str(),
                static_cast<long long>(result.frames), seconds, formatRate(result.sampleRate).c_str(), result.wallSeconds,
                result.wallSeconds > 0 ? seconds / result.wallSeconds : 0.0);
    std::printf("latency: %d frames (%.2f ms), trimmed from the output\n", result.latencyFrames,
                1000.0 * result.latencyFrames / result.sampleRate);
    for (const auto& [name, path] : result.inputs) std::printf("  %s <- %s\n", name.c_str(), path.c_str());
    for (const auto& out : result.outputs) {
        std::printf("  %s -> %s (%s, %d ch), %llu clipped samples\n", out.name.c_str(), out.path.c_str(),
                    io::outputFormatName(out.format), out.channels, static_cast<unsigned long long>(out.clippedSamples));
        if (out.measured && !out.target)
            std::printf("    %s integrated, true peak %s, LRA %.1f LU\n", level(out.figures.integratedLufs, "LUFS").c_str(),
                        level(out.figures.truePeakDbtp, "dBTP").c_str(), out.figures.loudnessRangeLu);
    }
    if (!request.target) return;
    std::printf("target %s\n", targetName(*request.target).c_str());
    for (const auto& out : result.outputs) {
        if (!out.target) continue;
        const TargetResult& t = *out.target;
        std::printf("  %s: %s -> %s integrated, gain %+.2f dB; true peak %s -> %s\n", out.name.c_str(),
                    level(t.before.integratedLufs, "LUFS").c_str(), level(t.after.integratedLufs, "LUFS").c_str(), t.gainDb,
                    level(t.before.truePeakDbtp, "dBTP").c_str(), level(t.after.truePeakDbtp, "dBTP").c_str());
        if (t.maxGainReductionDb > 0)
            std::printf("    limiter: %.2f dB max, %.2f dB mean gain reduction, limiting %.1f%% of the time\n",
                        t.maxGainReductionDb, t.meanGainReductionDb, t.limitedPercent);
        else
            std::printf("    limiter: no gain reduction needed\n");
        if (t.meanGainReductionDb > kHeavyLimitingDb)
            std::printf("    warning: %s\n", heavyLimitingText(*request.target, t).c_str());
        std::printf("    pass 2 (gain, limiter, %s): %d %s, %.3f s\n", io::outputFormatName(out.format), t.pass2Runs,
                    t.pass2Runs == 1 ? "run" : "runs", t.pass2Seconds);
    }
    std::printf("pass 1 (the graph): %.3f s\n", result.pass1Seconds);
}

} // namespace

// ---- public ------------------------------------------------------------------------------

const char* renderUsage() {
    return "usage: stagegraph render GRAPH.yaml -i [NAME=]FILE... -o [NAME=]FILE... [options]\n"
           "\n"
           "Runs GRAPH.yaml over audio files. The graph runs at the inputs' sample rate; the output is\n"
           "aligned with the input (the graph's latency is trimmed) and as long as the longest input.\n"
           "\n"
           "  -i [NAME=]FILE...       input files (WAV, FLAC, AIFF, Ogg...); a bare FILE fits a graph\n"
           "                          with one input left; inputs with a default file need no -i\n"
           "  -o [NAME=]FILE...       output files; a bare FILE fits a graph with one output\n"
           "  --set node.param=VALUE  override a parameter (repeatable), e.g. --set trim.gain=-2dB\n"
           "  --target VALUE          bring every output to a loudness: -14LUFS, or a preset: spotify\n"
           "                          (-14 LUFS, -1 dBTP), apple (-16, -1), youtube (-14, -1), amazon\n"
           "                          (-14, -2), ebu-r128 (-23, -1), atsc-a85 (-24, -2); gain, then a\n"
           "                          true-peak limiter, measured on the written file (two passes)\n"
           "  --ceiling LEVEL         true-peak ceiling for --target, e.g. -1dBTP (default: the\n"
           "                          preset's, -1 dBTP for a bare loudness)\n"
           "  --report FILE.json      write every tap's figures and each output's loudness to FILE\n"
           "  --format FORMAT         wav16 | wav24 | wav32f | flac16 | flac24\n"
           "                          (default: wav24 for .wav, flac24 for .flac)\n"
           "  --block N               host block in frames, 1..8192 (default 1024)\n"
           "  --no-batch              compile without lane batching\n"
           "\n"
           "Integer formats are TPDF-dithered. Outputs appear only when the render succeeded.\n"
           "Exit status: 0 success, 1 processing or I/O failure, 2 usage or graph error.\n";
}

std::string parseRenderArguments(const std::vector<std::string>& args, RenderRequest& request, bool& helpRequested) {
    helpRequested = false;
    std::vector<std::string> positional;
    std::string targetText, ceilingText;
    bool haveTarget = false, haveCeiling = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        const OptionArgument option = splitOption(arg);
        const std::string& name = option.name;
        const std::string& inlineValue = option.inlineValue;
        const bool hasInline = option.hasInlineValue;
        // An option followed by one or more values, up to the next option.
        auto takeList = [&](std::vector<std::string>& into) -> std::string {
            const std::size_t before = into.size();
            if (hasInline) into.push_back(inlineValue);
            while (i + 1 < args.size() && !isOption(args[i + 1])) into.push_back(args[++i]);
            return into.size() == before ? name + " needs a value" : std::string();
        };
        auto takeOne = [&](std::string& value) -> std::string {
            if (hasInline)
                value = inlineValue;
            else if (i + 1 < args.size())
                value = args[++i];
            else
                return name + " needs a value";
            return {};
        };
        std::string error;
        if (name == "-h" || name == "--help") {
            helpRequested = true;
            return {};
        } else if (name == "-i" || name == "--input") {
            error = takeList(request.inputs);
        } else if (name == "-o" || name == "--output") {
            error = takeList(request.outputs);
        } else if (name == "--set") {
            error = takeList(request.overrides);
        } else if (name == "--format") {
            std::string value;
            error = takeOne(value);
            if (error.empty()) {
                request.format = io::parseOutputFormat(value);
                if (!request.format) error = "--format: unknown format '" + value + "' (wav16, wav24, wav32f, flac16 or flac24)";
            }
        } else if (name == "--block") {
            std::string value;
            error = takeOne(value);
            if (error.empty()) {
                int frames = 0;
                const auto [end, code] = std::from_chars(value.data(), value.data() + value.size(), frames);
                if (code != std::errc() || end != value.data() + value.size() || frames < kMinBlockFrames ||
                    frames > kMaxBlockFrames)
                    error = "--block: expected a frame count from " + std::to_string(kMinBlockFrames) + " to " +
                            std::to_string(kMaxBlockFrames) + ", got '" + value + "'";
                else
                    request.blockFrames = frames;
            }
        } else if (name == "--no-batch") {
            request.batch = false;
        } else if (name == "--target" || name == "--ceiling") {
            std::string& value = name == "--target" ? targetText : ceilingText;
            error = takeOne(value);
            // "--target -14 LUFS", "--ceiling -1 dBTP": the unit as an argument of its own.
            const char* unit = name == "--target" ? "lufs" : "dbtp";
            if (error.empty() && !hasInline && i + 1 < args.size() &&
                (lowercase(args[i + 1]) == unit || (name == "--target" && lowercase(args[i + 1]) == "lkfs")))
                value += " " + args[++i];
            (name == "--target" ? haveTarget : haveCeiling) = true;
        } else if (name == "--report") {
            error = takeOne(request.reportPath);
            if (error.empty() && request.reportPath.empty()) error = "--report needs a file name";
        } else if (isOption(arg)) {
            error = "unknown option '" + arg + "'";
        } else {
            positional.push_back(arg);
        }
        if (!error.empty()) return error;
    }
    if (haveCeiling && !haveTarget) return "--ceiling needs --target (it is the true-peak ceiling of a loudness target)";
    if (haveTarget) {
        LoudnessTarget target;
        if (auto error = parseLoudnessTarget(targetText, target); !error.empty()) return error;
        if (haveCeiling)
            if (auto error = parseCeiling(ceilingText, target.ceilingDbtp); !error.empty()) return error;
        request.target = target;
    }
    if (!positional.empty()) request.graphPath = positional[0];
    if (positional.size() > 1) return "unexpected argument '" + positional[1] + "' (one graph file per render)";
    if (request.graphPath.empty()) {
        // `render -i in.wav graph.yaml ...`: the graph was taken as an input.
        auto it = std::find_if(request.inputs.begin(), request.inputs.end(), isGraphFileName);
        if (it != request.inputs.end()) {
            request.graphPath = *it;
            request.inputs.erase(it);
        }
    }
    if (request.graphPath.empty()) return "no graph file given";
    if (request.outputs.empty()) return "no output file given (-o [NAME=]FILE)";
    return {};
}

int render(const RenderRequest& request, RenderSummary* summary) {
    InterruptGuard interruptGuard;
    RenderPlan plan;
    if (const int status = planRender(request, plan); status != kExitOk) return status;
    RenderOutputs outputs;
    if (const int status = openRenderOutputs(request, plan, outputs); status != kExitOk) return status;
    StreamedRender streamed;
    if (const int status = runRenderPipeline(request, plan, outputs, streamed); status != kExitOk) return status;
    RenderSummary result;
    if (const int status = commitRender(request, plan, outputs, streamed, result); status != kExitOk) return status;
    if (request.printSummary) printSummary(request, result);
    if (summary) *summary = std::move(result);
    return kExitOk;
}

int runRender(const std::vector<std::string>& args) {
    RenderRequest request;
    bool help = false;
    if (auto error = parseRenderArguments(args, request, help); !error.empty()) {
        return usageError(error);
    }
    if (help) {
        std::fputs(renderUsage(), stdout);
        return kExitOk;
    }
    return render(request);
}

} // namespace sg::cli
