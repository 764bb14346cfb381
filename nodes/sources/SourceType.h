// The node type of a source: no input ports; its `channels` parameter (a fixed whole number)
// sets the output's channel count instead of an input.
#pragma once

#include "core/DeclaredKernel.h"

#include <string>
#include <vector>

namespace sg {

template <class D, class K> class SourceTypeOf : public DeclaredTypeOf<D, K> {
public:
    std::string resolveChannels(const ParamValues& params, std::span<const int>,
                                std::vector<int>& outputChannels) const override {
        const double channels = paramValue(params, declaration<D>().channels, 1.0);
        if (channels < 1 || channels != double(int(channels))) return "channels: expected a whole number of at least 1";
        outputChannels.assign(1, int(channels));
        return {};
    }
};

} // namespace sg
