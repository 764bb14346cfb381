// The dynamics core shared by compressor, gate, deesser and dynamic_eq: level detector, static
// gain computers in dB, attack/release smoothing of the gain change, stereo link, and the one
// kernel (DynamicsKernel, DynamicsCore.cpp) that runs all four types on lanes.
//
// Signal flow per instance, every frame n (lanes = the instance's channels):
//   d_c[n]  detector input of channel c: the `sidechain` port's channel c (or its only channel),
//           or the input itself when the port is unconnected; high-passed (sidechain_hpf,
//           compressor and gate) or band-filtered (B, deesser and dynamic_eq)
//   L_c[n]  level in dB: peak = 20 log10 max |d_c| over the last W frames (a sliding maximum:
//           a sine's level is its peak, without ripple, when W covers a period); rms =
//           10 log10 of the mean of d_c^2 over the last W frames (box window)
//   X_c[n]  linked level: (1 - k) L_c + k max_j L_j, k = link / 100
//   T_c[n]  target gain change magnitude in dB (>= 0) from the static curve (staticCompressDb,
//           staticExpandDb below; the gate adds hold and hysteresis)
//   C_c[n]  smoothed: C = T + a (C[n-1] - T), a = exp(-1 / (tau fs)), tau = the rising or
//           falling time constant. A step of T is covered to 1 - 1/e after exactly tau seconds
//           (a^(tau fs) = 1/e): that is the definition of attack and release used here.
//   y_c[n]  full band: x g, g = 10^((s C + makeup) / 20), s = -1 (a cut)
//           split band: x + (g - 1) b, b = B(x), so y = x exactly whenever g = 1
//
// Reference: D. Giannoulis, M. Massberg, J. D. Reiss, "Digital Dynamic Range Compressor
// Design - A Tutorial and Analysis", JAES 60(6), 2012 (quadratic soft knee, log-domain
// smoothing with branching attack/release).
#pragma once

#include "core/Simd.h"

#include <cmath>
#include <vector>

namespace sg {

class Registry;

/// Registers `compressor`, `gate`, `deesser` and `dynamic_eq`.
void registerDynamicsNodes(Registry& registry);

namespace dynamics {

/// Gain change in dB (<= 0) of a downward compressor for level x dB: threshold t dB, ratio r,
/// knee width w dB (quadratic knee, Giannoulis et al. 2012 eq. 4):
///   x < t - w/2: 0;  |x - t| <= w/2: (1/r - 1)(x - t + w/2)^2 / (2w);  x > t + w/2: (1/r - 1)(x - t).
inline double staticCompressDb(double x, double t, double r, double w) noexcept {
    const double slope = 1.0 / r - 1.0;
    if (2.0 * (x - t) < -w) return 0.0;
    if (2.0 * (x - t) > w) return slope * (x - t);
    const double d = x - t + 0.5 * w;
    return slope * d * d / (2.0 * w);
}

/// Gain change in dB (<= 0) of a downward expander for level x dB: threshold t, ratio r (the
/// slope below t is r : 1), knee width w, the mirror image of the compressor's knee:
///   x > t + w/2: 0;  |x - t| <= w/2: -(r - 1)(x - t - w/2)^2 / (2w);  x < t - w/2: (r - 1)(x - t).
inline double staticExpandDb(double x, double t, double r, double w) noexcept {
    const double slope = r - 1.0;
    if (2.0 * (x - t) > w) return 0.0;
    if (2.0 * (x - t) < -w) return slope * (x - t);
    const double d = x - t - 0.5 * w;
    return -slope * d * d / (2.0 * w);
}

/// Per-frame factor of a one-pole smoother with time constant `ms` at `sampleRate`: after
/// tau * fs frames a step is covered to 1 - 1/e. 0 (instant) for ms <= 0.
inline double timeConstantFactor(double ms, double sampleRate) noexcept {
    return ms > 0 ? std::exp(-1000.0 / (ms * sampleRate)) : 0.0;
}

/// The peak detector's sliding maximum: out[n] = max |x| over the last W frames (frames before
/// reset count as 0), O(1) per frame whatever W (van Herk, Pattern Recognition Letters 13(7),
/// 1992; Gil & Werman, IEEE PAMI 15(5), 1993): frames fall in chunks of W since reset; the window
/// of a frame at chunk position j is the previous chunk from j + 1 on (its suffix maxima) and the
/// current chunk up to j (a running prefix maximum). Exact, so any block split gives the same
/// values.
class SlidingMaximum {
public:
    /// Allocates for a window of `windowFrames` (>= 1), with the scans of `simd` (the same values
    /// on every architecture). Setup time.
    void prepare(int windowFrames, SimdArch simd = detectSimdArch());
    /// Forgets the history. Real-time safe.
    void reset() noexcept;
    /// out[n] for the next `frames` frames of x (out may be x).
    void process(const float* x, int frames, float* out) noexcept;
    /// Becomes the sliding maximum of max(|x|, |y|), y the stream `other` has seen (the same
    /// number of frames since reset, the same window): every stored maximum is the larger of the
    /// two. Exact, since max commutes with max. Real-time safe.
    void mergeFrom(const SlidingMaximum& other) noexcept;

private:
    std::vector<float> chunk_;  ///< |x| of the current chunk
    std::vector<float> suffix_; ///< suffix maxima of the previous chunk; [W] = 0
    int window_ = 1, at_ = 0;   ///< W, position in the current chunk
    float prefix_ = 0;          ///< maximum of the current chunk so far
    int (*scanRun_)(const float*, int, float*, const float*, float&, float*) noexcept = nullptr;
    bool (*scanSuffix_)(const float*, int, float*) noexcept = nullptr;
};

/// Lowest level in dB the detector reports (silence).
inline constexpr double kFloorDb = -240.0;

} // namespace dynamics
} // namespace sg
