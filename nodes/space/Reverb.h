// reverb: a stereo feedback delay network (Jot & Chaigne, "Digital delay networks for designing
// artificial reverberators", AES 90th Convention, 1991) for sends.
//
// N = 8 delay lines of mutually prime lengths m_i (the primes nearest above 29.7 .. 73.3 ms at
// the sample rate), a Householder feedback matrix A = I - (2/N) 1 1^T (orthogonal: lossless
// without absorption), and per line an absorption filter that makes every mode decay by 60 dB
// in the decay time at DC and in damping * decay at Nyquist:
//   H_i(z) = g_i (1 - b_i) / (1 - b_i z^-1),  g_i = 10^(-3 m_i / (T60 rate)),
//   b_i = (g_i - h_i) / (g_i + h_i),  h_i = 10^(-3 m_i / (damping T60 rate))  (exact at DC and Nyquist).
// Input: left feeds lines 0-3, right lines 4-7 (a mono input both), after the pre-delay. Output:
// two orthogonal Hadamard rows of the filtered line outputs (decorrelated left and right), then
// mid/side width and the dry/wet mix. Tail: pre-delay + decay + the longest line.
#pragma once

namespace sg {

class Registry;

/// Registers `reverb`.
void registerReverbNodes(Registry& registry);

} // namespace sg
