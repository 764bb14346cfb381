// noise: a source of seeded white or pink noise at an RMS level, no input.
//
// White: uniform on [-sqrt(3), sqrt(3)) * rms (flat spectrum, peak sqrt(3) * rms). Pink: the
// same white noise through Paul Kellet's refined pink filter (six one-pole sections plus two
// taps, within +-0.05 dB of -3.01 dB/octave above 9.2 Hz at 44.1 kHz; the pole positions are
// fixed in z, so at 96 kHz the range starts near 20 Hz), scaled by the filter's exact power gain
// so the output's RMS is the level. Every channel has its own generator seeded from (seed,
// channel): channels are uncorrelated and a render is reproducible bit for bit.
#pragma once

namespace sg {

class Registry;

/// Registers `noise`.
void registerNoiseNodes(Registry& registry);

} // namespace sg
