// pan: places a mono or stereo signal in the stereo field, constant power.
//
// p = pan / 100 in [-1, 1].
//   Mono in  (sin/cos law):  L = sin((1 - p) * pi/4), R = sin((1 + p) * pi/4)
//            i.e. theta = (p + 1) * pi/4, L = cos(theta), R = sin(theta); L^2 + R^2 = 1 always,
//            -3.01 dB on both sides at centre.
//   Stereo in (constant-power balance): L' = sqrt(2) sin((1 - p) pi/4) L,
//            R' = sqrt(2) sin((1 + p) pi/4) R; unity on both channels at centre, gL^2 + gR^2 = 2
//            at every position (the summed power of two equal uncorrelated channels is kept),
//            so a hard-panned side is raised by +3.01 dB while the other is muted.
// The position ramps linearly over 20 ms in absolute frames; gains follow it frame by frame.
#pragma once

namespace sg {

class Registry;

/// Registers `pan`.
void registerPanNodes(Registry& registry);

} // namespace sg
