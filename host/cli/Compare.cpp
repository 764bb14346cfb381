#include "host/cli/Compare.h"

#include "core/Compiler.h"
#include "core/GraphLoader.h"
#include "core/OfflineRunner.h"
#include "core/Registry.h"
#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"
#include "host/cli/HtmlReport.h"
#include "host/cli/Json.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/RenderText.h"
#include "host/cli/Target.h"
#include "host/cli/TextTable.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <numbers>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kChunkFrames = 8192;
/// With a playback model, pass 2 is repeated until every candidate lands this close (LU).
constexpr double kThroughToleranceLu = 0.02;
constexpr int kMaxMatchRuns = 6;

void printError(const std::string& message) {
    std::fprintf(stderr, "stagegraph compare: error: %s\n", io::terminalLines(message).c_str());
}
int usageError(const std::string& message) {
    printError(message);
    std::fputs("(see 'stagegraph compare --help')\n", stderr);
    return kExitUsage;
}

/// An input file as a runner's source.
class ReaderSource final : public AudioSource {
public:
    explicit ReaderSource(io::AudioFileReader& reader) : reader_(reader) {}
    int channels() const override { return reader_.channels(); }
    int read(const AudioView& block) override {
        const std::int64_t left = reader_.frames() - reader_.position();
        if (left <= 0) return 0;
        const int frames = int(std::min<std::int64_t>(block.frames, left));
        const std::int64_t got = reader_.read(block.frameRange(0, frames));
        return got < 0 ? -1 : int(got);
    }

private:
    io::AudioFileReader& reader_;
};

/// A scratch file, times a gain, as a runner's source (pass 2 through a playback model).
class ScratchSource final : public AudioSource {
public:
    ScratchSource(TempSampleFile& file, double gainDb) : file_(file), gain_(float(std::pow(10.0, gainDb / 20))) {}
    int channels() const override { return file_.channels(); }
    int read(const AudioView& block) override {
        const std::int64_t got = file_.read(block);
        if (got < 0) return -1;
        for (int c = 0; c < block.channels; ++c) {
            float* x = block.channel(c);
            for (std::int64_t n = 0; n < got; ++n) x[n] *= gain_;
        }
        return int(got);
    }

private:
    TempSampleFile& file_;
    float gain_;
};

/// Where a compared stream goes: a scratch file (optional) and a meter or an analyzer.
class MeasureSink final : public AudioSink {
public:
    MeasureSink(TempSampleFile* file, LoudnessMeter* meter, SignalAnalyzer* analyzer)
        : file_(file), meter_(meter), analyzer_(analyzer) {}
    bool write(const ConstAudioView& block) override {
        if (file_) {
            error_ = file_->write(block);
            if (!error_.empty()) return false;
        }
        if (meter_) {
            const float* pointers[kLoudnessMaxChannels];
            for (int c = 0; c < block.channels; ++c) pointers[c] = block.channel(c);
            meter_->process(pointers, block.frames);
        }
        if (analyzer_) analyzer_->process(block);
        return true;
    }
    const std::string& error() const { return error_; }

private:
    TempSampleFile* file_;
    LoudnessMeter* meter_;
    SignalAnalyzer* analyzer_;
    std::string error_;
};

/// One candidate while it is compared.
struct Candidate {
    RenderPlan plan;
    int output = -1; ///< executor output compared
    std::unique_ptr<TempSampleFile> rendered, measured;
    CandidateResult result;
};

/// The playback model of --through, instantiated at the render's rate.
struct Playback {
    std::shared_ptr<const CompiledGraph> compiled;
    std::unique_ptr<Program> program;
    int inputChannels = 0, output = 0, outputChannels = 0;
};

std::string runStatusMessage(const RunResult& run, const std::string& what, const std::string& sourceError,
                             const std::string& sinkError, double sampleRate) {
    switch (run.status) {
    case RunStatus::Finished:
        return {};
    case RunStatus::Stopped:
        return "interrupted";
    case RunStatus::SourceFailed:
        return sourceError;
    case RunStatus::SinkFailed:
        return sinkError;
    case RunStatus::NonFinite: {
        char when[64];
        std::snprintf(when, sizeof when, " (%.3f s)", double(run.nonFiniteFrame) / sampleRate);
        return what + " produced non-finite samples (NaN or infinity), first at frame " + std::to_string(run.nonFiniteFrame) +
               when;
    }
    case RunStatus::Mismatch:
        return "internal: " + run.mismatch;
    }
    return {};
}

std::string scratchFolder(const CompareRequest& request) {
    for (const std::string* path : {&request.abPath, &request.nullPath, &request.htmlPath})
        if (!path->empty()) {
            const fs::path parent = fs::path(*path).parent_path();
            return parent.empty() ? std::string(".") : parent.string();
        }
    std::error_code ec;
    const fs::path system = fs::temp_directory_path(ec);
    return ec ? std::string(".") : system.string();
}

/// Labels from the graph files' stems, made unique with "#2", "#3".
std::vector<std::string> labelsOf(const std::vector<std::string>& graphs) {
    std::vector<std::string> labels;
    for (const auto& graph : graphs) {
        std::string stem = fs::path(graph).stem().string();
        if (stem.empty()) stem = "graph";
        std::string label = stem;
        for (int n = 2; std::find(labels.begin(), labels.end(), label) != labels.end(); ++n)
            label = stem + "#" + std::to_string(n);
        labels.push_back(label);
    }
    return labels;
}

