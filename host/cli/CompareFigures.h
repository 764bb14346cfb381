// The balance figures of one stream, shared by `analyze` and `compare` (docs/compare.md):
// octave-band balance, harshness, low-end stability, stereo correlation over 400 ms windows,
// crest factor, and (for --html) the loudness and waveform over time.
//
//   band_<name>_db         10 log10(E_band / E_total): the energy of each octave band
//                          (31.5 Hz .. 16 kHz, the filters of the `bands` node,
//                          nodes/meters/BandMeter.h) relative to the whole, channels summed
//   harshness_db           10 log10(E_harsh / E_total), E_harsh through a 6th-order Butterworth
//                          high-pass at 2 kHz and low-pass at 8 kHz
//   low_end_stability_lu   standard deviation (LU) of the short-term loudness (3 s, a value every
//                          100 ms from 3 s on) of the signal low-passed at 120 Hz (6th-order
//                          Butterworth), over the values that pass EBU Tech 3342's gates
//                          (-70 LUFS absolute, 20 LU under their power mean)
//   low_end_range_lu       95th minus 10th percentile of the same values (Tech 3342's LRA of
//                          the low end)
//   correlation_mean       mean over 400 ms windows of sum(LR) / sqrt(sum(L^2) sum(R^2)),
//   correlation_min        and the smallest; windows where a channel is under -70 dBFS RMS are
//                          skipped (stereo only)
// The band filters run as a multirate bank: each at the lowest rate fs / 2^k that is at least
// kBandRateMargin (32) times its upper edge, after half-band FIR decimators (flat to 2e-4 dB,
// 92 dB stopband); bands reaching Nyquist, the bands down to 1 kHz at 44.1/48 kHz and the
// harshness band run at fs. Against every filter at fs the band figures agree within 0.02 dB
// where a band holds 10 % of the energy, 0.25 dB where it holds 1 % (tests/host/
// test_band_balance.cpp, docs/performance-analyze.md); the low end's loudness is measured at the
// low-pass's own rate (>= 8 kHz).
// Every figure is NaN when there is nothing to measure (silence, mono for correlation).
// Streaming: memory does not grow with the input, except the 100 ms series kept for --html.
#pragma once

#include "core/Buffer.h"
#include "nodes/meters/BandMeter.h"
#include "nodes/meters/LoudnessMeter.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sg::cli {

inline constexpr double kHarshLowHz = 2000;        ///< harshness band, lower edge
inline constexpr double kHarshHighHz = 8000;       ///< harshness band, upper edge
inline constexpr double kLowEndHz = 120;           ///< low-end stability: low-pass corner
inline constexpr double kCorrelationWindowS = 0.4; ///< correlation windows, seconds
inline constexpr double kSeriesStepS = 0.1;        ///< one series value per this many seconds

/// What SignalAnalyzer measures besides the loudness meter's figures.
struct BalanceFigures {
    std::array<double, octave::kBandCount> bandDb{}; ///< dB re the whole, per octave band
    double harshnessDb = 0;                          ///< dB re the whole
    double lowEndStabilityLu = 0;                    ///< LU, standard deviation
    double lowEndRangeLu = 0;                        ///< LU, 95th - 10th percentile
    double correlationMean = 0;                      ///< -1 .. 1, mean over 400 ms windows
    double correlationMin = 0;                       ///< -1 .. 1, smallest 400 ms window
    double crestFactorDb = 0;                        ///< dB, sample peak / RMS of all samples
};

/// Time series, one value per kSeriesStepS (for plots).
struct SignalSeries {
    std::vector<float> momentaryLufs; ///< LUFS (-inf: silent)
    std::vector<float> shortTermLufs; ///< LUFS
    std::vector<float> minSample;     ///< smallest sample of the step, all channels
    std::vector<float> maxSample;     ///< largest sample of the step, all channels
};

/// Per-channel sums over a whole stream of x, x^2 and (stereo) x_L x_R: the DC offset, RMS and
/// stereo correlation of `analyze`. Each sum runs in four chains, frame n of the stream in chain
/// n mod 4 (independent chains: the adds are not one latency-bound chain), combined only when
/// read, so the totals do not depend on how the stream is cut into calls: the full analysis and
/// the loudness-only one, which cut it differently, get the same bits (and every SIMD
/// architecture: the chains are lanes of the same adds).
class ChannelSums {
public:
    void prepare(int channels); ///< allocates, zeroes
    /// Adds frames of planar[channel][frame]. Never allocates.
    void add(const float* const* planar, int frames) noexcept;
    double sum(int channel) const noexcept;     ///< sum of x
    double squares(int channel) const noexcept; ///< sum of x^2
    double cross() const noexcept;              ///< sum of x_0 x_1 (2 channels; else 0)
    /// The lowest channel whose sums stopped being finite in the first add() where any did
    /// (non-finite samples), -1 if none.
    int nonFiniteChannel() const noexcept { return nonFinite_; }

    using QuadSums = void (*)(const float*, int, double*, double*) noexcept;
    using QuadCross = void (*)(const float*, const float*, int, double*) noexcept;

private:
    QuadSums quadSums_ = nullptr; ///< nodes/meters/LoudnessKernels.h, for this CPU
    QuadCross quadCross_ = nullptr;
    int channels_ = 0;
    std::int64_t frames_ = 0;
    std::vector<std::array<double, 4>> sum_, square_;
    std::array<double, 4> cross_{};
    int nonFinite_ = -1;
};

