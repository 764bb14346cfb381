#include "core/Node.h"

namespace sg {

std::string NodeType::resolveChannels(const ParamValues&, std::span<const int> in, std::vector<int>& out) const {
    const auto& decl = info();
    int channels = in.empty() ? 0 : in[0];
    if (channels <= 0)
        return decl.inputs.empty() ? "node has no input to take channels from"
                                   : "input '" + decl.inputs[0].name + "' is not connected";
    out.assign(decl.outputs.size(), channels);
    return {};
}

std::string channelRangeError(int channels, int minChannels, int maxChannels) {
    std::string expected = std::to_string(minChannels);
    if (maxChannels == minChannels + 1)
        expected += " or " + std::to_string(maxChannels);
    else if (maxChannels > minChannels)
        expected += " to " + std::to_string(maxChannels);
    return "in: expects " + expected + (maxChannels == 1 ? " channel" : " channels") + ", got " + std::to_string(channels);
}

std::string channelsInRange(std::span<const int> inputChannels, int minChannels, int maxChannels, int outputs,
                            std::size_t outputPorts, std::vector<int>& outputChannels) {
    const int channels = inputChannels.empty() ? 0 : inputChannels[0];
    if (channels == 0) return "input 'in' is not connected";
    if (channels < minChannels || channels > maxChannels) return channelRangeError(channels, minChannels, maxChannels);
    outputChannels.assign(outputPorts, outputs > 0 ? outputs : channels);
    return {};
}

int NodeType::paramIndex(const std::string& id) const {
    const auto& p = info().params;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i].id == id) return int(i);
    return -1;
}
int NodeType::inputIndex(const std::string& name) const {
    const auto& p = info().inputs;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i].name == name) return int(i);
    return -1;
}
int NodeType::outputIndex(const std::string& name) const {
    const auto& p = info().outputs;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (p[i].name == name) return int(i);
    return -1;
}
ParamValues NodeType::defaults() const {
    ParamValues v;
    for (const auto& p : info().params) v.push_back(p.defaultValue);
    return v;
}

} // namespace sg
