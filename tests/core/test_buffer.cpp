// AudioBuffer: zeroed, aligned, padded, movable, at every size (small ones on the heap, large
// ones in pages of their own: core/Buffer.cpp).
#include "core/Buffer.h"

#include <catch2/catch.hpp>

#include <cstdint>
#include <utility>

using namespace sg;

namespace {

bool allZero(const AudioBuffer& b) {
    for (int c = 0; c < b.channels(); ++c)
        for (std::size_t n = 0; n < b.strideFrames(); ++n)
            if (b.channel(c)[n] != 0.0f) return false;
    return true;
}

} // namespace

TEST_CASE("AudioBuffer is zeroed, aligned and padded at every size, and resizes and moves", "[buffer]") {
    // Around the size where buffers leave the heap (256 KiB): 1 frame, a block, just under and
    // over, and a render pipeline's chunk of 64k stereo frames.
    for (const auto& [channels, frames] : {std::pair{1, 1}, std::pair{2, 1024}, std::pair{1, 65535}, std::pair{1, 65536},
                                           std::pair{1, 65537}, std::pair{2, 65536}, std::pair{32, 8192}}) {
        CAPTURE(channels, frames);
        AudioBuffer b(channels, frames);
        CHECK(b.channels() == channels);
        CHECK(b.frames() == frames);
        CHECK(b.strideFrames() >= std::size_t(frames));
        CHECK(b.strideFrames() == std::size_t(paddedFrames(frames)));
        for (int c = 0; c < channels; ++c) CHECK(reinterpret_cast<std::uintptr_t>(b.channel(c)) % kBufferAlignBytes == 0);
        CHECK(allZero(b));
        // Every sample writable, the padding too.
        for (int c = 0; c < channels; ++c)
            for (std::size_t n = 0; n < b.strideFrames(); ++n) b.channel(c)[n] = float(c + 1);
        // A resize gives a zeroed buffer again, larger or smaller.
        b.resize(channels, frames * 2);
        CHECK(b.frames() == frames * 2);
        CHECK(allZero(b));
        b.channel(channels - 1)[b.strideFrames() - 1] = 3.0f;
        b.resize(channels, frames);
        CHECK(allZero(b));
        // Moves carry the samples; the moved-from buffer is empty or the other's.
        b.channel(0)[0] = 5.0f;
        AudioBuffer moved(std::move(b));
        CHECK(moved.channel(0)[0] == 5.0f);
        CHECK(b.channels() == 0);
        CHECK(b.view().data == nullptr);
        AudioBuffer other(1, 70000);
        other = std::move(moved);
        CHECK(other.channel(0)[0] == 5.0f);
        CHECK(other.frames() == frames);
        CHECK(moved.frames() == 70000); // the other's mapping, released with it
        CHECK(allZero(moved));
    }
}
