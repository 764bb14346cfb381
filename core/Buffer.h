// Planar audio buffers: a non-owning view and an aligned owning buffer.
//
// A view is a pointer plus sizes (choc-style): channel c starts at data + c * strideFrames.
// Sub-views (one channel, a channel range, a frame range) are O(1) and never copy.
// Owning buffers are 64-byte aligned and every channel is padded to a multiple of
// kSimdPadFrames, so element-wise SIMD kernels may run to the padded length without a
// scalar tail.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace sg {

/// Alignment of every owning buffer, in bytes (one cache line, one AVX-512 register).
inline constexpr std::size_t kBufferAlignBytes = 64;
/// Channels are padded to a multiple of this many frames (16 floats = widest batch).
inline constexpr int kSimdPadFrames = 16;

/// Rounds a frame count up to the SIMD padding.
constexpr int paddedFrames(int frames) { return (frames + kSimdPadFrames - 1) / kSimdPadFrames * kSimdPadFrames; }

/// A non-owning planar view: `channels` channels of `frames` frames each.
template <typename Sample> struct BasicAudioView {
    Sample* data = nullptr;       ///< first frame of channel 0
    std::size_t strideFrames = 0; ///< distance between channel starts, in frames
    int channels = 0;             ///< number of channels
    int frames = 0;               ///< number of frames per channel

    /// Pointer to the first frame of channel `channel`.
    Sample* channel(int channel) const {
        assert(channel >= 0 && channel < channels);
        return data + strideFrames * std::size_t(channel);
    }
    /// A view of `count` channels starting at `first`, same frames.
    BasicAudioView channelRange(int first, int count) const {
        assert(first >= 0 && count >= 0 && first + count <= channels);
        return {data + strideFrames * std::size_t(first), strideFrames, count, frames};
    }
    /// A view of `count` frames starting at `start`, same channels.
    BasicAudioView frameRange(int start, int count) const {
        assert(start >= 0 && count >= 0 && start + count <= frames);
        return {data + start, strideFrames, channels, count};
    }
    /// Read-only view of the same samples.
    operator BasicAudioView<const Sample>() const { return {data, strideFrames, channels, frames}; }
    /// Sets every sample in the view to zero.
    void clear() const {
        for (int c = 0; c < channels; ++c) std::memset(channel(c), 0, sizeof(Sample) * std::size_t(frames));
    }
};

using AudioView = BasicAudioView<float>;
using ConstAudioView = BasicAudioView<const float>;

namespace detail {
/// `bytes` (a multiple of kBufferAlignBytes) of zeroes, 64-byte aligned; throws std::bad_alloc.
/// Large blocks are fresh pages from the system, zero already: nothing is written here, and
/// each page is first touched by the thread that first uses it, not by the one that sets up.
float* allocateZeroedSamples(std::size_t bytes);
/// Gives back a block of allocateZeroedSamples(bytes) (null: nothing).
void releaseZeroedSamples(float* data, std::size_t bytes) noexcept;
} // namespace detail

/// An owning, 64-byte aligned, zero-initialised planar buffer. Allocates only in resize().
class AudioBuffer {
public:
    AudioBuffer() = default;
    AudioBuffer(int channels, int frames) { resize(channels, frames); }
    AudioBuffer(const AudioBuffer&) = delete;
    AudioBuffer& operator=(const AudioBuffer&) = delete;
    AudioBuffer(AudioBuffer&& other) noexcept { swap(other); }
    AudioBuffer& operator=(AudioBuffer&& other) noexcept {
        swap(other);
        return *this;
    }
    ~AudioBuffer() { release(); }

    /// Allocates channels x padded(frames) samples, zeroed. Not real-time safe.
    void resize(int channels, int frames) {
        release();
        channels_ = channels;
        frames_ = frames;
        stride_ = std::size_t(paddedFrames(frames > 0 ? frames : 1));
        std::size_t bytes = sizeof(float) * stride_ * std::size_t(channels > 0 ? channels : 1);
        bytes = (bytes + kBufferAlignBytes - 1) / kBufferAlignBytes * kBufferAlignBytes;
        data_ = detail::allocateZeroedSamples(bytes);
        bytes_ = bytes;
    }
    /// The whole buffer as a view.
    AudioView view() const { return {data_, stride_, channels_, frames_}; }
    /// Pointer to channel `channel` (64-byte aligned).
    float* channel(int channel) const { return data_ + stride_ * std::size_t(channel); }
    int channels() const { return channels_; }           ///< channel count
    int frames() const { return frames_; }               ///< frames per channel (unpadded)
    std::size_t strideFrames() const { return stride_; } ///< padded frames per channel

private:
    void release() {
        detail::releaseZeroedSamples(data_, bytes_);
        data_ = nullptr;
        bytes_ = 0;
    }
    void swap(AudioBuffer& o) noexcept {
        std::swap(data_, o.data_);
        std::swap(bytes_, o.bytes_);
        std::swap(stride_, o.stride_);
        std::swap(channels_, o.channels_);
        std::swap(frames_, o.frames_);
    }
    float* data_ = nullptr;
    std::size_t bytes_ = 0; ///< allocated
    std::size_t stride_ = 0;
    int channels_ = 0;
    int frames_ = 0;
};

/// A zeroed, 64-byte aligned array of trivially copyable values (kernel state, coefficients,
/// scratch). Allocates only in assign(); clear() is real-time safe.
template <typename T> class AlignedArray {
public:
    AlignedArray() = default;
    AlignedArray(const AlignedArray&) = delete;
    AlignedArray& operator=(const AlignedArray&) = delete;
    ~AlignedArray() { std::free(data_); }
    /// Allocates `count` zeroed values. Not real-time safe.
    void assign(std::size_t count) {
        std::free(data_);
        data_ = nullptr;
        size_ = count;
        std::size_t bytes =
            (std::max<std::size_t>(count, 1) * sizeof(T) + kBufferAlignBytes - 1) / kBufferAlignBytes * kBufferAlignBytes;
        data_ = static_cast<T*>(std::aligned_alloc(kBufferAlignBytes, bytes));
        if (!data_) throw std::bad_alloc();
        clear();
    }
    /// Sets every value to zero.
    void clear() noexcept {
        if (data_) std::memset(static_cast<void*>(data_), 0, sizeof(T) * size_);
    }
    T* data() const noexcept { return data_; } ///< 64-byte aligned
    std::size_t size() const noexcept { return size_; }

private:
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

} // namespace sg
