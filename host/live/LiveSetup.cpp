// Setting up a live session: the source (file or input device), the graphs (loaded, compiled,
// calibrated, aligned), the device stream and the tee.
#include "host/live/LiveSessionInternal.h"

#include "host/io/TerminalText.h"
#include "host/live/Terminal.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>

namespace sg::live::detail {

namespace {

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

/// A template or file parameter "instance.param" that reaches a node (GraphDesc::paramBindings).
bool hasBinding(const GraphDesc& desc, const std::string& path) {
    return std::any_of(desc.paramBindings.begin(), desc.paramBindings.end(),
                       [&](const ParamBinding& b) { return b.path == path; });
}

} // namespace

// Sanitizers map terabytes of shadow memory (reserved, not backed): locking would try to back it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SG_LIVE_SHADOW_MEMORY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SG_LIVE_SHADOW_MEMORY 1
#endif
#endif

bool lockMemory() {
#ifdef SG_LIVE_SHADOW_MEMORY
    return false;
#else
    return ::mlockall(MCL_CURRENT) == 0;
#endif
}

void unlockMemory() { ::munlockall(); }

std::string readText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// Deterministic pink noise (Paul Kellet's economy filter over xorshift white noise) at about
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
    LoadOptions load;
    load.includeDirs = options_.includeDirs;
    GraphDesc first = loadGraph(options_.graphPaths[0], diags, load);
    if (diags.hasErrors()) {
        std::fputs(io::terminalLines(diags.formatAll()).c_str(), console_.err);
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
    LoadOptions load;
    load.includeDirs = options_.includeDirs;
    return LiveGraph::create(entry.path, overrides, format_, diags, message, load);
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
    LoadOptions load;
    load.includeDirs = options_.includeDirs;
    for (const auto& path : options_.graphPaths) {
        Diagnostics diags;
        descs.push_back(loadGraph(path, diags, load));
        if (diags.hasErrors()) { // every error of the file in this run, the compiler's too
            Diagnostics all;
            loadAndCompile(path, {}, Registry::builtin(), all, load);
            std::fputs(io::terminalLines(all.formatAll()).c_str(), console_.err);
            bad = true;
        }
    }
    if (bad) return kExitUsage;
    graphs_.resize(options_.graphPaths.size());
    for (std::size_t g = 0; g < graphs_.size(); ++g) graphs_[g].path = options_.graphPaths[g];
    for (const auto& text : options_.overrides) {
        bool used = false;
        for (std::size_t g = 0; g < graphs_.size(); ++g) {
            if (hasNode(descs[g], overrideNode(text)) || hasBinding(descs[g], text.substr(0, text.find('=')))) {
                graphs_[g].overrides.push_back(text);
                used = true;
            }
        }
        if (!used) {
            // Let the compiler's own message say what is wrong with it.
            Diagnostics diags;
            applyOverrides(descs[0], {text}, diags);
            std::fputs(io::terminalLines(diags.hasErrors() ? diags.formatAll()
                                                           : "--set: " + quoted(text) + ": no graph has a node named " +
                                                                 quoted(overrideNode(text)) + "\n")
                           .c_str(),
                       console_.err);
            bad = true;
        }
    }
    if (bad) return kExitUsage;

    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        Diagnostics diags;
        std::string message;
        graphs_[g].instance = compile(graphs_[g], diags, message);
        if (!diags.all().empty()) std::fputs(io::terminalLines(diags.formatAll()).c_str(), console_.err);
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
    // The device decides the period; the graphs run in blocks of exactly that. Each graph is
    // re-instantiated from its compiled form (no YAML is read again), aligned to the session's
    // latency by the compiler's own compensation delays.
    format_.maxBlockFrames = blockFrames;
    for (const auto& entry : graphs_) sessionLatency_ = std::max(sessionLatency_, entry.instance->latencyFrames());
    for (std::size_t g = 0; g < graphs_.size(); ++g) {
        LiveGraph& graph = *graphs_[g].instance;
        std::string problem = graph.maxBlockFrames() != blockFrames ? graph.setMaxBlockFrames(blockFrames) : std::string();
        if (problem.empty()) problem = graph.alignTo(sessionLatency_);
        if (!problem.empty()) {
            std::fputs(io::terminalLines(problem).c_str(), console_.err);
            return kExitUsage;
        }
        graph.warmUp();
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
    // Every page the callback will touch is now mapped (graphs warmed up, engine and rings
    // allocated): lock them in, so none faults in a callback. Without the privilege (an
    // RLIMIT_MEMLOCK below the session's size) the session plays unlocked; the summary says so.
    // MCL_FUTURE is not asked: under a limit it would make later allocations (a reload) fail.
    memoryLocked_ = lockMemory();
    // After the lock: the spinning threads' stacks need not be backed.
    if (options_.keepAwake) {
        if (auto why = keepAwake_.start(); !why.empty()) message("keep-awake: " + why + "; playing without it");
    }
    callbackSlot_.set(engine_.get());
    if (auto message = stream_.start(); !message.empty()) {
        error(message);
        return finish(kExitFailure, summary);
    }

    // What is playing, once (the summary repeats the figures at the end).
    {
        char text[512];
        std::snprintf(text, sizeof text, "playing on %s device '%s': %g Hz, %d-frame period (%.2f ms)%s, latency %s",
                      streamInfo_.apiName.c_str(), streamInfo_.outputDeviceName.c_str(), sampleRate_, streamInfo_.blockFrames,
                      1000.0 * streamInfo_.blockFrames / sampleRate_,
                      streamInfo_.blockFrames != options_.blockFrames
                          ? (" (asked " + std::to_string(options_.blockFrames) + ")").c_str()
                          : "",
                      cli::plural(sessionLatency_, "frame", "frames").c_str());
        message(text);
        for (std::size_t g = 0; g < graphs_.size(); ++g)
            message("  " + std::to_string(g + 1) + ": " + graphs_[g].instance->name() + " (" + graphs_[g].path + ")");
        if (interactive_) message("keys: 1-9 switch, +/- level, m matching, r reload, : command, ? help, q quit");
    }

    controlLoop();
    return finish(kExitOk, summary);
}

} // namespace sg::live::detail
