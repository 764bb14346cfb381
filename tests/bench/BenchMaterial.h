// Material and bookkeeping shared by the benchmarks, so every benchmark feeds the same signal:
// white noise from one xorshift32 stream, looped, in host blocks; and the median of the runs.
#pragma once

#include "core/Buffer.h"
#include "core/Executor.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sg::bench {

/// Fills `buffer` with white noise, uniform in [-peak, peak), channel after channel, from the
/// xorshift32 state `seed` (which carries on, so several buffers are one stream).
inline void fillNoise(AudioBuffer& buffer, std::uint32_t& seed, float peak) {
    const float scale = 2 * peak / 4294967296.0f; // 2^-32: a whole uint32 onto [0, 2 peak)
    for (int c = 0; c < buffer.channels(); ++c)
        for (int n = 0; n < buffer.frames(); ++n) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            buffer.channel(c)[n] = float(seed) * scale - peak;
        }
}

/// `channels` x `frames` of noise (fillNoise from seed 1).
inline AudioBuffer noise(int channels, int frames, float peak) {
    AudioBuffer buffer(channels, frames);
    std::uint32_t seed = 1;
    fillNoise(buffer, seed, peak);
    return buffer;
}

/// An executor's inputs as loops of noise (one stream from seed 1 over every input, channel
/// after channel) and its outputs as buffers of one host block, with the views process() takes.
struct BlockBuffers {
    std::vector<AudioBuffer> inputs;     ///< per executor input: loopFrames of noise
    std::vector<AudioBuffer> outputs;    ///< per executor output: one block
    std::vector<ConstAudioView> inViews; ///< set by at()
    std::vector<AudioView> outViews;     ///< over `outputs`, whole
    int loopFrames = 0, blockFrames = 0;

    BlockBuffers(const Executor& executor, int loop, int block, float peak) : loopFrames(loop), blockFrames(block) {
        std::uint32_t seed = 1;
        for (const auto& port : executor.inputs()) {
            inputs.emplace_back(port.channels, loopFrames);
            fillNoise(inputs.back(), seed, peak);
        }
        for (const auto& port : executor.outputs()) outputs.emplace_back(port.channels, blockFrames);
        inViews.resize(inputs.size());
        for (auto& buffer : outputs) outViews.push_back(buffer.view());
    }
    /// Points the input views at the block that starts `offset` frames into the loops.
    void at(int offset) {
        for (std::size_t i = 0; i < inputs.size(); ++i) inViews[i] = inputs[i].view().frameRange(offset, blockFrames);
    }
};

/// The median of `values` (the upper one of an even count; 0 for none).
inline double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

} // namespace sg::bench
