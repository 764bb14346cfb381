#include "host/cli/Render.h"

#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/cli/CommandLine.h"
#include "host/cli/Progress.h"
#include "host/cli/Report.h"
#include "host/cli/Target.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

// ---- messages ------------------------------------------------------------------------------

void printError(const std::string& message) { std::fprintf(stderr, "stagegraph render: error: %s\n", message.c_str()); }
void printWarning(const std::string& message) { std::fprintf(stderr, "stagegraph render: warning: %s\n", message.c_str()); }
void printNote(const std::string& message) { std::fprintf(stderr, "stagegraph render: note: %s\n", message.c_str()); }

int usageError(const std::string& message) {
    printError(message);
    std::fputs("(see 'stagegraph render --help')\n", stderr);
    return kExitUsage;
}

std::string quotedName(const std::string& text) { return "'" + text + "'"; }

std::string portList(const std::vector<ExternalDesc>& ports) {
    if (ports.empty()) return "none";
    std::string out;
    for (const auto& p : ports) out += (out.empty() ? "" : ", ") + quotedName(p.name);
    return out;
}

std::string formatRate(double hz) {
    char text[32];
    std::snprintf(text, sizeof text, "%g Hz", hz);
    return text;
}

// ---- binding files to the graph's inputs and outputs --------------------------------------

int findPort(const std::vector<ExternalDesc>& ports, const std::string& name) {
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (ports[i].name == name) return int(i);
    return -1;
}

/// Binds "[NAME=]FILE" arguments to `ports`. A bare FILE goes to the one port not yet bound
/// (for inputs: or the one unbound port without a default file). Returns "" or a usage error.
std::string bindFiles(const std::vector<ExternalDesc>& ports, const std::vector<std::string>& args, bool isInput,
                      std::vector<std::string>& bound) {
    const char* kind = isInput ? "input" : "output";
    const char* flag = isInput ? "-i" : "-o";
    bound.assign(ports.size(), std::string());
    std::vector<std::string> bare;
    for (const auto& arg : args) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos && eq > 0) {
            const std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
            const int port = findPort(ports, name);
            if (port >= 0) {
                if (file.empty()) return std::string(flag) + " " + arg + ": no file after '='";
                if (!bound[std::size_t(port)].empty())
                    return "graph " + std::string(kind) + " " + quotedName(name) + " is given twice";
                bound[std::size_t(port)] = file;
                continue;
            }
            std::error_code ec;
            if (!(isInput && fs::exists(arg, ec)))
                return "the graph has no " + std::string(kind) + " " + quotedName(name) + " (its " + kind +
                       "s: " + portList(ports) + ")";
        }
        bare.push_back(arg);
    }
    for (const auto& file : bare) {
        std::vector<int> open, openWithoutDefault;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (!bound[i].empty()) continue;
            open.push_back(int(i));
            if (ports[i].file.empty()) openWithoutDefault.push_back(int(i));
        }
        int port = -1;
        if (open.size() == 1)
            port = open[0];
        else if (isInput && openWithoutDefault.size() == 1)
            port = openWithoutDefault[0];
        if (port < 0) {
            if (open.empty())
                return "no graph " + std::string(kind) + " left for " + quotedName(file) + " (its " + kind +
                       "s: " + portList(ports) + ")";
            return "cannot tell which graph " + std::string(kind) + " " + quotedName(file) + " is for (its " + kind +
                   "s: " + portList(ports) + "); write " + flag + " NAME=FILE";
        }
        bound[std::size_t(port)] = file;
    }
    if (isInput) {
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (!bound[i].empty()) continue;
            if (!ports[i].file.empty())
                bound[i] = ports[i].file; // already relative to the graph file
            else
                return "no file for graph input " + quotedName(ports[i].name) + " (give -i " + ports[i].name + "=FILE)";
        }
    }
    return {};
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

// ---- the pipeline: reader thread -> executor (this thread) -> writer thread --------------

/// Frames a pipeline chunk holds at least: one hand-off between threads per chunk, so --block 1
/// costs no more synchronisation than --block 8192.
constexpr int kPipelineChunkFrames = 16384;
/// Chunks in flight per stage (one being filled, one being used, the rest queued).
constexpr int kPipelineSlots = 4;

