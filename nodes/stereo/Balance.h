// balance: left/right balance of a stereo signal.
//
// p = balance / 100 in [-1, 1] (negative = towards the left).
//   law 0, linear (default):  gL = min(1, 1 - p), gR = min(1, 1 + p)
//       unity at centre; the side moved towards keeps unity, the other falls linearly to zero
//       (-6.02 dB at 50 %), as a console's balance control.
//   law 1, constant power:    gL = sqrt(2) sin((1 - p) pi/4), gR = sqrt(2) sin((1 + p) pi/4)
//       unity at centre, gL^2 + gR^2 = 2 everywhere (the sum of two equal uncorrelated channels
//       keeps its power), +3.01 dB on the kept side when hard over (as `pan` on a stereo input).
// The position ramps over 20 ms in absolute frames; the gains follow it frame by frame.
#pragma once

namespace sg {

class Registry;

/// Registers `balance`.
void registerBalanceNodes(Registry& registry);

/// Left and right gains of `balancePercent` under `law` (0 linear, 1 constant power).
void balanceGains(double balancePercent, int law, double& left, double& right);

} // namespace sg