/// Pass 1 of one candidate. Returns "" or an error.
std::string renderCandidate(const CompareRequest& request, Candidate& candidate, const std::string& folder) {
    Executor& executor = candidate.plan.program->executor();
    candidate.rendered = std::make_unique<TempSampleFile>();
    if (auto error = candidate.rendered->create(folder, candidate.result.channels); !error.empty()) return error;
    LoudnessMeter meter;
    if (auto error = meter.prepare(candidate.plan.sampleRate, candidate.result.channels); !error.empty())
        return "candidate " + quotedText(candidate.result.label) + ": " + error;
    std::vector<std::unique_ptr<ReaderSource>> ownedSources;
    std::vector<AudioSource*> sources;
    for (std::size_t k = 0; k < executor.inputs().size(); ++k) {
        ownedSources.push_back(std::make_unique<ReaderSource>(candidate.plan.readers[std::size_t(candidate.plan.inputSlot[k])]));
        sources.push_back(ownedSources.back().get());
    }
    MeasureSink sink(candidate.rendered.get(), &meter, nullptr);
    std::vector<AudioSink*> sinks(executor.outputs().size(), nullptr);
    sinks[std::size_t(candidate.output)] = &sink;
    std::atomic<bool> stop{false};
    RunnerOptions options;
    options.blockFrames = request.blockFrames;
    options.durationFrames = candidate.plan.durationFrames;
    options.stop = &stop;
    options.onProgress = [&](std::int64_t) {
        if (*interruptFlag()) stop.store(true, std::memory_order_relaxed);
    };
    OfflineRunner runner(executor, options);
    const RunResult run = runner.run(sources, sinks);
    std::string sourceError;
    if (run.status == RunStatus::SourceFailed)
        sourceError = candidate.plan.readers[std::size_t(candidate.plan.inputSlot[std::size_t(run.failedPort)])].error();
    if (auto error = runStatusMessage(run, "candidate " + quotedText(candidate.result.label), sourceError, sink.error(),
                                      candidate.plan.sampleRate);
        !error.empty())
        return error;
    candidate.result.sourceIntegratedLufs = meter.integratedLufs();
    candidate.result.taps = executor.measurements();
    for (const auto& tap : candidate.result.taps) {
        GainReduction reduction{tap.node, tap.type, kNaN, kNaN};
        for (const auto& value : tap.values) {
            if (value.key == "max_gain_reduction_db") reduction.maxDb = value.value;
            if (value.key == "mean_gain_reduction_db") reduction.meanDb = value.value;
        }
        if (!std::isnan(reduction.maxDb)) candidate.result.gainReductions.push_back(reduction);
    }
    return {};
}

/// Pass 2 of one candidate at its gain. Returns "" or an error.
std::string measureCandidate(const CompareRequest& request, Candidate& candidate, Playback* playback, bool keepAudio,
                             const std::string& folder, SignalAnalyzer& analyzer) {
    CandidateResult& result = candidate.result;
    const int channels = playback ? playback->outputChannels : result.channels;
    if (auto error = analyzer.prepare(candidate.plan.sampleRate, channels, 4, !request.htmlPath.empty()); !error.empty())
        return "candidate " + quotedText(result.label) + ": " + error;
    candidate.measured.reset();
    if (keepAudio) {
        candidate.measured = std::make_unique<TempSampleFile>();
        if (auto error = candidate.measured->create(folder, channels); !error.empty()) return error;
    }
    if (auto error = candidate.rendered->rewind(); !error.empty()) return error;
    MeasureSink sink(candidate.measured.get(), nullptr, &analyzer);
    ScratchSource source(*candidate.rendered, result.gainDb);
    if (playback) {
        Executor& executor = playback->program->executor();
        AudioSource* sources[] = {&source};
        std::vector<AudioSink*> sinks(executor.outputs().size(), nullptr);
        sinks[std::size_t(playback->output)] = &sink;
        RunnerOptions options;
        options.blockFrames = request.blockFrames;
        options.durationFrames = candidate.rendered->frames();
        OfflineRunner runner(executor, options);
        const RunResult run = runner.run(sources, sinks);
        if (auto error = runStatusMessage(run, "the playback model " + quotedText(request.throughPath),
                                          "cannot read the scratch file of " + quotedText(result.label), sink.error(),
                                          candidate.plan.sampleRate);
            !error.empty())
            return error;
    } else {
        AudioBuffer buffer(channels, kChunkFrames);
        for (;;) {
            const int got = source.read(buffer.view());
            if (got < 0) return "cannot read the scratch file of " + quotedText(result.label);
            if (got == 0) break;
            if (!sink.write(ConstAudioView(buffer.view().frameRange(0, got)))) return sink.error();
            if (*interruptFlag()) return "interrupted";
        }
    }
    result.figures = figuresOf(analyzer.loudness());
    result.balance = analyzer.balance();
    result.series = analyzer.series();
    return {};
}

/// Parses "A,B" (labels or 1-based numbers) into candidate indices. Returns "" or an error.
std::string parsePair(const std::string& text, const std::vector<std::string>& labels, int& first, int& second) {
    const auto comma = text.find(',');
    if (comma == std::string::npos) return "--null-pair: expected two candidates as A,B, got '" + text + "'";
    auto find = [&](const std::string& name, int& index) -> std::string {
        for (std::size_t i = 0; i < labels.size(); ++i)
            if (labels[i] == name) return index = int(i), std::string();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos && name.size() < 6) {
            const int n = std::stoi(name);
            if (n >= 1 && std::size_t(n) <= labels.size()) return index = n - 1, std::string();
        }
        std::string known;
        for (const auto& label : labels) known += (known.empty() ? "" : ", ") + quotedText(label);
        return "--null-pair: no candidate " + quotedText(name) + " (candidates: " + known + ", or 1.." +
               std::to_string(labels.size()) + ")";
    };
    if (auto error = find(text.substr(0, comma), first); !error.empty()) return error;
    if (auto error = find(text.substr(comma + 1), second); !error.empty()) return error;
    if (first == second) return "--null-pair: names the same candidate twice";
    return {};
}

