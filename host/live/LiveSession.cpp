#include "host/live/LiveSession.h"

#include "host/cli/CommandLine.h"

#include "core/Compiler.h"
#include "core/GraphLoader.h"
#include "host/live/AudioRing.h"
#include "host/live/FileStreams.h"
#include "host/live/LiveCommands.h"
#include "host/live/LiveEngine.h"
#include "host/live/LiveGraph.h"
#include "host/live/Terminal.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <poll.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace sg::live {

namespace {

using cli::kExitFailure;
using cli::kExitOk;
using cli::kExitUsage;

/// Seconds of audio the input and tee rings hold: the reader and the writer may stall this
/// long (disk, scheduler) before the audio thread notices. They poll every kPollMilliseconds.
constexpr double kRingSeconds = 1.5;
/// Calibration excerpt for --match-loudness (file mode: from a third into the file, at most 30 s in).
constexpr double kCalibrationSeconds = 10.0;
/// Status line redraws per second.
constexpr int kStatusPerSecond = 10;

std::string quoted(const std::string& text) { return "'" + text + "'"; }

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string formatLevel(double value, const char* unit) {
    char text[32];
    if (!std::isfinite(value))
        std::snprintf(text, sizeof text, "-inf %s", unit);
    else
        std::snprintf(text, sizeof text, "%.1f %s", value, unit);
    return text;
}

/// Deterministic pink noise (Paul Kellet's economy filter over xorshift white noise) at about
/// -20 dBFS RMS, the same on every channel: the calibration signal for an input device.
AudioBuffer pinkNoise(int channels, int frames) {
    AudioBuffer buffer(channels, frames);
    std::uint32_t seed = 0x9e3779b9u;
    double b0 = 0, b1 = 0, b2 = 0;
    for (int n = 0; n < frames; ++n) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        const double white = double(seed) / 2147483648.0 - 1.0;
        b0 = 0.99765 * b0 + white * 0.0990460;
        b1 = 0.96300 * b1 + white * 0.2965164;
        b2 = 0.57000 * b2 + white * 1.0526913;
        const float pink = float((b0 + b1 + b2 + white * 0.1848) * 0.05);
        for (int c = 0; c < channels; ++c) buffer.channel(c)[n] = pink;
    }
    return buffer;
}

/// The node named by an override "node.param=VALUE" (or "" if malformed).
std::string overrideNode(const std::string& text) {
    const auto eq = text.find('=');
    const auto dot = text.rfind('.', eq);
    if (eq == std::string::npos || dot == std::string::npos) return {};
    return text.substr(0, dot);
}

bool hasNode(const GraphDesc& desc, const std::string& node) {
    return std::any_of(desc.nodes.begin(), desc.nodes.end(), [&](const NodeDesc& n) { return n.name == node; });
}

// ---- the session ----------------------------------------------------------------------------------

/// The device's callback before the engine exists: silence. The stream is opened first (it
/// decides the period the engine is built for) and started only once the engine is set.
class CallbackSlot final : public AudioCallback {
public:
    void set(AudioCallback* target) { target_.store(target, std::memory_order_release); }
    void processAudio(const float* const* input, float* const* output, int frames, bool xrun) noexcept override {
        // The stream starts after set(), so there is always a target; without one, play nothing.
        if (AudioCallback* target = target_.load(std::memory_order_acquire)) target->processAudio(input, output, frames, xrun);
    }

private:
    std::atomic<AudioCallback*> target_{nullptr};
};

/// One graph of the command line, as the control thread keeps it.
struct GraphEntry {
    std::string path;
    std::vector<std::string> overrides;          // --set lines for this graph
    std::map<std::string, std::string> liveSets; // `set` commands, kept across reloads
    std::unique_ptr<LiveGraph> instance;         // the compiled graph that `switch N` plays
};

class Session {
public:
    Session(const LiveOptions& options, const LiveConsole& console) : options_(options), console_(console) {}
    int run(LiveSummary* summary);

private:
    // setup
    int prepareSource();
    int prepareGraphs();
    int fitGraphsToDevice(int blockFrames);
    std::unique_ptr<LiveGraph> compile(GraphEntry& entry, Diagnostics& diags, std::string& error) const;
    void calibrate(LiveGraph& graph) const;
    // while playing
    void controlLoop();
    void handleInput();
    void handleLine(const std::string& line);
    void execute(const LiveCommand& command);
    bool recompile(int index, const char* why);
    void switchTo(int index);
    void collectGarbage();
    void reportSwitches();
    void drawStatus(bool force);
    std::string statusText();
    void message(const std::string& text);
    void error(const std::string& text);
    int finish(int status, LiveSummary* summary);

