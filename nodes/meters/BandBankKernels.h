// Internal kernels of the host's multirate band-balance bank (host/cli/CompareFigures.cpp),
// compiled once per architecture in BandBankKernels.simd.cpp.
//
// laneCascade: independent cascades of biquad sections, one per lane (a lane is one filter of
// one channel), in transposed direct form II, double, the same operations in the same order as
// biquad::SectionState:
//   y = b0 v + z1;  z1 = (b1 v + z2) - a1 y;  z2 = b2 v - a2 y
// Lane l reads the signal of channel[l]; outputs are [frame][kLanes]; each lane's squared output
// is added to sums[lane], frame after frame.
//
// halfbandDecimate: one output per two inputs of a linear-phase half-band FIR of 4P - 1 taps
// (every other tap zero except the centre), from the input split into even[i] = x[2i] and
// odd[i] = x[2i + 1]:
//   y[m] = centre even[m - P + 1] + sum_j g[j] (odd[m - P + 1 + j] + odd[m - P - j]),  j = 0 .. P-1
// i.e. y[m] = sum_t h[t] x[2m + 1 - t], summed in that order, vectorised along m.
#pragma once

#include "core/Simd.h"

namespace sg::bandbank {

inline constexpr int kLanes = 16;   ///< lane arrays are padded to this many doubles
inline constexpr int kSections = 6; ///< sections per lane (shorter filters: identity sections)

/// Coefficients and state of up to kLanes cascades, structure of arrays.
struct alignas(64) LaneCascade {
    int lanes = 0;                                  ///< lanes in use
    double channel[kLanes] = {};                    ///< the input of each lane (padding: any valid one)
    double coefficients[kSections][5][kLanes] = {}; ///< b0 b1 b2 a1 a2 per section and lane
    double state[kSections][2][kLanes] = {};        ///< z1 z2
};

/// The same cascades in float, for the filters at fs (bands from ~1 kHz up at 44.1 / 48 kHz, whose
/// poles are far enough from z = 1 for float): kLanes floats fill one AVX-512 register, so the
/// six fs-rate filters of two channels cost what one channel's cost in double.
struct alignas(64) LaneCascadeFloat {
    int lanes = 0;
    float channel[kLanes] = {};
    float coefficients[kSections][5][kLanes] = {};
    float state[kSections][2][kLanes] = {};
    int sections = kSections;   ///< sections run: the ones after are identity in every lane
    float partial[kLanes] = {}; ///< squares summed since the last multiple of kRun frames
    int phase = 0;              ///< frames since then (so the sums do not depend on how calls are cut)
    static constexpr int kRun = 64;
};

} // namespace sg::bandbank

// Filters frames [0, frames) of signals[bank.channel[lane]][frame] through every lane's cascade;
// adds each output's square to sums[lane]; writes the outputs to out[frame * kLanes + lane] if out
// is not null.
SG_SIMD_DECLARE(void laneCascade(::sg::bandbank::LaneCascade& bank, const double* const* signals, int frames, double* sums,
                                 double* out) noexcept)
// The float variant, reading the float input directly: each lane's squares are summed in float
// over runs of kRun frames (counted from the first frame ever filtered, across calls) and each
// completed run's sum added to sums[lane] in double; bank.partial holds the run in progress.
SG_SIMD_DECLARE(void laneCascadeFloat(::sg::bandbank::LaneCascadeFloat& bank, const float* const* signals, int frames,
                                      double* sums) noexcept)
// Writes y[0 .. outFrames); even[i] and odd[i] must be readable for i in [1 - 2 pairCount, outFrames).
SG_SIMD_DECLARE(void halfbandDecimate(const double* even, const double* odd, int outFrames, const double* g, int pairCount,
                                      double centre, double* y) noexcept)
