#include "core/OfflineRunner.h"

#include "core/Executor.h"
#include "core/Schedule.h"

#include <algorithm>
#include <cmath>

namespace sg {

std::int64_t tailFramesOf(const Schedule& schedule) {
    if (!(schedule.tailSeconds > 0) || !(schedule.sampleRate > 0)) return 0;
    // A tail of whole frames, stored as frames / rate, must not gain a frame from rounding.
    return std::int64_t(std::ceil(schedule.tailSeconds * schedule.sampleRate - 1e-6));
}

OfflineRunner::OfflineRunner(Executor& executor, const RunnerOptions& options) : executor_(executor), options_(options) {
    options_.blockFrames = std::max(1, options_.blockFrames);
    options_.tailFrames = std::max<std::int64_t>(0, options_.tailFrames);
    for (const ExternalPort& port : executor_.inputs()) inputBlocks_.emplace_back(port.channels, options_.blockFrames);
    for (const ExternalPort& port : executor_.outputs()) outputBlocks_.emplace_back(port.channels, options_.blockFrames);
    inputViews_.resize(inputBlocks_.size());
    inputBlockViews_.resize(inputBlocks_.size());
    outputViews_.resize(outputBlocks_.size());
    outputReserved_.assign(outputBlocks_.size(), 0);
    inputEnded_.assign(inputBlocks_.size(), 0);
}

OfflineRunner::~OfflineRunner() = default;

int OfflineRunner::latencyFrames() const { return executor_.latencyFrames(); }

RunResult OfflineRunner::run(std::span<AudioSource* const> sources, std::span<AudioSink* const> sinks) {
    RunResult result;
    if (sources.size() != inputBlocks_.size() || sinks.size() != outputBlocks_.size()) {
        result.status = RunStatus::Mismatch;
        result.mismatch = "the graph has " + std::to_string(inputBlocks_.size()) + " inputs and " +
                          std::to_string(outputBlocks_.size()) + " outputs; given " + std::to_string(sources.size()) +
                          " sources and " + std::to_string(sinks.size()) + " sinks";
        return result;
    }
    for (std::size_t k = 0; k < sources.size(); ++k) {
        if (!sources[k] || sources[k]->channels() != inputBlocks_[k].channels()) {
            result.status = RunStatus::Mismatch;
            result.failedPort = int(k);
            result.mismatch = "input '" + executor_.inputs()[k].name + "' takes " + std::to_string(inputBlocks_[k].channels()) +
                              " channels; its source " +
                              (sources[k] ? "has " + std::to_string(sources[k]->channels()) : std::string("is missing"));
            return result;
        }
    }

    executor_.reset();
    const std::int64_t latency = executor_.latencyFrames();
    const std::int64_t tail = options_.tailFrames;
    const bool fixedLength = options_.durationFrames >= 0;
    const std::int64_t fixedEnd = options_.durationFrames + latency; // executor frames, with a fixed length
    const int block = options_.blockFrames;
    std::fill(inputEnded_.begin(), inputEnded_.end(), 0);
    bool allEnded = sources.empty();
    std::int64_t inputFrames = 0; // of the longest input, final once allEnded
    std::int64_t position = 0;    // frames processed (executor time)
    std::int64_t written = 0;     // output frames handed to the sinks

    for (;;) {
        if (options_.stop && options_.stop->load(std::memory_order_relaxed)) {
            result.status = RunStatus::Stopped;
            break;
        }
        // Frames to process: a whole block while an input runs; after that, up to the end of
        // the latency and tail, so the executor sees exactly as many frames whatever the block.
        int frames = block;
        if (fixedLength) {
            if (position >= fixedEnd) break;
            frames = int(std::min<std::int64_t>(block, fixedEnd - position));
        } else if (allEnded) {
            const std::int64_t end = inputFrames + latency + tail;
            if (position >= end) break;
            frames = int(std::min<std::int64_t>(block, end - position));
        }
        int longestRead = 0;
        bool endedNow = !allEnded;
        for (std::size_t k = 0; k < sources.size(); ++k) {
            const AudioView view = inputBlocks_[k].view().frameRange(0, frames);
            inputBlockViews_[k] = view;
            if (!inputEnded_[k] && sources[k]->borrow(frames, inputBlockViews_[k])) { // the whole block, in place
                longestRead = frames;
                endedNow = false;
                continue;
            }
            inputBlockViews_[k] = view;
            int got = 0;
            if (!inputEnded_[k]) {
                got = sources[k]->read(view);
                if (got < 0) {
                    result.status = RunStatus::SourceFailed;
                    result.failedPort = int(k);
                    break;
                }
                got = std::min(got, frames);
                if (got < frames) inputEnded_[k] = 1;
            }
            if (got < frames) view.frameRange(got, frames - got).clear(); // after its end: silence
            longestRead = std::max(longestRead, got);
            if (!inputEnded_[k]) endedNow = false;
        }
        if (result.status == RunStatus::SourceFailed) break;
        if (!allEnded) {
            inputFrames = position + longestRead;
            if (endedNow && fixedLength) {
                allEnded = true; // the inputs are padded with silence up to the fixed end
            } else if (endedNow) {
                // The last input ended inside this block: process no further than the end.
                allEnded = true;
                frames = int(std::min<std::int64_t>(frames, inputFrames + latency + tail - position));
                if (frames <= 0) break;
            }
        }

        for (std::size_t k = 0; k < inputViews_.size(); ++k) inputViews_[k] = inputBlockViews_[k].frameRange(0, frames);
        // Output frame n holds input frame n - latency: the first `latency` frames are dropped.
        const int skip = int(std::clamp<std::int64_t>(latency - position, 0, frames));
        const int count = frames - skip;
        for (std::size_t o = 0; o < outputViews_.size(); ++o) {
            // A whole block past the latency goes straight into its sink's buffer when it can.
            AudioView reserved;
            outputReserved_[o] = skip == 0 && sinks[o] && sinks[o]->reserve(frames, reserved) &&
                                 reserved.channels == outputBlocks_[o].channels() && reserved.frames == frames;
            outputViews_[o] = outputReserved_[o] ? reserved : outputBlocks_[o].view().frameRange(0, frames);
        }
        executor_.process(inputViews_, outputViews_);
        if (options_.stopOnNonFinite && executor_.nonFiniteSamples() > 0) {
            result.status = RunStatus::NonFinite;
            result.nonFiniteFrame = std::max<std::int64_t>(0, executor_.firstNonFiniteFrame() - latency);
            break;
        }

        position += frames;
        if (count > 0) {
            for (std::size_t o = 0; o < sinks.size() && result.status == RunStatus::Finished; ++o) {
                if (sinks[o] &&
                    !(outputReserved_[o] ? sinks[o]->commit(count) : sinks[o]->write(outputViews_[o].frameRange(skip, count)))) {
                    result.status = RunStatus::SinkFailed;
                    result.failedPort = int(o);
                }
            }
            if (result.status != RunStatus::Finished) break;
            written += count;
        }
        if (options_.onProgress) options_.onProgress(written);
    }
    result.inputFrames = allEnded ? inputFrames : position;
    result.outputFrames = written;
    return result;
}

} // namespace sg