    LiveOptions options_;
    LiveConsole console_;
    bool interactive_ = false;

    // source
    FileFeeder feeder_;
    bool fileMode_ = false;
    double sampleRate_ = 0;
    int sourceChannels_ = 0;
    std::int64_t sourceFrames_ = -1;
    AudioBuffer calibration_;

    // graphs
    LiveFormat format_;
    std::vector<GraphEntry> graphs_;
    std::vector<std::unique_ptr<LiveGraph>> graveyard_;
    int sessionLatency_ = 0;
    int failedCompiles_ = 0;

    // audio
    CallbackSlot callbackSlot_;
    std::unique_ptr<AudioRing> inputRing_, teeRing_;
    std::unique_ptr<LiveEngine> engine_;
    AudioStream stream_;
    StreamInfo streamInfo_;
    TeeWriter tee_;
    bool teeOpen_ = false;

    // control state
    double levelDb_ = 0;
    bool quit_ = false;
    bool commandsOpen_ = true;
    std::string lineBuffer_;
    bool prompting_ = false;
    std::string prompt_;
    std::uint64_t switchesSeen_ = 0;
    std::vector<int> graphsPlayed_;
    bool statusShown_ = false;
    std::chrono::steady_clock::time_point lastStatus_{};
    std::uint64_t lastCallbacks_ = 0;
    std::int64_t lastTotalNs_ = 0;
    double shownLoadPercent_ = 0, shownPeakPercent_ = 0;
};

void Session::message(const std::string& text) {
    if (interactive_ && statusShown_) std::fputs("\r\033[K", console_.err);
    std::fprintf(console_.err, "%s\n", text.c_str());
    std::fflush(console_.err);
    if (interactive_ && statusShown_) drawStatus(true);
}

void Session::error(const std::string& text) { message("stagegraph live: error: " + text); }

int Session::prepareSource() {
    fileMode_ = !options_.inputFile.empty();
    if (fileMode_) {
        if (auto message = feeder_.open(options_.inputFile); !message.empty()) {
            error(message);
            return kExitFailure;
        }
        const auto& reader = feeder_.reader();
        sampleRate_ = reader.sampleRate();
        sourceChannels_ = reader.channels();
        sourceFrames_ = options_.loop ? -1 : reader.frames();
        if (options_.sampleRateHz != 0 && double(options_.sampleRateHz) != sampleRate_) {
            char text[160];
            std::snprintf(
                text, sizeof text,
                "--rate %u does not match %s, which is at %g Hz (no resampling: convert the file or run the device at its rate)",
                options_.sampleRateHz, quoted(options_.inputFile).c_str(), sampleRate_);
            error(text);
            return kExitUsage;
        }
        if (options_.matchLoudness) {
            const std::int64_t frames = reader.frames();
            const auto length = std::int64_t(kCalibrationSeconds * sampleRate_);
            const std::int64_t start = std::min<std::int64_t>(frames / 3, std::int64_t(30 * sampleRate_));
            calibration_ = readExcerpt(options_.inputFile, std::max<std::int64_t>(0, std::min(start, frames - length)), length);
        }
        return kExitOk;
    }
    // An input device: the rate is asked for, or the device's own; the channels are the graph's.
    Diagnostics diags;
    GraphDesc first = loadGraph(options_.graphPaths[0], diags);
    if (diags.hasErrors()) {
        std::fputs(diags.formatAll().c_str(), console_.err);
        return kExitUsage;
    }
    sourceChannels_ = 0;
    for (const auto& input : first.inputs) sourceChannels_ += input.channels;
    if (sourceChannels_ == 0) {
        error(quoted(options_.graphPaths[0]) + " has no inputs: a live graph processes a file or an input device");
        return kExitUsage;
    }
    sampleRate_ = options_.sampleRateHz;
    if (sampleRate_ == 0) {
        sampleRate_ = 48000;
        for (const auto& api : listDevices(options_.api)) {
            if (api.devices.empty()) continue;
            std::string ignored;
            int index = options_.inputDevice.empty() ? -1 : findDevice(api.devices, options_.inputDevice, true, ignored);
            if (index < 0)
                for (std::size_t i = 0; i < api.devices.size() && index < 0; ++i)
                    if (api.devices[i].isDefaultInput) index = int(i);
            if (index >= 0 && api.devices[std::size_t(index)].preferredRateHz > 0)
                sampleRate_ = api.devices[std::size_t(index)].preferredRateHz;
            break;
        }
    }
    if (options_.matchLoudness) calibration_ = pinkNoise(sourceChannels_, int(5 * sampleRate_));
    return kExitOk;
}

