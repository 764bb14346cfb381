// limiter: a true-peak lookahead limiter with one gain for all channels of an instance.
//
// Detection, 8x oversampled (nodes/utility/Oversampler.h, detection design: Kaiser-windowed sinc,
// T = 174 taps per phase, passband to 0.475 fs, images from 0.5 fs rejected by 70 dB): each
// input frame n gives
//   p[n] = max over channels of ( |x[n - T/2]|, the 8 interpolated values z[8n + k],
//                                 the BS.1770-5 Annex 2 4x values of the same instant ),
// where each local maximum of |z| is refined by a parabola through it and its two neighbours
// (peak = b + (a - c)^2 / (8 (2b - a - c))), so a crest that falls between two 8x points is not
// missed (the grid alone can miss up to 1 / cos(pi f / 8 fs): 0.14 dB at 0.45 fs). z estimates
// the band-limited signal a reconstruction filter (a meter, a DAC) sees, so the output's true
// peak holds on meters with other interpolators (libebur128, ffmpeg, sox, our 4x and 8x).
// Only peaks above C matter (below it r = 1), so the 8x filter runs only where two rigorous upper
// bounds (max|x| times the filter's L1 norm; a 16- or 48-tap estimate plus its tail's L1 norm)
// cannot rule an over out: quiet passages cost no filtering, and the output is bit-identical to
// detecting every frame (Limiter.cpp, detect()). While the gain releases from a deep reduction,
// the level that must be cleared is raised to what the release chain still holds below
// (Limiter.cpp, tileThresholds()): such peaks cannot change the gain either.
// Required gain r[n] = min(1, C / p[n]) with C the ceiling as a linear factor, lowered by a
// safety of 0.3 dB + 1 dB / A (A below): a gain still moving within a long reconstruction
// filter's span lets dense bright material read higher on sharp meters (sox), float rounding and
// the TPDF dither of a 16-bit file; measured per meter in docs/nodes/notes/limiter.md.
//
// Gain (Signalsmith-style min-hold + box filter), on ln g so that the release is one multiply:
//   h[n] = min(ln r[n-H+1 .. n])                 hold (streaming van Herk / Gil-Werman), H = L + 2
//   e[n] = min(h[n], c[n] * e[n-1])              release: c = exp(-1 / (tau * fs))
//   g[n] = exp(mean(e[n-A+1 .. n]))              attack: box filter, A = L - T + 2 frames
//   y[n] = g[n] * x[n - L]                       L = latency = max(220, lookahead frames)
// Any mean of values is at most their largest, so g[n] <= r[m] for every m in [n-H+1, n-A+1],
// which covers all T detection frames whose filter span contains input frame n - L.
// Program-dependent release: tau = release * (1 + 4 a d[n]), a = `adaptive_release` (0..1),
// d[n] = the share of the last second (one-pole average, time constant 1 s) with at least
// 0.1 dB of gain reduction: sustained limiting (dense masters) recovers up to 5x slower and
// pumps less; an isolated transient recovers at `release`.
// Sidechain high-pass (2nd-order Butterworth at `sidechain_hpf`, off at its minimum): the release
// path above is then driven by the high-passed signal (BS.1770 Annex 2 4x detection of it, aligned
// with the full-band detector), so the low end does not hold the gain down; a full-band guard,
// e_g[n] = min(h[n], c_g e_g[n-1]) with a release of the lookahead, keeps the ceiling, and the
// gain is min(e, e_g). Off, the guard never acts (e <= e_g).
// ln g is summed as integers (multiples of 2^-36, rounded down) so the mean never drifts, and the
// float gain is rounded down. Below the ceiling every ln g is exactly 0 and the gain exactly 1:
// the output is the input delayed by L frames, bit for bit.
//
// Latency: L = max(220, round(lookahead * fs / 1000)) frames (T + 46: A >= 48), declared, so the compiler
// compensates it. Measurements: max and mean gain reduction in dB, and the share of frames
// limited by at least 0.1 dB, over the output frames that carry input (from frame L on); series
// "gain_reduction_db": the largest reduction of every 100 ms (core/SeriesRecorder.h).
// Output is bit-identical for every block split, SIMD width and batching.
#pragma once

#include "core/Simd.h"
#include "nodes/meters/TruePeakFilter.h" // kAnnex2Phases (sidechain detector)

#include <atomic>
#include <cstdint>
#include <vector>

