// RBJ-cookbook biquads: highpass, lowpass, bandpass, notch, allpass, peak, lowshelf, highshelf.
//
// Coefficients come from R. Bristow-Johnson, "Cookbook formulae for audio EQ biquad filter
// coefficients" (Audio-EQ-Cookbook), computed in double: w0 = 2 pi f0 / fs,
// alpha = sin(w0) / (2 Q), A = 10^(gain / 40); each is the bilinear transform, prewarped at f0,
// of its analog prototype (e.g. lowpass H(s) = 1 / (s^2 + s/Q + 1)). f0 is clamped to
// 0.49 fs so that settings at or above Nyquist stay stable. highpass / lowpass with slope 24
// or 48 dB/oct are Butterworth cascades of 2 or 4 sections with Q_k = 1 / (2 cos((2k - 1) pi / 2N)),
// N = slope / 6; slope 12 is one section with the user's q.
//
// One kernel serves every type (batch key "biquad" + sections): transposed direct form II,
//   y = b0 x + z1;  z1 = (b1 x + z2) - a1 y;  z2 = b2 x - a2 y,
// with double coefficients and state; input and output stay float. (In float, the poles of
// low-frequency sections sit too close to z = 1 for 24-bit coefficients: a 30 Hz 48 dB/oct
// highpass at 96 kHz is 0.29 dB off its prototype and a 40 Hz peak 0.11 dB; in double every
// tested setting is within 1e-6 dB, at no measurable speed cost since the transposes and the
// recursion's latency dominate.) It vectorises across lanes: each group of lanes is transposed
// into a [frames][lanes] scratch, run through the recursion with xsimd batches, and transposed
// back. Sections run software-pipelined: within one loop iteration section s handles frame i
// while section s - 1 handles frame i + 1, so their recursions overlap instead of running as
// latency chains one after another (each section's operations and their order are unchanged).
// Two lanes through 2..8 sections (a stereo EQ chain) run as a wavefront instead: every section
// of both lanes in one vector, section k on frame t - 3k at step t, the hand-over to the next
// section a lane shift (BankLayout; same operations per section, same bits).
// Chain fusion (core/Compiler.cpp): a series of biquad nodes is one instance whose sections are
// the nodes' sections in order (InstanceSetup::stages); values are rounded to float between
// stages as separate nodes' buffers would, so fused output is bit-identical to unfused.
// No FMA, and a lane's numbers never depend on its neighbours, so every architecture and any
// batching give the same bits.
#pragma once

#include "core/Simd.h"

namespace sg {

class Registry;

/// Registers every biquad type.
void registerBiquadNodes(Registry& registry);

namespace biquad {

/// Lane arrays are padded to a multiple of this many lanes (widest batch, 16 floats).
inline constexpr int kLanePad = 16;
/// Frames per transposed chunk (keeps the scratch in L1).
inline constexpr int kChunkFrames = 64;
/// Most lanes one kernel pass interleaves (4 batches of 8 doubles): sizes the scratch.
inline constexpr int kMaxPassLanes = 32;

/// How the bank kernel lays lanes and sections out in registers (the same bits either way).
enum class BankLayout : unsigned char {
    Auto,      ///< the faster: Wavefront for 2 lanes x 2..8 sections (2 in 128-bit batches), long calls
    Lanes,     ///< lanes across a register, sections pipelined over a [frame][lane] scratch
    Wavefront, ///< 2 lanes x every section in one vector, skewed in time (2 lanes, <= 8 sections)
};

/// Most sections the wavefront layout runs (2 lanes x 8 sections = 16 doubles).
inline constexpr int kMaxWavefrontSections = 8;
/// Shortest call BankLayout::Auto runs as a wavefront (half that with 512-bit batches); shorter
/// ones run the lanes layout.
inline constexpr int kWavefrontMinFrames = 128;

/// Structure-of-arrays state of all lanes of one kernel.
struct Bank {
    int lanes = 0;                        ///< real lanes
    int stride = 0;                       ///< lanes rounded up to kLanePad
    int sections = 1;                     ///< second-order sections per lane
    const double* coefficients = nullptr; ///< [section][b0 b1 b2 a1 a2][stride], a0 = 1
    double* state = nullptr;              ///< [section][z1 z2][stride]
    double* scratch = nullptr;            ///< kChunkFrames * kMaxPassLanes, 64-byte aligned
    /// [section][stride]: 1 where a lane's output of that section is rounded to float (the end of
    /// a fused chain's stage, where separate nodes would have written a float buffer), else 0.
    const double* roundAfter = nullptr;
    const unsigned char* sectionRounds = nullptr; ///< [section]: 1 if some lane rounds after it
    BankLayout layout = BankLayout::Auto;         ///< tests force one layout to compare them
};

} // namespace biquad
} // namespace sg

// Runs frames [start, start + frames) of every lane of `bank` from in[lane] to out[lane]
// (out may alias in).
SG_SIMD_DECLARE(void processBiquadBank(const ::sg::biquad::Bank& bank, const float* const* in, float* const* out, int start,
                                       int frames) noexcept)