/// Writes the A/B file. Returns "" or an error.
std::string writeAb(const CompareRequest& request, std::vector<Candidate>& candidates, double sampleRate,
                    const std::vector<std::string>& protectedPaths, std::vector<AbSegment>& segments) {
    const int channels = candidates[0].measured->channels();
    const std::int64_t frames = candidates[0].measured->frames();
    const auto format = io::defaultFormatForPath(request.abPath);
    io::AudioFileWriter writer;
    if (auto error = writer.open(request.abPath, format.value_or(io::OutputFormat::Wav24), sampleRate, channels, protectedPaths);
        !error.empty())
        return error;
    for (auto& candidate : candidates)
        if (auto error = candidate.measured->rewind(); !error.empty()) return error;
    const std::int64_t segmentFrames = std::max<std::int64_t>(1, std::llround(request.abSeconds * sampleRate));
    const std::int64_t fadeFrames =
        std::min<std::int64_t>(segmentFrames, std::max<std::int64_t>(1, std::llround(request.crossfadeMs * sampleRate / 1000)));
    const std::size_t count = candidates.size();
    segments.clear();
    for (std::int64_t start = 0, k = 0; start < frames; start += segmentFrames, ++k)
        segments.push_back({double(start) / sampleRate, double(std::min(frames, start + segmentFrames)) / sampleRate,
                            int(std::size_t(k) % count)});
    std::vector<AudioBuffer> inputs;
    for (std::size_t i = 0; i < count; ++i) inputs.emplace_back(channels, kChunkFrames);
    AudioBuffer out(channels, kChunkFrames);
    for (std::int64_t position = 0; position < frames;) {
        const int n = int(std::min<std::int64_t>(kChunkFrames, frames - position));
        for (std::size_t i = 0; i < count; ++i)
            if (candidates[i].measured->read(inputs[i].view().frameRange(0, n)) != n)
                return "cannot read the scratch file of " + quotedText(candidates[i].result.label);
        for (int f = 0; f < n; ++f) {
            const std::int64_t t = position + f;
            const std::int64_t segment = t / segmentFrames;
            const std::int64_t intoSegment = t - segment * segmentFrames;
            const std::size_t current = std::size_t(segment) % count;
            // Equal-power crossfade centred on each boundary: the last fadeFrames/2 frames of a
            // segment fade into the next candidate, the first fadeFrames/2 of the next finish it.
            double mixNext = 0;
            std::size_t from = current, to = current;
            const std::int64_t half = fadeFrames / 2;
            if (segment > 0 && intoSegment < fadeFrames - half) {
                from = (std::size_t(segment) + count - 1) % count;
                mixNext = double(half + intoSegment + 0.5) / double(fadeFrames);
            } else if (segmentFrames - intoSegment <= half && t + (segmentFrames - intoSegment) < frames) {
                to = (std::size_t(segment) + 1) % count;
                mixNext = double(half - (segmentFrames - intoSegment) + 0.5) / double(fadeFrames);
            }
            const double gainTo = std::sin(mixNext * std::numbers::pi / 2);
            const double gainFrom = std::cos(mixNext * std::numbers::pi / 2);
            for (int c = 0; c < channels; ++c) {
                const float a = inputs[from].channel(c)[f], b = inputs[to].channel(c)[f];
                out.channel(c)[f] = from == to ? a : float(gainFrom * a + gainTo * b);
            }
        }
        if (auto error = writer.write(ConstAudioView(out.view().frameRange(0, n))); !error.empty()) return error;
        position += n;
    }
    return writer.commit();
}

/// Writes first - second. Returns "" or an error.
std::string writeNull(const CompareRequest& request, std::vector<Candidate>& candidates, double sampleRate,
                      const std::vector<std::string>& protectedPaths, NullResult& null) {
    Candidate& a = candidates[std::size_t(null.first)];
    Candidate& b = candidates[std::size_t(null.second)];
    const int channels = a.measured->channels();
    const std::int64_t frames = a.measured->frames();
    io::AudioFileWriter writer;
    const auto format = io::defaultFormatForPath(request.nullPath);
    if (auto error =
            writer.open(request.nullPath, format.value_or(io::OutputFormat::Wav24), sampleRate, channels, protectedPaths);
        !error.empty())
        return error;
    LoudnessMeter meter;
    if (auto error = meter.prepare(sampleRate, channels); !error.empty()) return error;
    if (auto error = a.measured->rewind(); !error.empty()) return error;
    if (auto error = b.measured->rewind(); !error.empty()) return error;
    AudioBuffer x(channels, kChunkFrames), y(channels, kChunkFrames);
    double differenceSquares = 0, firstSquares = 0, peak = 0;
    for (std::int64_t position = 0; position < frames;) {
        const int n = int(std::min<std::int64_t>(kChunkFrames, frames - position));
        if (a.measured->read(x.view().frameRange(0, n)) != n || b.measured->read(y.view().frameRange(0, n)) != n)
            return "cannot read the scratch files of the candidates";
        std::vector<const float*> pointers(std::size_t(channels), nullptr);
        for (int c = 0; c < channels; ++c) {
            float* d = x.channel(c);
            const float* e = y.channel(c);
            for (int f = 0; f < n; ++f) {
                firstSquares += double(d[f]) * d[f];
                d[f] -= e[f];
                differenceSquares += double(d[f]) * d[f];
                peak = std::max(peak, double(std::fabs(d[f])));
            }
            pointers[std::size_t(c)] = d;
        }
        meter.process(pointers.data(), n);
        if (auto error = writer.write(ConstAudioView(x.view().frameRange(0, n))); !error.empty()) return error;
        position += n;
    }
    const double samples = double(std::max<std::int64_t>(1, frames)) * channels;
    null.rmsDbfs = differenceSquares > 0 ? 10 * std::log10(differenceSquares / samples) : kSilentLevel;
    null.relativeDb = differenceSquares > 0 && firstSquares > 0 ? 10 * std::log10(differenceSquares / firstSquares)
                                                                : (differenceSquares > 0 ? kNaN : kSilentLevel);
    null.peakDbfs = peak > 0 ? 20 * std::log10(peak) : kSilentLevel;
    null.integratedLufs = meter.integratedLufs();
    return writer.commit();
}

