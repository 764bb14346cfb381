// Channel routing of stereo signals:
//   swap     L' = R, R' = L                                   (2 -> 2)
//   split    left = L, right = R                              (2 -> two mono outputs)
//   merge    out = (left, right)                              (two mono inputs -> 2)
//   monosum  out = (L + R)/2, a mono input passes unchanged   (1 or 2 -> 1)
// monosum's law keeps a centred source (L = R) at its level, lowers uncorrelated content by
// 3.01 dB and cancels anti-phase content exactly (R = -L -> 0): a loudness or correlation tap
// after it is a mono-compatibility check inside a graph.
#pragma once

namespace sg {

class Registry;

/// Registers `swap`, `split`, `merge` and `monosum`.
void registerChannelNodes(Registry& registry);

} // namespace sg
