// sweep: an exponential sine sweep (Farina, "Simultaneous measurement of impulse response and
// distortion with a swept-sine technique", AES 108th Convention, 2000), no input.
// x(t) = A sin(2 pi f1 L (e^(t / L) - 1)), L = T / ln(f2 / f1), for 0 <= t < T; silence after.
// Its instantaneous frequency is f1 e^(t / L): f1 at t = 0, f2 at t = T.
#pragma once

namespace sg {

class Registry;

/// Registers `sweep`.
void registerSweepNodes(Registry& registry);

} // namespace sg
