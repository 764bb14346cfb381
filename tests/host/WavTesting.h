// Whole float WAV files for the CLI tests that write inputs and read outputs back through
// libsndfile (compare, album, shipped graphs).
#pragma once

#include "core/Buffer.h"
#include "host/io/AudioFile.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace sg::test {

/// Writes `channels` ([channel][frame]) as a 32-bit float WAV at `rate`.
inline void writeWav(const std::string& path, const std::vector<std::vector<float>>& channels, double rate = 48000) {
    AudioBuffer buffer(int(channels.size()), int(channels[0].size()));
    for (std::size_t c = 0; c < channels.size(); ++c) std::copy(channels[c].begin(), channels[c].end(), buffer.channel(int(c)));
    REQUIRE(io::writeAudioFile(path, io::OutputFormat::Wav32f, rate, buffer.view()) == "");
}

/// A whole audio file as [channel][frame].
inline std::vector<std::vector<float>> readWav(const std::string& path) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    AudioBuffer buffer(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(buffer.view()) == reader.frames());
    std::vector<std::vector<float>> out;
    for (int c = 0; c < buffer.channels(); ++c) out.emplace_back(buffer.channel(c), buffer.channel(c) + buffer.frames());
    return out;
}

} // namespace sg::test