std::unique_ptr<LiveGraph> Session::compile(GraphEntry& entry, Diagnostics& diags, std::string& message) const {
    std::vector<std::string> overrides = entry.overrides;
    for (const auto& [target, value] : entry.liveSets) overrides.push_back(target + "=" + value);
    return LiveGraph::create(entry.path, overrides, format_, diags, message);
}

void Session::calibrate(LiveGraph& graph) const {
    if (calibration_.frames() == 0) return;
    if (auto gain = graph.calibrateMatchGain(calibration_)) {
        graph.match.targetDb = std::clamp(*gain, -30.0, 30.0);
        graph.match.known = true;
    }
}

int Session::prepareGraphs() {
    format_.sampleRate = sampleRate_;
    format_.maxBlockFrames = options_.blockFrames;
    format_.sourceChannels = sourceChannels_;
    format_.outputChannels = 0;
    format_.meters = true;

    // --set: each override goes to every graph that has its node; one that fits none is an error.
    std::vector<GraphDesc> descs;
    bool bad = false;
    for (const auto& path : options_.graphPaths) {
        Diagnostics diags;
        descs.push_back(loadGraph(path, diags));
        if (diags.hasErrors()) {
            std::fputs(diags.formatAll().c_str(), console_.err);
            bad = true;
        }
    }
    if (bad) return kExitUsage;
    graphs_.resize(options_.graphPaths.size());
    for (std::size_t g = 0; g < graphs_.size(); ++g) graphs_[g].path = options_.graphPaths[g];
    for (const auto& text : options_.overrides) {
        bool used = false;
        for (std::size_t g = 0; g < graphs_.size(); ++g) {
            if (hasNode(descs[g], overrideNode(text))) {
                graphs_[g].overrides.push_back(text);
                used = true;
            }
        }
        if (!used) {
            // Let the compiler's own message say what is wrong with it.
            Diagnostics diags;
            applyOverrides(descs[0], {text}, diags);
            std::fputs(
                diags.hasErrors()
                    ? diags.formatAll().c_str()
                    : ("--set: " + quoted(text) + ": no graph has a node named " + quoted(overrideNode(text)) + "\n").c_str(),
                console_.err);
            bad = true;
        }
    }
    if (bad) return kExitUsage;

    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        Diagnostics diags;
        std::string message;
        graphs_[g].instance = compile(graphs_[g], diags, message);
        if (!diags.all().empty()) std::fputs(diags.formatAll().c_str(), console_.err);
        if (!graphs_[g].instance) {
            if (!message.empty()) error(message);
            bad = true;
            continue;
        }
        if (g == 0) format_.outputChannels = graphs_[0].instance->outputChannels();
    }
    return bad ? kExitUsage : kExitOk;
}

int Session::fitGraphsToDevice(int blockFrames) {
    // The device decides the period; the graphs run in blocks of exactly that.
    if (blockFrames != format_.maxBlockFrames) {
        format_.maxBlockFrames = blockFrames;
        for (auto& entry : graphs_) {
            Diagnostics diags;
            std::string message;
            entry.instance = compile(entry, diags, message);
            if (!entry.instance) {
                std::fputs(diags.formatAll().c_str(), console_.err);
                if (!message.empty()) error(message);
                return kExitUsage;
            }
        }
    }
    for (const auto& entry : graphs_) sessionLatency_ = std::max(sessionLatency_, entry.instance->latencyFrames());
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        LiveGraph& graph = *graphs_[g].instance;
        graph.alignTo(sessionLatency_);
        if (options_.matchLoudness) calibrate(graph);
        if (options_.matchLoudness && !graph.metered())
            message("warning: graph " + std::to_string(g + 1) + " is not loudness-matched: the meter takes at most " +
                    std::to_string(kLoudnessMaxChannels) + " channels in and out");
    }
    return kExitOk;
}

