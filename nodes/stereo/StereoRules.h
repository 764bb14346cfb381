// Channel rules shared by the stereo nodes (internal to nodes/stereo).
#pragma once

#include "core/Node.h"

#include <span>
#include <string>
#include <vector>

namespace sg::stereo {

/// Port 0 must carry exactly `expected` channels; every output then gets `outputs` channels.
inline std::string requireChannels(std::span<const int> inputChannels, int expected, int outputs, std::size_t outputPorts,
                                   std::vector<int>& outputChannels) {
    return channelsInRange(inputChannels, expected, expected, outputs, outputPorts, outputChannels);
}

} // namespace sg::stereo
