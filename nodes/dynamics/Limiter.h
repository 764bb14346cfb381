// limiter: a true-peak lookahead limiter with one gain for all channels of an instance.
//
// Detection (ITU-R BS.1770-5 Annex 2): each input frame n gives
//   p[n] = max over channels of ( |x[n-5]|, |x[n-6]|, |v_k[n]| for k = 0..3 ),
//   v_k[n] = sum_{j=0..11} c_k[j] x[n-j]     (the Annex 2 4x polyphase FIR, 48 taps),
// the oversampled values between x[n-6] and x[n-5]. Required gain r[n] = min(1, C / p[n]) with
// C the ceiling as a linear factor, lowered by a safety of 0.001 dB + 0.5 dB / A (A below): float
// rounding, and the small overs (measured <= 0.02 dB at A = 12, shrinking as 1/A) that a gain still
// moving within the filter's 12-frame span leaves where peaks of different heights cluster.
//
// Gain (Signalsmith-style min-hold + box filter), on ln g so that the release is one multiply:
//   h[n] = min(ln r[n-H+1 .. n])                 hold, monotonic deque, H = L + 1 frames
//   e[n] = min(h[n], c * e[n-1])                 release: the reduction in dB decays as
//                                                exp(-t / release), c = exp(-1 / (release * fs))
//   g[n] = exp(mean(e[n-A+1 .. n]))              attack: box filter (a geometric mean of the
//                                                gains), A = L - 10 frames
//   y[n] = g[n] * x[n - L]                       L = latency = lookahead frames (at least 12)
// Any mean of values is at most their largest, so g[n] <= r[m] for every m in [n-H+1, n-A+1];
// with A = L - 10 and H = L + 1 that covers the whole 12-frame span of every oversampled value
// that output frame n contributes to, so a lone peak meets a gain that is already down and flat
// across the interpolation filter: the output's Annex 2 true peak stays at or below the ceiling.
// ln g is summed as integers (multiples of 2^-36, rounded down) so the mean never drifts, and the
// float gain is rounded down. Below the ceiling every ln g is exactly 0 and the gain exactly 1:
// the output is the input delayed by L frames, bit for bit.
//
// Latency: L = max(12, round(lookahead * fs / 1000)) frames, declared, so the compiler
// compensates it. The ceiling and release may change while running (from their frame on, no
// glide: the lookahead absorbs a lower ceiling); the lookahead is fixed when the graph is compiled.
// Measurements: max and mean gain reduction in dB, and the share of frames limited by at least
// 0.1 dB, over the output frames that carry input (from frame L on).
//
// The detection FIR runs along time, vectorised (nodes/dynamics/Limiter.simd.cpp); the gain
// computer is scalar per frame. Output is bit-identical for every block split and SIMD width.
// Its Annex 2 coefficients are the loudness meter's (nodes/meters/TruePeakFilter.h), so the
// limiter detects peaks exactly as the meter measures them.
#pragma once

#include "core/Simd.h"
#include "nodes/meters/TruePeakFilter.h" // kAnnex2Phases

namespace sg {

class Registry;

/// Registers `limiter`.
void registerLimiterNodes(Registry& registry);

/// Fewest latency frames a limiter has: the Annex 2 filter spans 12 frames.
inline constexpr int kLimiterMinLatencyFrames = 12;
/// Frames of history the true-peak detector reads before each frame (the FIR's span - 1).
inline constexpr int kTruePeakHistoryFrames = 11;

} // namespace sg

// peak[i] = max(peak[i], |x[i-5]|, |x[i-6]|, |v_k[i]| for k = 0..3), i < frames, where
// x = samples and samples[-11 .. -1] must be readable (history). v_k as in the header comment,
// summed in tap order j = 0..11 in float, so every architecture gives the same bits.
SG_SIMD_DECLARE(void accumulateTruePeak(const float* samples, int frames, float* peak) noexcept)