int Session::run(LiveSummary* summary) {
    interactive_ = console_.interactive >= 0 ? console_.interactive == 1
                                             : isTerminal(console_.commandFd) && isTerminal(fileno(console_.err));
    levelDb_ = options_.levelDb;
    if (options_.graphPaths.empty()) {
        error("no graph file given");
        return kExitUsage;
    }
    if (options_.blockFrames < kLiveMinBlockFrames || options_.blockFrames > kLiveMaxBlockFrames) {
        error("--block: expected a frame count from 1 to 8192, got " + std::to_string(options_.blockFrames));
        return kExitUsage;
    }
    if (!(options_.crossfadeMs >= 0 && options_.crossfadeMs <= kLiveMaxCrossfadeMs)) {
        error("--crossfade: expected 0 to 10000 ms");
        return kExitUsage;
    }
    io::OutputFormat teeFormat = io::OutputFormat::Wav32f;
    if (!options_.teePath.empty()) {
        if (options_.teeFormat) {
            teeFormat = *options_.teeFormat;
            if (!io::formatMatchesPath(teeFormat, options_.teePath)) {
                error(std::string("--format ") + io::outputFormatName(teeFormat) + " does not fit the name " +
                      quoted(options_.teePath));
                return kExitUsage;
            }
        } else if (auto byName = io::defaultFormatForPath(options_.teePath)) {
            // The tee is what was sent to the device: 32-bit float keeps it exact.
            teeFormat = *byName == io::OutputFormat::Wav24 ? io::OutputFormat::Wav32f : *byName;
        } else {
            error("cannot tell the format of " + quoted(options_.teePath) +
                  " from its name; use --format wav32f|wav24|wav16|flac24|flac16");
            return kExitUsage;
        }
    }

    if (int status = prepareSource(); status != kExitOk) return status;
    if (int status = prepareGraphs(); status != kExitOk) return status; // graph errors before device errors
    const int outputChannels = format_.outputChannels;

    // The device, opened (not started) first: it decides the period everything else is sized by.
    StreamRequest request;
    request.api = options_.api;
    request.outputDevice = options_.outputDevice;
    request.useInput = !fileMode_;
    request.inputDevice = options_.inputDevice;
    request.outputChannels = outputChannels;
    request.inputChannels = fileMode_ ? 0 : sourceChannels_;
    request.sampleRateHz = unsigned(std::lround(sampleRate_));
    request.blockFrames = options_.blockFrames;
    bool usage = false;
    if (auto message = stream_.open(request, callbackSlot_, streamInfo_, usage); !message.empty()) {
        error(message);
        return finish(usage ? kExitUsage : kExitFailure, summary);
    }
    const int block = std::clamp(streamInfo_.blockFrames, kLiveMinBlockFrames, kLiveMaxBlockFrames);
    if (int status = fitGraphsToDevice(block); status != kExitOk) return finish(status, summary);

    // Rings: the reader stays up to kRingSeconds ahead; the tee writer may fall that far behind.
    const int ringFrames = std::max(int(kRingSeconds * sampleRate_), 16 * block);
    if (fileMode_) inputRing_ = std::make_unique<AudioRing>(sourceChannels_, ringFrames);
    if (!options_.teePath.empty()) teeRing_ = std::make_unique<AudioRing>(outputChannels, ringFrames);

    EngineConfig config;
    config.sampleRate = sampleRate_;
    config.maxBlockFrames = block;
    config.sourceChannels = sourceChannels_;
    config.outputChannels = outputChannels;
    config.crossfadeFrames = int(std::lround(options_.crossfadeMs * sampleRate_ / 1000.0));
    config.warmupFrames = sessionLatency_ + kWarmupMarginFrames;
    config.sessionLatencyFrames = sessionLatency_;
    config.inputRing = inputRing_.get();
    config.sourceFrames = sourceFrames_;
    config.maxOutputFrames =
        options_.durationSeconds > 0 ? std::int64_t(std::llround(options_.durationSeconds * sampleRate_)) : -1;
    config.teeRing = teeRing_.get();
    config.outputMeter = true;
    config.matchLoudness = options_.matchLoudness;
    config.levelDb = levelDb_;
    engine_ = std::make_unique<LiveEngine>(config);
    engine_->setInitialGraph(graphs_[0].instance.get(), 1);
    graphsPlayed_.push_back(1);

    if (teeRing_) {
        std::vector<std::string> protectedPaths = options_.graphPaths;
        if (fileMode_) protectedPaths.push_back(options_.inputFile);
        if (auto message = tee_.open(options_.teePath, teeFormat, sampleRate_, outputChannels, protectedPaths);
            !message.empty()) {
            error(message);
            return finish(kExitFailure, summary);
        }
        teeOpen_ = true;
    }

    cli::InterruptGuard signals(console_.handleSignals);
    if (fileMode_) {
        if (auto message = feeder_.prefill(*inputRing_, options_.loop); !message.empty()) {
            error(message);
            return finish(kExitFailure, summary);
        }
        feeder_.start(*inputRing_, options_.loop);
    }
    if (teeOpen_) tee_.start(*teeRing_);
    callbackSlot_.set(engine_.get());
    if (auto message = stream_.start(); !message.empty()) {
        error(message);
        return finish(kExitFailure, summary);
    }

    // What is playing, once (the summary repeats the figures at the end).
    {
        char text[512];
        std::snprintf(text, sizeof text, "playing on %s device '%s': %g Hz, %d-frame period (%.2f ms)%s, latency %d frames",
                      streamInfo_.apiName.c_str(), streamInfo_.outputDeviceName.c_str(), sampleRate_, streamInfo_.blockFrames,
                      1000.0 * streamInfo_.blockFrames / sampleRate_,
                      streamInfo_.blockFrames != options_.blockFrames
                          ? (" (asked " + std::to_string(options_.blockFrames) + ")").c_str()
                          : "",
                      sessionLatency_);
        message(text);
        for (std::size_t g = 0; g < graphs_.size(); ++g)
            message("  " + std::to_string(g + 1) + ": " + graphs_[g].instance->name() + " (" + graphs_[g].path + ")");
        if (interactive_) message("keys: 1-9 switch, +/- level, m matching, r reload, : command, ? help, q quit");
    }

    controlLoop();
    return finish(kExitOk, summary);
}

