#include "host/live/LiveEngine.h"

#include "core/Denormals.h"
#include "core/Units.h"
#include "host/live/LiveGraph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>

namespace sg::live {

namespace {

/// Moves `value` toward `target` by at most `step`.
double slew(double value, double target, double step) {
    if (value < target) return std::min(target, value + step);
    return std::max(target, value - step);
}

constexpr double kMomentarySeconds = 0.4;
constexpr double kShortTermSeconds = 3.0;
constexpr double kMatchLimitDb = 30.0;    // a graph is never gained by more than this
constexpr double kMatchFloorLufs = -70.0; // below: silence, no estimate

} // namespace

LiveEngine::LiveEngine(const EngineConfig& config) : config_(config), commands_(1024) {
    config_.maxBlockFrames = std::max(1, config_.maxBlockFrames);
    config_.crossfadeFrames = std::max(0, config_.crossfadeFrames);
    config_.warmupFrames = std::max(0, config_.warmupFrames);
    source_.resize(config_.sourceChannels, config_.maxBlockFrames);
    mixA_.resize(config_.outputChannels, config_.maxBlockFrames);
    mixB_.resize(config_.outputChannels, config_.maxBlockFrames);
    lastOutput_.assign(std::size_t(config_.outputChannels), 0.0f);
    const int fade = config_.crossfadeFrames;
    fadeTable_.resize(std::size_t(fade) + 1);
    for (int i = 0; i <= fade; ++i)
        fadeTable_[std::size_t(i)] = fade > 0 ? float(std::sin(M_PI / 2 * double(i) / double(fade))) : 1.0f;
    if (config_.outputMeter && config_.outputChannels <= kLoudnessMaxChannels &&
        outputMeter_.prepare(config_.sampleRate, config_.outputChannels).empty()) {
        outputMetered_ = true;
        meterPointers_.assign(std::size_t(config_.outputChannels), nullptr);
    }
    matchEnabled_ = config_.matchLoudness;
    matchShown_ = matchEnabled_;
    levelTargetDb_ = levelAppliedDb_ = config_.levelDb;
    levelShownDb_ = config_.levelDb;
}

LiveEngine::~LiveEngine() = default;

void LiveEngine::setInitialGraph(LiveGraph* graph, int graphIndex) {
    current_ = graph;
    currentIdx_ = graphIndex;
    graph->engineUses.fetch_add(1, std::memory_order_acq_rel);
    graph->restart();
    graph->match.appliedDb = matchEnabled_ ? graph->match.targetDb : 0.0;
    currentIndex_ = targetIndex_ = graphIndex;
}

bool LiveEngine::post(const EngineCommand& command) {
    if (command.graph) ++command.graph->commandsPosted;
    if (commands_.push(command)) return true;
    if (command.graph) --command.graph->commandsPosted;
    return false;
}

LoudnessSnapshot LiveEngine::outputLoudness() const noexcept {
    return outputMetered_ ? outputMeter_.snapshot() : LoudnessSnapshot{};
}

// ---- audio thread ------------------------------------------------------------------------------

void LiveEngine::hold(LiveGraph* graph) noexcept { graph->engineUses.fetch_add(1, std::memory_order_acq_rel); }

void LiveEngine::release(LiveGraph*& slot) noexcept {
    if (!slot) return;
    slot->engineUses.fetch_sub(1, std::memory_order_acq_rel);
    slot = nullptr;
}

void LiveEngine::beginSwitch(LiveGraph* graph, int index) noexcept {
    // `graph` is already held by the caller for the next slot.
    next_ = graph;
    nextIdx_ = index;
    graph->restart();
    graph->match.appliedDb = matchEnabled_ ? graph->match.targetDb : 0.0;
    fadePosition_ = -std::int64_t(config_.warmupFrames);
    targetIndex_.store(index, std::memory_order_relaxed);
}

void LiveEngine::takeCommands() noexcept {
    EngineCommand command;
    for (int taken = 0; taken < 64 && commands_.pop(command); ++taken) {
        LiveGraph* graph = command.graph;
        switch (command.kind) {
        case EngineCommand::Kind::Switch:
            if (!graph) break;
            if (!next_) {
                if (graph != current_) {
                    hold(graph);
                    beginSwitch(graph, command.graphIndex);
                }
            } else if (graph == next_) {
                release(pending_); // already on the way there
            } else if (fadePosition_ < 0) {
                // Still warming up, nothing audible yet: replace the incoming graph now.
                release(next_);
                release(pending_);
                if (graph != current_) {
                    hold(graph);
                    beginSwitch(graph, command.graphIndex);
                } else {
                    targetIndex_.store(currentIdx_, std::memory_order_relaxed);
                }
            } else {
                // Mid-fade: the latest request waits for the fade to end.
                release(pending_);
                hold(graph);
                pending_ = graph;
                pendingIdx_ = command.graphIndex;
                targetIndex_.store(command.graphIndex, std::memory_order_relaxed);
            }
            break;
        case EngineCommand::Kind::SetParam:
            if (graph) graph->setParam(command.handle, command.value);
            break;
        case EngineCommand::Kind::Level:
            levelTargetDb_ = command.value;
            levelShownDb_.store(command.value, std::memory_order_relaxed);
            break;
        case EngineCommand::Kind::Match:
            matchEnabled_ = command.value != 0;
            matchShown_.store(matchEnabled_, std::memory_order_relaxed);
            break;
        }
        // After any hold() above: the control thread reads this counter first.
        if (graph) graph->commandsConsumed.fetch_add(1, std::memory_order_acq_rel);
    }
}

void LiveEngine::updateMatch(LiveGraph& graph, int frames) noexcept {
    const double rate = config_.sampleRate;
    if (matchEnabled_ && graph.metered()) {
        const double played = double(graph.playedFrames()) / rate;
        double in = kSilentLevel, out = kSilentLevel;
        if (played >= kShortTermSeconds) {
            in = graph.inputMeter().shortTermLufs();
            out = graph.outputMeter().shortTermLufs();
        } else if (played >= kMomentarySeconds) {
            in = graph.inputMeter().momentaryLufs();
            out = graph.outputMeter().momentaryLufs();
        }
        if (in > kMatchFloorLufs && out > kMatchFloorLufs) {
            graph.match.targetDb = std::clamp(in - out, -kMatchLimitDb, kMatchLimitDb);
            graph.match.known = true;
        }
    }
    const double goal = matchEnabled_ ? graph.match.targetDb : 0.0;
    graph.match.appliedDb = slew(graph.match.appliedDb, goal, kMatchSlewDbPerSecond * frames / rate);
}

void LiveEngine::runChunk(const float* const* input, float* const* output, int offset, int frames) noexcept {
    const int sourceChannels = config_.sourceChannels, outputChannels = config_.outputChannels;
    const AudioView source = source_.view().frameRange(0, frames);

    // 1. The source.
    if (config_.inputRing) {
        const std::int64_t wanted =
            config_.sourceFrames < 0 ? frames : std::clamp<std::int64_t>(config_.sourceFrames - sourcePosition_, 0, frames);
        const int got = wanted > 0 ? config_.inputRing->read(source.frameRange(0, int(wanted))) : 0;
        if (got < wanted) underrunFrames_.fetch_add(wanted - got, std::memory_order_relaxed);
        if (got < frames) source.frameRange(got, frames - got).clear();
        sourcePosition_ += got;
    } else {
        for (int c = 0; c < sourceChannels; ++c) {
            if (input && input[c])
                std::memcpy(source.channel(c), input[c] + offset, sizeof(float) * std::size_t(frames));
            else
                std::memset(source.channel(c), 0, sizeof(float) * std::size_t(frames));
        }
    }

    // 2. The graphs.
    const AudioView a = mixA_.view().frameRange(0, frames);
    const AudioView b = mixB_.view().frameRange(0, frames);
    const std::uint64_t nonFiniteBefore = current_->nonFiniteSamples();
    current_->process(source, a);
    nonFinite_.fetch_add(current_->nonFiniteSamples() - nonFiniteBefore, std::memory_order_relaxed);
    if (matchEnabled_) current_->measure(source, a);
    if (next_) {
        const std::uint64_t before = next_->nonFiniteSamples();
        next_->process(source, b);
        nonFinite_.fetch_add(next_->nonFiniteSamples() - before, std::memory_order_relaxed);
        if (matchEnabled_) next_->measure(source, b);
    }

    // 3. Mix: crossfade weights per frame, match gains and the monitor level as per-chunk ramps.
    const double rate = config_.sampleRate;
    const double currentFrom = current_->match.appliedDb;
    updateMatch(*current_, frames);
    const double currentTo = current_->match.appliedDb;
    double nextFrom = 0, nextTo = 0;
    if (next_) {
        nextFrom = next_->match.appliedDb;
        updateMatch(*next_, frames);
        nextTo = next_->match.appliedDb;
    }
    const double levelFrom = levelAppliedDb_;
    levelAppliedDb_ = slew(levelAppliedDb_, levelTargetDb_, kLevelSlewDbPerSecond * frames / rate);
    const double levelTo = levelAppliedDb_;

    const bool plain = !next_ && currentFrom == 0 && currentTo == 0 && levelFrom == 0 && levelTo == 0;
    if (!plain) {
        // Linear ramps across the chunk between the gains at its start and its end.
        const float gainA0 = float(dbToGain(currentFrom + levelFrom)), gainA1 = float(dbToGain(currentTo + levelTo));
        const float gainB0 = float(dbToGain(nextFrom + levelFrom)), gainB1 = float(dbToGain(nextTo + levelTo));
        const float stepA = (gainA1 - gainA0) / float(frames), stepB = (gainB1 - gainB0) / float(frames);
        const std::int64_t fade = config_.crossfadeFrames;
        for (int c = 0; c < outputChannels; ++c) {
            float* outA = a.channel(c);
            if (!next_) {
                for (int n = 0; n < frames; ++n) outA[n] *= gainA0 + stepA * float(n);
                continue;
            }
            const float* inB = b.channel(c);
            for (int n = 0; n < frames; ++n) {
                const std::int64_t p = fadePosition_ + n;
                const float wIn = p < 0 ? 0.0f : p >= fade ? 1.0f : fadeTable_[std::size_t(p)];
                const float wOut = p < 0 ? 1.0f : p >= fade ? 0.0f : fadeTable_[std::size_t(fade - p)];
                outA[n] = wOut * (gainA0 + stepA * float(n)) * outA[n] + wIn * (gainB0 + stepB * float(n)) * inB[n];
            }
        }
    }
    matchDb_.store(next_ && fadePosition_ + frames >= config_.crossfadeFrames ? nextTo : currentTo, std::memory_order_relaxed);

    // 4. Watch the steps between output samples (clicks), meter, tee, device.
    for (int c = 0; c < outputChannels; ++c) {
        const float* y = a.channel(c);
        float previous = lastOutput_[std::size_t(c)];
        for (int n = 0; n < frames; ++n) {
            const float step = std::abs(y[n] - previous);
            if (step > largestStep_) {
                largestStep_ = step;
                largestStepFrame_.store(framesPlayed_ + n, std::memory_order_relaxed);
            }
            previous = y[n];
        }
        lastOutput_[std::size_t(c)] = previous;
    }
    largestStepShown_.store(largestStep_, std::memory_order_relaxed);
    if (outputMetered_) {
        for (int c = 0; c < outputChannels; ++c) meterPointers_[std::size_t(c)] = a.channel(c);
        outputMeter_.process(meterPointers_.data(), frames);
    }
    if (config_.teeRing) {
        const int taken = config_.teeRing->write(a);
        if (taken < frames) teeOverflow_.fetch_add(frames - taken, std::memory_order_relaxed);
    }
    for (int c = 0; c < outputChannels; ++c) std::memcpy(output[c] + offset, a.channel(c), sizeof(float) * std::size_t(frames));

    // 5. Advance the switch.
    if (next_) {
        fadePosition_ += frames;
        if (fadePosition_ >= config_.crossfadeFrames) {
            release(current_);
            current_ = next_;
            currentIdx_ = nextIdx_;
            next_ = nullptr;
            currentIndex_.store(currentIdx_, std::memory_order_relaxed);
            switches_.fetch_add(1, std::memory_order_relaxed);
            if (pending_) {
                LiveGraph* waiting = pending_;
                pending_ = nullptr; // its hold moves to the next slot
                if (waiting != current_)
                    beginSwitch(waiting, pendingIdx_);
                else
                    waiting->engineUses.fetch_sub(1, std::memory_order_acq_rel);
            }
            if (!next_) targetIndex_.store(currentIdx_, std::memory_order_relaxed);
        }
    }
    framesPlayed_ += frames;
    framesOut_.store(framesPlayed_, std::memory_order_relaxed);
}

void LiveEngine::processAudio(const float* const* input, float* const* output, int frames, bool xrun) noexcept {
    const auto started = std::chrono::steady_clock::now();
    probe_.begin(std::chrono::duration_cast<std::chrono::nanoseconds>(started.time_since_epoch()).count());
    ScopedFlushDenormals flush;
    callbacks_.fetch_add(1, std::memory_order_relaxed);
    if (xrun && xruns_.fetch_add(1, std::memory_order_relaxed) == 0)
        firstXrunFrame_.store(framesPlayed_, std::memory_order_relaxed);
    takeCommands();

    int done = 0;
    while (done < frames && current_ && !finished_.load(std::memory_order_relaxed)) {
        int chunk = std::min(config_.maxBlockFrames, frames - done);
        // End of the program: the source (file mode, no loop) plus the session latency, or --duration.
        if (config_.maxOutputFrames >= 0) chunk = int(std::min<std::int64_t>(chunk, config_.maxOutputFrames - framesPlayed_));
        const bool inTail = config_.inputRing && config_.sourceFrames >= 0 && sourcePosition_ >= config_.sourceFrames;
        if (inTail)
            chunk = int(std::min<std::int64_t>(chunk, config_.sessionLatencyFrames - tailPlayed_));
        else if (config_.inputRing && config_.sourceFrames >= 0) // a chunk never straddles the end of the source
            chunk = int(std::min<std::int64_t>(chunk, config_.sourceFrames - sourcePosition_));
        if (chunk <= 0) {
            finished_.store(true, std::memory_order_release);
            break;
        }
        runChunk(input, output, done, chunk);
        if (inTail) tailPlayed_ += chunk;
        done += chunk;
    }
    if (done < frames)
        for (int c = 0; c < config_.outputChannels; ++c)
            std::memset(output[c] + done, 0, sizeof(float) * std::size_t(frames - done));
    // A program that ends exactly at a chunk edge is over now, not one callback later.
    if (current_ && !finished_.load(std::memory_order_relaxed)) {
        const bool durationDone = config_.maxOutputFrames >= 0 && framesPlayed_ >= config_.maxOutputFrames;
        const bool sourceDone = config_.inputRing && config_.sourceFrames >= 0 && sourcePosition_ >= config_.sourceFrames &&
                                tailPlayed_ >= config_.sessionLatencyFrames;
        if (durationDone || sourceDone) finished_.store(true, std::memory_order_release);
    }

    // The thread's counters first, then the wall clock: the CPU interval (from after `started`
    // to here) lies inside the wall one, so CPU time never reads above the wall time.
    const ThreadUsage usageAtEnd = threadUsage();
    const std::int64_t elapsed =
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - started).count();
    times_.record(elapsed);
    probe_.end(usageAtEnd, elapsed, std::int64_t(1e9 * double(frames) / config_.sampleRate));
    if (elapsed > recentWorstNs_.load(std::memory_order_relaxed)) recentWorstNs_.store(elapsed, std::memory_order_relaxed);
}

} // namespace sg::live
