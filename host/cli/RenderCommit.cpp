#include "host/cli/RenderCommit.h"

#include "core/Executor.h"
#include "host/cli/CommandLine.h"
#include "host/cli/RenderText.h"
#include "host/io/OutputFiles.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace sg::cli {

int openRenderOutputs(const RenderRequest& request, const RenderPlan& plan, RenderOutputs& outputs) {
    const auto& execOutputs = plan.program->executor().outputs();
    const std::size_t count = execOutputs.size();
    outputs.targeting = request.target.has_value();
    const bool measuring = outputs.targeting || !request.reportPath.empty() || request.measureOutputs;
    outputs.writes.assign(count, false);
    outputs.writers = std::vector<io::AudioFileWriter>(count);
    outputs.meters.resize(count);
    outputs.pass1Files.resize(count);
    outputs.pass1Meters.resize(count);
    outputs.probeReferences.resize(count);
    outputs.resamplers.resize(count);
    for (std::size_t k = 0; k < count; ++k) {
        const auto slot = std::size_t(plan.outputSlot[k]);
        const std::string& path = plan.outputFiles[slot];
        if (path.empty()) {
            printRenderNote("graph output " + quotedText(execOutputs[k].name) + " is not written (add -o " + execOutputs[k].name +
                            "=FILE)");
            continue;
        }
        // The file it replaces gives its cached pages back before the render touches new ones.
        io::releaseReplacedPages(path, plan.protectedPaths);
        const int channels = execOutputs[k].channels;
        if (plan.outputRate != plan.sampleRate) {
            outputs.resamplers[k] = std::make_unique<io::Resampler>();
            if (auto error = outputs.resamplers[k]->prepare(plan.sampleRate, plan.outputRate, channels, 2 * 16384,
                                                            request.resampleQuality);
                !error.empty()) {
                printRenderError(quotedText(path) + ": " + error);
                return kExitFailure;
            }
        }
        if (outputs.targeting) {
            if (channels > kLoudnessMaxChannels)
                return renderUsageError("--target: graph output " + quotedText(execOutputs[k].name) + " has " +
                                        countText(channels, "channel", "channels") + "; loudness is measured on 1 to " +
                                        std::to_string(kLoudnessMaxChannels));
            outputs.pass1Files[k] = std::make_unique<TempSampleFile>();
            // Known to outgrow memory (the inputs' length, or --duration): straight to the file. The
            // memory stage would only be written out in one piece when it fills, a stall of the
            // pass's scratch thread of about 0.1 s per 32 MiB here (pages first touched twice).
            std::int64_t expectedFrames = plan.durationFrames;
            if (expectedFrames < 0)
                for (const auto& reader : plan.readers) expectedFrames = std::max(expectedFrames, reader.frames());
            const double expectedSamples = double(expectedFrames) * plan.outputRate / plan.sampleRate * double(channels);
            if (auto error = outputs.pass1Files[k]->create(fs::path(path).parent_path().string(), channels,
                                                           TempSampleFile::memoryFor(expectedSamples));
                !error.empty()) {
                printRenderError(error);
                return kExitFailure;
            }
            outputs.pass1Meters[k] = std::make_unique<LoudnessMeter>();
            LoudnessOptions offline;
            offline.offline = true; // read once pass 1 is over
            // The probe's stretches as they are, kept as the meter goes (pass 2 need not read them back);
            // with no length known beforehand, none (pass 2 reads them back).
            if (expectedFrames > 0) {
                outputs.probeReferences[k] = std::make_unique<ProbeReference>();
                const double outputFrames = std::ceil(double(expectedFrames) * plan.outputRate / plan.sampleRate);
                outputs.probeReferences[k]->reserve(std::int64_t(outputFrames) + 1, plan.outputRate);
                offline.stepTap = &ProbeReference::tap;
                offline.stepTapContext = outputs.probeReferences[k].get();
            }
            if (auto error = outputs.pass1Meters[k]->prepare(plan.outputRate, channels, offline); !error.empty()) {
                printRenderError("--target: " + error);
                return kExitFailure;
            }
        } else {
            if (auto error = outputs.writers[k].open(path, plan.formats[slot], plan.outputRate, channels, plan.protectedPaths);
                !error.empty()) {
                printRenderError(error);
                return kExitFailure;
            }
            if (measuring) {
                outputs.meters[k] = std::make_unique<WrittenSampleMeter>();
                if (auto error = outputs.meters[k]->prepare(plan.outputRate, channels, plan.formats[slot]); !error.empty()) {
                    printRenderNote("output " + quotedText(execOutputs[k].name) + " is not measured: " + error);
                    outputs.meters[k].reset();
                }
            }
        }
        outputs.writes[k] = true;
    }
    if (outputs.targeting && std::find(outputs.writes.begin(), outputs.writes.end(), true) == outputs.writes.end())
        return renderUsageError("--target: no graph output is written (give -o [NAME=]FILE)");
    if (!request.reportPath.empty()) {
        if (auto error = outputs.reportFile.open(request.reportPath); !error.empty()) {
            printRenderError(error);
            return kExitFailure;
        }
    }
    return kExitOk;
}