namespace sg {

class Registry;

/// Registers `limiter`.
void registerLimiterNodes(Registry& registry);

/// Limiters prepared after this call detect every frame exactly (all 8x phases and the Annex 2
/// values, no bound skips a tile) when `exhaustive`: the reference that the skipping detector
/// must match bit for bit in tests. Off by default.
void setLimiterExhaustiveDetection(bool exhaustive) noexcept;

/// A limiter's gain, frame by frame, kept by a host so that a run can be played again without
/// its detection: `render --target` records each run of pass 2 and replays the run that lands
/// to encode it, and so keeps one mono float per limited frame instead of the run's output.
/// Replayed, a limiter outputs the same bits as the recorded run: its delay line runs as before
/// and each stretch is copied (gain exactly 1) or multiplied by the recorded gains, as recorded,
/// whatever the block split. Offline only: record() and replay() run in the process path.
class LimiterGainTape {
public:
    virtual ~LimiterGainTape() = default;
    /// The next `frames` frames of the output: their gains, or null when they were copied (every
    /// gain exactly 1).
    virtual void record(const float* gains, int frames) noexcept = 0;
    /// The next stretch of at most `frames` frames that was recorded alike: returns its length
    /// (>= 1) with `copied` set, and its gains in `gains` unless copied; 0 when the tape has
    /// nothing more (an error the host reports; the limiter then copies).
    virtual int replay(float* gains, int frames, bool& copied) noexcept = 0;
};

/// While it lives, a limiter prepared on this thread (one instance per kernel) records into
/// `tape`, or, with `replay`, plays it back instead of detecting: no measurements then.
class LimiterGainTapeScope {
public:
    LimiterGainTapeScope(LimiterGainTape* tape, bool replay) noexcept;
    ~LimiterGainTapeScope();
    LimiterGainTapeScope(const LimiterGainTapeScope&) = delete;
    LimiterGainTapeScope& operator=(const LimiterGainTapeScope&) = delete;

private:
    LimiterGainTape* previousTape_;
    bool previousReplay_;
};

/// A limiter's detected peaks, handed ahead from one thread to another. `render --target` runs a
/// second, detect-only copy of pass 2's chain on the thread that reads the run's source, so the
/// limiter of the run itself skips its 8x detection (about half its work) and the run uses both
/// cores. The detect-only limiter never limits, so every tile's threshold is the ceiling: its peaks
/// are exact wherever one can exceed the ceiling, and a limiter that takes them limits bit for bit
/// as if it had detected itself (a peak at or below the ceiling never changes a gain; detect()).
/// The detect-only limiter may take only the first lanes (channels) and leave the others to the
/// consumer, so that the two threads share the detection: `lanesAhead` on average, a whole
/// number of lanes in every block and one more in a share of the blocks (its fraction), so that
/// the share can follow what each thread has besides (a stereo run of pass 2: 1.5 lanes ahead, the
/// reading thread reads and detects, the consumer limits). The feed keeps, per frame, how many
/// lanes were detected ahead, and the consumer detects the rest, so the producer's and the
/// consumer's blocks need not match. Frames count from each executor's start. A limiter whose
/// frames are not in the feed (not yet, or the feed stopped) detects every lane itself: its delay
/// line runs either way. One producer thread, one consumer thread; neither waits, nothing
/// allocates after construction.
class LimiterPeakFeed {
public:
    LimiterPeakFeed(int capacityFrames, double lanesAhead);
    /// The producer: how many lanes, from the first, to detect in its next block: the whole part
    /// of lanesAhead, plus one in block k when floor((k + 1) f) > floor(k f), f its fraction.
    int nextLanes() noexcept;
    /// The producer: the peaks of frames [position, position + frames), the maximum over their
    /// first `lanes` lanes. False, and the feed stops, when they do not follow the frames put
    /// before or would overwrite peaks not yet taken.
    bool put(std::int64_t position, const float* peaks, int frames, int lanes) noexcept;
    /// The consumer, frames in increasing order: the peaks of [position, position + frames) into
    /// `peaks` when the feed has them all, and into `lanes` the fewest lanes detected for any of
    /// them (the consumer detects the lanes from there on); false leaves them to the limiter's
    /// own detection.
    bool take(std::int64_t position, float* peaks, int frames, int& lanes) noexcept;
    /// Frames taken from the feed so far (the rest were detected by the consumer).
    std::int64_t framesTaken() const noexcept { return framesTaken_; }

private:
    std::vector<float> ring_;
    std::vector<unsigned char> lanes_; ///< per frame of ring_: lanes detected ahead
    int wholeLanes_;
    double extraShare_;
    std::int64_t blocks_ = 0;              ///< the producer's
    std::atomic<std::int64_t> written_{0}; ///< frames [0, written_) were put
    std::atomic<std::int64_t> taken_{0};   ///< the consumer is past every frame before taken_
    std::atomic<bool> stopped_{false};
    std::int64_t framesTaken_ = 0; ///< the consumer's
};

/// While it lives, a limiter prepared on this thread (one instance per kernel) takes its peaks
/// from `feed`, or, with `detectOnly`, only detects and puts its peaks there (its output is
/// silence, it measures nothing).
class LimiterPeakFeedScope {
public:
    LimiterPeakFeedScope(LimiterPeakFeed* feed, bool detectOnly) noexcept;
    ~LimiterPeakFeedScope();
    LimiterPeakFeedScope(const LimiterPeakFeedScope&) = delete;
    LimiterPeakFeedScope& operator=(const LimiterPeakFeedScope&) = delete;

private:
    LimiterPeakFeed* previousFeed_;
    bool previousDetectOnly_;
};

/// Taps per phase of the limiter's 8x detection filter: the frames it spans.
inline constexpr int kLimiterDetectionSpan = 174;
/// Fewest frames of the attack's box filter: a shorter one moves the gain so fast within the
/// filter's span that a meter's reconstruction reads over (on +12 dB noise, measured 0.37 dB
/// over at 2 frames, 0.3 dB at 16).
inline constexpr int kLimiterMinAttackFrames = 48;
/// Fewest latency frames a limiter has: the span T, + A_min - 2 (so A = L - T + 2 >= A_min).
inline constexpr int kLimiterMinLatencyFrames = kLimiterDetectionSpan - 2 + kLimiterMinAttackFrames;
/// Frames of history the true-peak detector reads before each frame (the FIR's span - 1).
inline constexpr int kTruePeakHistoryFrames = 11;

} // namespace sg

