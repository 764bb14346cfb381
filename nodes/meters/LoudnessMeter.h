// Loudness and peak meter: ITU-R BS.1770-5, EBU R 128 / Tech 3341 (meters) and Tech 3342 (LRA).
//
//   K-weighting (BS.1770-5 §2): a high shelf (+4 dB, f0 1681.97 Hz, Q 0.70718) then the RLB
//   high-pass (f0 38.135 Hz, Q 0.50033), each the bilinear transform of its analog prototype
//   (so 48 kHz reproduces the standard's table and any rate works), run in double.
//   Mean square z_i per channel over 100 ms steps (step k ends at frame round((k+1) fs/10)).
//   Loudness of a window: L = -0.691 + 10 log10(sum_i G_i z_i); G = 1 for L, R, C (and mono),
//   1.41 for side/surround channels, 0 for LFE.
//   Momentary = 400 ms window, short-term = 3 s window, both updated every 100 ms step and
//   ungated (before 400 ms / 3 s the window is zero-padded, as if silence preceded the audio).
//   Integrated (BS.1770-5 §2.8): 400 ms blocks every 100 ms; absolute gate l > -70 LUFS;
//   relative gate l > (loudness of the mean energy of the absolutely gated blocks) - 10 LU.
//   Loudness range (Tech 3342): short-term values every 100 ms once 3 s have been measured,
//   absolute gate >= -70 LUFS, relative gate >= mean - 20 LU, LRA = P95 - P10 (nearest rank,
//   index round((n-1) p) of the sorted values, as libebur128 does).
//   True peak (BS.1770-5 Annex 2): 4x polyphase FIR (48 taps, 4 phases of 12), or 8x with our
//   own interpolator (Kaiser-windowed sinc, see LoudnessMeter.cpp); max |x| of the oversampled
//   signal, taken together with the sample peak.
//
// Memory is bounded for any duration: block and short-term loudness values are kept in fixed
// histograms of 0.01 LU bins from -70 LUFS up (exact energy sums per bin for the gating), so
// only a value within 0.01 LU of a relative gate can land on the wrong side of it, and a
// percentile is within 0.005 LU of the exact one. process() never allocates, locks or throws.
//
// Threads: prepare / reset / process / the readers below belong to one thread at a time (the
// one that processes). snapshot() may be called from any thread at any time: process()
// publishes a consistent set of readings (seqlock over atomics) at every 100 ms step.
#pragma once

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg {

/// What a level or loudness reads when there is nothing to measure (silence, everything gated
/// away, not enough audio yet): -HUGE_VAL, i.e. -infinity. Printed as "-inf"; JSON uses null.
inline constexpr double kSilentLevel = -HUGE_VAL;

/// Most channels one meter measures.
inline constexpr int kLoudnessMaxChannels = 8;

/// One K-weighting biquad, normalised so a0 = 1:
/// y[n] = b0 x[n] + b1 x[n-1] + b2 x[n-2] - a1 y[n-1] - a2 y[n-2].
struct KWeightingStage {
    double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};
/// The two K-weighting stages (shelf, then RLB high-pass) at `sampleRate` Hz.
void kWeightingStages(double sampleRate, KWeightingStage& shelf, KWeightingStage& highpass);

/// BS.1770-5 channel weights G_i of the default layout for `channels` (1..8):
/// 1 mono (1.0); 2 L R; 3 L R C; 4 L R Ls Rs; 5 L R C Ls Rs; 6 L R C LFE Ls Rs;
/// 7 L R C Ls Rs Lb Rb; 8 L R C LFE Ls Rs Lb Rb. L, R, C, Lb, Rb = 1.0; Ls, Rs = 1.41; LFE = 0.
std::vector<double> defaultChannelWeights(int channels);
/// Names of that layout, space separated: "L R C LFE Ls Rs".
std::string defaultChannelLayout(int channels);

/// Setup options of a LoudnessMeter.
struct LoudnessOptions {
    int truePeakOversampling = 4;       ///< 4 (BS.1770-5 Annex 2 filter) or 8 (our 8x interpolator)
    std::vector<double> channelWeights; ///< G_i per channel; empty = defaultChannelWeights(channels)
    /// For a whole stream measured off line (renders): the K-weighting runs in 8 lanes along
    /// time, each a stretch of 0.4 s started from rest 0.2 s before it (the filters' memory of
    /// the state it lacks is below 1e-18 of it by then), about 3x less work than one lane per
    /// channel. The lanes are cut at fixed frames of the stream, so the readings still do not
    /// depend on how the stream is split into calls, and they agree with the sequential meter's
    /// to the last bits of a double. The samples wait for their lanes in batches of 3.2 s (1.3 MiB
    /// for stereo at 48 kHz; 8 MiB at most, else the meter runs as without this option, as it
    /// does where fs/10 is not a whole number of frames), and the work comes in one burst per
    /// batch: for a thread fed in large chunks, not for small blocks in a short queue. The
    /// loudness readers (momentary to max short-term) bring the readings up to the frames
    /// processed, computing the batch so far (read at the end, not after every block);
    /// snapshot() lags by up to a batch.
    bool offline = false;
    /// When set, called with every completed 100 ms step: its index (0 = the first since the last
    /// reset) and its energy, sum_i G_i sum_n z_i[n]^2 over the step's K-weighted samples, once
    /// each and in order, on the thread that processes. It runs inside process(), which keeps
    /// its promises (no allocation, lock or throw) only if the tap does. (render --target keeps
    /// the steps its probe would measure: ProbeReference, host/cli/Target.h.)
    void (*stepTap)(void* context, std::int64_t step, double energy) noexcept = nullptr;
    void* stepTapContext = nullptr; ///< the tap's first argument
};

/// Readings published for other threads (live status lines). Levels as in LoudnessMeter.
struct LoudnessSnapshot {
    double momentaryLufs = kSilentLevel;    ///< LUFS, 400 ms window
    double shortTermLufs = kSilentLevel;    ///< LUFS, 3 s window
    double integratedLufs = kSilentLevel;   ///< LUFS, gated, since reset
    double loudnessRangeLu = 0;             ///< LU, since reset
    double maxMomentaryLufs = kSilentLevel; ///< LUFS, since reset
    double maxShortTermLufs = kSilentLevel; ///< LUFS, since reset
    double truePeakDbtp = kSilentLevel;     ///< dBTP, all channels, since reset
    double samplePeakDbfs = kSilentLevel;   ///< dBFS, all channels, since reset
    std::int64_t frames = 0;                ///< frames measured when these were published
};

/// A BS.1770-5 / EBU R 128 meter for one multichannel stream.
class LoudnessMeter {
public:
    LoudnessMeter();
    ~LoudnessMeter();
    LoudnessMeter(LoudnessMeter&&) noexcept;
    LoudnessMeter& operator=(LoudnessMeter&&) noexcept;

    /// Allocates everything for `channels` (1..kLoudnessMaxChannels) at `sampleRate` Hz
    /// (8 kHz .. 768 kHz) and resets. Returns "" or an error message.
    std::string prepare(double sampleRate, int channels, const LoudnessOptions& options = {});
    /// Forgets everything measured (real-time safe).
    void reset() noexcept;
    /// Measures `frames` frames of planar[channel][frame], any frames >= 0 per call; the
    /// readings do not depend on how the stream is split into calls.
    void process(const float* const* planar, int frames) noexcept;
    /// The two halves of process(), so that two meters prepared alike can share a stream across
    /// threads: processLoudness() K-weights and gates (every reading but the peaks) and
    /// processPeaks() measures only the sample and true peaks. One meter fed both halves of the
    /// same frames (in either order) reads exactly what process() reads; two meters each fed one
    /// half read it once mergePeaks() has brought the peaks together.
    void processLoudness(const float* const* planar, int frames) noexcept;
    void processPeaks(const float* const* planar, int frames) noexcept;
    /// processPeaks() of channels [firstChannel, firstChannel + count) only (planar[] still
    /// indexed by channel): the channels' peaks are independent, so two meters can share them.
    void processPeaks(const float* const* planar, int frames, int firstChannel, int count) noexcept;
    /// Raises this meter's sample and true peaks to those of `other` (prepared with the same
    /// channels and oversampling; max is exact, so the result does not depend on the order) and
    /// publishes. Not while either meter is processing.
    void mergePeaks(const LoudnessMeter& other) noexcept;

    double sampleRate() const noexcept;            ///< Hz, as prepared
    int channels() const noexcept;                 ///< as prepared
    int truePeakOversampling() const noexcept;     ///< 4 or 8
    std::int64_t framesProcessed() const noexcept; ///< frames since reset

    /// LUFS of the last 400 ms, as of the last completed 100 ms step.
    double momentaryLufs() const noexcept;
    /// LUFS of the last 3 s, as of the last completed 100 ms step.
    double shortTermLufs() const noexcept;
    /// Gated (integrated) loudness since reset, LUFS; kSilentLevel if no block passes the gates.
    double integratedLufs() const noexcept;
    /// Loudness range since reset, LU; 0 when fewer than two short-term values pass the gates.
    double loudnessRangeLu() const noexcept;
    /// Largest momentary loudness since reset, LUFS.
    double maxMomentaryLufs() const noexcept;
    /// Largest short-term loudness since reset, LUFS.
    double maxShortTermLufs() const noexcept;
    /// Largest |sample| since reset over all channels / of one channel, dBFS.
    double samplePeakDbfs() const noexcept;
    double samplePeakDbfs(int channel) const noexcept;
    /// Largest |oversampled value| (and |sample|) since reset over all channels / of one, dBTP.
    double truePeakDbtp() const noexcept;
    double truePeakDbtp(int channel) const noexcept;
    /// Peak-to-loudness ratio: truePeakDbtp() - integratedLufs(), dB; kSilentLevel if either
    /// is kSilentLevel.
    double plrDb() const noexcept;

    /// The readings last published by process() (at each completed 100 ms step and at the end
    /// of each call), consistent with each other. Any thread, lock-free, never blocks process().
    LoudnessSnapshot snapshot() const noexcept;

private:
    /// LoudnessOptions::offline: ends the steps the frames processed complete (the readers call it).
    void settle() const noexcept;

    struct State;
    std::unique_ptr<State> state_;
};

/// The meter's K-weighting (LoudnessMeter runs one), also on its own for measurements the meter
/// does not make (--target's probe: 100 ms steps of short segments, the filters restarted at
/// each): filters each channel
/// from rest and adds every filtered sample's square to that channel's running sum, in frame
/// order (so the sums do not depend on how the frames are cut into calls), with the meter's
/// vector kernel. process() and takeSums() never allocate, lock or throw.
class KWeightingFilter {
public:
    KWeightingFilter();
    ~KWeightingFilter();
    KWeightingFilter(KWeightingFilter&&) noexcept;
    KWeightingFilter& operator=(KWeightingFilter&&) noexcept;
    /// 1..kLoudnessMaxChannels channels at 8 .. 768 kHz; returns "" or the reason.
    std::string prepare(double sampleRate, int channels);
    /// The filters back at rest, the sums 0.
    void reset() noexcept;
    /// Filters frames [offset, offset + frames) of planar[0 .. channels) and adds each filtered
    /// sample's square to its channel's sum.
    void process(const float* const* planar, int offset, int frames) noexcept;
    /// sums[channel] = the channel's sum since the last takeSums() or reset(); the sums start
    /// again from 0 (the filters keep running).
    void takeSums(double* sums) noexcept;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace sg