/// Plans the playback model at `sampleRate`. Returns kExitOk or the status after printing why.
int planPlayback(const CompareRequest& request, double sampleRate, Playback& playback) {
    Diagnostics diags;
    LoadOptions load;
    load.includeDirs = request.includeDirs;
    playback.compiled = loadAndCompile(request.throughPath, {}, Registry::builtin(), diags, load);
    if (!diags.all().empty()) std::fputs(io::terminalLines(diags.formatAll()).c_str(), stderr);
    if (diags.hasErrors() || !playback.compiled) return kExitUsage;
    const GraphDesc& desc = compiledDesc(*playback.compiled);
    if (desc.inputs.size() != 1 || desc.outputs.empty())
        return usageError("--through " + quotedText(request.throughPath) +
                          ": a playback model has exactly one input and at least one output, it has " +
                          std::to_string(desc.inputs.size()) + " inputs and " + std::to_string(desc.outputs.size()) + " outputs");
    InstanceOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = request.blockFrames;
    Diagnostics instanceDiags;
    playback.program = instantiate(*playback.compiled, options, instanceDiags);
    if (instanceDiags.hasErrors() || !playback.program) {
        std::fputs(io::terminalLines(instanceDiags.formatAll()).c_str(), stderr);
        return kExitUsage;
    }
    const Executor& executor = playback.program->executor();
    playback.inputChannels = executor.inputs()[0].channels;
    for (std::size_t k = 0; k < executor.outputs().size(); ++k)
        if (executor.outputs()[k].name == desc.outputs[0].name) {
            playback.output = int(k);
            playback.outputChannels = executor.outputs()[k].channels;
        }
    return kExitOk;
}

/// The arguments and the parser whose declarations point at them.
struct CompareArguments {
    CompareRequest request;
    std::string level, abSeconds, crossfade;
    bool noMatch = false;
    std::unique_ptr<CLI::App> app;

    CompareArguments() {
        app = makeCommandApp(
            {"usage: stagegraph compare A.yaml B.yaml... -i [NAME=]FILE... [--set node.param=VALUE...]\n"
             "                          [--through PLAYBACK.yaml] [--level -16LUFS | --no-match] [--json]\n"
             "                          [--ab FILE [--ab-seconds N] [--crossfade MS]] [--null FILE [--null-pair A,B]]\n"
             "                          [--html FILE] [--block N]",
             "Renders every candidate graph over the same input(s), matches their integrated loudness (by\n"
             "default to the quietest candidate, so nothing is raised) and prints them side by side:\n"
             "loudness, gain applied, LRA, true peak, PLR, crest factor, octave-band balance, harshness,\n"
             "low-end stability, stereo correlation and gain reduction. Figures: docs/compare.md.",
             "Each candidate's first declared output is compared. Exit status: 0 success; 1 processing\n"
             "or I/O failure (unreadable input, a silent candidate); 2 usage or graph error."});
        CompareRequest& r = request;
        app->add_option("GRAPH", r.graphs, "candidate graphs (YAML)");
        // One value per option, so options and candidate graphs may come in any order.
        app->add_option("-i,--input", r.inputs, "[NAME=]FILE: an input of every candidate (repeatable)")
            ->type_name("[NAME=]FILE")
            ->allow_extra_args(false);
        app->add_option("--set", r.overrides, "node.param=VALUE, applied to every candidate (repeatable)")
            ->type_name("node.param=VALUE")
            ->allow_extra_args(false);
        app->add_option("--include-dir", r.includeDirs, "another folder `use:` may read from (repeatable)")
            ->type_name("DIR")
            ->allow_extra_args(false);
        app->add_option("--swap", r.swaps,
                        "NAME=FILE: a candidate of the one GRAPH with its `use:` stage NAME replaced by FILE\n"
                        "(repeatable: the same mix through several masters)")
            ->type_name("NAME=FILE")
            ->allow_extra_args(false);
        app->add_option("--through", r.throughPath,
                        "render each candidate's output through this playback model (one input) before\n"
                        "measuring; loudness is then matched after the model")
            ->type_name("PLAYBACK.yaml");
        app->add_option("--level", level, "match every candidate to this loudness instead of the quietest")->type_name("LUFS");
        app->add_flag("--no-match", noMatch, "compare as rendered, without matching loudness");
        app->add_flag("--json", r.json, "one JSON object (keys: docs/compare.md) instead of the table");
        app->add_option("--ab", r.abPath, "write a loudness-matched A/B file alternating the candidates")->type_name("FILE");
        app->add_option("--ab-seconds", abSeconds, "seconds per candidate in the A/B file (default 4)")->type_name("N");
        app->add_option("--crossfade", crossfade, "equal-power crossfade between candidates, ms (default 20)")->type_name("MS");
        app->add_option("--null", r.nullPath, "write the difference of two matched candidates (first - second)")
            ->type_name("FILE");
        app->add_option("--null-pair", r.nullPair, "which two candidates --null takes (labels or numbers from 1)")
            ->type_name("A,B");
        app->add_option("--html", r.htmlPath, "write a self-contained HTML report with plots")->type_name("FILE");
        app->add_option("--block", r.blockFrames, "frames per processing block, 1..8192 (default 1024)")->type_name("N");
    }
};

/// The largest of one figure over a candidate's gain-reducing nodes, by kind.
double largest(const CandidateResult& c, bool limiters, bool mean) {
    double best = kNaN;
    for (const auto& g : c.gainReductions) {
        if ((g.type == "limiter") != limiters) continue;
        const double v = mean ? g.meanDb : g.maxDb;
        if (std::isnan(best) || v > best) best = v;
    }
    return best;
}

