// The node type of a pass-through tap that feeds a LoudnessMeter (loudness, levelhistory): out
// has the channels of in, which the meter's channel roles limit to 1..kLoudnessMaxChannels.
#pragma once

#include "core/DeclaredKernel.h"
#include "nodes/meters/LoudnessMeter.h"

#include <string>

namespace sg {

template <class D, class K> class LoudnessTapTypeOf : public DeclaredTypeOf<D, K> {
public:
    std::string resolveChannels(const ParamValues& params, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        const int channels = inputChannels.empty() ? 0 : inputChannels[0];
        if (channels > kLoudnessMaxChannels)
            return "in: expects 1 to " + std::to_string(kLoudnessMaxChannels) + " channels, got " + std::to_string(channels);
        return NodeType::resolveChannels(params, inputChannels, outputChannels);
    }
};

} // namespace sg
