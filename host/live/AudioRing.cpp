#include "host/live/AudioRing.h"

#include <algorithm>
#include <cstring>

namespace sg::live {

AudioRing::AudioRing(int channels, int capacityFrames) : channels_(channels) {
    std::uint64_t size = 1;
    while (size < std::uint64_t(std::max(capacityFrames, 1))) size <<= 1;
    mask_ = size - 1;
    storage_.resize(std::max(channels, 1), int(size));
}

int AudioRing::writableFrames() const noexcept {
    const std::int64_t used = written_.load(std::memory_order_relaxed) - read_.load(std::memory_order_acquire);
    return int(std::int64_t(mask_ + 1) - used);
}

int AudioRing::readableFrames() const noexcept {
    return int(written_.load(std::memory_order_acquire) - read_.load(std::memory_order_relaxed));
}

int AudioRing::write(const ConstAudioView& source) noexcept {
    const int frames = std::min(source.frames, writableFrames());
    if (frames <= 0) return 0;
    const std::int64_t start = written_.load(std::memory_order_relaxed);
    const int offset = int(std::uint64_t(start) & mask_);
    const int first = std::min(frames, int(mask_ + 1) - offset);
    for (int c = 0; c < channels_; ++c) {
        float* ring = storage_.channel(c);
        const float* from = source.channel(c);
        std::memcpy(ring + offset, from, sizeof(float) * std::size_t(first));
        if (first < frames) std::memcpy(ring, from + first, sizeof(float) * std::size_t(frames - first));
    }
    written_.store(start + frames, std::memory_order_release);
    return frames;
}

int AudioRing::read(const AudioView& destination) noexcept {
    const int frames = std::min(destination.frames, readableFrames());
    if (frames <= 0) return 0;
    const std::int64_t start = read_.load(std::memory_order_relaxed);
    const int offset = int(std::uint64_t(start) & mask_);
    const int first = std::min(frames, int(mask_ + 1) - offset);
    for (int c = 0; c < channels_; ++c) {
        const float* ring = storage_.channel(c);
        float* to = destination.channel(c);
        std::memcpy(to, ring + offset, sizeof(float) * std::size_t(first));
        if (first < frames) std::memcpy(to + first, ring, sizeof(float) * std::size_t(frames - first));
    }
    read_.store(start + frames, std::memory_order_release);
    return frames;
}

} // namespace sg::live
