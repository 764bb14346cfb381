// msencode / msdecode: mid/side conversion of a stereo pair.
//
//   encode: M = (L + R) / 2, S = (L - R) / 2      (out channel 1 = M, channel 2 = S)
//   decode: L = M + S,       R = M - S
//
// Scaling: the 1/2 on encode makes decode a plain sum and difference, and a centred mono source
// (L = R = x) encodes to M = x, S = 0. In float the round trip is exact whenever L + R and
// L - R are exact (any 16-bit or shorter fixed-point input: two such samples sum in 17 bits);
// for arbitrary floats each of L', R' is within 2^-23 max(|L|, |R|) of L, R (two roundings on
// encode, one on decode; the halving is exact), which the tests check bit for bit and by bound.
#pragma once

namespace sg {

class Registry;

/// Registers `msencode` and `msdecode`.
void registerMidSideNodes(Registry& registry);

} // namespace sg
