#include "nodes/meters/LoudnessMeter.h"
#include "core/Buffer.h"

#include "nodes/meters/TruePeakFilter.h"

#include "nodes/meters/LoudnessKernels.h"
#include "nodes/utility/Kaiser.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <numbers>
#include <vector>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace sg {

namespace {

// ---- constants ------------------------------------------------------------------------------

constexpr double kAbsoluteGateLufs = -70.0;
constexpr double kLoudnessOffsetDb = -0.691; ///< BS.1770-5 eq. (2)
constexpr double kRelativeGateDb = -10.0;    ///< integrated (BS.1770-5 §2.8)
constexpr double kRangeGateDb = -20.0;       ///< LRA (Tech 3342)
constexpr int kMomentarySteps = 4;           ///< 400 ms of 100 ms steps
constexpr int kShortTermSteps = 30;          ///< 3 s
constexpr double kBinLu = 0.01;              ///< histogram resolution
// LoudnessOptions::offline: the K-weighting's lanes along time. A lane's filters start from rest
// kLaneWarmupSteps steps (0.2 s) before its first measured frame: the RLB high-pass, the slower
// stage, forgets a state by e^-239 per second (poles at -239.4 ± 8.7j rad/s), so what the lane
// lacks of the stream's state is below 1e-18 of it by then, far under the double's precision.
constexpr int kLaneWarmupSteps = 2;
// Lanes of kLaneSteps steps (0.4 s): the warm-up costs half a lane more filtering, and a batch
// (3.2 s, 1.3 MiB for stereo at 48 kHz) stays small. Longer lanes measured no faster on a whole
// W1 --target render (this host charges for every page first touched), and a batch is a burst
// of work for the thread that meters (about 0.5 ms for eight lanes of 1.6 s, stereo).
constexpr int kLaneSteps = 4;
constexpr std::size_t kLaneBudgetFloats = std::size_t(2) << 20; ///< 8 MiB of waiting samples at most
constexpr int kBins = 8192;                                     ///< -70 .. +11.92 LUFS (louder values land in the top bin)

/// Energy (mean square, weighted) that reads `lufs`.
double energyOf(double lufs) { return std::pow(10.0, (lufs - kLoudnessOffsetDb) / 10.0); }
/// LUFS of a weighted mean square; kSilentLevel for 0.
double loudnessOf(double energy) noexcept { return energy > 0 ? kLoudnessOffsetDb + 10.0 * std::log10(energy) : kSilentLevel; }
double decibelsOf(double amplitude) noexcept { return amplitude > 0 ? 20.0 * std::log10(amplitude) : kSilentLevel; }

/// Histogram bin of a loudness >= -70 LUFS.
int binOf(double lufs) noexcept {
    const double bin = std::floor((lufs - kAbsoluteGateLufs) / kBinLu);
    return int(std::clamp(bin, 0.0, double(kBins - 1)));
}
/// Loudness at the centre of a bin.
double binCentre(int bin) noexcept { return kAbsoluteGateLufs + (bin + 0.5) * kBinLu; }

// ---- true-peak interpolators ---------------------------------------------------------------

/// Our 8x interpolator: 8 phases of kTaps8 taps from one Kaiser-windowed sinc (cutoff at the
/// input's Nyquist frequency), each phase scaled to unity gain at DC.
constexpr int kTaps8 = 16;
constexpr double kKaiserBeta8 = 6.0;
constexpr int kMaxTaps = 16;

/// [phases][taps] coefficients of the interpolator for `oversampling`.
std::vector<float> interpolatorCoefficients(int oversampling, int& taps) {
    std::vector<float> out;
    if (oversampling == 4) {
        taps = 12;
        out.resize(4 * 12);
        for (int k = 0; k < 12; ++k) {
            for (int phase = 0; phase < 4; ++phase) out[std::size_t(phase * 12 + k)] = kAnnex2Phases[phase][k];
        }
        return out;
    }
    taps = kTaps8;
    const int phases = 8, length = phases * kTaps8;
    const double centre = (length - 1) / 2.0;
    std::vector<double> h(static_cast<std::size_t>(length));
    for (int j = 0; j < length; ++j) {
        const double t = (j - centre) / phases; // in input samples
        const double sinc = t == 0 ? 1.0 : std::sin(std::numbers::pi * t) / (std::numbers::pi * t);
        const double r = (j - centre) / (centre + 0.5);
        const double window = kaiser::window(r, kKaiserBeta8);
        h[std::size_t(j)] = sinc * window;
    }
    out.resize(std::size_t(length));
    for (int p = 0; p < phases; ++p) {
        double dc = 0;
        for (int k = 0; k < kTaps8; ++k) dc += h[std::size_t(k * phases + p)];
        for (int k = 0; k < kTaps8; ++k) out[std::size_t(p * kTaps8 + k)] = float(h[std::size_t(k * phases + p)] / dc);
    }
    return out;
}

// ---- storage ----------------------------------------------------------------------------------

using AlignedDoubles = AlignedArray<double>;

/// Fenwick (binary indexed) tree over kBins bins: point add, prefix sum and k-th element in
/// O(log kBins), in fixed memory.
template <class T> class Fenwick {
public:
    void allocate() { tree_.assign(kBins + 1, T{}); }
    void clear() noexcept { std::fill(tree_.begin(), tree_.end(), T{}); }
    void add(int bin, T value) noexcept {
        for (int i = bin + 1; i <= kBins; i += i & -i) tree_[std::size_t(i)] += value;
    }
    /// Sum of bins [0, bin]; 0 for bin < 0.
    T prefix(int bin) const noexcept {
        T sum{};
        for (int i = std::min(bin, kBins - 1) + 1; i > 0; i -= i & -i) sum += tree_[std::size_t(i)];
        return sum;
    }
    /// Smallest bin whose prefix sum reaches `k` (> 0); kBins - 1 if none.
    int lowerBound(T k) const noexcept {
        int position = 0;
        for (int step = kBins; step > 0; step >>= 1) {
            const int next = position + step;
            if (next <= kBins && tree_[std::size_t(next)] < k) {
                position = next;
                k -= tree_[std::size_t(next)];
            }
        }
        return std::min(position, kBins - 1);
    }

private:
    std::vector<T> tree_;
};
static_assert((kBins & (kBins - 1)) == 0, "Fenwick::lowerBound needs a power of two");

/// Saves the floating-point control state and sets flush-to-zero / denormals-are-zero, so an
/// IIR state decaying after the music stops never runs on slow denormals.
class DenormalGuard {
public:
#if defined(__SSE2__)
    DenormalGuard() noexcept : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | 0x8040u); }
    ~DenormalGuard() { _mm_setcsr(saved_); }

