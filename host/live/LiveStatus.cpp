// What a live session shows: messages, the status line and the summary at the end.
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
#include <thread>
#include <unistd.h>

namespace sg::live::detail {

std::string formatLevel(double value, const char* unit) {
    char text[32];
    if (!std::isfinite(value))
        std::snprintf(text, sizeof text, "-inf %s", unit);
    else
        std::snprintf(text, sizeof text, "%.1f %s", value, unit);
    return text;
}

void Session::message(const std::string& text) {
    if (interactive_ && statusShown_) std::fputs("\r\033[K", console_.err);
    std::fprintf(console_.err, "%s\n", io::terminalLines(text).c_str()); // quotes graph names and paths
    std::fflush(console_.err);
    if (interactive_ && statusShown_) drawStatus(true);
}

void Session::error(const std::string& text) { message("stagegraph live: error: " + text); }

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
    std::snprintf(
        text, sizeof text, "[%d/%zu%s] %s | DSP %4.1f%% (peak %4.1f%%) | xruns %llu | M %s S %s | TP %s | %s%s | %d:%04.1f",
        current, graphs_.size(), target != current ? ("->" + std::to_string(target)).c_str() : "",
        graphs_[std::size_t(current - 1)].instance ? io::terminalText(graphs_[std::size_t(current - 1)].instance->name()).c_str()
                                                   : "?",
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
    const int keptAwake = keepAwake_.cpus();
    keepAwake_.stop();
    feeder_.stop();
    if (memoryLocked_) unlockMemory();
    std::string teeError;
    if (teeOpen_) teeError = tee_.finish();

    if (status == kExitOk) {
        if (feeder_.failed()) {
            error(feeder_.error());
            status = kExitFailure;
        } else if (deviceStopped_ || !stream_.runtimeError().empty()) {
            status = kExitFailure; // controlLoop() said why
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
        result.largestStep = engine_->largestStep();
        result.largestStepFrame = engine_->largestStepFrame();
        result.switches = engine_->switchesCompleted();
        result.meanProcessUs = times.meanNanoseconds() / 1000.0;
        result.p50ProcessUs = double(times.percentileNanoseconds(0.5)) / 1000.0;
        result.p99ProcessUs = double(times.percentileNanoseconds(0.99)) / 1000.0;
        result.p999ProcessUs = double(times.percentileNanoseconds(0.999)) / 1000.0;
        result.worstProcessUs = double(times.worstNanoseconds()) / 1000.0;
        result.deadlineUs = streamInfo_.blockFrames > 0 ? 1e6 * streamInfo_.blockFrames / sampleRate_ : 0;
        const CallbackReport probe = engine_->callbackReport();
        const double period = streamInfo_.blockFrames > 0 ? streamInfo_.blockFrames / sampleRate_ : 0;
        result.worstCpuUs = double(probe.worstCpuNs) / 1000.0;
        result.worstPageFaults = probe.worstPageFaults;
        result.worstSwitches = probe.worstSwitches;
        result.worstWaits = probe.worstWaits;
        result.worstAtSeconds = double(probe.worstIndex) * period;
        result.heaviestCpuUs = double(probe.heaviestCpuNs) / 1000.0;
        result.heaviestAtSeconds = double(probe.heaviestIndex) * period;
        result.callbackPageFaults = probe.pageFaults;
        result.callbackSwitches = probe.switches;
        result.callbackWaits = probe.waits;
        result.longestGapUs = double(probe.longestGapNs) / 1000.0;
        result.longestGapAtSeconds = double(probe.longestGapIndex) * period;
        result.lateStarts = probe.lateStarts;
        const LoudnessSnapshot loudness = engine_->outputLoudness();
        result.maxMomentaryLufs = loudness.maxMomentaryLufs;
        result.maxShortTermLufs = loudness.maxShortTermLufs;
        result.truePeakDbtp = loudness.truePeakDbtp;
    }
    result.teeFrames = teeOpen_ ? tee_.framesWritten() : 0;
    result.memoryLocked = memoryLocked_;
    result.keptAwakeCpus = keptAwake;

    if (engine_ && result.callbacks > 0) {
        if (result.teeOverflowFrames > 0) {
            error("the tee writer fell behind: " + cli::plural(result.teeOverflowFrames, "frame", "frames") + " missing from " +
                  quoted(options_.teePath));
            if (status == kExitOk) status = kExitFailure;
        }
        if (result.nonFiniteSamples > 0) {
            error("the graph produced " +
                  cli::plural(std::int64_t(result.nonFiniteSamples), "non-finite sample", "non-finite samples") +
                  " (NaN or infinity); they were replaced by silence");
            if (status == kExitOk) status = kExitFailure;
        }
        std::FILE* out = console_.out;
        const double pct = result.deadlineUs > 0 ? 100.0 / result.deadlineUs : 0;
        std::fprintf(out, "live: %s on %s device '%s', %g Hz, %d-frame period (deadline %.0f us), latency %s\n",
                     cli::plural(std::int64_t(graphs_.size()), "graph", "graphs").c_str(), result.apiName.c_str(),
                     io::terminalText(result.outputDeviceName).c_str(), result.sampleRateHz, result.blockFrames,
                     result.deadlineUs, cli::plural(result.sessionLatencyFrames, "frame", "frames").c_str());
        std::fprintf(out, "played %.3f s: %s, %s, %s, %s, %s\n", double(result.frames) / sampleRate_,
                     cli::plural(std::int64_t(result.callbacks), "callback", "callbacks").c_str(),
                     cli::plural(result.frames, "frame", "frames").c_str(),
                     cli::plural(std::int64_t(result.switches), "switch", "switches").c_str(),
                     cli::plural(std::int64_t(result.xruns), "xrun", "xruns").c_str(),
                     cli::plural(result.underrunFrames, "underrun frame", "underrun frames").c_str());
        if (result.xruns > 0)
            std::fprintf(out, "first xrun after %.3f s (the driver missed a deadline: a loaded machine, or a period too short)\n",
                         double(result.firstXrunFrame) / sampleRate_);
        std::fprintf(out,
                     "process time per callback: mean %.1f us (%.1f%%), p50 %.1f us (%.1f%%), p99 %.1f us (%.1f%%), "
                     "p99.9 %.1f us (%.1f%%), worst %.1f us (%.1f%%)\n",
                     result.meanProcessUs, result.meanProcessUs * pct, result.p50ProcessUs, result.p50ProcessUs * pct,
                     result.p99ProcessUs, result.p99ProcessUs * pct, result.p999ProcessUs, result.p999ProcessUs * pct,
                     result.worstProcessUs, result.worstProcessUs * pct);
        // Why the worst was slow: its own work (CPU time near the wall time), memory touched for
        // the first time (page faults), or the thread taken off the CPU (an involuntary switch).
        std::fprintf(out, "worst callback at %.3f s: %.1f us on the CPU of %.1f us, %s, %s, %s\n", result.worstAtSeconds,
                     result.worstCpuUs, result.worstProcessUs,
                     cli::plural(result.worstPageFaults, "page fault", "page faults").c_str(),
                     cli::plural(result.worstSwitches, "involuntary switch", "involuntary switches").c_str(),
                     cli::plural(result.worstWaits, "wait", "waits").c_str());
        // The most work any callback did: under the deadline, the session kept up, whatever the
        // wall times say (a thread the machine stalls has a long wall time and little CPU time).
        std::fprintf(out, "heaviest callback at %.3f s: %.1f us on the CPU (%.1f%% of the deadline)\n", result.heaviestAtSeconds,
                     result.heaviestCpuUs, result.heaviestCpuUs * pct);
        // Xruns with short callbacks: the callbacks started late (the driver or the callback thread
        // was woken late), not ran long.
        std::fprintf(out,
                     "callback thread: %s, %s and %s in all callbacks (memory %s); longest gap between callback "
                     "starts %.1f us (%.2f periods) at %.3f s, %s over 1.5 periods\n",
                     cli::plural(result.callbackPageFaults, "page fault", "page faults").c_str(),
                     cli::plural(result.callbackSwitches, "involuntary switch", "involuntary switches").c_str(),
                     cli::plural(result.callbackWaits, "wait", "waits").c_str(), result.memoryLocked ? "locked" : "not locked",
                     result.longestGapUs, result.deadlineUs > 0 ? result.longestGapUs / result.deadlineUs : 0.0,
                     result.longestGapAtSeconds,
                     cli::plural(std::int64_t(result.lateStarts), "late start", "late starts").c_str());
        if (options_.keepAwake)
            std::fprintf(out, "kept awake: %s (a spinning thread each at the idle priority)\n",
                         result.keptAwakeCpus > 0 ? cli::plural(result.keptAwakeCpus, "CPU", "CPUs").c_str() : "no CPU");
        std::fprintf(out, "output: max momentary %s, max short-term %s, true peak %s\n",
                     formatLevel(result.maxMomentaryLufs, "LUFS").c_str(), formatLevel(result.maxShortTermLufs, "LUFS").c_str(),
                     formatLevel(result.truePeakDbtp, "dBTP").c_str());
        // What a soak run watches: nothing non-finite reached the device, and no click (a step far
        // beyond what the material itself has).
        std::fprintf(out, "non-finite samples: %llu; largest step between samples: %.6f (%s)",
                     static_cast<unsigned long long>(result.nonFiniteSamples), double(result.largestStep),
                     formatLevel(20 * std::log10(double(result.largestStep)), "dBFS").c_str());
        if (result.largestStepFrame >= 0) std::fprintf(out, " at %.3f s", double(result.largestStepFrame) / sampleRate_);
        std::fputc('\n', out);
        if (failedCompiles_ > 0) std::fprintf(out, "graphs that did not compile while live: %d\n", failedCompiles_);
        if (teeOpen_ && teeError.empty())
            std::fprintf(out, "tee: %s (%s)\n", io::terminalText(options_.teePath).c_str(),
                         cli::plural(result.teeFrames, "frame", "frames").c_str());
        std::fflush(out);
    }
    if (summary) *summary = std::move(result);
    return status;
}

} // namespace sg::live::detail
