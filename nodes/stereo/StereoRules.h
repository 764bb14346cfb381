// Channel rules shared by the stereo nodes (internal to nodes/stereo).
#pragma once

#include <span>
#include <string>
#include <vector>

namespace sg::stereo {

/// Port 0 must carry exactly `expected` channels; every output then gets `outputs` channels.
inline std::string requireChannels(std::span<const int> inputChannels, int expected, int outputs, std::size_t outputPorts,
                                   std::vector<int>& outputChannels) {
    const int channels = inputChannels.empty() ? 0 : inputChannels[0];
    if (channels == 0) return "input 'in' is not connected";
    if (channels != expected)
        return "in: expects " + std::to_string(expected) + " channel" + (expected == 1 ? "" : "s") + ", got " +
               std::to_string(channels);
    outputChannels.assign(outputPorts, outputs);
    return {};
}

} // namespace sg::stereo