private:
    unsigned saved_;
#endif
};

} // namespace

// ---- free functions -------------------------------------------------------------------------

void kWeightingStages(double sampleRate, KWeightingStage& shelf, KWeightingStage& highpass) {
    // Shelf: the bilinear transform (prewarped at f0, K = tan(pi f0 / fs)) of
    //   H(s) = (Vh s^2 + (Vb/Q) s + 1) / (s^2 + s/Q + 1),  Vh = 10^(G/20),
    // with the mid coefficient Vb = Vh^0.4996667741545416 (not quite sqrt(Vh)): the value that
    // the BS.1770 48 kHz table implies (it reproduces every coefficient to 1e-14; with sqrt(Vh)
    // b0 would be 2.6e-5 off). Same derivation as libebur128 (Kokemüller) and ffmpeg's ebur128.
    {
        const double f0 = 1681.974450955533, gainDb = 3.999843853973347, q = 0.7071752369554196;
        const double k = std::tan(std::numbers::pi * f0 / sampleRate);
        const double vh = std::pow(10.0, gainDb / 20.0);
        const double vb = std::pow(vh, 0.4996667741545416);
        const double a0 = 1.0 + k / q + k * k;
        shelf.b0 = (vh + vb * k / q + k * k) / a0;
        shelf.b1 = 2.0 * (k * k - vh) / a0;
        shelf.b2 = (vh - vb * k / q + k * k) / a0;
        shelf.a1 = 2.0 * (k * k - 1.0) / a0;
        shelf.a2 = (1.0 - k / q + k * k) / a0;
    }
    // RLB high-pass: H(s) = g s^2 / (s^2 + s/Q + 1), transformed the same way. The standard's
    // table keeps the numerator at exactly 1, -2, 1 at 48 kHz, which fixes the prototype's gain
    // g = a0(48 kHz) (+0.043 dB in the pass band, absorbed by the formula's -0.691 dB). Keeping g
    // fixed makes every rate follow the same curve: at 96 kHz the numerator is 0.9975 (1, -2, 1).
    // (libebur128 and ffmpeg keep 1, -2, 1 at every rate, so the same audio reads 0.022 LU lower
    // at 96 kHz than at 48 kHz there, and 0.004 LU higher at 44.1 kHz.)
    {
        const double f0 = 38.13547087602444, q = 0.5003270373238773;
        const auto denominator = [&](double rate) {
            const double k = std::tan(std::numbers::pi * f0 / rate);
            return 1.0 + k / q + k * k;
        };
        const double k = std::tan(std::numbers::pi * f0 / sampleRate);
        const double a0 = denominator(sampleRate);
        const double gain = denominator(48000.0) / a0;
        highpass.b0 = gain;
        highpass.b1 = -2.0 * gain;
        highpass.b2 = gain;
        highpass.a1 = 2.0 * (k * k - 1.0) / a0;
        highpass.a2 = (1.0 - k / q + k * k) / a0;
    }
}

