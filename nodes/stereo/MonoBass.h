// monobass: removes the side signal below a frequency, so the low end is mono.
//
// M = (L + R)/2, S = (L - R)/2 (in double); S is high-passed by a 4th-order Linkwitz-Riley
// filter (two identical RBJ Butterworth high-pass sections, Q = 1/sqrt 2, at `freq`):
//   L' = M + HP(S),  R' = M - HP(S),   |HP(f)| = t^4 / (1 + t^4),  t = tan(pi f/fs) / tan(pi f0/fs)
// (-6.02 dB at f0, 24 dB/octave below). The mid is untouched: (L' + R')/2 = M up to the final
// rounding to float. `freq` ramps over 20 ms; the coefficients follow it every 32 frames on
// absolute multiples of 32 (core/Smoother.h), so renders do not depend on the block split.
#pragma once

namespace sg {

class Registry;

/// Registers `monobass`.
void registerMonoBassNodes(Registry& registry);

} // namespace sg