/// A FIFO of slot indices between two threads (mutex and condition variable: offline work, one
/// hand-off per chunk). Every slot is in exactly one queue or held by one thread, so push never
/// waits and nothing allocates after construction.
class SlotQueue {
public:
    SlotQueue() : slots_(kPipelineSlots) {}
    void push(int slot) {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            slots_[std::size_t((head_ + count_) % kPipelineSlots)] = slot;
            ++count_;
        }
        ready_.notify_all();
    }
    /// The oldest slot; waits for one. -1 once closed and empty, or cancelled.
    int pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        ready_.wait(lock, [&] { return count_ > 0 || closed_ || cancelled_; });
        if (cancelled_ || count_ == 0) return -1;
        const int slot = slots_[std::size_t(head_)];
        head_ = (head_ + 1) % kPipelineSlots;
        --count_;
        return slot;
    }
    /// No more pushes: pop() returns -1 once the queue is empty.
    void close() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
    }
    /// pop() returns -1 from now on, queued slots or not.
    void cancel() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            cancelled_ = true;
        }
        ready_.notify_all();
    }

private:
    std::mutex mutex_;
    std::condition_variable ready_;
    std::vector<int> slots_;
    int head_ = 0, count_ = 0;
    bool closed_ = false, cancelled_ = false;
};

/// Decoded input frames for every executor input, and where a read failed.
struct InputChunk {
    std::vector<AudioBuffer> buffers;     // per executor input, chunkFrames frames
    std::vector<std::int64_t> errorFrame; // per input: the frame the file ended at, -1 if read fine
    std::vector<std::string> errors;      // per input: the reader's message
    int frames = 0;
};

/// Executor output frames (latency already trimmed) waiting to be written.
struct OutputChunk {
    std::vector<AudioBuffer> buffers; // per executor output, chunkFrames frames
    int frames = 0;
};

/// Owns the reader and writer threads; the destructor cancels and joins whatever still runs, so
/// every early return stops them before the files and meters they use go away.
struct RenderPipeline {
    std::vector<InputChunk> inputChunks;
    std::vector<OutputChunk> outputChunks;
    SlotQueue freeInputs, fullInputs, freeOutputs, fullOutputs;
    std::thread readerThread, writerThread;
    std::atomic<bool> writerFailed{false};
    std::string writerError; // set before writerFailed, read after the join

    RenderPipeline(const std::vector<int>& inputChannels, const std::vector<int>& outputChannels, int chunkFrames) {
        inputChunks.resize(kPipelineSlots);
        outputChunks.resize(kPipelineSlots);
        for (int s = 0; s < kPipelineSlots; ++s) {
            for (int channels : inputChannels) inputChunks[std::size_t(s)].buffers.emplace_back(channels, chunkFrames);
            inputChunks[std::size_t(s)].errorFrame.assign(inputChannels.size(), -1);
            inputChunks[std::size_t(s)].errors.resize(inputChannels.size());
            for (int channels : outputChannels) outputChunks[std::size_t(s)].buffers.emplace_back(channels, chunkFrames);
            freeInputs.push(s);
            freeOutputs.push(s);
        }
    }
    ~RenderPipeline() {
        freeInputs.cancel();
        fullInputs.cancel();
        freeOutputs.cancel();
        fullOutputs.cancel();
        if (readerThread.joinable()) readerThread.join();
        if (writerThread.joinable()) writerThread.join();
    }
    /// Lets the writer finish what is queued and waits for it. True if every write succeeded.
    bool finishWriting() {
        fullOutputs.close();
        if (writerThread.joinable()) writerThread.join();
        return !writerFailed.load(std::memory_order_acquire);
    }
};

} // namespace

// ---- public ------------------------------------------------------------------------------