std::string commitOutputFiles(RenderOutputs& outputs) {
    for (std::size_t k = 0; k < outputs.writers.size(); ++k)
        if (outputs.writes[k])
            if (auto error = outputs.writers[k].commit(); !error.empty()) return error;
    return {};
}

namespace {

/// Closing a scratch file of pass 1 or 2 drops its cached pages (about 0.2 GB each for 10 minutes
/// of stereo, some 25 ms apiece): done on a thread of its own while the next output's pass 2,
/// the commit of the outputs and the summary go on. Joined when it goes out of scope.
class ScratchRelease {
public:
    ScratchRelease() = default;
    ScratchRelease(const ScratchRelease&) = delete;
    ScratchRelease& operator=(const ScratchRelease&) = delete;
    ~ScratchRelease() {
        for (auto& thread : threads_) thread.join();
    }
    void add(std::unique_ptr<TempSampleFile> a, std::unique_ptr<TempSampleFile> b) {
        try {
            threads_.emplace_back([a = std::move(a), b = std::move(b)]() mutable {
                a.reset();
                b.reset();
            });
        } catch (const std::system_error&) {
            // No thread to be had: the files are closed here, when the arguments go.
        }
    }

private:
    std::vector<std::thread> threads_;
};

} // namespace

int commitRender(const RenderRequest& request, RenderPlan& plan, RenderOutputs& outputs, const StreamedRender& streamed,
                 RenderSummary& summary) {
    const Executor& executor = plan.program->executor();
    const auto& execOutputs = executor.outputs();
    RenderSummary result;
    result.taps = executor.measurements();

    // --target: pass 2 for every written output (each uncommitted until all have landed).
    std::vector<std::optional<TargetResult>> targetResults(execOutputs.size());
    ScratchRelease releasing;
    if (outputs.targeting) {
        for (std::size_t k = 0; k < execOutputs.size(); ++k) {
            if (!outputs.writes[k]) continue;
            const auto slot = std::size_t(plan.outputSlot[k]);
            TargetResult delivered;
            std::unique_ptr<TempSampleFile> spent;
            const std::string error =
                deliverToTarget(*outputs.pass1Files[k], figuresOf(*outputs.pass1Meters[k]), *request.target,
                                plan.outputFiles[slot], plan.formats[slot], plan.protectedPaths, outputs.writers[k], delivered,
                                request.showProgress, interruptFlag(), &spent, outputs.probeReferences[k].get());
            // Frees their disk space now, beside the next output's pass 2 or the commit.
            releasing.add(std::move(outputs.pass1Files[k]), std::move(spent));
            if (*interruptFlag()) {
                printRenderError("interrupted; no output written");
                return kExitInterrupted;
            }
            if (!error.empty()) {
                printRenderError(error + "; no output written");
                return kExitFailure;
            }
            targetResults[k] = delivered;
        }
    }

    if (auto error = commitOutputFiles(outputs); !error.empty()) {
        printRenderError(error);
        return kExitFailure;
    }
    const double wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - streamed.started).count();

    result.sampleRate = plan.sampleRate;
    result.outputRate = plan.outputRate;
    result.frames = streamed.frames;
    result.latencyFrames = executor.latencyFrames();
    result.threads = executor.workerThreads();
    result.wallSeconds = wallSeconds;
    result.pass1Seconds = streamed.pass1Seconds;
    for (std::size_t i = 0; i < plan.inputs.size(); ++i) result.inputs.emplace_back(plan.inputs[i].name, plan.inputFiles[i]);
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        if (!outputs.writes[k]) continue;
        RenderedOutput out;
        out.name = execOutputs[k].name;
        out.path = outputs.writers[k].path();
        out.format = outputs.writers[k].format();
        out.channels = execOutputs[k].channels;
        out.clippedSamples = outputs.writers[k].clippedSamples();
        if (targetResults[k]) {
            out.measured = true;
            out.figures = targetResults[k]->after;
            out.target = targetResults[k];
        } else if (outputs.meters[k]) {
            out.measured = true;
            out.figures = figuresOf(outputs.meters[k]->meter());
        }
        result.outputs.push_back(std::move(out));
    }
    for (const auto& out : result.outputs)
        if (out.clippedSamples > 0)
            printRenderWarning(quotedText(out.path) + ": " + countText(std::int64_t(out.clippedSamples), "sample", "samples") +
                               " clipped at full scale; lower the level or write wav32f");
    if (outputs.targeting)
        for (const auto& out : result.outputs)
            if (out.target && out.target->meanGainReductionDb > kHeavyLimitingDb)
                printRenderWarning(heavyLimitingText(*request.target, *out.target) + " on " + quotedText(out.path));

    if (!request.reportPath.empty()) {
        if (auto error = outputs.reportFile.commit(reportJson(request, result)); !error.empty()) {
            printRenderError(error + " (the audio files were written)");
            return kExitFailure;
        }
    }
    summary = std::move(result);
    return kExitOk;
}

} // namespace sg::cli
