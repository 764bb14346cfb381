// A lock-free single-producer, single-consumer ring of planar audio.
//
// One thread writes frames (all channels at once), another reads them; the frame counters are
// published with release stores and read with acquire loads (as in SpscQueue.h), so the samples
// of a frame are in memory before the reader can see the frame. write() and read() copy at most
// what fits or what is there and return the frame count: they never block, lock or allocate.
// Used between the file reader thread and the audio callback (input), and between the callback
// and the tee writer thread (output). Capacity is a power of two frames.
#pragma once

#include "core/Buffer.h"

#include <atomic>
#include <cstdint>

namespace sg::live {

class AudioRing {
public:
    /// `channels` planar channels of at least `capacityFrames` frames each. Allocates.
    AudioRing(int channels, int capacityFrames);
    AudioRing(const AudioRing&) = delete;
    AudioRing& operator=(const AudioRing&) = delete;

    int channels() const { return channels_; }            ///< channels per frame
    int capacityFrames() const { return int(mask_ + 1); } ///< most frames held

    /// Producer: frames that write() would take now.
    int writableFrames() const noexcept;
    /// Consumer: frames that read() would deliver now.
    int readableFrames() const noexcept;

    /// Producer: appends min(source.frames, writableFrames()) frames of `source` (whose channel
    /// count must equal channels()). Returns the frames appended.
    int write(const ConstAudioView& source) noexcept;
    /// Consumer: moves min(destination.frames, readableFrames()) frames into `destination`.
    /// Returns the frames delivered; the rest of `destination` is left untouched.
    int read(const AudioView& destination) noexcept;

    /// Frames ever written / read (monotonic).
    std::int64_t framesWritten() const noexcept { return written_.load(std::memory_order_acquire); }
    std::int64_t framesRead() const noexcept { return read_.load(std::memory_order_acquire); }

private:
    AudioBuffer storage_;
    int channels_ = 0;
    std::uint64_t mask_ = 0;
    alignas(64) std::atomic<std::int64_t> written_{0}; ///< producer's counter
    alignas(64) std::atomic<std::int64_t> read_{0};    ///< consumer's counter
};

} // namespace sg::live
