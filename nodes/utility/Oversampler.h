// Oversampling shared by nodes that work above the base rate: polyphase interpolation (up) and
// decimation (down) by 2, 4 or 8 with one linear-phase FIR, a Kaiser-windowed sinc.
//
// Design (Kaiser 1974; Oppenheim & Schafer, Discrete-Time Signal Processing, 3rd ed., §7.6):
//   prototype h[m], m = 0 .. N - 1, N = P T (P = factor, T = taps per phase), at the high rate:
//   h[m] = P * 2 fc sinc(2 fc (m - (N - 1) / 2)) * w[m],   fc = (fpass + fstop) / (2 P) cycles/sample,
//   w = Kaiser window with beta = 0.1102 (A - 8.7) (A = stopband attenuation in dB, A > 50),
//   N >= (A - 7.95) / (2.285 * 2 pi (fstop - fpass) / P) + 1, rounded up to a multiple of P;
//   fpass, fstop are fractions of the BASE rate. The ripple is the same in both bands,
//   delta = 10^(-A / 20), so the passband ripple is +-20 log10(1 + delta) dB.
// Up:   z[n P + k] = sum_{j<T} h[j P + k] x[n - j]            (phase k, k = 0 .. P - 1)
//       z at high-rate index s estimates x at base time s / P - (N - 1) / (2 P).
// Down: y[n] = (1 / P) sum_{q<P} sum_{j<T} h[j P + q] z[(n - j) P + P - 1 - q]
// Up then down delays by exactly T - 1 base frames (latencyFrames()).
//
// Two designs ship:
//   processing (clipper, saturator): fpass 0.45, fstop 0.5, A = 90 dB (nothing folds back below
//     the base Nyquist frequency by more than -90 dB; passband flat to 0.0003 dB up to 0.45 fs);
//   detection (limiter's true-peak detector, up only): fpass 0.475, fstop 0.5, A = 70 dB
//     (T = 174: a near-ideal reconstruction like sox's `rate -v`, whose passband is 0.475 fs;
//     every image above the base Nyquist frequency is rejected by 70 dB).
// The FIRs run along time, vectorised (Oversampler.simd.cpp), taps summed in order in float
// without FMA: every architecture and every block split gives the same bits. One Oversampler
// is one lane; prepare() allocates, everything else is real-time safe.
#pragma once

#include "core/Simd.h"

#include <string>
#include <vector>

namespace sg {

struct OversamplerDesign {
    int factor = 2;             ///< P: 1, 2, 4 or 8 (1 = pass-through, no latency)
    double passbandEdge = 0.45; ///< fraction of the base rate
    double stopbandEdge = 0.5;  ///< fraction of the base rate
    double stopbandDb = 90;     ///< A, dB
};

/// The processing design (clipper, saturator) for `factor`.
OversamplerDesign processingOversampling(int factor);
/// The limiter's detection design for `factor` (up only).
OversamplerDesign detectionOversampling(int factor);

/// Taps per phase T of a design (1 for factor 1).
int oversamplerTapsPerPhase(const OversamplerDesign& design);
/// Latency of up then down, base frames: T - 1 (0 for factor 1).
int oversamplerLatencyFrames(const OversamplerDesign& design);
/// The prototype h[0 .. P T), gain P at DC (double, before rounding to float).
std::vector<double> oversamplerPrototype(const OversamplerDesign& design);

/// One lane of up/down sampling.
class Oversampler {
public:
    /// Allocates for blocks of up to `maxBlockFrames` base frames. Setup time.
    void prepare(const OversamplerDesign& design, int maxBlockFrames, SimdArch arch);
    /// Clears the histories. Real-time safe.
    void reset() noexcept;

    int factor() const noexcept { return factor_; }
    int tapsPerPhase() const noexcept { return taps_; }
    /// Up + down, base frames.
    int latencyFrames() const noexcept { return factor_ > 1 ? taps_ - 1 : 0; }

    /// Interpolates `frames` base frames of `in` into the phases: phase(k)[n] = z[n P + k].
    void up(const float* in, int frames) noexcept;
    /// Phase k of the last up() (frames long); writable, for a nonlinearity in place.
    float* phase(int k) noexcept { return streams_[std::size_t(k)].data() + (taps_ - 1); }
    const float* phase(int k) const noexcept { return streams_[std::size_t(k)].data() + (taps_ - 1); }
    /// Decimates the phases (as left by up() and changed in place) to `frames` base frames.
    /// Must follow up() with the same `frames`.
    void down(float* out, int frames) noexcept;

private:
    int factor_ = 1, taps_ = 1;
    int previousFrames_ = 0;                  ///< frames of the last up(): where the streams' histories end
    std::vector<float> upCoefficients_;       ///< [P][T]: h[j P + k]
    std::vector<float> downCoefficients_;     ///< [P][T]: h[j P + q] / P
    std::vector<float> input_;                ///< [T - 1 history | block]
    std::vector<std::vector<float>> streams_; ///< per phase: [T - 1 history | block]
    void (*fir_)(const float*, int, const float*, int, float*, bool) noexcept = nullptr;
};

} // namespace sg

// out[i] (= or +=) sum_{j<taps} c[j] x[i - j], i < frames; x[-taps + 1 .. -1] must be readable.
// Summed in tap order j = 0 .. taps - 1 in float, no FMA: the same bits on every architecture.
SG_SIMD_DECLARE(void firAlongTime(const float* x, int frames, const float* c, int taps, float* out, bool accumulate) noexcept)