/// The figures of one candidate as the table prints them: label, value text.
std::vector<std::pair<std::string, std::string>> figureRows(const CandidateResult& c) {
    std::vector<std::pair<std::string, std::string>> rows{
        {"as rendered", figureCell(c.sourceIntegratedLufs, "LUFS")},
        {"matching gain", figureCell(c.gainDb, "dB", 2, true)},
        {"integrated", figureCell(c.figures.integratedLufs, "LUFS", 2)},
        {"loudness range", figureCell(c.figures.loudnessRangeLu, "LU")},
        {"true peak", figureCell(c.figures.truePeakDbtp, "dBTP") + (c.figures.truePeakDbtp > 0 ? " (over 0)" : "")},
        {"PLR", figureCell(c.figures.plrDb, "dB")},
        {"crest factor", figureCell(c.balance.crestFactorDb, "dB")},
        {"max short-term", figureCell(c.figures.maxShortTermLufs, "LUFS")}};
    for (int b = 0; b < octave::kBandCount; ++b)
        rows.push_back({"band " + bandLabel(b), figureCell(c.balance.bandDb[std::size_t(b)], "dB")});
    rows.push_back({"harshness 2-8 kHz", figureCell(c.balance.harshnessDb, "dB")});
    rows.push_back({"low-end stability", figureCell(c.balance.lowEndStabilityLu, "LU", 2)});
    rows.push_back({"low-end range", figureCell(c.balance.lowEndRangeLu, "LU")});
    rows.push_back({"correlation mean", figureCell(c.balance.correlationMean, "", 2)});
    rows.push_back({"correlation min", figureCell(c.balance.correlationMin, "", 2)});
    rows.push_back({"limiter GR max", figureCell(largest(c, true, false), "dB")});
    rows.push_back({"limiter GR mean", figureCell(largest(c, true, true), "dB", 2)});
    rows.push_back({"compressor GR max", figureCell(largest(c, false, false), "dB")});
    rows.push_back({"compressor GR mean", figureCell(largest(c, false, true), "dB", 2)});
    return rows;
}

void printTable(const CompareRequest& request, const CompareResult& result) {
    std::vector<std::vector<std::string>> rows{{""}};
    for (const auto& c : result.candidates) rows[0].push_back(io::terminalText(c.label));
    for (std::size_t k = 0; k < result.candidates.size(); ++k) {
        const auto figures = figureRows(result.candidates[k]);
        if (k == 0)
            for (const auto& f : figures) rows.push_back({f.first});
        for (std::size_t i = 0; i < figures.size(); ++i) rows[i + 1].push_back(figures[i].second);
    }
    printAligned(rows);
    for (const auto& c : result.candidates)
        std::printf("%s: %s, output %s\n", io::terminalText(c.label).c_str(), io::terminalText(c.graph).c_str(),
                    io::terminalText(c.output).c_str());
    if (result.referenceKind == "quietest")
        std::printf("matched to %.2f LUFS, the quietest candidate%s\n", result.referenceLufs,
                    request.throughPath.empty() ? "" : " after the playback model");
    else if (result.referenceKind == "level")
        std::printf("matched to %.2f LUFS (--level)%s\n", result.referenceLufs,
                    request.throughPath.empty() ? "" : " after the playback model");
    else
        std::printf("not matched (--no-match)\n");
    if (!request.throughPath.empty()) std::printf("through %s\n", io::terminalText(request.throughPath).c_str());
    for (const auto& c : result.candidates)
        if (c.figures.truePeakDbtp > 0)
            std::printf("note: matching takes %s over 0 dBTP (%.2f dBTP)\n", io::terminalText(c.label).c_str(),
                        c.figures.truePeakDbtp);
    if (!result.abSegments.empty()) {
        std::printf("A/B file %s: %s every %g s, %g ms crossfade\n", io::terminalText(request.abPath).c_str(),
                    result.candidates.size() == 2 ? "two candidates alternating" : "candidates in turn", request.abSeconds,
                    request.crossfadeMs);
        for (const auto& s : result.abSegments)
            std::printf("  %8.3f s - %8.3f s  %s\n", s.startSeconds, s.endSeconds,
                        io::terminalText(result.candidates[std::size_t(s.candidate)].label).c_str());
    }
    if (result.null) {
        const NullResult& n = *result.null;
        std::printf("null %s: %s - %s: RMS %s (%s re %s), peak %s, integrated %s\n", io::terminalText(request.nullPath).c_str(),
                    io::terminalText(result.candidates[std::size_t(n.first)].label).c_str(),
                    io::terminalText(result.candidates[std::size_t(n.second)].label).c_str(),
                    figureCell(n.rmsDbfs, "dBFS").c_str(), figureCell(n.relativeDb, "dB").c_str(),
                    io::terminalText(result.candidates[std::size_t(n.first)].label).c_str(),
                    figureCell(n.peakDbfs, "dBFS").c_str(), figureCell(n.integratedLufs, "LUFS").c_str());
    }
}

