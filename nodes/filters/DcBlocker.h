// DC blocker: the one-pole, one-zero high-pass y[n] = g (x[n] - x[n-1]) + R y[n-1] with
// R = (1 - tan(w/2)) / (1 + tan(w/2)), w = 2 pi freq / fs, and g = (1 + R) / 2: the bilinear
// transform of s / (s + 1) prewarped at freq, so |H| is exactly -3.01 dB at freq, 0 dB at
// Nyquist and never above it (g normalises the classic x[n] - x[n-1] + R y[n-1], whose gain at
// Nyquist is 2 / (1 + R)). Kernel: nodes/filters/SectionBank.h with b2 = a2 = 0.
// Docs: docs/nodes/dcblock.md.
#pragma once

namespace sg {

class Registry;

/// Registers `dcblock`.
void registerDcBlockerNodes(Registry& registry);

namespace dcblock {
/// The pole R for a -3 dB cutoff `freqHz` at `sampleRate` (freq clamped to 0.49 fs).
double pole(double freqHz, double sampleRate);
} // namespace dcblock

} // namespace sg
