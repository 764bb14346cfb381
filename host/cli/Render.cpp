#include "host/cli/Render.h"

#include "host/cli/CommandLine.h"
#include "host/cli/RenderCommit.h"
#include "host/cli/RenderPipeline.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/Target.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
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
    std::printf("rendered %s: %s, %.3f s at %s, in %.3f s (%.0fx realtime)\n", request.graphPath.c_str(),
                plural(result.frames, "frame", "frames").c_str(), seconds, formatRate(result.sampleRate).c_str(),
                result.wallSeconds, result.wallSeconds > 0 ? seconds / result.wallSeconds : 0.0);
    std::printf("latency: %s (%.2f ms), trimmed from the output\n", plural(result.latencyFrames, "frame", "frames").c_str(),
                1000.0 * result.latencyFrames / result.sampleRate);
    for (const auto& [name, path] : result.inputs) std::printf("  %s <- %s\n", name.c_str(), path.c_str());
    for (const auto& out : result.outputs) {
        std::printf("  %s -> %s (%s, %d ch), %s\n", out.name.c_str(), out.path.c_str(), io::outputFormatName(out.format),
                    out.channels, plural(std::int64_t(out.clippedSamples), "clipped sample", "clipped samples").c_str());
        if (out.measured && !out.target)
            std::printf("    %s integrated, true peak %s, LRA %.1f %s\n",
                        level(out.figures.integratedLufs, kIntegratedFigure.unit).c_str(),
                        level(out.figures.truePeakDbtp, kTruePeakFigure.unit).c_str(), out.figures.loudnessRangeLu,
                        kLoudnessRangeFigure.unit);
    }
    if (!request.target) return;
    std::printf("target %s\n", targetName(*request.target).c_str());
    for (const auto& out : result.outputs) {
        if (!out.target) continue;
        const TargetResult& t = *out.target;
        std::printf("  %s: %s -> %s integrated, gain %+.2f dB; true peak %s -> %s\n", out.name.c_str(),
                    level(t.before.integratedLufs, kIntegratedFigure.unit).c_str(),
                    level(t.after.integratedLufs, kIntegratedFigure.unit).c_str(), t.gainDb,
                    level(t.before.truePeakDbtp, kTruePeakFigure.unit).c_str(),
                    level(t.after.truePeakDbtp, kTruePeakFigure.unit).c_str());
        if (t.maxGainReductionDb > 0)
            std::printf("    limiter: %.2f dB max, %.2f dB mean gain reduction, limiting %.1f%% of the time\n",
                        t.maxGainReductionDb, t.meanGainReductionDb, t.limitedPercent);
        else
            std::printf("    limiter: no gain reduction needed\n");
        if (t.meanGainReductionDb > kHeavyLimitingDb)
            std::printf("    warning: %s\n", heavyLimitingText(*request.target, t).c_str());
        std::printf("    pass 2 (gain, limiter, %s): %s, %.3f s\n", io::outputFormatName(out.format),
                    plural(t.pass2Runs, "run", "runs").c_str(), t.pass2Seconds);
    }
    std::printf("pass 1 (the graph): %.3f s\n", result.pass1Seconds);
}

} // namespace

// ---- public ------------------------------------------------------------------------------

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
