// Internal kernels of LoudnessMeter (compiled once per architecture in LoudnessKernels.simd.cpp).
//
// kWeightedEnergy: the two K-weighting biquads in direct form I, in double, vectorised across
// channels (a planar chunk is transposed into a [frame][lane] scratch, as in Biquad.simd.cpp):
//   s[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a2 s[n-2] - a1 s[n-1]        (shelf)
//   k[n] = h0 s[n] + h1 s[n-1] + h2 s[n-2] - c2 k[n-2] - c1 k[n-1]         (RLB high-pass)
// and adds k[n]^2 to the channel's running sum, frame after frame, so the sums do not depend on
// how the stream is cut into calls.
//
// kWeightLanes: the same two biquads, the same operations per frame, for one channel in
// kTimeLanes lanes along time (each lane a stretch of the stream, started from rest a warm-up
// before its first measured frame), so that a vector does kTimeLanes frames per step of the
// recursion where kWeightedEnergy does one per channel (LoudnessOptions::offline).
//
// polyphasePeak: max |y_p[n]| over the phases p and frames n of y_p[n] = sum_k h_p[k] x[n-k]
// (the oversampled signal), vectorised along time; also max |x[n]|.
//
// quadSums / quadCross: running sums in four chains, frame 4i + k in chain k, in double (the
// per-channel sums of host/cli/CompareFigures.h's ChannelSums): each chain adds its terms in
// frame order, so every architecture gives the same bits as the scalar loop.
#pragma once

#include "core/Simd.h"

namespace sg::loudness {

/// Lane arrays are padded to this many doubles (one AVX-512 batch).
inline constexpr int kLanePad = 8;
/// Frames per transposed chunk.
inline constexpr int kChunkFrames = 64;
/// State variables per lane: x1 x2 s1 s2 k1 k2.
inline constexpr int kStateVars = 6;

/// K-weighting state of up to kLanePad channels, structure of arrays.
struct KWeightBank {
    int lanes = 0;                          ///< channels
    double coefficients[10][kLanePad] = {}; ///< b0 b1 b2 a1 a2 h0 h1 h2 c1 c2, each broadcast over lanes
    double* state = nullptr;                ///< [kStateVars][kLanePad], 64-byte aligned
    double* scratch = nullptr;              ///< [kChunkFrames][kLanePad], 64-byte aligned
};

/// Lanes along time of kWeightLanes, on every architecture (so every architecture computes the
/// same lanes, and the same bits).
inline constexpr int kTimeLanes = 8;

/// One channel's K-weighting in kTimeLanes lanes along time. Lane l filters
/// x[l * laneStride + j], j in [0, warmup + steps * stepFrames), from rest; its first `warmup`
/// frames only settle the filters, then sums[s * kTimeLanes + l] = the sum of k^2 over the
/// lane's step s (stepFrames frames), added in frame order from 0.
struct KWeightLaneJob {
    const double* coefficients = nullptr; ///< b0 b1 b2 a1 a2 h0 h1 h2 c1 c2
    const float* x = nullptr;
    int laneStride = 0;
    int warmup = 0;
    int stepFrames = 0;
    int steps = 0;
    double* sums = nullptr; ///< [steps][kTimeLanes]
};

} // namespace sg::loudness

// Filters frames [offset, offset + frames) of planar[0 .. bank.lanes) and adds each filtered
// sample's square to sums[lane] (in frame order).
SG_SIMD_DECLARE(void kWeightedEnergy(const ::sg::loudness::KWeightBank& bank, const float* const* planar, int offset, int frames,
                                     double* sums) noexcept)
// The job's lanes (KWeightLaneJob).
SG_SIMD_DECLARE(void kWeightLanes(const ::sg::loudness::KWeightLaneJob& job) noexcept)
// For n in [0, frames): reads x[n - taps + 1 .. n]; coefficients are [phases][taps].
// Raises samplePeak to max |x[n]| and truePeak to max |y_p[n]|.
SG_SIMD_DECLARE(void polyphasePeak(const float* x, int frames, const float* coefficients, int phases, int taps, float& samplePeak,
                                   float& truePeak) noexcept)
// For i in [0, quads), k in 0..3: sum[k] += x[4i + k]; square[k] += x[4i + k]^2 (in double).
SG_SIMD_DECLARE(void quadSums(const float* x, int quads, double* sum, double* square) noexcept)
// For i in [0, quads), k in 0..3: cross[k] += l[4i + k] r[4i + k] (in double).
SG_SIMD_DECLARE(void quadCross(const float* l, const float* r, int quads, double* cross) noexcept)