void Session::controlLoop() {
    RawTerminal raw(interactive_ ? console_.commandFd : -1);
    if (console_.commandFd < 0) commandsOpen_ = false;
    while (!quit_ && !*cli::interruptFlag() && !engine_->finished()) {
        if (auto message = stream_.runtimeError(); !message.empty()) {
            error("audio device: " + message);
            break; // finish() turns it into the exit status
        }
        if (feeder_.failed() || tee_.failed()) break;
        if (commandsOpen_) {
            pollfd fd{console_.commandFd, POLLIN, 0};
            const int ready = ::poll(&fd, 1, 1000 / kStatusPerSecond / 4);
            if (ready > 0) handleInput();
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1000 / kStatusPerSecond / 4));
        }
        reportSwitches();
        collectGarbage();
        if (interactive_) drawStatus(false);
    }
    reportSwitches();
    if (interactive_ && statusShown_) {
        std::fputs("\r\033[K", console_.err);
        std::fflush(console_.err);
        statusShown_ = false;
    }
}

void Session::handleInput() {
    char bytes[256];
    const ssize_t got = ::read(console_.commandFd, bytes, sizeof bytes);
    if (got <= 0) {
        if (got == 0 || (errno != EINTR && errno != EAGAIN)) commandsOpen_ = false; // end of input: keep playing
        if (!lineBuffer_.empty()) handleLine(std::exchange(lineBuffer_, std::string()));
        return;
    }
    for (ssize_t i = 0; i < got; ++i) {
        const char c = bytes[i];
        if (!interactive_) {
            if (c == '\n')
                handleLine(std::exchange(lineBuffer_, std::string()));
            else if (c != '\r')
                lineBuffer_ += c;
            continue;
        }
        if (prompting_) {
            if (c == '\n' || c == '\r') {
                prompting_ = false;
                handleLine(std::exchange(prompt_, std::string()));
            } else if (c == 27) {
                prompting_ = false;
                prompt_.clear();
            } else if (c == 127 || c == 8) {
                if (!prompt_.empty()) prompt_.pop_back();
            } else if (static_cast<unsigned char>(c) >= 32) {
                prompt_ += c;
            }
            drawStatus(true);
            continue;
        }
        LiveCommand command = commandForKey(c, engine_->matching());
        if (command.kind == LiveCommand::Kind::Prompt) {
            prompting_ = true;
            drawStatus(true);
        } else if (command.kind != LiveCommand::Kind::None) {
            execute(command);
        }
    }
}

void Session::handleLine(const std::string& line) {
    std::string message;
    auto command = parseCommandLine(line, message);
    if (!command) {
        error(message);
        return;
    }
    execute(*command);
}

bool Session::recompile(int index, const char* why) {
    GraphEntry& entry = graphs_[std::size_t(index)];
    Diagnostics diags;
    std::string problem;
    auto fresh = compile(entry, diags, problem);
    if (!fresh) {
        ++failedCompiles_;
        std::string text = "graph " + std::to_string(index + 1) + " (" + entry.path + ") did not compile " + why + "; graph " +
                           std::to_string(engine_->targetGraph()) + " keeps playing";
        if (!diags.all().empty()) {
            std::string lines = diags.formatAll();
            if (!lines.empty() && lines.back() == '\n') lines.pop_back();
            text += "\n" + lines;
        }
        if (!problem.empty()) text += "\n" + problem;
        error(text);
        return false;
    }
    if (!diags.all().empty()) { // warnings
        std::string lines = diags.formatAll();
        if (!lines.empty() && lines.back() == '\n') lines.pop_back();
        message(lines);
    }
    if (fresh->latencyFrames() > sessionLatency_)
        message("warning: graph " + std::to_string(index + 1) + " now has " + std::to_string(fresh->latencyFrames()) +
                " frames of latency, more than the session's " + std::to_string(sessionLatency_) +
                ": switching to it is not time-aligned (restart the session to align it)");
    fresh->alignTo(sessionLatency_);
    if (options_.matchLoudness || engine_->matching()) calibrate(*fresh);
    graveyard_.push_back(std::move(entry.instance));
    entry.instance = std::move(fresh);
    return true;
}