/// The --html page of a comparison.
HtmlReport htmlOf(const CompareRequest& request, const CompareResult& result) {
    HtmlReport report;
    report.title = "stagegraph compare";
    report.comparison = true;
    std::string inputs;
    for (const auto& input : request.inputs) inputs += (inputs.empty() ? "" : ", ") + input;
    report.facts = {{"inputs", inputs},
                    {"sample rate", figureCell(result.sampleRate, "Hz", 0)},
                    {"duration", figureCell(result.sampleRate > 0 ? double(result.frames) / result.sampleRate : 0, "s", 3)}};
    if (!request.throughPath.empty()) report.facts.push_back({"through", request.throughPath});
    report.facts.push_back({"matched to", result.referenceKind == "none"
                                              ? std::string("not matched (--no-match)")
                                              : figureCell(result.referenceLufs, "LUFS", 2) + " (" + result.referenceKind + ")"});
    for (const auto& c : result.candidates) {
        HtmlSection section;
        section.title = c.label;
        section.figures = figureRows(c);
        section.figures.insert(section.figures.begin(), {"graph", c.graph});
        section.loudness = c.figures;
        section.balance = c.balance;
        section.series = c.series;
        for (const auto& tap : c.taps)
            for (const auto& series : tap.series)
                if (series.key == "gain_reduction_db") section.gainReduction.push_back({tap.node, series});
        addDiagram(section, c.graph, request.overrides, request.includeDirs);
        report.sections.push_back(std::move(section));
    }
    return report;
}

} // namespace

const char* compareUsage() {
    static const std::string text = helpText(*CompareArguments().app);
    return text.c_str();
}

std::string parseCompareArguments(const std::vector<std::string>& args, CompareRequest& request, bool& helpRequested) {
    CompareArguments arguments;
    const ParseOutcome outcome = parseCommandArguments(*arguments.app, args);
    helpRequested = outcome.help;
    if (outcome.help) return {};
    if (!outcome.error.empty()) return outcome.error;
    CompareRequest& r = arguments.request;
    if (r.graphs.empty()) return "no candidate graphs given";
    if (!r.swaps.empty()) {
        // One session graph, a candidate per swap.
        if (r.graphs.size() != 1)
            return "--swap makes the candidates of one graph: give one GRAPH (a session that includes the stage by "
                   "`use:`), not " +
                   std::to_string(r.graphs.size());
        for (const auto& swap : r.swaps)
            if (swap.find('=') == std::string::npos || swap.front() == '=' || swap.back() == '=')
                return "--swap: expected NAME=FILE, got '" + swap + "'";
        r.graphs.assign(r.swaps.size(), r.graphs.front());
    }
    if (r.inputs.empty()) return "no input given (-i FILE or -i NAME=FILE)";
    for (const auto& input : r.inputs)
        if (input == "-" || (input.size() > 2 && input.compare(input.size() - 2, 2, "=-") == 0))
            return "-i " + input + ": every candidate reads the inputs, so standard input cannot be one; give a file";
    r.match = !arguments.noMatch;
    if (!arguments.level.empty()) {
        if (!r.match) return "--level and --no-match exclude each other";
        LoudnessTarget target;
        if (auto error = parseLoudnessTarget(arguments.level, target); !error.empty() || !target.name.empty())
            return "--level: expected a loudness from -60 to -1 LUFS (\"-16LUFS\"), got '" + arguments.level + "'";
        r.levelLufs = target.integratedLufs;
    }
    auto number = [](const std::string& text, double low, double high, const char* option, double& out) -> std::string {
        char* end = nullptr;
        const double value = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !std::isfinite(value) || value < low || value > high) {
            char range[96];
            std::snprintf(range, sizeof range, "%s: expected a number from %g to %g, got '", option, low, high);
            return range + text + "'";
        }
        out = value;
        return {};
    };
    if (!arguments.abSeconds.empty())
        if (auto error = number(arguments.abSeconds, 0.5, 600, "--ab-seconds", r.abSeconds); !error.empty()) return error;
    if (!arguments.crossfade.empty())
        if (auto error = number(arguments.crossfade, 0, 1000, "--crossfade", r.crossfadeMs); !error.empty()) return error;
    if (r.crossfadeMs > 500 * r.abSeconds)
        return "--crossfade: longer than half of --ab-seconds (" + arguments.crossfade + " ms)";
    if ((!arguments.abSeconds.empty() || !arguments.crossfade.empty()) && r.abPath.empty())
        return "--ab-seconds and --crossfade need --ab FILE";
    if (!r.nullPair.empty() && r.nullPath.empty()) return "--null-pair needs --null FILE";
    if (!r.nullPath.empty() && r.nullPair.empty() && r.graphs.size() != 2)
        return "--null takes two candidates: give exactly two graphs, or name them with --null-pair A,B";
    if (r.graphs.size() < 2 && !r.abPath.empty()) return "--ab needs at least two candidates";
    if (r.blockFrames < 1 || r.blockFrames > 8192)
        return "--block: expected a frame count from 1 to 8192, got " + std::to_string(r.blockFrames);
    for (const std::string* path : {&r.abPath, &r.nullPath})
        if (!path->empty() && !io::defaultFormatForPath(*path))
            return "cannot tell the format of '" + *path + "' from its name (.wav, .flac, .aiff...)";
    const std::vector<std::string*> outputs{&r.abPath, &r.nullPath, &r.htmlPath};
    for (std::size_t i = 0; i < outputs.size(); ++i)
        for (std::size_t j = i + 1; j < outputs.size(); ++j)
            if (!outputs[i]->empty() && !outputs[j]->empty() && io::sameFile(*outputs[i], *outputs[j]))
                return "two outputs would both write '" + *outputs[i] + "'";
    request = std::move(r);
    return {};
}

