#include "host/cli/Render.h"

#include "host/cli/CommandLine.h"
#include "host/cli/HtmlPages.h"
#include "host/cli/RenderAlbum.h"
#include "host/cli/RenderCommit.h"
#include "host/cli/RenderPipeline.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/RenderText.h"
#include "host/cli/Target.h"
#include "host/io/TerminalText.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

// ---- messages ------------------------------------------------------------------------------

void printError(const std::string& message) {
    std::fprintf(stderr, "stagegraph render: error: %s\n", io::terminalLines(message).c_str());
}

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

/// The summary on `out` (stderr when the audio itself goes to stdout). Names and paths escaped.
void printSummary(std::FILE* out, const RenderRequest& request, const RenderSummary& result) {
    const auto safe = [](const std::string& text) { return io::terminalText(text); };
    const double seconds = double(result.frames) / result.sampleRate;
    std::fprintf(out, "rendered %s: %s, %.3f s at %s, in %.3f s (%.0fx realtime)\n", safe(request.graphPath).c_str(),
                 plural(result.frames, "frame", "frames").c_str(), seconds, formatRate(result.sampleRate).c_str(),
                 result.wallSeconds, result.wallSeconds > 0 ? seconds / result.wallSeconds : 0.0);
    std::fprintf(out, "latency: %s (%.2f ms), trimmed from the output\n", plural(result.latencyFrames, "frame", "frames").c_str(),
                 1000.0 * result.latencyFrames / result.sampleRate);
    if (result.outputRate > 0 && result.outputRate != result.sampleRate)
        std::fprintf(out, "outputs resampled to %s (%s quality): %s\n", formatRate(result.outputRate).c_str(),
                     io::resampleQualityName(request.resampleQuality),
                     plural(io::resampledFrames(result.frames, result.sampleRate, result.outputRate), "frame", "frames").c_str());
    for (const auto& [name, path] : result.inputs) std::fprintf(out, "  %s <- %s\n", safe(name).c_str(), safe(path).c_str());
    for (const auto& o : result.outputs) {
        std::fprintf(out, "  %s -> %s (%s, %d ch), %s\n", safe(o.name).c_str(), safe(o.path).c_str(),
                     io::outputFormatName(o.format).c_str(), o.channels,
                     plural(std::int64_t(o.clippedSamples), "clipped sample", "clipped samples").c_str());
        if (o.measured && !o.target)
            std::fprintf(out, "    %s integrated, true peak %s, LRA %.1f %s\n",
                         level(o.figures.integratedLufs, kIntegratedFigure.unit).c_str(),
                         level(o.figures.truePeakDbtp, kTruePeakFigure.unit).c_str(), o.figures.loudnessRangeLu,
                         kLoudnessRangeFigure.unit);
    }
    if (!request.target) return;
    std::fprintf(out, "target %s\n", targetName(*request.target).c_str());
    for (const auto& o : result.outputs) {
        if (!o.target) continue;
        const TargetResult& t = *o.target;
        std::fprintf(out, "  %s: %s -> %s integrated, gain %+.2f dB; true peak %s -> %s\n", safe(o.name).c_str(),
                     level(t.before.integratedLufs, kIntegratedFigure.unit).c_str(),
                     level(t.after.integratedLufs, kIntegratedFigure.unit).c_str(), t.gainDb,
                     level(t.before.truePeakDbtp, kTruePeakFigure.unit).c_str(),
                     level(t.after.truePeakDbtp, kTruePeakFigure.unit).c_str());
        if (t.maxGainReductionDb > 0)
            std::fprintf(out, "    limiter: %.2f dB max, %.2f dB mean gain reduction, limiting %.1f%% of the time\n",
                         t.maxGainReductionDb, t.meanGainReductionDb, t.limitedPercent);
        else
            std::fprintf(out, "    limiter: no gain reduction needed\n");
        if (t.meanGainReductionDb > kHeavyLimitingDb)
            std::fprintf(out, "    warning: %s\n", heavyLimitingText(*request.target, t).c_str());
        std::fprintf(out, "    pass 2 (gain, limiter, %s): %s, %.3f s\n", io::outputFormatName(o.format).c_str(),
                     plural(t.pass2Runs, "run", "runs").c_str(), t.pass2Seconds);
        if (t.trimDb != 0) std::fprintf(out, "    trim after the limiter: %+.3f dB\n", t.trimDb);
    }
    std::fprintf(out, "pass 1 (the graph): %.3f s\n", result.pass1Seconds);
}

/// True when an output or the report is standard output ("-", /dev/stdout, or the very file or
/// pipe stdout is): the summary must not be mixed into it.
bool writesStandardOutput(const RenderRequest& request, const RenderPlan& plan) {
    struct stat console {};
    const bool haveConsole = ::fstat(STDOUT_FILENO, &console) == 0;
    auto isStdout = [&](const std::string& path) {
        if (path == "-") return true;
        struct stat st {};
        return haveConsole && ::stat(path.c_str(), &st) == 0 && st.st_dev == console.st_dev && st.st_ino == console.st_ino;
    };
    if (!request.reportPath.empty() && isStdout(request.reportPath)) return true;
    for (const auto& path : plan.outputFiles)
        if (!path.empty() && isStdout(path)) return true;
    return false;
}

} // namespace

// ---- public ------------------------------------------------------------------------------

int render(const RenderRequest& request, RenderSummary* summary) {
    std::optional<InterruptGuard> interruptGuard;
    if (request.handleInterrupts) interruptGuard.emplace();
    RenderPlan plan;
    if (const int status = planRender(request, plan); status != kExitOk) return status;
    RenderOutputs outputs;
    if (const int status = openRenderOutputs(request, plan, outputs); status != kExitOk) return status;
    StreamedRender streamed;
    if (const int status = runRenderPipeline(request, plan, outputs, streamed); status != kExitOk) return status;
    RenderSummary result;
    if (const int status = commitRender(request, plan, outputs, streamed, result); status != kExitOk) return status;
    if (request.printSummary) printSummary(writesStandardOutput(request, plan) ? stderr : stdout, request, result);
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
    if (request.album) return renderAlbum(request);
    if (request.htmlPath.empty()) return render(request);
    if (auto error = checkHtmlRequest(request); !error.empty()) return usageError(error);
    RenderSummary summary;
    if (const int status = render(request, &summary); status != kExitOk) return status;
    return writeRenderHtml(request, summary);
}

} // namespace sg::cli
