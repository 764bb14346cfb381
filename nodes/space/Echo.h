// echo: a delay with feedback and a filter in the loop, for sends and inserts.
//
//   s[n] = x[n] + fb F(s[n - D])   (the delay line's input; F: off, low-pass or high-pass)
//   w[n] = s[n - D]                (the echoes)
//   y[n] = (1 - mix) x[n] + mix w[n]
//
// An impulse gives echoes at k D (k = 1, 2, ...), the k-th being fb^(k-1) F^(k-1): with the
// filter off exactly fb^(k-1), else fb^(k-1) H(f)^(k-1) at frequency f, H the filter's
// response (RBJ cookbook, Q = 1/sqrt(2), nodes/filters/BiquadDesign.h). Tail: the time until the
// echoes fall below -60 dB, D (1 + ceil(ln(10^-3) / ln fb)), plus the filter's own decay.
#pragma once

namespace sg {

class Registry;

/// Registers `echo`.
void registerEchoNodes(Registry& registry);

} // namespace sg