int compare(const CompareRequest& request, CompareResult& result) {
    setRenderCommandName("compare");
    struct CommandNameReset {
        ~CommandNameReset() { setRenderCommandName("render"); }
    } commandNameReset;
    InterruptGuard guard;
    std::vector<std::string> labelSources = request.graphs; // with --swap: the swapped-in files
    if (!request.swaps.empty())
        for (std::size_t i = 0; i < labelSources.size(); ++i)
            labelSources[i] = request.swaps[i].substr(request.swaps[i].find('=') + 1);
    const std::vector<std::string> labels = labelsOf(labelSources);
    std::vector<Candidate> candidates(request.graphs.size());

    // 1. Plan every candidate: all graph errors of all candidates in one run.
    int worst = kExitOk;
    std::vector<std::string> protectedPaths;
    for (std::size_t i = 0; i < candidates.size(); ++i) {
        RenderRequest render;
        render.graphPath = request.graphs[i];
        render.inputs = request.inputs;
        render.overrides = request.overrides;
        render.includeDirs = request.includeDirs;
        if (!request.swaps.empty()) render.swaps = {request.swaps[i]};
        render.blockFrames = request.blockFrames;
        render.showProgress = false;
        Candidate& c = candidates[i];
        c.result.graph = request.graphs[i];
        c.result.label = labels[i];
        const int status = planRender(render, c.plan);
        if (status != kExitOk) {
            worst = std::max(worst, status == kExitUsage ? 2 : 1);
            continue;
        }
        if (c.plan.outputs.empty()) {
            printError("candidate " + quotedText(request.graphs[i]) + " has no outputs to compare");
            worst = kExitUsage;
            continue;
        }
        const auto& outputs = c.plan.program->executor().outputs();
        for (std::size_t k = 0; k < outputs.size(); ++k)
            if (c.plan.outputSlot[k] == 0) c.output = int(k);
        c.result.output = c.plan.outputs[0].name;
        c.result.channels = outputs[std::size_t(c.output)].channels;
        protectedPaths.insert(protectedPaths.end(), c.plan.protectedPaths.begin(), c.plan.protectedPaths.end());
    }
    if (worst != kExitOk) return worst == 2 ? kExitUsage : kExitFailure;
    const double sampleRate = candidates[0].plan.sampleRate;
    for (const auto& c : candidates)
        if (c.result.channels != candidates[0].result.channels && (!request.abPath.empty() || !request.nullPath.empty()))
            return usageError("--ab and --null need candidates with the same channel count: " +
                              quotedText(candidates[0].result.label) + " has " + std::to_string(candidates[0].result.channels) +
                              ", " + quotedText(c.result.label) + " has " + std::to_string(c.result.channels));
    for (const std::string* path : {&request.abPath, &request.nullPath, &request.htmlPath})
        for (const auto& p : protectedPaths)
            if (!path->empty() && io::sameFile(*path, p)) return usageError("refusing to overwrite " + quotedText(p));
    NullResult null;
    if (!request.nullPath.empty()) {
        if (request.nullPair.empty())
            null.first = 0, null.second = 1;
        else if (auto error = parsePair(request.nullPair, labels, null.first, null.second); !error.empty())
            return usageError(error);
    }
    Playback playback;
    if (!request.throughPath.empty()) {
        if (const int status = planPlayback(request, sampleRate, playback); status != kExitOk) return status;
        for (const auto& c : candidates)
            if (c.result.channels != playback.inputChannels)
                return usageError("--through " + quotedText(request.throughPath) + " takes " +
                                  std::to_string(playback.inputChannels) + " channels, candidate " + quotedText(c.result.label) +
                                  " gives " + std::to_string(c.result.channels));
    }

    // 2. Pass 1.
    const std::string folder = scratchFolder(request);
    for (auto& c : candidates)
        if (auto error = renderCandidate(request, c, folder); !error.empty()) {
            printError(error);
            return *interruptFlag() ? kExitInterrupted : kExitFailure;
        }
    result.sampleRate = sampleRate;
    result.frames = candidates[0].rendered->frames();

    // 3. Matching gains from the candidates' own loudness.
    result.referenceKind = !request.match ? "none" : request.levelLufs ? "level" : "quietest";
    result.referenceLufs = kNaN;
    if (request.match) {
        for (const auto& c : candidates)
            if (!std::isfinite(c.result.sourceIntegratedLufs)) {
                printError("candidate " + quotedText(c.result.label) +
                           " has no integrated loudness (silent, or shorter than 400 ms): nothing to match; use --no-match");
                return kExitFailure;
            }
        double reference = request.levelLufs.value_or(std::numeric_limits<double>::infinity());
        if (!request.levelLufs)
            for (const auto& c : candidates) reference = std::min(reference, c.result.sourceIntegratedLufs);
        for (auto& c : candidates) c.result.gainDb = reference - c.result.sourceIntegratedLufs;
        result.referenceLufs = reference;
        // Through a playback model the loudness is matched after the model: pass 2 starts at
        // unity gain and finds the reference among the candidates as the model plays them.
        if (!request.throughPath.empty())
            for (auto& c : candidates) c.result.gainDb = 0;
    }

    // 4. Pass 2 (repeated with a playback model until the candidates land together).
    const bool keepAudio = !request.abPath.empty() || !request.nullPath.empty();
    Playback* model = request.throughPath.empty() ? nullptr : &playback;
    for (int run = 0; run < kMaxMatchRuns; ++run) {
        for (auto& c : candidates) {
            SignalAnalyzer analyzer;
            if (auto error = measureCandidate(request, c, model, keepAudio, folder, analyzer); !error.empty()) {
                printError(error);
                return *interruptFlag() ? kExitInterrupted : kExitFailure;
            }
        }
        if (!model || !request.match) break;
        double target = request.levelLufs.value_or(std::numeric_limits<double>::infinity());
        if (!request.levelLufs) {
            if (run == 0)
                for (const auto& c : candidates) target = std::min(target, c.result.figures.integratedLufs);
            else
                target = result.referenceLufs;
        }
        result.referenceLufs = target;
        double worstMiss = 0;
        for (const auto& c : candidates) {
            if (!std::isfinite(c.result.figures.integratedLufs)) {
                printError("candidate " + quotedText(c.result.label) + " is silent after the playback model " +
                           quotedText(request.throughPath) + ": nothing to match; use --no-match");
                return kExitFailure;
            }
            worstMiss = std::max(worstMiss, std::fabs(c.result.figures.integratedLufs - target));
        }
        if (worstMiss <= kThroughToleranceLu) break;
        if (run + 1 == kMaxMatchRuns) {
            printError("the candidates could not be matched through " + quotedText(request.throughPath) + " (still " +
                       figureCell(worstMiss, "LU", 2) + " apart)");
            return kExitFailure;
        }
        for (auto& c : candidates) c.result.gainDb += target - c.result.figures.integratedLufs;
    }

    // 5. Files.
    if (!request.abPath.empty())
        if (auto error = writeAb(request, candidates, sampleRate, protectedPaths, result.abSegments); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
    if (!request.nullPath.empty()) {
        if (auto error = writeNull(request, candidates, sampleRate, protectedPaths, null); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
        result.null = null;
    }
    for (auto& c : candidates) result.candidates.push_back(std::move(c.result));
    return kExitOk;
}

std::string compareJson(const CompareRequest& request, const CompareResult& result) {
    Json json = Json::object();
    json["sample_rate"] = jsonFixed(result.sampleRate, 0);
    json["duration_s"] = jsonFixed(result.sampleRate > 0 ? double(result.frames) / result.sampleRate : 0, 6);
    Json inputs = Json::array();
    for (const auto& input : request.inputs) inputs.push_back(input);
    json["inputs"] = inputs;
    json["through"] = request.throughPath.empty() ? Json(nullptr) : Json(request.throughPath);
    json["matched_to"] = result.referenceKind;
    json["reference_lufs"] = jsonFixed(result.referenceLufs, 3);
    Json candidates = Json::array();
    for (const auto& c : result.candidates) {
        Json item = Json::object();
        item["label"] = c.label;
        item["graph"] = c.graph;
        item["output"] = c.output;
        item["channels"] = c.channels;
        item["as_rendered_integrated_lufs"] = jsonFixed(c.sourceIntegratedLufs, 3);
        item["gain_db"] = jsonFixed(c.gainDb, 3);
        for (const FigureField& field : figureFields(c.figures)) item[field.name.key] = jsonFixed(field.value, 3);
        item["true_peak_over_0_dbtp"] = c.figures.truePeakDbtp > 0;
        item[kCrestFactorFigure.key] = jsonFixed(c.balance.crestFactorDb, 3);
        for (int b = 0; b < octave::kBandCount; ++b) item[bandKey(b)] = jsonFixed(c.balance.bandDb[std::size_t(b)], 2);
        item["harshness_db"] = jsonFixed(c.balance.harshnessDb, 2);
        item["low_end_stability_lu"] = jsonFixed(c.balance.lowEndStabilityLu, 3);
        item["low_end_range_lu"] = jsonFixed(c.balance.lowEndRangeLu, 2);
        item["correlation_mean"] = jsonFixed(c.balance.correlationMean, 4);
        item["correlation_min"] = jsonFixed(c.balance.correlationMin, 4);
        item["limiter_max_gain_reduction_db"] = jsonFixed(largest(c, true, false), 3);
        item["limiter_mean_gain_reduction_db"] = jsonFixed(largest(c, true, true), 3);
        item["compressor_max_gain_reduction_db"] = jsonFixed(largest(c, false, false), 3);
        item["compressor_mean_gain_reduction_db"] = jsonFixed(largest(c, false, true), 3);
        Json reductions = Json::array();
        for (const auto& g : c.gainReductions)
            reductions.push_back(Json{{"node", g.node},
                                      {"type", g.type},
                                      {"max_gain_reduction_db", jsonFixed(g.maxDb, 3)},
                                      {"mean_gain_reduction_db", jsonFixed(g.meanDb, 3)}});
        item["gain_reduction"] = reductions;
        candidates.push_back(item);
    }
    json["candidates"] = candidates;
    if (!result.abSegments.empty()) {
        Json segments = Json::array();
        for (const auto& s : result.abSegments)
            segments.push_back(Json{{"start_s", jsonFixed(s.startSeconds, 6)},
                                    {"end_s", jsonFixed(s.endSeconds, 6)},
                                    {"candidate", result.candidates[std::size_t(s.candidate)].label}});
        json["ab"] = Json{{"file", request.abPath},
                          {"segment_seconds", jsonRounded(request.abSeconds)},
                          {"crossfade_ms", jsonRounded(request.crossfadeMs)},
                          {"segments", segments}};
    } else {
        json["ab"] = nullptr;
    }
    if (result.null) {
        const NullResult& n = *result.null;
        json["null"] = Json{{"file", request.nullPath},
                            {"first", result.candidates[std::size_t(n.first)].label},
                            {"second", result.candidates[std::size_t(n.second)].label},
                            {"rms_dbfs", jsonFixed(n.rmsDbfs, 3)},
                            {"relative_db", jsonFixed(n.relativeDb, 3)},
                            {"peak_dbfs", jsonFixed(n.peakDbfs, 3)},
                            {"integrated_lufs", jsonFixed(n.integratedLufs, 3)}};
    } else {
        json["null"] = nullptr;
    }
    return indentedText(json) + "\n";
}

int runCompare(const std::vector<std::string>& args) {
    CompareRequest request;
    bool help = false;
    if (auto error = parseCompareArguments(args, request, help); !error.empty()) return usageError(error);
    if (help) {
        std::fputs(compareUsage(), stdout);
        return kExitOk;
    }
    if (!request.htmlPath.empty()) { // before the work: a missing plotting library fails first
        std::string javascript;
        if (auto error = loadPlotLibrary(javascript); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
    }
    CompareResult result;
    if (const int status = compare(request, result); status != kExitOk) return status;
    if (!request.htmlPath.empty())
        if (auto error = writeHtmlReport(request.htmlPath, htmlOf(request, result)); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
    if (request.json)
        std::fputs(compareJson(request, result).c_str(), stdout);
    else
        printTable(request, result);
    std::fflush(stdout);
    return kExitOk;
}

} // namespace sg::cli
