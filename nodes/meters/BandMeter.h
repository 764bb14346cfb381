// bands: a pass-through tap that measures the energy in each octave band, for spectral-balance
// figures.
//
// Ten octave bands on the IEC 61260-1 base-10 grid: exact midband frequencies
// f_m = 1000 * G^k, G = 10^(3/10), k = -5 .. 4 (nominal 31.5, 63, 125, 250, 500 Hz, 1, 2, 4, 8,
// 16 kHz), band edges f_m G^(-1/2) and f_m G^(1/2). Each band filter is a 6th-order Butterworth
// high-pass at the lower edge in series with a 6th-order Butterworth low-pass at the upper edge
// (three RBJ sections each, nodes/filters/BiquadDesign.h); an edge at or above 0.45 fs is left
// out (the band then reaches Nyquist). Adjacent bands cross at -3.01 dB, where their powers sum
// to one (Butterworth high- and low-pass of one order and cutoff are power complementary).
//
// Reported: band_<nominal>_db = 10 log10(E_band / E_total), each band's energy relative to the
// whole input (all channels summed), and total_db = 10 log10(E_total / (frames * channels)),
// the mean square per channel in dB re full scale (a full-scale sine reads -3.01 dB).
#pragma once

#include <array>

namespace sg {

class Registry;

/// Registers `bands`.
void registerBandMeterNodes(Registry& registry);

/// The octave bands of `bands`, shared with the host's band figures (analyze, compare) so that
/// both measure with the same filters.
namespace octave {
inline constexpr int kBandCount = 10;  ///< 31.5 Hz .. 16 kHz
inline constexpr int kMaxSections = 6; ///< 3 high-pass + 3 low-pass
/// Nominal name of band `band` (0 = 31.5 Hz) as used in keys: "31_5hz" .. "16khz".
const char* bandName(int band);
/// Exact midband frequency of band `band`, Hz.
double midbandHz(int band);
/// The filter of band `band` at `sampleRate` (b0 b1 b2 a1 a2 per section, high-pass first) into
/// out[0 .. n); returns n (at most kMaxSections).
int bandSections(int band, double sampleRate, std::array<double, 5>* out);
} // namespace octave

} // namespace sg
