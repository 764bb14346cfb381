// width: stereo width through the side signal.
//
// With M = (L + R)/2, S = (L - R)/2 and w = width / 100 (0 .. 2):
//   L' = M + w S = a L + b R,   R' = M - w S = b L + a R,   a = (1 + w)/2, b = (1 - w)/2.
// 0 % folds to mono (L' = R' = M), 100 % passes the input through bit for bit, 200 % doubles
// the side. The mid is never changed: (L' + R')/2 = M. w ramps linearly over 20 ms in absolute
// frames; a and b follow it frame by frame.
#pragma once

namespace sg {

class Registry;

/// Registers `width`.
void registerWidthNodes(Registry& registry);

} // namespace sg