namespace {

/// The two stages' coefficients in the kernels' order: b0 b1 b2 a1 a2 h0 h1 h2 c1 c2.
void kWeightingCoefficients(double sampleRate, double* out) {
    KWeightingStage shelf, highpass;
    kWeightingStages(sampleRate, shelf, highpass);
    const double c[10] = {shelf.b0,    shelf.b1,    shelf.b2,    shelf.a1,    shelf.a2,
                          highpass.b0, highpass.b1, highpass.b2, highpass.a1, highpass.a2};
    std::copy(std::begin(c), std::end(c), out);
}

struct LayoutEntry {
    const char* name;
    double weight;
};
constexpr double kSurroundWeight = 1.41; ///< BS.1770-5 Table 3: |elevation| < 30, 60 <= |azimuth| <= 120
const std::vector<LayoutEntry>& layoutOf(int channels) {
    static const std::vector<LayoutEntry> layouts[9] = {
        {},
        {{"M", 1}},
        {{"L", 1}, {"R", 1}},
        {{"L", 1}, {"R", 1}, {"C", 1}},
        {{"L", 1}, {"R", 1}, {"Ls", kSurroundWeight}, {"Rs", kSurroundWeight}},
        {{"L", 1}, {"R", 1}, {"C", 1}, {"Ls", kSurroundWeight}, {"Rs", kSurroundWeight}},
        {{"L", 1}, {"R", 1}, {"C", 1}, {"LFE", 0}, {"Ls", kSurroundWeight}, {"Rs", kSurroundWeight}},
        {{"L", 1}, {"R", 1}, {"C", 1}, {"Ls", kSurroundWeight}, {"Rs", kSurroundWeight}, {"Lb", 1}, {"Rb", 1}},
        {{"L", 1}, {"R", 1}, {"C", 1}, {"LFE", 0}, {"Ls", kSurroundWeight}, {"Rs", kSurroundWeight}, {"Lb", 1}, {"Rb", 1}},
    };
    return layouts[std::clamp(channels, 0, 8)];
}
} // namespace

std::vector<double> defaultChannelWeights(int channels) {
    std::vector<double> weights;
    for (const LayoutEntry& e : layoutOf(channels)) weights.push_back(e.weight);
    return weights;
}

std::string defaultChannelLayout(int channels) {
    std::string names;
    for (const LayoutEntry& e : layoutOf(channels)) {
        if (!names.empty()) names += ' ';
        names += e.name;
    }
    return names;
}

// ---- the meter ----------------------------------------------------------------------------

struct LoudnessMeter::State {
    double sampleRate = 48000;
    int channels = 0;
    int oversampling = 4;
    double weights[kLoudnessMaxChannels] = {};
    double absoluteGate = energyOf(kAbsoluteGateLufs);               ///< energy of -70 LUFS
    void (*stepTap)(void*, std::int64_t, double) noexcept = nullptr; ///< LoudnessOptions::stepTap
    void* stepTapContext = nullptr;

    // K-weighting: its per channel sums of k^2 are the current step's
    KWeightingFilter kFilter;

    // LoudnessOptions::offline: the K-weighting in loudness::kTimeLanes lanes along time. A
    // batch is kTimeLanes lanes of laneSteps steps (stepFrames each), the stream's steps in
    // order; lane l of a batch filters from rest from warmupFrames before its first step. Its
    // samples wait in laneInput, [channel][warmupFrames + batch frames]: the batch's frames
    // after the warm-up of its first lane (the previous batch's last frames, or silence).
    bool laneMode = false;
    int stepFrames = 0, laneSteps = 0, warmupFrames = 0;
    std::size_t laneChannelStride = 0; ///< floats per channel of laneInput
    int batchFilled = 0;               ///< frames of the batch received
    std::int64_t batchFirstStep = 0;   ///< index of the batch's first step
    std::vector<float> laneInput;      ///< [channels][laneChannelStride]
    std::vector<double> laneSums;      ///< [channels][laneSteps][kTimeLanes]
    double kCoefficients[10] = {};     ///< b0 b1 b2 a1 a2 h0 h1 h2 c1 c2
    void (*kLanes)(const loudness::KWeightLaneJob&) noexcept = nullptr;

    int batchFrames() const noexcept { return loudness::kTimeLanes * laneSteps * stepFrames; }

    // 100 ms steps
    std::int64_t frames = 0;                         ///< frames since reset
    std::int64_t stepsDone = 0;                      ///< completed steps
    std::int64_t stepEnd = 0;                        ///< absolute frame where the current step ends
    double stepEnergy[kShortTermSteps] = {};         ///< sum_i G_i sum_n k^2 of the last completed steps (ring)
    double momentaryEnergy = 0, shortTermEnergy = 0; ///< of the last completed step
    double maxMomentaryEnergy = 0, maxShortTermEnergy = 0;