int render(const RenderRequest& request, RenderSummary* summary) {
    InterruptGuard interruptGuard;
    if (request.blockFrames < kMinBlockFrames || request.blockFrames > kMaxBlockFrames)
        return usageError("--block: expected a frame count from 1 to 8192, got " + std::to_string(request.blockFrames));

    // Graph and overrides.
    Diagnostics diags;
    GraphDesc graph = loadGraph(request.graphPath, diags);
    if (!diags.hasErrors() && !request.overrides.empty()) applyOverrides(graph, request.overrides, diags);
    if (diags.hasErrors()) {
        std::fputs(diags.formatAll().c_str(), stderr);
        return kExitUsage;
    }

    // Files for the graph's inputs and outputs.
    std::vector<std::string> inputFiles, outputFiles;
    if (auto error = bindFiles(graph.inputs, request.inputs, true, inputFiles); !error.empty()) return usageError(error);
    if (auto error = bindFiles(graph.outputs, request.outputs, false, outputFiles); !error.empty()) return usageError(error);
    if (graph.inputs.empty())
        return usageError("the graph " + quotedName(request.graphPath) + " has no inputs: nothing to render");
    std::vector<io::OutputFormat> formats(graph.outputs.size(), io::OutputFormat::Wav24);
    for (std::size_t o = 0; o < graph.outputs.size(); ++o) {
        const std::string& path = outputFiles[o];
        if (path.empty()) continue;
        if (request.format) {
            if (!io::formatMatchesPath(*request.format, path))
                return usageError(std::string("--format ") + io::outputFormatName(*request.format) + " does not fit the name " +
                                  quotedName(path));
            formats[o] = *request.format;
        } else if (auto format = io::defaultFormatForPath(path)) {
            formats[o] = *format;
        } else {
            return usageError("cannot tell the format of " + quotedName(path) +
                              " from its name; use --format wav16|wav24|wav32f|flac16|flac24");
        }
        for (const auto& input : inputFiles)
            if (io::sameFile(path, input))
                return usageError("refusing to overwrite input file " + quotedName(input) + " with output " +
                                  quotedName(graph.outputs[o].name));
        if (io::sameFile(path, request.graphPath))
            return usageError("refusing to overwrite the graph file " + quotedName(request.graphPath));
        std::error_code ec;
        const bool device = fs::is_character_file(path, ec); // /dev/null may take several outputs
        for (std::size_t earlier = 0; earlier < o && !device; ++earlier)
            if (!outputFiles[earlier].empty() && io::sameFile(path, outputFiles[earlier]))
                return usageError("outputs " + quotedName(graph.outputs[earlier].name) + " and " +
                                  quotedName(graph.outputs[o].name) + " would both write " + quotedName(path));
    }

    if (!request.reportPath.empty()) {
        const std::string& report = request.reportPath;
        for (const auto& input : inputFiles)
            if (io::sameFile(report, input)) return usageError("--report: refusing to overwrite input file " + quotedName(input));
        if (io::sameFile(report, request.graphPath))
            return usageError("--report: refusing to overwrite the graph file " + quotedName(request.graphPath));
        for (const auto& path : outputFiles)
            if (!path.empty() && io::sameFile(report, path))
                return usageError("--report " + quotedName(report) + " is also an output file");
    }

    // The graph's rate comes from the inputs, so it is compiled after they are opened. When an
    // input is unusable, graph errors still come first: compile at a provisional rate to find them.
    auto reportGraphErrors = [&](double provisionalRate) {
        Diagnostics check;
        CompileOptions options;
        options.sampleRate = provisionalRate;
        options.maxBlockFrames = request.blockFrames;
        options.batch = request.batch;
        if (compileGraph(graph, Registry::builtin(), options, check) && !check.hasErrors()) return false;
        std::fputs(check.formatAll().c_str(), stderr);
        return true;
    };

    // Inputs: open, agree on one rate, match the declared channels.
    std::vector<io::AudioFileReader> readers(graph.inputs.size());
    for (std::size_t i = 0; i < readers.size(); ++i) {
        if (auto error = readers[i].open(inputFiles[i]); !error.empty()) {
            if (reportGraphErrors(i > 0 ? readers[0].sampleRate() : 48000)) return kExitUsage;
            printError(error);
            return kExitFailure;
        }
    }
    const double sampleRate = readers[0].sampleRate();
    for (std::size_t i = 0; i < readers.size(); ++i) {
        const bool fits = readers[i].sampleRate() == sampleRate && readers[i].channels() == graph.inputs[i].channels;
        if (!fits && reportGraphErrors(sampleRate)) return kExitUsage;
        if (readers[i].sampleRate() != sampleRate) {
            // An audio file that does not fit is an audio problem (exit 1), like an unreadable one.
            printError(quotedName(inputFiles[i]) + " has a sample rate of " + formatRate(readers[i].sampleRate()) +
                       ", expected " + formatRate(sampleRate) + " (the rate of " + quotedName(inputFiles[0]) +
                       "); all inputs must share one rate");
            return kExitFailure;
        }
        if (readers[i].channels() != graph.inputs[i].channels) {
            printError(quotedName(inputFiles[i]) + " has " + plural(readers[i].channels(), "channel", "channels") +
                       ", graph input " + quotedName(graph.inputs[i].name) + " expects " +
                       std::to_string(graph.inputs[i].channels));
            return kExitFailure;
        }
    }

    // Compile.
    CompileOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = request.blockFrames;
    options.batch = request.batch;
    std::unique_ptr<Program> program = compileGraph(graph, Registry::builtin(), options, diags);
    if (!diags.all().empty()) std::fputs(diags.formatAll().c_str(), stderr); // warnings too
    if (!program || diags.hasErrors()) return kExitUsage;
    Executor& executor = program->executor();

    // The executor's ports, by name, to the graph's.
    const auto& execInputs = executor.inputs();
    const auto& execOutputs = executor.outputs();
    std::vector<int> inputSlot(execInputs.size()), outputSlot(execOutputs.size());
    for (std::size_t k = 0; k < execInputs.size(); ++k) {
        inputSlot[k] = findPort(graph.inputs, execInputs[k].name);
        if (inputSlot[k] < 0 || readers[std::size_t(inputSlot[k])].channels() != execInputs[k].channels) {
            printError("internal: compiled input " + quotedName(execInputs[k].name) + " does not match the graph");
            return kExitFailure;
        }
    }
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        outputSlot[k] = findPort(graph.outputs, execOutputs[k].name);
        if (outputSlot[k] < 0) {
            printError("internal: compiled output " + quotedName(execOutputs[k].name) + " does not match the graph");
            return kExitFailure;
        }
    }

    // Outputs: temporary files beside the targets; with --target, pass 1 goes to unlinked
    // float scratch files instead and the writers are opened by pass 2.
    const bool targeting = request.target.has_value();
    const bool measuring = targeting || !request.reportPath.empty() || request.measureOutputs;
    std::vector<std::string> protectedPaths = inputFiles;
    protectedPaths.push_back(request.graphPath);
    std::vector<io::AudioFileWriter> writers(execOutputs.size());
    std::vector<bool> writes(execOutputs.size(), false);
    std::vector<std::unique_ptr<WrittenSampleMeter>> outputMeters(execOutputs.size());
    std::vector<std::unique_ptr<TempSampleFile>> pass1Files(execOutputs.size());
    std::vector<std::unique_ptr<LoudnessMeter>> pass1Meters(execOutputs.size());
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        const auto slot = std::size_t(outputSlot[k]);
        const std::string& path = outputFiles[slot];
        if (path.empty()) {
            printNote("graph output " + quotedName(execOutputs[k].name) + " is not written (add -o " + execOutputs[k].name +
                      "=FILE)");
            continue;
        }
        const int channels = execOutputs[k].channels;
        if (targeting) {
            if (channels > kLoudnessMaxChannels)
                return usageError("--target: graph output " + quotedName(execOutputs[k].name) + " has " +
                                  plural(channels, "channel", "channels") + "; loudness is measured on 1 to " +
                                  std::to_string(kLoudnessMaxChannels));
            pass1Files[k] = std::make_unique<TempSampleFile>();
            if (auto error = pass1Files[k]->create(fs::path(path).parent_path().string(), channels); !error.empty()) {
                printError(error);
                return kExitFailure;
            }
            pass1Meters[k] = std::make_unique<LoudnessMeter>();
            if (auto error = pass1Meters[k]->prepare(sampleRate, channels); !error.empty()) {
                printError("--target: " + error);
                return kExitFailure;
            }
        } else {
            if (auto error = writers[k].open(path, formats[slot], sampleRate, channels, protectedPaths); !error.empty()) {
                printError(error);
                return kExitFailure;
            }
            if (measuring) {
                outputMeters[k] = std::make_unique<WrittenSampleMeter>();
                if (auto error = outputMeters[k]->prepare(sampleRate, channels, formats[slot]); !error.empty()) {
                    printNote("output " + quotedName(execOutputs[k].name) + " is not measured: " + error);
                    outputMeters[k].reset();
                }
            }
        }
        writes[k] = true;
    }
    if (targeting && std::find(writes.begin(), writes.end(), true) == writes.end())
        return usageError("--target: no graph output is written (give -o [NAME=]FILE)");
    AtomicTextFile reportFile;
    if (!request.reportPath.empty()) {
        if (auto error = reportFile.open(request.reportPath); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
    }

    // Stream, in three threads: a reader decodes chunks of input ahead (silence after each
    // file's end), this thread runs the executor a block at a time, a writer dithers, encodes
    // and meters the trimmed output. Chunks hold a whole number of blocks, so blocks never
    // straddle chunks and the executor reads and writes the chunks in place. Each output's
    // samples reach its writer in order, so dither and meters see exactly the single-threaded
    // sequence. Errors are reported at the block where the single-threaded loop met them.
    const int block = request.blockFrames;
    const int chunkFrames = block * ((kPipelineChunkFrames + block - 1) / block);
    std::vector<int> inputChannels, outputChannels;
    for (const auto& port : execInputs) inputChannels.push_back(port.channels);
    for (const auto& port : execOutputs) outputChannels.push_back(port.channels);
    std::vector<ConstAudioView> inputViews(execInputs.size());
    std::vector<AudioView> outputViews(execOutputs.size());

    std::int64_t totalFrames = 0;
    for (const auto& reader : readers) totalFrames = std::max(totalFrames, reader.frames());
    const int latency = executor.latencyFrames();
    const std::int64_t framesToProcess = totalFrames + latency;
    ProgressBar progress(targeting ? "pass 1" : "rendering", totalFrames, stderr,
                         request.showProgress && ProgressBar::isTerminal(stderr));
    const auto started = std::chrono::steady_clock::now();

    RenderPipeline pipeline(inputChannels, outputChannels, chunkFrames);
    pipeline.readerThread = std::thread([&] {
        for (std::int64_t start = 0; start < framesToProcess;) {
            const int slot = pipeline.freeInputs.pop();
            if (slot < 0) return;
            InputChunk& chunk = pipeline.inputChunks[std::size_t(slot)];
            chunk.frames = int(std::min<std::int64_t>(chunkFrames, framesToProcess - start));
            bool failed = false;
            for (std::size_t k = 0; k < execInputs.size(); ++k) {
                io::AudioFileReader& reader = readers[std::size_t(inputSlot[k])];
                const AudioView view = chunk.buffers[k].view().frameRange(0, chunk.frames);
                std::int64_t got = 0;
                chunk.errorFrame[k] = -1;
                if (reader.position() < reader.frames()) {
                    got = reader.read(view);
                    if (got < 0) {
                        chunk.errorFrame[k] = reader.position();
                        chunk.errors[k] = reader.error();
                        failed = true;
                        got = std::clamp<std::int64_t>(reader.position() - start, 0, chunk.frames);
                    }
                }
                if (got < chunk.frames) view.frameRange(int(got), chunk.frames - int(got)).clear(); // after the end: silence
            }
            pipeline.fullInputs.push(slot);
            if (failed) break;
            start += chunk.frames;
        }
        pipeline.fullInputs.close();
    });
    pipeline.writerThread = std::thread([&] {
        std::vector<const float*> meterPointers(kLoudnessMaxChannels);
        for (;;) {
            const int slot = pipeline.fullOutputs.pop();
            if (slot < 0) return;
            const OutputChunk& chunk = pipeline.outputChunks[std::size_t(slot)];
            for (std::size_t k = 0; k < execOutputs.size() && !pipeline.writerFailed.load(std::memory_order_relaxed); ++k) {
                if (!writes[k]) continue;
                const ConstAudioView out(chunk.buffers[k].view().frameRange(0, chunk.frames));
                std::string error;
                if (targeting) {
                    error = pass1Files[k]->write(out);
                    for (int c = 0; c < out.channels; ++c) meterPointers[std::size_t(c)] = out.channel(c);
                    pass1Meters[k]->process(meterPointers.data(), out.frames);
                } else {
                    error = writers[k].write(out);
                    if (outputMeters[k]) outputMeters[k]->process(out);
                }
                if (!error.empty()) {
                    pipeline.writerError = std::move(error);
                    pipeline.writerFailed.store(true, std::memory_order_release);
                }
            }
            pipeline.freeOutputs.push(slot); // after a failure: keep recycling, write nothing
        }
    });

    int inputSlotNow = -1, outputSlotNow = -1; // chunks this thread holds
    int inputOffset = 0, outputFill = 0;       // frames used of each
    auto submitOutput = [&] {
        if (outputSlotNow < 0) return;
        pipeline.outputChunks[std::size_t(outputSlotNow)].frames = outputFill;
        pipeline.fullOutputs.push(outputSlotNow);
        outputSlotNow = -1;
    };
    // A failure at this block: what came before is written first, and a write error there is
    // the one the single-threaded loop would have met first.
    auto fail = [&](const std::string& message) {
        submitOutput();
        const bool written = pipeline.finishWriting();
        progress.finish();
        printError(written ? message : pipeline.writerError);
        return kExitFailure;
    };

    for (std::int64_t position = 0; position < framesToProcess;) {
        if (*interruptFlag()) {
            progress.finish();
            printError("interrupted; no output written");
            return kExitInterrupted;
        }
        if (pipeline.writerFailed.load(std::memory_order_acquire)) return fail(pipeline.writerError);
        if (inputSlotNow < 0 || inputOffset == pipeline.inputChunks[std::size_t(inputSlotNow)].frames) {
            if (inputSlotNow >= 0) pipeline.freeInputs.push(inputSlotNow);
            inputSlotNow = pipeline.fullInputs.pop();
            inputOffset = 0;
            if (inputSlotNow < 0) return fail("internal: the input reader stopped early");
        }
        const InputChunk& in = pipeline.inputChunks[std::size_t(inputSlotNow)];
        const int frames = int(std::min<std::int64_t>(block, framesToProcess - position));
        for (std::size_t k = 0; k < execInputs.size(); ++k)
            if (in.errorFrame[k] >= 0 && in.errorFrame[k] < position + frames) return fail(in.errors[k]);
        if (outputSlotNow < 0) {
            outputSlotNow = pipeline.freeOutputs.pop();
            outputFill = 0;
            if (outputSlotNow < 0) return fail("internal: the output writer stopped early");
        }
        const OutputChunk& out = pipeline.outputChunks[std::size_t(outputSlotNow)];
        for (std::size_t k = 0; k < execInputs.size(); ++k) inputViews[k] = in.buffers[k].view().frameRange(inputOffset, frames);
        for (std::size_t k = 0; k < execOutputs.size(); ++k)
            outputViews[k] = out.buffers[k].view().frameRange(outputFill, frames);
        executor.process(inputViews, outputViews);
        inputOffset += frames;

        if (executor.nonFiniteSamples() > 0) {
            std::string names;
            for (std::size_t k = 0; k < execOutputs.size(); ++k)
                names += (names.empty() ? "" : ", ") + quotedName(execOutputs[k].name);
            const std::int64_t frame = std::max<std::int64_t>(0, executor.firstNonFiniteFrame() - latency);
            char when[64];
            std::snprintf(when, sizeof when, " (%.3f s)", double(frame) / sampleRate);
            return fail(std::string("the graph produced non-finite samples (NaN or infinity) at ") +
                        (execOutputs.size() == 1 ? "output " : "one of the outputs ") + names + ", first at frame " +
                        std::to_string(frame) + when + "; no output written");
        }

        // Output frame n holds input frame n - latency: drop the first `latency` frames.
        const int skip = int(std::clamp<std::int64_t>(latency - position, 0, frames));
        if (skip > 0 && skip < frames)
            for (std::size_t k = 0; k < execOutputs.size(); ++k)
                for (int c = 0; c < outputViews[k].channels; ++c) {
                    float* samples = outputViews[k].channel(c);
                    std::memmove(samples, samples + skip, sizeof(float) * std::size_t(frames - skip));
                }
        outputFill += frames - skip;
        if (outputFill + block > chunkFrames) submitOutput();
        position += frames;
        progress.update(std::max<std::int64_t>(0, position - latency));
    }
    if (outputSlotNow >= 0 && outputFill > 0) submitOutput();
    if (!pipeline.finishWriting()) return fail(pipeline.writerError);
    progress.finish();
    if (*interruptFlag()) {
        printError("interrupted; no output written");
        return kExitInterrupted;
    }
    const double pass1Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    RenderSummary result;
    result.taps = executor.measurements();

    // --target: pass 2 for every written output (each uncommitted until all have landed).
    std::vector<std::optional<TargetResult>> targetResults(execOutputs.size());
    if (targeting) {
        for (std::size_t k = 0; k < execOutputs.size(); ++k) {
            if (!writes[k]) continue;
            const auto slot = std::size_t(outputSlot[k]);
            TargetResult delivered;
            const std::string error =
                deliverToTarget(*pass1Files[k], figuresOf(*pass1Meters[k]), *request.target, outputFiles[slot], formats[slot],
                                protectedPaths, writers[k], delivered, request.showProgress, interruptFlag());
            pass1Files[k].reset(); // frees its disk space now
            if (*interruptFlag()) {
                printError("interrupted; no output written");
                return kExitInterrupted;
            }
            if (!error.empty()) {
                printError(error + "; no output written");
                return kExitFailure;
            }
            targetResults[k] = delivered;
        }
    }

    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        if (!writes[k]) continue;
        if (auto error = writers[k].commit(); !error.empty()) {
            printError(error);
            return kExitFailure;
        }
    }
    const double wallSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    result.sampleRate = sampleRate;
    result.frames = totalFrames;
    result.latencyFrames = latency;
    result.wallSeconds = wallSeconds;
    result.pass1Seconds = pass1Seconds;
    for (std::size_t i = 0; i < graph.inputs.size(); ++i) result.inputs.emplace_back(graph.inputs[i].name, inputFiles[i]);
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        if (!writes[k]) continue;
        RenderedOutput out;
        out.name = execOutputs[k].name;
        out.path = writers[k].path();
        out.format = writers[k].format();
        out.channels = execOutputs[k].channels;
        out.clippedSamples = writers[k].clippedSamples();
        if (targetResults[k]) {
            out.measured = true;
            out.figures = targetResults[k]->after;
            out.target = targetResults[k];
        } else if (outputMeters[k]) {
            out.measured = true;
            out.figures = figuresOf(outputMeters[k]->meter());
        }
        result.outputs.push_back(std::move(out));
    }
    for (const auto& out : result.outputs)
        if (out.clippedSamples > 0)
            printWarning(quotedName(out.path) + ": " + plural(std::int64_t(out.clippedSamples), "sample", "samples") +
                         " clipped at full scale; lower the level or write wav32f");
    if (targeting)
        for (const auto& out : result.outputs)
            if (out.target && out.target->meanGainReductionDb > kHeavyLimitingDb)
                printWarning(heavyLimitingText(*request.target, *out.target) + " on " + quotedName(out.path));

    if (!request.reportPath.empty()) {
        RenderReport report;
        report.graphPath = request.graphPath;
        report.sampleRate = sampleRate;
        report.frames = totalFrames;
        report.latencyFrames = latency;
        report.blockFrames = block;
        report.wallSeconds = wallSeconds;
        report.inputs = result.inputs;
        report.target = request.target;
        for (const auto& out : result.outputs) {
            ReportOutput entry;
            entry.name = out.name;
            entry.path = out.path;
            entry.format = out.format;
            entry.measured = out.measured;
            entry.channels = out.channels;
            entry.figures = out.figures;
            entry.clippedSamples = out.clippedSamples;
            entry.target = out.target;
            report.outputs.push_back(std::move(entry));
        }
        report.taps = result.taps;
        if (auto error = reportFile.commit(reportJson(report)); !error.empty()) {
            printError(error + " (the audio files were written)");
            return kExitFailure;
        }
    }

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
