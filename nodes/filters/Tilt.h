// Tilt EQ: a low shelf of -gain/2 dB and a high shelf of +gain/2 dB at the same centre
// frequency (RBJ cookbook shelves, Q = 1/sqrt 2), so the spectrum turns about the centre:
// |H| -> -gain/2 dB at DC, +gain/2 dB towards Nyquist, exactly 0 dB at the centre (each
// shelf is at half its gain there). Kernel: nodes/filters/SectionBank.h. Docs: docs/nodes/tilt.md.
#pragma once

namespace sg {

class Registry;

/// Registers `tilt`.
void registerTiltNodes(Registry& registry);

} // namespace sg