    // integrated: absolutely gated 400 ms blocks
    Fenwick<std::uint32_t> blockCounts;
    Fenwick<double> blockEnergies;
    std::uint64_t blockCount = 0;
    double blockEnergySum = 0;
    // LRA: absolutely gated short-term values
    Fenwick<std::uint32_t> rangeCounts;
    std::uint64_t rangeCount = 0;
    double rangeEnergySum = 0;

    // peaks
    int taps = 12;
    std::vector<float> interpolator; ///< [oversampling][taps]
    void (*peak)(const float*, int, const float*, int, int, float&, float&) noexcept = nullptr;
    float history[kLoudnessMaxChannels][kMaxTaps] = {}; ///< last taps-1 samples, oldest first
    float stitch[2 * kMaxTaps] = {};
    float samplePeak[kLoudnessMaxChannels] = {};
    float truePeak[kLoudnessMaxChannels] = {};

    // published readings (seqlock)
    double integratedCached = kSilentLevel, rangeCached = 0;
    std::atomic<std::uint32_t> sequence{0};
    std::atomic<double> published[8];
    std::atomic<std::int64_t> publishedFrames{0};

    /// Frame at which step `index` (0-based) ends; for index < 0 the virtual steps before the
    /// start (silence), nominally fs/10 frames long.
    double boundary(std::int64_t index) const noexcept {
        const double exact = double(index) * sampleRate / 10.0;
        return index <= 0 ? exact : double(std::llround(exact));
    }

    void clear() noexcept {
        kFilter.reset();
        batchFilled = 0;
        batchFirstStep = 0;
        for (int c = 0; c < channels && laneMode; ++c)
            std::fill_n(laneInput.data() + std::size_t(c) * laneChannelStride, warmupFrames, 0.0f); // at rest
        frames = 0;
        stepsDone = 0;
        stepEnd = std::llround(sampleRate / 10.0);
        std::fill(std::begin(stepEnergy), std::end(stepEnergy), 0.0);
        momentaryEnergy = shortTermEnergy = maxMomentaryEnergy = maxShortTermEnergy = 0;
        blockCounts.clear();
        blockEnergies.clear();
        blockCount = 0;
        blockEnergySum = 0;
        rangeCounts.clear();
        rangeCount = 0;
        rangeEnergySum = 0;
        for (auto& h : history) std::fill(std::begin(h), std::end(h), 0.0f);
        std::fill(std::begin(samplePeak), std::end(samplePeak), 0.0f);
        std::fill(std::begin(truePeak), std::end(truePeak), 0.0f);
        integratedCached = kSilentLevel;
        rangeCached = 0;
        publish();
    }

    /// Mean energy of the window of the last `steps` steps ending with completed step `last`.
    double windowEnergy(std::int64_t last, int steps) const noexcept {
        double sum = 0;
        for (int j = 0; j < steps; ++j) {
            const std::int64_t index = last - j;
            if (index < 0) break;
            sum += stepEnergy[index % kShortTermSteps];
        }
        const double windowFrames = boundary(last + 1) - boundary(last + 1 - steps);
        return sum / windowFrames;
    }

    /// Ends the next step with its per-channel sums of k^2.
    void finishStep(const double* stepSums) noexcept {
        double weighted = 0;
        for (int c = 0; c < channels; ++c) weighted += weights[c] * stepSums[c];
        const std::int64_t index = stepsDone;
        stepEnergy[index % kShortTermSteps] = weighted;
        if (stepTap) stepTap(stepTapContext, index, weighted);
        ++stepsDone;
        stepEnd = std::llround(double(stepsDone + 1) * sampleRate / 10.0);

        momentaryEnergy = windowEnergy(index, kMomentarySteps);
        shortTermEnergy = windowEnergy(index, kShortTermSteps);
        maxMomentaryEnergy = std::max(maxMomentaryEnergy, momentaryEnergy);
        maxShortTermEnergy = std::max(maxShortTermEnergy, shortTermEnergy);
        if (stepsDone >= kMomentarySteps && momentaryEnergy > absoluteGateEnergy()) {
            const int bin = binOf(loudnessOf(momentaryEnergy));
            blockCounts.add(bin, 1);
            blockEnergies.add(bin, momentaryEnergy);
            ++blockCount;
            blockEnergySum += momentaryEnergy;
        }
        if (stepsDone >= kShortTermSteps && shortTermEnergy >= absoluteGateEnergy()) {
            rangeCounts.add(binOf(loudnessOf(shortTermEnergy)), 1);
            ++rangeCount;
            rangeEnergySum += shortTermEnergy;
        }
        integratedCached = integrated();
        rangeCached = range();
    }

    double absoluteGateEnergy() const noexcept { return absoluteGate; }

