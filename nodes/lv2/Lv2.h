// LV2 plugins as nodes: `{type: lv2, plugin: URI, params: {symbol: value}}` (docs/plugins.md).
// lilv stays in nodes/lv2/*.cpp; this header is all the rest of the program sees.
#pragma once

#include "core/Node.h"

#include <string>
#include <vector>

namespace sg {

class Registry;

/// Adds the `lv2` type provider: each installed plugin becomes a node type when a graph names it.
void registerLv2Nodes(Registry& registry);

/// An installed plugin, as `stagegraph nodes --lv2` lists it.
struct Lv2PluginSummary {
    std::string uri;
    std::string name;
    int audioInputs = 0;     ///< main audio inputs (the node's `in` channels)
    int sidechainInputs = 0; ///< audio inputs marked lv2:isSideChain (the node's `sidechain`)
    int audioOutputs = 0;    ///< audio outputs (the node's `out` channels)
    bool reportsLatency = false;
    std::string unsupported;       ///< "" when it runs as a node, else why not
    std::vector<ParamInfo> params; ///< its control inputs, by symbol
};

/// Every installed plugin (LV2_PATH, else the system's LV2 folders), sorted by URI; with
/// `filter`, only those whose URI contains it.
std::vector<Lv2PluginSummary> installedLv2Plugins(const std::string& filter = {});

} // namespace sg
