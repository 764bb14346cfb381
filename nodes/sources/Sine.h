// sine: a source of a sine tone, no input. y[n] = A sin(2 pi phi[n]), phi[n + 1] = phi[n] +
// f[n] / rate (mod 1), A = 10^(level / 20) (peak, dBFS). Every channel carries the same tone.
#pragma once

namespace sg {

class Registry;

/// Registers `sine`.
void registerSineNodes(Registry& registry);

} // namespace sg