    /// Offline: runs the batch's lanes for their first `steps` steps and ends the stream's steps
    /// from stepsDone up to the batch's step `last` (exclusive): steps a settle() ended before are
    /// computed again, to the same bits, and not ended twice.
    void runLanes(int steps, int last) noexcept {
        if (last <= stepsDone - batchFirstStep) return;
        for (int c = 0; c < channels; ++c) {
            loudness::KWeightLaneJob job;
            job.coefficients = kCoefficients;
            job.x = laneInput.data() + std::size_t(c) * laneChannelStride;
            job.laneStride = laneSteps * stepFrames;
            job.warmup = warmupFrames;
            job.stepFrames = stepFrames;
            job.steps = steps;
            job.sums = laneSums.data() + std::size_t(c) * std::size_t(laneSteps) * loudness::kTimeLanes;
            kLanes(job);
        }
        for (int g = int(stepsDone - batchFirstStep); g < last; ++g) {
            double stepSums[kLoudnessMaxChannels] = {};
            const std::size_t at = std::size_t(g % laneSteps) * loudness::kTimeLanes + std::size_t(g / laneSteps);
            for (int c = 0; c < channels; ++c)
                stepSums[c] = laneSums[std::size_t(c) * std::size_t(laneSteps) * loudness::kTimeLanes + at];
            finishStep(stepSums);
        }
    }

    /// Offline: takes frames [offset, offset + frames) of planar into the batch, running each
    /// batch once it is whole.
    void takeLaneFrames(const float* const* planar, int offset, int count) noexcept {
        const int batch = batchFrames();
        while (count > 0) {
            const int n = std::min(count, batch - batchFilled);
            for (int c = 0; c < channels; ++c)
                std::memcpy(laneInput.data() + std::size_t(c) * laneChannelStride + std::size_t(warmupFrames + batchFilled),
                            planar[c] + offset, sizeof(float) * std::size_t(n));
            batchFilled += n;
            frames += n;
            offset += n;
            count -= n;
            if (batchFilled == batch) {
                runLanes(laneSteps, loudness::kTimeLanes * laneSteps);
                for (int c = 0; c < channels; ++c) { // the next batch's first warm-up
                    float* line = laneInput.data() + std::size_t(c) * laneChannelStride;
                    std::memmove(line, line + batch, sizeof(float) * std::size_t(warmupFrames));
                }
                batchFirstStep += loudness::kTimeLanes * laneSteps;
                batchFilled = 0;
            }
        }
    }

    /// Offline: ends every step the frames received so far complete (the batch's lanes that
    /// hold them, run that far; what the rest of their lanes read is never ended).
    void settle() noexcept {
        if (!laneMode) return;
        const int complete = batchFilled / stepFrames;
        if (batchFirstStep + complete <= stepsDone) return;
        DenormalGuard guard;
        runLanes(std::min(complete, laneSteps), complete);
        publish();
    }

    double integrated() const noexcept {
        if (blockCount == 0) return kSilentLevel;
        const double gateEnergy = blockEnergySum / double(blockCount) * std::pow(10.0, kRelativeGateDb / 10.0);
        const double gateLufs = loudnessOf(gateEnergy);
        double keptEnergy = blockEnergySum;
        double keptCount = double(blockCount);
        if (gateLufs >= kAbsoluteGateLufs) {
            const int gate = binOf(gateLufs);
            // Bins below the gate's bin are dropped; the gate's own bin (all its blocks within
            // 0.01 LU of the gate) is kept or dropped by its mean energy.
            const double countBelow = double(blockCounts.prefix(gate - 1));
            const double energyBelow = blockEnergies.prefix(gate - 1);
            const double countAt = double(blockCounts.prefix(gate)) - countBelow;
            const double energyAt = blockEnergies.prefix(gate) - energyBelow;
            const bool keepGateBin = countAt > 0 && energyAt / countAt > gateEnergy;
            keptCount -= countBelow + (keepGateBin ? 0 : countAt);
            keptEnergy -= energyBelow + (keepGateBin ? 0 : energyAt);
        }
        if (keptCount <= 0 || keptEnergy <= 0) return kSilentLevel;
        return loudnessOf(keptEnergy / keptCount);
    }

    double range() const noexcept {
        if (rangeCount == 0) return 0;
        const double gateLufs = loudnessOf(rangeEnergySum / double(rangeCount) * std::pow(10.0, kRangeGateDb / 10.0));
        int first = 0; // first bin kept
        if (gateLufs >= kAbsoluteGateLufs) {
            const int gate = binOf(gateLufs);
            first = binCentre(gate) >= gateLufs ? gate : gate + 1;
        }
        const std::uint32_t below = first > 0 ? rangeCounts.prefix(first - 1) : 0;
        const std::uint64_t kept = rangeCount - below;
        if (kept == 0) return 0;
        const auto rankBin = [&](double p) {
            const std::uint64_t rank = std::uint64_t(double(kept - 1) * p + 0.5); // 0-based
            return rangeCounts.lowerBound(std::uint32_t(below + rank + 1));
        };
        return binCentre(rankBin(0.95)) - binCentre(rankBin(0.10));
    }

