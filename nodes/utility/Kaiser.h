// The Kaiser window, shared by the FIR designs: the oversampler's interpolators, the loudness
// meter's 8x true-peak interpolator and the analyzer's half-band decimators.
#pragma once

namespace sg::kaiser {

/// Zeroth-order modified Bessel function of the first kind, by its power series.
double besselI0(double x);

/// Kaiser's beta for a stopband `attenuationDb` below the passband.
double beta(double attenuationDb);

/// The window at r = distance from the centre / half length (|r| <= 1; 0 beyond).
double window(double r, double beta);

} // namespace sg::kaiser