/// The JSON key of octave band `band`: "band_31_5hz_db".
std::string bandKey(int band);
/// A label for octave band `band`: "31.5 Hz", "1 kHz".
std::string bandLabel(int band);

/// Streams one signal through the loudness meter and the balance filters. With two or more
/// cores, the balance figures, the per-channel sums and the true peaks of the second half of the
/// channels are measured on a thread of their own (process() copies the block to it and measures
/// loudness, the fs-rate bands and the other peaks meanwhile); the figures are the same either
/// way.
class SignalAnalyzer {
public:
    /// A band whose upper edge is f Hz is filtered at the lowest rate fs / 2^k that is at least
    /// this many times f (bands reaching Nyquist and the harshness band: at fs).
    static constexpr int kBandRateMargin = 32;

    SignalAnalyzer();
    ~SignalAnalyzer();
    SignalAnalyzer(const SignalAnalyzer&) = delete;
    SignalAnalyzer& operator=(const SignalAnalyzer&) = delete;

    /// Allocates for `channels` (1..8) at `sampleRate`. `keepSeries`: record SignalSeries.
    /// Returns "" or an error.
    std::string prepare(double sampleRate, int channels, int truePeakOversampling = 4, bool keepSeries = false);
    /// Measures the next frames of planar[channel][frame].
    void process(const float* const* planar, int frames);
    /// Same, from a view.
    void process(const ConstAudioView& view);

    /// The figures of BS.1770-5 (waits for the worker, which measures some channels' peaks).
    const LoudnessMeter& loudness() const;
    /// The per-channel sums of everything processed (measured beside the bank, on the worker
    /// when there is one; waits for it).
    const ChannelSums& channelSums() const;
    /// True once the sums have met non-finite samples (without waiting for the worker: may
    /// turn true a few blocks late), so a caller can stop reading.
    bool sawNonFinite() const noexcept { return nonFinite_.load(std::memory_order_relaxed); }
    BalanceFigures balance() const;                        ///< as of now (waits for the worker)
    const SignalSeries& series() const { return series_; } ///< empty unless keepSeries
    /// The rate (Hz) at which octave band `filter` (0..9), the harshness band (10) or the
    /// low-end low-pass (11) is filtered; 0 before prepare().
    double filterRate(int filter) const;

    /// One lane of the bank: a filter (band 0..9, harshness 10, low end 11) of one channel.
    struct BankLane {
        int channel = 0, filter = 0;
    };

private:
    /// The 10 octave bands, the harshness band and the low-end low-pass as a multirate bank
    /// (CompareFigures.cpp): the signal is halved in rate by half-band FIRs from one rate to the
    /// next, and the filters of one rate run side by side in SIMD lanes.
    struct Bank;
    /// The thread that measures the balance figures beside the caller's loudness meter.
    struct Worker;

    void processStep(const float* const* planar, int offset, int frames);
    void endStep();
    /// The balance figures of frames of planar[channel][frame], in pieces ending on 100 ms steps.
    void balanceBlock(const float* const* planar, int frames);
    void balanceStep(const float* const* planar, int offset, int frames);
    /// The bank over the piece in its stage 0 signal: adds the energies of the stages from
    /// `firstCounted` on to bands[] and *harsh; `feed`: the low end to lowMeter_.
    void runBank(Bank& bank, int firstCounted, double* bands, double* harsh, bool feed) const;
    void feedLow(int frames);
    void stopWorker();

    double sampleRate_ = 0;
    int channels_ = 0;
    bool keepSeries_ = false;
    mutable LoudnessMeter meter_; ///< loudness() merges the worker's peaks into it
    LoudnessMeter lowMeter_;
    LoudnessMeter peakMeter_; ///< the worker's: peaks of channels [peakSplit_, channels_)
    int peakSplit_ = 0;       ///< process()'s thread measures the peaks of channels [0, peakSplit_)
    std::unique_ptr<Bank> bank_;
    std::unique_ptr<Worker> worker_; ///< null: the balance figures are measured in process()
    int balanceInStep_ = 0;          ///< frames of the current 100 ms step, balance side
    std::array<double, octave::kBandCount> bandEnergy_{};
    double harshEnergy_ = 0, totalEnergy_ = 0, peak_ = 0;
    ChannelSums sums_;
    std::atomic<bool> nonFinite_{false};                      ///< sums_ met non-finite samples
    std::array<double, octave::kBandCount> mainBandEnergy_{}; ///< the lanes measured by process()
    double mainHarshEnergy_ = 0;
    std::int64_t frames_ = 0;
    int stepFrames_ = 0, inStep_ = 0;
    float stepMin_ = 0, stepMax_ = 0;
    std::vector<double> lowShortTerm_; ///< LUFS every 100 ms from 3 s on

    std::vector<const float*> lowPointers_;
    std::int64_t lowFed_ = 0, lowStepEnd_ = 0; ///< frames given to lowMeter_, end of its current step
    std::int64_t lowSteps_ = 0;                ///< lowMeter_'s completed 100 ms steps
    // 400 ms correlation windows
    int windowFrames_ = 0, inWindow_ = 0;
    double windowLL_ = 0, windowRR_ = 0, windowLR_ = 0;
    double correlationSum_ = 0, correlationMin_ = 2;
    int correlationWindows_ = 0;
    SignalSeries series_;
};

} // namespace sg::cli