void Session::switchTo(int index) {
    EngineCommand command;
    command.kind = EngineCommand::Kind::Switch;
    command.graph = graphs_[std::size_t(index)].instance.get();
    command.graphIndex = index + 1;
    if (!engine_->post(command)) error("the audio thread is not taking commands (queue full)");
}

void Session::execute(const LiveCommand& command) {
    const int count = int(graphs_.size());
    switch (command.kind) {
    case LiveCommand::Kind::None:
    case LiveCommand::Kind::Prompt:
        break;
    case LiveCommand::Kind::Switch: {
        if (command.graph < 1 || command.graph > count) {
            error("no graph " + std::to_string(command.graph) + " (graphs 1.." + std::to_string(count) + ")");
            break;
        }
        const int index = command.graph - 1;
        GraphEntry& entry = graphs_[std::size_t(index)];
        // The file changed since it was compiled: compile it again first.
        if (readText(entry.path) != entry.instance->fileText() && !recompile(index, "after its file changed")) break;
        switchTo(index);
        if (!interactive_) message("switch to " + std::to_string(command.graph) + ": " + entry.instance->name());
        break;
    }
    case LiveCommand::Kind::Reload: {
        const int number = command.graph == 0 ? engine_->targetGraph() : command.graph;
        if (number < 1 || number > count) {
            error("no graph " + std::to_string(number) + " (graphs 1.." + std::to_string(count) + ")");
            break;
        }
        if (!recompile(number - 1, "on reload")) break;
        message("reloaded graph " + std::to_string(number) + ": " + graphs_[std::size_t(number - 1)].instance->name());
        if (number == engine_->targetGraph()) switchTo(number - 1);
        break;
    }
    case LiveCommand::Kind::Set: {
        const int number = engine_->targetGraph();
        GraphEntry& entry = graphs_[std::size_t(number - 1)];
        int handle = -1;
        double value = 0;
        if (auto message = entry.instance->resolveParam(command.target, command.value, handle, value); !message.empty()) {
            error("set: " + message);
            break;
        }
        EngineCommand set;
        set.kind = EngineCommand::Kind::SetParam;
        set.graph = entry.instance.get();
        set.handle = handle;
        set.value = value;
        if (!engine_->post(set)) {
            error("the audio thread is not taking commands (queue full)");
            break;
        }
        entry.liveSets[command.target] = command.value;
        if (!interactive_)
            message("set " + command.target + " " + command.value + " (graph " + std::to_string(number) + ")");
        else
            message("set " + command.target + " " + command.value);
        break;
    }
    case LiveCommand::Kind::Level: {
        levelDb_ = std::clamp(command.relative ? levelDb_ + command.levelDb : command.levelDb, -60.0, 12.0);
        EngineCommand level;
        level.kind = EngineCommand::Kind::Level;
        level.value = levelDb_;
        engine_->post(level);
        if (!interactive_) message("level " + formatLevel(levelDb_, "dB"));
        break;
    }
    case LiveCommand::Kind::Match: {
        if (command.on && calibration_.frames() == 0) {
            // Matching switched on later: calibrate the graphs the engine does not hold now.
            calibration_ = fileMode_ ? readExcerpt(options_.inputFile, 0, std::int64_t(kCalibrationSeconds * sampleRate_))
                                     : pinkNoise(sourceChannels_, int(5 * sampleRate_));
            for (auto& entry : graphs_)
                if (entry.instance->releasedByEngine()) calibrate(*entry.instance);
        }
        EngineCommand match;
        match.kind = EngineCommand::Kind::Match;
        match.value = command.on ? 1 : 0;
        engine_->post(match);
        message(std::string("loudness matching ") + (command.on ? "on" : "off"));
        break;
    }
    case LiveCommand::Kind::Status:
        message(statusText());
        break;
    case LiveCommand::Kind::Help:
        message(commandHelp());
        break;
    case LiveCommand::Kind::Quit:
        quit_ = true;
        break;
    }
}

void Session::collectGarbage() {
    graveyard_.erase(std::remove_if(graveyard_.begin(), graveyard_.end(),
                                    [](const std::unique_ptr<LiveGraph>& g) { return g->releasedByEngine(); }),
                     graveyard_.end());
}