    double truePeakAll() const noexcept {
        float m = 0;
        for (int c = 0; c < channels; ++c) m = std::max({m, truePeak[c], samplePeak[c]});
        return m;
    }
    double samplePeakAll() const noexcept {
        float m = 0;
        for (int c = 0; c < channels; ++c) m = std::max(m, samplePeak[c]);
        return m;
    }

    void publish() noexcept {
        const std::uint32_t s = sequence.load(std::memory_order_relaxed);
        sequence.store(s + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        const double values[8] = {stepsDone > 0 ? loudnessOf(momentaryEnergy) : kSilentLevel,
                                  stepsDone > 0 ? loudnessOf(shortTermEnergy) : kSilentLevel,
                                  integratedCached,
                                  rangeCached,
                                  loudnessOf(maxMomentaryEnergy),
                                  loudnessOf(maxShortTermEnergy),
                                  decibelsOf(truePeakAll()),
                                  decibelsOf(samplePeakAll())};
        for (int i = 0; i < 8; ++i) published[i].store(values[i], std::memory_order_relaxed);
        publishedFrames.store(frames, std::memory_order_relaxed);
        sequence.store(s + 2, std::memory_order_release);
    }

    void peaks(int channel, const float* x, int count) noexcept {
        const int hist = taps - 1;
        float* h = history[channel];
        // The first outputs need the previous call's last samples: stitch them in front.
        const int head = std::min(count, hist);
        std::memcpy(stitch, h, sizeof(float) * std::size_t(hist));
        std::memcpy(stitch + hist, x, sizeof(float) * std::size_t(head));
        peak(stitch + hist, head, interpolator.data(), oversampling, taps, samplePeak[channel], truePeak[channel]);
        if (count > hist)
            peak(x + hist, count - hist, interpolator.data(), oversampling, taps, samplePeak[channel], truePeak[channel]);
        if (count >= hist) {
            std::memcpy(h, x + count - hist, sizeof(float) * std::size_t(hist));
        } else {
            std::memcpy(h, stitch + count, sizeof(float) * std::size_t(hist));
        }
    }
};

struct KWeightingFilter::State {
    loudness::KWeightBank bank;
    AlignedDoubles kState, kScratch;
    void (*kWeight)(const loudness::KWeightBank&, const float* const*, int, int, double*) noexcept = nullptr;
    alignas(64) double sums[loudness::kLanePad] = {};
};

KWeightingFilter::KWeightingFilter() = default;
KWeightingFilter::~KWeightingFilter() = default;
KWeightingFilter::KWeightingFilter(KWeightingFilter&&) noexcept = default;
KWeightingFilter& KWeightingFilter::operator=(KWeightingFilter&&) noexcept = default;

std::string KWeightingFilter::prepare(double sampleRate, int channels) {
    if (!(sampleRate >= 8000 && sampleRate <= 768000))
        return "K-weighting: sample rate " + std::to_string(sampleRate) + " Hz is outside 8 kHz .. 768 kHz";
    if (channels < 1 || channels > kLoudnessMaxChannels)
        return "K-weighting: expects 1 to " + std::to_string(kLoudnessMaxChannels) + " channels, got " + std::to_string(channels);
    auto state = std::make_unique<State>();
    double coefficients[10];
    kWeightingCoefficients(sampleRate, coefficients);
    for (int i = 0; i < 10; ++i)
        for (int lane = 0; lane < loudness::kLanePad; ++lane) state->bank.coefficients[i][lane] = coefficients[i];
    state->kState.assign(std::size_t(loudness::kStateVars) * loudness::kLanePad);
    state->kScratch.assign(std::size_t(loudness::kChunkFrames) * loudness::kLanePad);
    state->bank.lanes = channels;
    state->bank.state = state->kState.data();
    state->bank.scratch = state->kScratch.data();
    state->kWeight = SG_SIMD_PICK(detectSimdArch(), kWeightedEnergy);
    state_ = std::move(state);
    return {};
}

void KWeightingFilter::reset() noexcept {
    if (!state_) return;
    state_->kState.clear();
    std::fill(std::begin(state_->sums), std::end(state_->sums), 0.0);
}

void KWeightingFilter::process(const float* const* planar, int offset, int frames) noexcept {
    if (!state_ || frames <= 0) return;
    DenormalGuard guard; // as the meter's
    state_->kWeight(state_->bank, planar, offset, frames, state_->sums);
}

void KWeightingFilter::takeSums(double* sums) noexcept {
    if (!state_) return;
    for (int c = 0; c < state_->bank.lanes; ++c) sums[c] = state_->sums[c];
    std::fill(std::begin(state_->sums), std::end(state_->sums), 0.0);
}

LoudnessMeter::LoudnessMeter() = default;
LoudnessMeter::~LoudnessMeter() = default;
LoudnessMeter::LoudnessMeter(LoudnessMeter&&) noexcept = default;
LoudnessMeter& LoudnessMeter::operator=(LoudnessMeter&&) noexcept = default;

std::string LoudnessMeter::prepare(double sampleRate, int channels, const LoudnessOptions& options) {
    if (!(sampleRate >= 8000 && sampleRate <= 768000))
        return "loudness meter: sample rate " + std::to_string(sampleRate) + " Hz is outside 8 kHz .. 768 kHz";
    if (channels < 1 || channels > kLoudnessMaxChannels)
        return "loudness meter: expects 1 to " + std::to_string(kLoudnessMaxChannels) + " channels, got " +
               std::to_string(channels);
    if (options.truePeakOversampling != 4 && options.truePeakOversampling != 8)
        return "loudness meter: true-peak oversampling must be 4 or 8, got " + std::to_string(options.truePeakOversampling);
    std::vector<double> weights = options.channelWeights.empty() ? defaultChannelWeights(channels) : options.channelWeights;
    if (int(weights.size()) != channels)
        return "loudness meter: " + std::to_string(weights.size()) + " channel weights for " + std::to_string(channels) +
               " channels";
    for (double w : weights)
        if (!(w >= 0 && std::isfinite(w))) return "loudness meter: channel weights must be finite and >= 0";

    auto state = std::make_unique<State>();
    State& s = *state;
    s.sampleRate = sampleRate;
    s.channels = channels;
    s.oversampling = options.truePeakOversampling;
    s.stepTap = options.stepTap;
    s.stepTapContext = options.stepTapContext;
    for (int c = 0; c < channels; ++c) s.weights[c] = weights[std::size_t(c)];

    if (auto error = s.kFilter.prepare(sampleRate, channels); !error.empty()) return "loudness meter: " + error;
    const SimdArch arch = detectSimdArch();
    if (options.offline && sampleRate / 10.0 == std::floor(sampleRate / 10.0)) {
        // Lanes of kLaneSteps steps, if a batch of every channel fits kLaneBudgetFloats.
        s.stepFrames = int(sampleRate / 10.0);
        s.warmupFrames = kLaneWarmupSteps * s.stepFrames;
        const std::size_t perChannel = kLaneBudgetFloats / std::size_t(channels);
        const std::size_t perLane = std::size_t(loudness::kTimeLanes) * std::size_t(s.stepFrames);
        const std::size_t fit =
            perChannel > std::size_t(s.warmupFrames) ? (perChannel - std::size_t(s.warmupFrames)) / perLane : 0;
        if (fit >= std::size_t(kLaneSteps)) { // else the sequential kernel
            s.laneSteps = kLaneSteps;
            s.laneMode = true;
            s.laneChannelStride = std::size_t(s.warmupFrames) + std::size_t(s.batchFrames());
            s.laneInput.assign(s.laneChannelStride * std::size_t(channels) + 8, 0.0f); // (the kernel reads 8 frames at a time)
            s.laneSums.assign(std::size_t(channels) * std::size_t(s.laneSteps) * loudness::kTimeLanes, 0.0);
            kWeightingCoefficients(sampleRate, s.kCoefficients);
            s.kLanes = SG_SIMD_PICK(arch, kWeightLanes);
        }
    }
    s.peak = SG_SIMD_PICK(arch, polyphasePeak);
    s.interpolator = interpolatorCoefficients(s.oversampling, s.taps);

    s.blockCounts.allocate();
    s.blockEnergies.allocate();
    s.rangeCounts.allocate();
    s.clear();
    state_ = std::move(state);
    return {};
}

void LoudnessMeter::reset() noexcept {
    if (state_) state_->clear();
}

void LoudnessMeter::process(const float* const* planar, int frames) noexcept {
    processPeaks(planar, frames);
    processLoudness(planar, frames);
}

void LoudnessMeter::processPeaks(const float* const* planar, int frames) noexcept {
    if (state_) processPeaks(planar, frames, 0, state_->channels);
}

void LoudnessMeter::processPeaks(const float* const* planar, int frames, int firstChannel, int count) noexcept {
    if (!state_ || frames <= 0) return;
    State& s = *state_;
    DenormalGuard guard; // as the K-weighting: denormal samples read as zero in both halves
    const int end = std::min(s.channels, firstChannel + count);
    for (int c = std::max(0, firstChannel); c < end; ++c) s.peaks(c, planar[c], frames);
}

void LoudnessMeter::mergePeaks(const LoudnessMeter& other) noexcept {
    if (!state_ || !other.state_) return;
    State& s = *state_;
    const State& o = *other.state_;
    for (int c = 0; c < std::min(s.channels, o.channels); ++c) {
        s.samplePeak[c] = std::max(s.samplePeak[c], o.samplePeak[c]);
        s.truePeak[c] = std::max(s.truePeak[c], o.truePeak[c]);
    }
    s.publish();
}

void LoudnessMeter::processLoudness(const float* const* planar, int frames) noexcept {
    if (!state_ || frames <= 0) return;
    State& s = *state_;
    DenormalGuard guard;
    if (s.laneMode) {
        s.takeLaneFrames(planar, 0, frames);
        s.publish();
        return;
    }
    for (int offset = 0; offset < frames;) {
        const int n = int(std::min<std::int64_t>(frames - offset, s.stepEnd - s.frames));
        s.kFilter.process(planar, offset, n);
        offset += n;
        s.frames += n;
        if (s.frames == s.stepEnd) {
            double stepSums[kLoudnessMaxChannels] = {};
            s.kFilter.takeSums(stepSums);
            s.finishStep(stepSums);
            s.publish();
        }
    }
    s.publish();
}

void LoudnessMeter::settle() const noexcept {
    if (state_) state_->settle();
}

double LoudnessMeter::sampleRate() const noexcept { return state_ ? state_->sampleRate : 0; }
int LoudnessMeter::channels() const noexcept { return state_ ? state_->channels : 0; }
int LoudnessMeter::truePeakOversampling() const noexcept { return state_ ? state_->oversampling : 0; }
std::int64_t LoudnessMeter::framesProcessed() const noexcept { return state_ ? state_->frames : 0; }

double LoudnessMeter::momentaryLufs() const noexcept {
    settle();
    return state_ && state_->stepsDone > 0 ? loudnessOf(state_->momentaryEnergy) : kSilentLevel;
}
double LoudnessMeter::shortTermLufs() const noexcept {
    settle();
    return state_ && state_->stepsDone > 0 ? loudnessOf(state_->shortTermEnergy) : kSilentLevel;
}
double LoudnessMeter::integratedLufs() const noexcept {
    settle();
    return state_ ? state_->integratedCached : kSilentLevel;
}
double LoudnessMeter::loudnessRangeLu() const noexcept {
    settle();
    return state_ ? state_->rangeCached : 0;
}
double LoudnessMeter::maxMomentaryLufs() const noexcept {
    settle();
    return state_ ? loudnessOf(state_->maxMomentaryEnergy) : kSilentLevel;
}
double LoudnessMeter::maxShortTermLufs() const noexcept {
    settle();
    return state_ ? loudnessOf(state_->maxShortTermEnergy) : kSilentLevel;
}
double LoudnessMeter::samplePeakDbfs() const noexcept { return state_ ? decibelsOf(state_->samplePeakAll()) : kSilentLevel; }
double LoudnessMeter::samplePeakDbfs(int channel) const noexcept {
    if (!state_ || channel < 0 || channel >= state_->channels) return kSilentLevel;
    return decibelsOf(state_->samplePeak[channel]);
}
double LoudnessMeter::truePeakDbtp() const noexcept { return state_ ? decibelsOf(state_->truePeakAll()) : kSilentLevel; }
double LoudnessMeter::truePeakDbtp(int channel) const noexcept {
    if (!state_ || channel < 0 || channel >= state_->channels) return kSilentLevel;
    return decibelsOf(std::max(state_->truePeak[channel], state_->samplePeak[channel]));
}
double LoudnessMeter::plrDb() const noexcept {
    const double peak = truePeakDbtp(), loudness = integratedLufs();
    if (peak == kSilentLevel || loudness == kSilentLevel) return kSilentLevel;
    return peak - loudness;
}

LoudnessSnapshot LoudnessMeter::snapshot() const noexcept {
    LoudnessSnapshot out;
    if (!state_) return out;
    const State& s = *state_;
    double v[8];
    std::int64_t frames = 0;
    for (;;) {
        const std::uint32_t before = s.sequence.load(std::memory_order_acquire);
        if (before & 1u) continue; // a publish is in progress (it takes nanoseconds)
        for (int i = 0; i < 8; ++i) v[i] = s.published[i].load(std::memory_order_relaxed);
        frames = s.publishedFrames.load(std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_acquire);
        if (s.sequence.load(std::memory_order_relaxed) == before) break;
    }
    out.momentaryLufs = v[0];
    out.shortTermLufs = v[1];
    out.integratedLufs = v[2];
    out.loudnessRangeLu = v[3];
    out.maxMomentaryLufs = v[4];
    out.maxShortTermLufs = v[5];
    out.truePeakDbtp = v[6];
    out.samplePeakDbfs = v[7];
    out.frames = frames;
    return out;
}

} // namespace sg
