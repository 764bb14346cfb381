// polarity: per-channel polarity inversion of a mono or stereo signal.
//
// Each flip parameter v (0 or 1) ramps over 20 ms when changed; the channel's factor is
// g = 1 - 2 v (1 -> -1 through 0, so a flip while playing does not click). Settled, the output is
// the input or its exact negation.
#pragma once

namespace sg {

class Registry;

/// Registers `polarity`.
void registerPolarityNodes(Registry& registry);

} // namespace sg