// peak[i] = max(peak[i], |x[i-5]|, |x[i-6]|, |v_k[i]| for k = 0..3), i < frames, where
// x = samples and samples[-11 .. -1] must be readable (history). v_k as in the header comment,
// summed in tap order j = 0..11 in float, so every architecture gives the same bits.
SG_SIMD_DECLARE(void accumulateTruePeak(const float* samples, int frames, float* peak) noexcept)

// The limiter's 8x detection, in parts (Limiter.cpp, detect()). z[k] are the 8 phases of the
// interpolated signal, z[k][i] = z(8 i + k), each readable from index -1 (the frame before).
// peak[i] = max(peak[i], |x[i]|), i < frames.
SG_SIMD_DECLARE(void accumulateMagnitude(const float* x, int frames, float* peak) noexcept)
// out[c] = max |x[16 c .. 16 c + 16)|, c < chunks; with a NaN among them, at least the others' maximum
// (detect() needs an upper bound, and a NaN never reaches a peak); which of two values that compare
// equal it gives is left open.
SG_SIMD_DECLARE(void chunkMagnitudes(const float* x, int chunks, float* out) noexcept)
// bound[t] = max over k < 8 of sum_p weights[11 k + p] * max(chunks[t + p], chunks[t + p + 1]),
// p < 11, in float, for t < `tiles` rounded up to a whole batch (chunks readable that far + 12,
// bound writable that far): detect()'s weighted bounds. Weights are >= 0 and finite. Its bits may
// differ between architectures (fused multiply-adds where there are any): it only decides which
// tiles run the filter, never a peak.
SG_SIMD_DECLARE(void pairBounds(const float* chunks, int tiles, const float* weights, float* bound) noexcept)
// peak[i] = max(peak[i], |z(s)| for s in 8 i .. 8 i + 7, and each local maximum |z(s)|,
// s in 8 i - 1 .. 8 i + 6, refined by the parabola through |z(s - 1)|, |z(s)|, |z(s + 1)|),
// i < frames: exactly the scalar refinement, in the same float operations.
SG_SIMD_DECLARE(void accumulateCrests(const float* const* z, int frames, float* peak) noexcept)
// bound[i] = max(|z(s)|, s in 8 i - 1 .. 8 i + 7) + max(|z(s - 1) - z(s + 1)|, s in 8 i - 1 ..
// 8 i + 6) / 8, i < frames: with z an estimate within e of the exact phases, bound[i] + (1 + 2 / 8) e
// is at least every value accumulateCrests would take for frame i (a parabola's crest exceeds
// its middle point by at most |a - c| / 8).
SG_SIMD_DECLARE(void crestBound(const float* const* z, int frames, float* bound) noexcept)
// The attack's mean and its gain (Limiter.cpp, gainCurve()): logGain[i] = sums[i] / divisor (an
// IEEE division, as the scalar one) and floored[i] = the largest float <= e^logGain[i] as libm's
// exp gives it (1 where sums[i] = 0), as a double, or -1 where this kernel cannot tell: from a
// vector exp within 2^-51 of libm's (its bits may differ between architectures), the float is
// known where every value within 2^-50 of it rounds down alike, i < frames.
SG_SIMD_DECLARE(void attackGains(const double* sums, int frames, double divisor, double* logGain, double* floored) noexcept)

// The limiter's scans over a segment (Limiter.cpp), with the scalar loops' exact answers:
// the index of the first x[i] != 0 (a NaN counts as nonzero), n if there is none.
SG_SIMD_DECLARE(int firstNonzero(const double* x, int n) noexcept)
// 1 + the index of the last x[i] != 0 (a NaN counts as nonzero), 0 if there is none.
SG_SIMD_DECLARE(int endOfNonzero(const double* x, int n) noexcept)
// The index of the first x[i] > threshold (a NaN never is), n if there is none.
SG_SIMD_DECLARE(int firstAbove(const float* x, int n, float threshold) noexcept)
// Whether x[i] == 1 for every i < n.
SG_SIMD_DECLARE(bool allUnity(const float* x, int n) noexcept)
// out[t] = the largest of x[16 t .. min(16 t + 16, n)), or NaN if one of them is NaN, for
// t < ceil(n / 16); out may be x (each tile is read before out[t], at or below its first index, is written).
SG_SIMD_DECLARE(void tileMaxima(const float* x, int n, float* out) noexcept)