void Session::reportSwitches() {
    const std::uint64_t switches = engine_->switchesCompleted();
    if (switches == switchesSeen_) return;
    switchesSeen_ = switches;
    const int current = engine_->currentGraph();
    graphsPlayed_.push_back(current);
}

std::string Session::statusText() {
    const int current = engine_->currentGraph(), target = engine_->targetGraph();
    const double deadlineNs = 1e9 * streamInfo_.blockFrames / sampleRate_;
    const std::uint64_t callbacks = engine_->callbacks();
    const std::int64_t totalNs = engine_->processTimes().totalNanoseconds();
    if (callbacks > lastCallbacks_) {
        shownLoadPercent_ = 100.0 * double(totalNs - lastTotalNs_) / double(callbacks - lastCallbacks_) / deadlineNs;
        shownPeakPercent_ = 100.0 * double(engine_->takeRecentWorstNanoseconds()) / deadlineNs;
        lastCallbacks_ = callbacks;
        lastTotalNs_ = totalNs;
    }
    const LoudnessSnapshot loudness = engine_->outputLoudness();
    const double seconds = double(engine_->framesOut()) / sampleRate_;
    char text[512];
    std::snprintf(text, sizeof text,
                  "[%d/%zu%s] %s | DSP %4.1f%% (peak %4.1f%%) | xruns %llu | M %s S %s | TP %s | %s%s | %d:%04.1f", current,
                  graphs_.size(), target != current ? ("->" + std::to_string(target)).c_str() : "",
                  graphs_[std::size_t(current - 1)].instance ? graphs_[std::size_t(current - 1)].instance->name().c_str() : "?",
                  shownLoadPercent_, shownPeakPercent_, static_cast<unsigned long long>(engine_->xruns()),
                  formatLevel(loudness.momentaryLufs, "").c_str(), formatLevel(loudness.shortTermLufs, "LUFS").c_str(),
                  formatLevel(loudness.truePeakDbtp, "dBTP").c_str(),
                  engine_->matching() ? ("match " + formatLevel(engine_->matchGainDb(), "dB") + " | ").c_str() : "",
                  ("level " + formatLevel(engine_->levelDb(), "dB")).c_str(), int(seconds / 60), std::fmod(seconds, 60.0));
    return text;
}

void Session::drawStatus(bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - lastStatus_ < std::chrono::milliseconds(1000 / kStatusPerSecond)) return;
    lastStatus_ = now;
    std::string line = prompting_ ? ":" + prompt_ : statusText();
    std::fprintf(console_.err, "\r\033[K%s", line.c_str());
    std::fflush(console_.err);
    statusShown_ = true;
}

