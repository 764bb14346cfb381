// gain: a level change in dB with polarity, y[n] = g[n] * x[n].
//
// g is the signed linear factor (-1 if inverted) * 10^(gainDb / 20). A change of either
// parameter ramps g linearly over 20 ms in absolute frames (sg::LinearRamp), so a polarity
// flip passes through zero instead of clicking, and output is identical for any block split.
// docs/writing-a-node.md walks through this node as the example of the node authoring kit.
#pragma once

namespace sg {

class Registry;

/// Registers `gain`.
void registerGainNodes(Registry& registry);

} // namespace sg