int Session::finish(int status, LiveSummary* summary) {
    stream_.close();
    feeder_.stop();
    std::string teeError;
    if (teeOpen_) teeError = tee_.finish();

    if (status == kExitOk) {
        if (feeder_.failed()) {
            error(feeder_.error());
            status = kExitFailure;
        } else if (auto message = stream_.runtimeError(); !message.empty()) {
            status = kExitFailure;
        }
        if (!teeError.empty()) {
            error(teeError);
            status = kExitFailure;
        }
    }

    LiveSummary result;
    result.apiName = streamInfo_.apiName;
    result.outputDeviceName = streamInfo_.outputDeviceName;
    result.sampleRateHz = sampleRate_;
    result.blockFrames = streamInfo_.blockFrames;
    result.sessionLatencyFrames = sessionLatency_;
    result.failedCompiles = failedCompiles_;
    result.graphsPlayed = graphsPlayed_;
    if (engine_) {
        const ProcessTimes& times = engine_->processTimes();
        result.callbacks = engine_->callbacks();
        result.frames = engine_->framesOut();
        result.xruns = engine_->xruns();
        result.firstXrunFrame = engine_->firstXrunFrame();
        result.underrunFrames = engine_->underrunFrames();
        result.teeOverflowFrames = engine_->teeOverflowFrames();
        result.nonFiniteSamples = engine_->nonFiniteSamples();
        result.switches = engine_->switchesCompleted();
        result.meanProcessUs = times.meanNanoseconds() / 1000.0;
        result.p99ProcessUs = double(times.percentileNanoseconds(0.99)) / 1000.0;
        result.worstProcessUs = double(times.worstNanoseconds()) / 1000.0;
        result.deadlineUs = streamInfo_.blockFrames > 0 ? 1e6 * streamInfo_.blockFrames / sampleRate_ : 0;
        const LoudnessSnapshot loudness = engine_->outputLoudness();
        result.maxMomentaryLufs = loudness.maxMomentaryLufs;
        result.maxShortTermLufs = loudness.maxShortTermLufs;
        result.truePeakDbtp = loudness.truePeakDbtp;
    }
    result.teeFrames = teeOpen_ ? tee_.framesWritten() : 0;

    if (engine_ && result.callbacks > 0) {
        if (result.teeOverflowFrames > 0) {
            error("the tee writer fell behind: " + std::to_string(result.teeOverflowFrames) + " frames missing from " +
                  quoted(options_.teePath));
            if (status == kExitOk) status = kExitFailure;
        }
        if (result.nonFiniteSamples > 0) {
            error("the graph produced " + std::to_string(result.nonFiniteSamples) +
                  " non-finite samples (NaN or infinity); they were replaced by silence");
            if (status == kExitOk) status = kExitFailure;
        }
        std::FILE* out = console_.out;
        const double pct = result.deadlineUs > 0 ? 100.0 / result.deadlineUs : 0;
        std::fprintf(out, "live: %zu graph%s on %s device '%s', %g Hz, %d-frame period (deadline %.0f us), latency %d frames\n",
                     graphs_.size(), graphs_.size() == 1 ? "" : "s", result.apiName.c_str(), result.outputDeviceName.c_str(),
                     result.sampleRateHz, result.blockFrames, result.deadlineUs, result.sessionLatencyFrames);
        std::fprintf(out, "played %.3f s: %llu callbacks, %lld frames, %llu switches, %llu xruns, %lld underrun frames\n",
                     double(result.frames) / sampleRate_, static_cast<unsigned long long>(result.callbacks),
                     static_cast<long long>(result.frames), static_cast<unsigned long long>(result.switches),
                     static_cast<unsigned long long>(result.xruns), static_cast<long long>(result.underrunFrames));
        if (result.xruns > 0)
            std::fprintf(out, "first xrun after %.3f s (the driver missed a deadline: a loaded machine, or a period too short)\n",
                         double(result.firstXrunFrame) / sampleRate_);
        std::fprintf(out, "process time per callback: mean %.1f us (%.1f%%), p99 %.1f us (%.1f%%), worst %.1f us (%.1f%%)\n",
                     result.meanProcessUs, result.meanProcessUs * pct, result.p99ProcessUs, result.p99ProcessUs * pct,
                     result.worstProcessUs, result.worstProcessUs * pct);
        std::fprintf(out, "output: max momentary %s, max short-term %s, true peak %s\n",
                     formatLevel(result.maxMomentaryLufs, "LUFS").c_str(), formatLevel(result.maxShortTermLufs, "LUFS").c_str(),
                     formatLevel(result.truePeakDbtp, "dBTP").c_str());
        if (failedCompiles_ > 0) std::fprintf(out, "graphs that did not compile while live: %d\n", failedCompiles_);
        if (teeOpen_ && teeError.empty())
            std::fprintf(out, "tee: %s (%lld frames)\n", options_.teePath.c_str(), static_cast<long long>(result.teeFrames));
        std::fflush(out);
    }
    if (summary) *summary = std::move(result);
    return status;
}

} // namespace

int runLiveSession(const LiveOptions& options, const LiveConsole& console, LiveSummary* summary) {
    Session session(options, console);
    return session.run(summary);
}

int printDevices(AudioApi api, std::FILE* out, std::FILE* err) {
    const auto apis = listDevices(api);
    if (apis.empty()) {
        std::fputs("stagegraph live: error: this RtAudio has no audio API compiled in\n", err);
        return kExitFailure;
    }
    for (const auto& each : apis) {
        std::fprintf(out, "%s (--api %s):\n", each.displayName.c_str(), audioApiName(each.api));
        if (each.devices.empty()) {
            std::fprintf(out, "  no devices%s%s\n", each.error.empty() ? "" : ": ", each.error.c_str());
            continue;
        }
        for (const auto& d : each.devices) {
            std::string defaults;
            if (d.isDefaultOutput) defaults += "default output";
            if (d.isDefaultInput) defaults += std::string(defaults.empty() ? "" : ", ") + "default input";
            std::fprintf(out, "  %d  %-24s %d in, %d out", d.index, ("'" + d.name + "'").c_str(), d.inputChannels,
                         d.outputChannels);
            if (d.preferredRateHz) std::fprintf(out, ", %u Hz", d.preferredRateHz);
            if (!defaults.empty()) std::fprintf(out, " (%s)", defaults.c_str());
            std::fputc('\n', out);
        }
    }
    return kExitOk;
}

} // namespace sg::live
