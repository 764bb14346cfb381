#include "host/cli/CompareFigures.h"

#include "core/Simd.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/meters/BandBankKernels.h"
#include "nodes/meters/LoudnessKernels.h"
#include "nodes/utility/Kaiser.h"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <numbers>
#include <thread>

namespace sg::cli {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kHarshIndex = octave::kBandCount;
constexpr int kLowIndex = octave::kBandCount + 1;
/// Mean square under which a channel of a correlation window counts as silent (-70 dBFS RMS).
constexpr double kSilentMeanSquare = 1e-7;

/// The value at fraction `p` (0..1) of sorted `values`, linearly interpolated.
double percentile(const std::vector<double>& sorted, double p) {
    if (sorted.empty()) return kNaN;
    const double position = p * double(sorted.size() - 1);
    const auto below = std::size_t(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    return sorted[below] + (position - double(below)) * (sorted[above] - sorted[below]);
}

constexpr int kFilters = octave::kBandCount + 2;
constexpr int kMaxStages = 12;
/// The low end feeds a LoudnessMeter, which measures from 8 kHz up.
constexpr double kLowMeterMinRate = 8000;

/// The stage (rate fs / 2^stage) of a filter whose upper edge is `edgeHz` (0: none, the filter
/// reaches Nyquist): the deepest one whose rate is at least `margin` times the edge and `minRate`.
int stageOf(double edgeHz, double sampleRate, int margin, double minRate) {
    int stage = 0;
    if (edgeHz <= 0) return 0;
    while (stage + 1 < kMaxStages) {
        const double next = sampleRate / double(1 << (stage + 1));
        if (next < margin * edgeHz || next < minRate) break;
        ++stage;
    }
    return stage;
}

/// One rate's half-band decimator for one channel: its input is split into even and odd samples,
/// each array keeping the last `history` of them in front of the new ones.
struct Decimator {
    std::vector<double> even, odd;
    int history = 0;
    bool pending = false; ///< an even sample waits for its odd partner
    double held = 0;

    void allocate(int pairs, int maxInput) {
        history = 2 * pairs - 1;
        even.assign(std::size_t(history + maxInput / 2 + 2), 0.0);
        odd.assign(even.size(), 0.0);
        pending = false;
        held = 0;
    }
};

} // namespace

/// The multirate filter bank (see the header): stage k runs at fs / 2^k.
struct SignalAnalyzer::Bank {
    using Lane = BankLane;
    struct Stage {
        int factor = 1;                            ///< 2^k
        double rate = 0;                           ///< Hz
        std::vector<Lane> lanes;                   ///< channel-major
        std::vector<bandbank::LaneCascade> groups; ///< lanes in groups of kLanes
        std::vector<std::vector<double>> signal;   ///< per channel, this piece at this rate
        int frames = 0;                            ///< frames in signal
        std::vector<Decimator> decimators;         ///< per channel, to the next stage
    };
    std::vector<Stage> stages;
    int lowStage = 0;
    std::array<int, kFilters> stageOfFilter{};
    // half-band FIR: centre tap and the taps at odd distances from it
    double centre = 0.5;
    std::vector<double> taps;
    void (*cascade)(bandbank::LaneCascade&, const double* const*, int, double*, double*) noexcept = nullptr;
    void (*decimate)(const double*, const double*, int, const double*, int, double, double*) noexcept = nullptr;
    std::vector<double> out, sums;       ///< [kChunk][kLanes], [kLanes]
    std::vector<const double*> inputs;   ///< per channel, where the current chunk starts
    std::vector<std::vector<float>> low; ///< per channel: the low end of the last piece
    // The lanes at fs (all but the low end's), in float, measured by process()'s thread.
    std::vector<Lane> mainLanes;
    std::vector<bandbank::LaneCascadeFloat> mainGroups;
    void (*cascadeFloat)(bandbank::LaneCascadeFloat&, const float* const*, int, double*) noexcept = nullptr;
    std::vector<double> mainSums = std::vector<double>(bandbank::kLanes, 0.0);
    int lowFrames = 0;
    static constexpr int kChunk = 64;
};

namespace {

/// A Kaiser-windowed half-band low-pass for decimation by 2 after a filter bank whose fastest
/// filter at the next rate has its upper edge at 1 / (2 margin) of this rate: flat (1e-5) up to
/// three times that edge, 100 dB down from where aliases would land under it. Returns the taps
/// at odd distances 1, 3, 5 .. from the centre (the centre tap is 0.5), DC gain exactly 1.
std::vector<double> halfbandTaps(int margin) {
    const double attenuationDb = 100;
    const double passEdge = 3.0 / (2.0 * margin); // of the rate
    const double transition = 0.5 - 2 * passEdge;
    const double beta = kaiser::beta(attenuationDb);
    const int length = int(std::ceil((attenuationDb - 7.95) / (2.285 * 2 * std::numbers::pi * transition))) + 1;
    const int pairs = std::max(2, (length + 1 + 3) / 4); // 4 pairs - 1 taps >= length
    const int total = 4 * pairs - 1;
    const double centre = (total - 1) / 2.0;
    std::vector<double> out(static_cast<std::size_t>(pairs), 0.0);
    double sum = 0;
    for (int j = 0; j < pairs; ++j) {
        const double t = 2 * j + 1; // distance from the centre
        const double r = t / (centre + 1);
        const double window = kaiser::window(r, beta);
        out[std::size_t(j)] = 0.5 * std::sin(std::numbers::pi * t / 2) / (std::numbers::pi * t / 2) * window;
        sum += 2 * out[std::size_t(j)];
    }
    for (double& g : out) g *= 0.5 / sum; // centre 0.5 + 2 sum(g) = 1
    return out;
}

/// The lanes in groups of bandbank::kLanes, each lane's sections designed at `rate`; shorter
/// filters are padded with identity sections (y = x, state stays zero).
void buildGroups(const std::vector<SignalAnalyzer::BankLane>& lanes, double rate, std::vector<bandbank::LaneCascade>& groups) {
    std::array<std::array<double, 5>, bandbank::kSections> sections{};
    for (std::size_t i = 0; i < lanes.size(); ++i) {
        if (i % bandbank::kLanes == 0) groups.emplace_back();
        bandbank::LaneCascade& group = groups.back();
        const int lane = int(i % bandbank::kLanes);
        group.lanes = lane + 1;
        for (int l = lane; l < bandbank::kLanes; ++l) group.channel[l] = lanes[i].channel; // padding too
        const int filter = lanes[i].filter;
        int count = 0;
        if (filter < octave::kBandCount) {
            count = octave::bandSections(filter, rate, sections.data());
        } else if (filter == kHarshIndex) {
            biquad::designSections(biquad::Shape::Highpass, 3, kHarshLowHz, 0.7071, 0, rate, sections.data());
            count = 3;
            if (kHarshHighHz < 0.45 * rate) {
                biquad::designSections(biquad::Shape::Lowpass, 3, kHarshHighHz, 0.7071, 0, rate, sections.data() + 3);
                count = 6;
            }
        } else {
            biquad::designSections(biquad::Shape::Lowpass, 3, kLowEndHz, 0.7071, 0, rate, sections.data());
            count = 3;
        }
        for (int s = 0; s < bandbank::kSections; ++s)
            for (int j = 0; j < 5; ++j)
                group.coefficients[s][j][lane] = s < count ? sections[std::size_t(s)][std::size_t(j)] : (j == 0 ? 1.0 : 0.0);
    }
}

/// The same lanes for the float kernel: coefficients designed in double and rounded once; the
/// trailing sections that are identity in every lane of a group are not run (exact).
void buildFloatGroups(const std::vector<SignalAnalyzer::BankLane>& lanes, double rate,
                      std::vector<bandbank::LaneCascadeFloat>& groups) {
    std::vector<bandbank::LaneCascade> wide;
    buildGroups(lanes, rate, wide);
    for (const bandbank::LaneCascade& w : wide) {
        bandbank::LaneCascadeFloat& group = groups.emplace_back();
        group.lanes = w.lanes;
        group.sections = 1;
        for (int l = 0; l < bandbank::kLanes; ++l) group.channel[l] = float(w.channel[l]);
        for (int s = 0; s < bandbank::kSections; ++s)
            for (int j = 0; j < 5; ++j)
                for (int l = 0; l < bandbank::kLanes; ++l) {
                    const double c = w.coefficients[s][j][l];
                    group.coefficients[s][j][l] = float(c);
                    if (l < w.lanes && c != (j == 0 ? 1.0 : 0.0)) group.sections = std::max(group.sections, s + 1);
                }
    }
}

} // namespace

/// A ring of blocks copied from process() and measured by a thread of its own.
struct SignalAnalyzer::Worker {
    static constexpr int kSlots = 6;
    static constexpr int kSlotFrames = 8192;
    std::thread thread;
    std::mutex mutex;
    std::condition_variable changed;
    AudioBuffer slots[kSlots];
    int slotFrames[kSlots] = {};
    int head = 0, queued = 0; ///< next slot to fill; slots filled and not yet measured
    bool stop = false;

    /// Waits until every queued block has been measured.
    void drain() {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return queued == 0; });
    }
};

SignalAnalyzer::SignalAnalyzer() = default;
SignalAnalyzer::~SignalAnalyzer() { stopWorker(); }

void SignalAnalyzer::stopWorker() {
    if (!worker_) return;
    {
        std::lock_guard lock(worker_->mutex);
        worker_->stop = true;
    }
    worker_->changed.notify_all();
    worker_->thread.join();
    worker_.reset();
}

double SignalAnalyzer::filterRate(int filter) const {
    if (!bank_ || filter < 0 || filter >= kFilters) return 0;
    return bank_->stages[std::size_t(bank_->stageOfFilter[std::size_t(filter)])].rate;
}

void ChannelSums::prepare(int channels) {
    const SimdArch arch = detectSimdArch();
    quadSums_ = SG_SIMD_PICK(arch, quadSums);
    quadCross_ = SG_SIMD_PICK(arch, quadCross);
    channels_ = channels;
    frames_ = 0;
    sum_.assign(std::size_t(channels), std::array<double, 4>{});
    square_.assign(std::size_t(channels), std::array<double, 4>{});
    cross_ = {};
    nonFinite_ = -1;
}

namespace {
double combined(const std::array<double, 4>& c) noexcept { return (c[0] + c[1]) + (c[2] + c[3]); }

/// Adds x[n] to sum[(phase + n) mod 4] and x[n]^2 to square[(phase + n) mod 4], n in
/// [0, frames), in order of n within each chain; the whole quads through the SIMD kernel.
void addChains(ChannelSums::QuadSums quadSums, const float* x, int phase, int frames, std::array<double, 4>& sum,
               std::array<double, 4>& square) noexcept {
    int n = 0;
    for (int j = phase; n < frames && j != 0; ++n, j = (j + 1) & 3) {
        sum[std::size_t(j)] += x[n];
        square[std::size_t(j)] += double(x[n]) * x[n];
    }
    const int quads = (frames - n) / 4;
    quadSums(x + n, quads, sum.data(), square.data());
    n += 4 * quads;
    for (int j = 0; n < frames; ++n, ++j) {
        sum[std::size_t(j)] += x[n];
        square[std::size_t(j)] += double(x[n]) * x[n];
    }
}

/// The same for the products l[n] r[n].
void addCross(ChannelSums::QuadCross quadCross, const float* l, const float* r, int phase, int frames,
              std::array<double, 4>& cross) noexcept {
    int n = 0;
    for (int j = phase; n < frames && j != 0; ++n, j = (j + 1) & 3) cross[std::size_t(j)] += double(l[n]) * r[n];
    const int quads = (frames - n) / 4;
    quadCross(l + n, r + n, quads, cross.data());
    n += 4 * quads;
    for (int j = 0; n < frames; ++n, ++j) cross[std::size_t(j)] += double(l[n]) * r[n];
}
} // namespace

void ChannelSums::add(const float* const* planar, int frames) noexcept {
    if (frames <= 0) return;
    const int phase = int(frames_ & 3);
    for (int c = 0; c < channels_; ++c) {
        addChains(quadSums_, planar[c], phase, frames, sum_[std::size_t(c)], square_[std::size_t(c)]);
        if (nonFinite_ < 0 && !std::isfinite(combined(square_[std::size_t(c)]))) nonFinite_ = c;
    }
    if (channels_ == 2) addCross(quadCross_, planar[0], planar[1], phase, frames, cross_);
    frames_ += frames;
}

double ChannelSums::sum(int channel) const noexcept { return combined(sum_[std::size_t(channel)]); }
double ChannelSums::squares(int channel) const noexcept { return combined(square_[std::size_t(channel)]); }
double ChannelSums::cross() const noexcept { return combined(cross_); }

std::string bandKey(int band) { return std::string("band_") + octave::bandName(band) + "_db"; }

std::string bandLabel(int band) {
    static const char* const kLabels[octave::kBandCount] = {"31.5 Hz", "63 Hz", "125 Hz", "250 Hz", "500 Hz",
                                                            "1 kHz",   "2 kHz", "4 kHz",  "8 kHz",  "16 kHz"};
    return kLabels[band];
}

std::string SignalAnalyzer::prepare(double sampleRate, int channels, int truePeakOversampling, bool keepSeries) {
    stopWorker();
    LoudnessOptions options;
    options.truePeakOversampling = truePeakOversampling;
    if (std::string error = meter_.prepare(sampleRate, channels, options); !error.empty()) return error;
    if (std::string error = peakMeter_.prepare(sampleRate, channels, options); !error.empty()) return error;
    peakSplit_ = channels;
    sampleRate_ = sampleRate;
    channels_ = channels;
    keepSeries_ = keepSeries;
    stepFrames_ = std::max(1, int(std::lround(kSeriesStepS * sampleRate)));

    // Which rate each filter runs at. A band that reaches Nyquist (no low-pass edge under
    // 0.45 fs), and the harshness band, run at fs: their figures are the time-domain ones exactly.
    auto bank = std::make_unique<Bank>();
    const double edge = std::pow(10.0, 0.15); // octave band edges: midband * 10^(+-0.15)
    for (int b = 0; b < octave::kBandCount; ++b) {
        const double highHz = octave::midbandHz(b) * edge;
        bank->stageOfFilter[std::size_t(b)] = highHz < 0.45 * sampleRate ? stageOf(highHz, sampleRate, kBandRateMargin, 0) : 0;
    }
    bank->stageOfFilter[std::size_t(kHarshIndex)] = 0;
    bank->lowStage = stageOf(kLowEndHz, sampleRate, kBandRateMargin, kLowMeterMinRate);
    bank->stageOfFilter[std::size_t(kLowIndex)] = bank->lowStage;
    const int stageCount = 1 + *std::max_element(bank->stageOfFilter.begin(), bank->stageOfFilter.end());

    bank->taps = halfbandTaps(kBandRateMargin);
    const int pairs = int(bank->taps.size());
    const SimdArch arch = detectSimdArch();
    bank->cascade = SG_SIMD_PICK(arch, laneCascade);
    bank->decimate = SG_SIMD_PICK(arch, halfbandDecimate);
    bank->cascadeFloat = SG_SIMD_PICK(arch, laneCascadeFloat);
    bank->out.assign(std::size_t(Bank::kChunk * bandbank::kLanes), 0.0);
    bank->inputs.assign(std::size_t(channels), nullptr);
    bank->sums.assign(std::size_t(bandbank::kLanes), 0.0);
    bank->stages.resize(std::size_t(stageCount));
    for (int k = 0; k < stageCount; ++k) {
        Bank::Stage& stage = bank->stages[std::size_t(k)];
        stage.factor = 1 << k;
        stage.rate = sampleRate / stage.factor;
        const int capacity = stepFrames_ / stage.factor + 2;
        stage.signal.assign(std::size_t(channels), std::vector<double>(std::size_t(capacity), 0.0));
        if (k + 1 < stageCount) {
            stage.decimators.resize(std::size_t(channels));
            for (Decimator& d : stage.decimators) d.allocate(pairs, capacity);
        }
        std::vector<int> filters;
        for (int f = 0; f < kFilters; ++f)
            if (bank->stageOfFilter[std::size_t(f)] == k) filters.push_back(f);
        for (int c = 0; c < channels; ++c)
            for (int f : filters) stage.lanes.push_back({c, f});
        if (k == 0) {
            // The fs lanes (but the low end's, which the worker copies out) run in float on the
            // caller's thread (process()), beside the loudness meter; the worker has the rest.
            std::vector<Bank::Lane> worker;
            for (const Bank::Lane& lane : stage.lanes) (lane.filter != kLowIndex ? bank->mainLanes : worker).push_back(lane);
            stage.lanes = worker;
            buildFloatGroups(bank->mainLanes, stage.rate, bank->mainGroups);
        }
        buildGroups(stage.lanes, stage.rate, stage.groups);
    }
    const double lowRate = bank->stages[std::size_t(bank->lowStage)].rate;
    if (std::string error = lowMeter_.prepare(lowRate, channels); !error.empty()) return error;
    bank_ = std::move(bank);

    bandEnergy_.fill(0);
    mainBandEnergy_.fill(0);
    harshEnergy_ = mainHarshEnergy_ = totalEnergy_ = peak_ = 0;
    frames_ = 0;
    inStep_ = 0;
    stepMin_ = stepMax_ = 0;
    lowShortTerm_.clear();
    bank_->low.assign(std::size_t(channels),
                      std::vector<float>(std::size_t(stepFrames_ / bank_->stages[std::size_t(bank_->lowStage)].factor + 2)));
    lowPointers_.assign(std::size_t(channels), nullptr);
    lowFed_ = lowSteps_ = 0;
    lowStepEnd_ = std::llround(lowRate / 10.0);
    windowFrames_ = std::max(1, int(std::lround(kCorrelationWindowS * sampleRate)));
    inWindow_ = 0;
    windowLL_ = windowRR_ = windowLR_ = 0;
    correlationSum_ = 0;
    correlationMin_ = 2;
    correlationWindows_ = 0;
    sums_.prepare(channels);
    nonFinite_.store(false, std::memory_order_relaxed);
    series_ = SignalSeries{};
    balanceInStep_ = 0;
    if (std::thread::hardware_concurrency() >= 2) {
        // The worker also measures the true peaks of the second half of the channels: it has
        // the smaller share of the work (docs/performance-analyze.md).
        peakSplit_ = (channels + 1) / 2;
        worker_ = std::make_unique<Worker>();
        for (AudioBuffer& slot : worker_->slots) slot = AudioBuffer(channels, Worker::kSlotFrames);
        worker_->thread = std::thread([this] {
            Worker& w = *worker_;
            std::vector<const float*> pointers(static_cast<std::size_t>(channels_));
            for (int slot = 0;; slot = (slot + 1) % Worker::kSlots) {
                int frames = 0;
                {
                    std::unique_lock lock(w.mutex);
                    w.changed.wait(lock, [&] { return w.queued > 0 || w.stop; });
                    if (w.queued == 0) return;
                    frames = w.slotFrames[slot];
                }
                for (int c = 0; c < channels_; ++c) pointers[std::size_t(c)] = w.slots[slot].channel(c);
                peakMeter_.processPeaks(pointers.data(), frames, peakSplit_, channels_ - peakSplit_);
                balanceBlock(pointers.data(), frames);
                {
                    std::lock_guard lock(w.mutex);
                    --w.queued;
                }
                w.changed.notify_all();
            }
        });
    }
    return {};
}

void SignalAnalyzer::process(const ConstAudioView& view) {
    std::vector<const float*> pointers(std::size_t(view.channels));
    for (int c = 0; c < view.channels; ++c) pointers[std::size_t(c)] = view.channel(c);
    process(pointers.data(), view.frames);
}

void SignalAnalyzer::process(const float* const* planar, int frames) {
    if (worker_) {
        // The block to the worker, in slots; the loudness meter runs here meanwhile.
        Worker& w = *worker_;
        for (int done = 0; done < frames;) {
            const int n = std::min(frames - done, Worker::kSlotFrames);
            {
                std::unique_lock lock(w.mutex);
                w.changed.wait(lock, [&] { return w.queued < Worker::kSlots; });
            }
            for (int c = 0; c < channels_; ++c)
                std::memcpy(w.slots[w.head].channel(c), planar[c] + done, sizeof(float) * std::size_t(n));
            w.slotFrames[w.head] = n;
            w.head = (w.head + 1) % Worker::kSlots;
            {
                std::lock_guard lock(w.mutex);
                ++w.queued;
            }
            w.changed.notify_all();
            done += n;
        }
    } else {
        balanceBlock(planar, frames);
    }
    // In pieces that end on 100 ms steps, so the series are read exactly at each step.
    for (int done = 0; done < frames;) {
        const int piece = std::min(frames - done, stepFrames_ - inStep_);
        processStep(planar, done, piece);
        done += piece;
        inStep_ += piece;
        if (inStep_ == stepFrames_) endStep();
    }
}

void SignalAnalyzer::balanceBlock(const float* const* planar, int frames) {
    for (int done = 0; done < frames;) {
        const int piece = std::min(frames - done, stepFrames_ - balanceInStep_);
        balanceStep(planar, done, piece);
        done += piece;
        balanceInStep_ += piece;
        if (balanceInStep_ == stepFrames_) balanceInStep_ = 0;
    }
}

void SignalAnalyzer::processStep(const float* const* planar, int offset, int frames) {
    std::vector<const float*> pointers(static_cast<std::size_t>(channels_));
    for (int c = 0; c < channels_; ++c) {
        const float* x = planar[c] + offset;
        pointers[std::size_t(c)] = x;
        if (keepSeries_)
            for (int n = 0; n < frames; ++n) {
                const bool first = inStep_ == 0 && n == 0 && c == 0;
                stepMin_ = first ? x[n] : std::min(stepMin_, x[n]);
                stepMax_ = first ? x[n] : std::max(stepMax_, x[n]);
            }
    }
    meter_.processPeaks(pointers.data(), frames, 0, peakSplit_);
    meter_.processLoudness(pointers.data(), frames);
    frames_ += frames;
    Bank& bank = *bank_;
    for (std::size_t g = 0; g < bank.mainGroups.size(); ++g) {
        std::fill(bank.mainSums.begin(), bank.mainSums.end(), 0.0);
        bank.cascadeFloat(bank.mainGroups[g], pointers.data(), frames, bank.mainSums.data());
        for (int lane = 0; lane < bank.mainGroups[g].lanes; ++lane) {
            const int filter = bank.mainLanes[g * bandbank::kLanes + std::size_t(lane)].filter;
            const double energy = bank.mainSums[std::size_t(lane)];
            if (filter < octave::kBandCount)
                mainBandEnergy_[std::size_t(filter)] += energy;
            else if (filter == kHarshIndex)
                mainHarshEnergy_ += energy;
        }
    }
}

void SignalAnalyzer::balanceStep(const float* const* planar, int offset, int frames) {
    Bank& bank = *bank_;
    std::vector<const float*> pointers(static_cast<std::size_t>(channels_));
    for (int c = 0; c < channels_; ++c) {
        const float* x = planar[c] + offset;
        pointers[std::size_t(c)] = x;
        double* signal = bank.stages[0].signal[std::size_t(c)].data();
        // Four running sums and maxima (independent chains), then combined.
        double total[4] = {}, peak[4] = {peak_, peak_, peak_, peak_};
        int n = 0;
        for (; n + 4 <= frames; n += 4)
            for (int j = 0; j < 4; ++j) {
                const double in = x[n + j];
                signal[n + j] = in;
                total[j] += in * in;
                peak[j] = std::max(peak[j], std::fabs(in));
            }
        for (; n < frames; ++n) {
            const double in = x[n];
            signal[n] = in;
            total[0] += in * in;
            peak[0] = std::max(peak[0], std::fabs(in));
        }
        peak_ = std::max(std::max(peak[0], peak[1]), std::max(peak[2], peak[3]));
        totalEnergy_ += (total[0] + total[1]) + (total[2] + total[3]);
    }
    bank.stages[0].frames = frames;
    sums_.add(pointers.data(), frames);
    if (sums_.nonFiniteChannel() >= 0) nonFinite_.store(true, std::memory_order_relaxed);

    runBank(bank, 0, bandEnergy_.data(), &harshEnergy_, true);
    feedLow(bank.lowFrames);

    if (channels_ == 2) {
        const float* l = pointers[0];
        const float* r = pointers[1];
        for (int n = 0; n < frames; ++n) {
            windowLL_ += double(l[n]) * l[n];
            windowRR_ += double(r[n]) * r[n];
            windowLR_ += double(l[n]) * r[n];
            if (++inWindow_ == windowFrames_) {
                const double count = windowFrames_;
                if (windowLL_ / count > kSilentMeanSquare && windowRR_ / count > kSilentMeanSquare) {
                    const double r400 = std::clamp(windowLR_ / std::sqrt(windowLL_ * windowRR_), -1.0, 1.0);
                    correlationSum_ += r400;
                    correlationMin_ = std::min(correlationMin_, r400);
                    ++correlationWindows_;
                }
                inWindow_ = 0;
                windowLL_ = windowRR_ = windowLR_ = 0;
            }
        }
    }
}

void SignalAnalyzer::runBank(Bank& bank, int firstCounted, double* bands, double* harsh, bool feed) const {
    const int pairs = int(bank.taps.size());
    for (std::size_t k = 0; k < bank.stages.size(); ++k) {
        const bool counted = int(k) >= firstCounted;
        Bank::Stage& stage = bank.stages[k];
        // The next rate's signal: every channel through its half-band decimator.
        if (k + 1 < bank.stages.size()) {
            Bank::Stage& next = bank.stages[k + 1];
            for (int c = 0; c < channels_; ++c) {
                Decimator& d = stage.decimators[std::size_t(c)];
                const double* x = stage.signal[std::size_t(c)].data();
                const int h = d.history;
                int made = 0, i = 0;
                if (d.pending && stage.frames > 0) {
                    d.even[std::size_t(h)] = d.held;
                    d.odd[std::size_t(h)] = x[0];
                    made = 1;
                    i = 1;
                    d.pending = false;
                }
                for (; i + 1 < stage.frames; i += 2, ++made) {
                    d.even[std::size_t(h + made)] = x[i];
                    d.odd[std::size_t(h + made)] = x[i + 1];
                }
                if (i < stage.frames) {
                    d.held = x[i];
                    d.pending = true;
                }
                bank.decimate(d.even.data() + h, d.odd.data() + h, made, bank.taps.data(), pairs, bank.centre,
                              next.signal[std::size_t(c)].data());
                std::memmove(d.even.data(), d.even.data() + made, sizeof(double) * std::size_t(h));
                std::memmove(d.odd.data(), d.odd.data() + made, sizeof(double) * std::size_t(h));
                next.frames = made;
            }
        }
        // This rate's filters, in groups of lanes; the energies of one piece are summed per lane
        // in frame order and then added channel by channel (at fs, the same sums in the same
        // order as a filter run on its own).
        const bool low = feed && int(k) == bank.lowStage;
        for (std::size_t g = 0; g < stage.groups.size(); ++g) {
            bandbank::LaneCascade& group = stage.groups[g];
            const Bank::Lane* lanes = stage.lanes.data() + g * bandbank::kLanes;
            std::fill(bank.sums.begin(), bank.sums.end(), 0.0);
            const int chunk = low ? Bank::kChunk : std::max(1, stage.frames); // the low end is copied out
            for (int start = 0; start < stage.frames; start += chunk) {
                const int n = std::min(chunk, stage.frames - start);
                for (int c = 0; c < channels_; ++c) bank.inputs[std::size_t(c)] = stage.signal[std::size_t(c)].data() + start;
                bank.cascade(group, bank.inputs.data(), n, bank.sums.data(), low ? bank.out.data() : nullptr);
                if (low)
                    for (int lane = 0; lane < group.lanes; ++lane)
                        if (lanes[lane].filter == kLowIndex) {
                            float* y = bank.low[std::size_t(lanes[lane].channel)].data() + start;
                            for (int i = 0; i < n; ++i) y[i] = float(bank.out[std::size_t(i * bandbank::kLanes + lane)]);
                        }
            }
            for (int lane = 0; lane < group.lanes; ++lane) {
                const double energy = double(stage.factor) * bank.sums[std::size_t(lane)];
                const int filter = lanes[lane].filter;
                if (!counted) continue;
                if (filter < octave::kBandCount)
                    bands[filter] += energy;
                else if (filter == kHarshIndex)
                    *harsh += energy;
            }
        }
        if (low) bank.lowFrames = stage.frames;
    }
}

void SignalAnalyzer::feedLow(int frames) {
    // In pieces that end on the low meter's own 100 ms steps: its short-term loudness is taken at
    // each step from 3 s on (Tech 3342's LRA sampling).
    for (int done = 0; done < frames;) {
        const int piece = int(std::min<std::int64_t>(frames - done, lowStepEnd_ - lowFed_));
        for (int c = 0; c < channels_; ++c) lowPointers_[std::size_t(c)] = bank_->low[std::size_t(c)].data() + done;
        lowMeter_.processLoudness(lowPointers_.data(), piece); // its peaks are not read
        done += piece;
        lowFed_ += piece;
        if (lowFed_ == lowStepEnd_) {
            ++lowSteps_;
            if (lowSteps_ >= 30) lowShortTerm_.push_back(lowMeter_.shortTermLufs());
            lowStepEnd_ = std::llround(double(lowSteps_ + 1) * lowMeter_.sampleRate() / 10.0);
        }
    }
}

void SignalAnalyzer::endStep() {
    inStep_ = 0;
    if (keepSeries_) {
        series_.momentaryLufs.push_back(float(meter_.momentaryLufs()));
        series_.shortTermLufs.push_back(float(meter_.shortTermLufs()));
        series_.minSample.push_back(stepMin_);
        series_.maxSample.push_back(stepMax_);
    }
}

const LoudnessMeter& SignalAnalyzer::loudness() const {
    if (worker_) {
        worker_->drain();
        meter_.mergePeaks(peakMeter_);
    }
    return meter_;
}

const ChannelSums& SignalAnalyzer::channelSums() const {
    if (worker_) worker_->drain();
    return sums_;
}

BalanceFigures SignalAnalyzer::balance() const {
    if (worker_) worker_->drain();
    BalanceFigures out;
    // The decimators delay the slower rates by a few milliseconds: what is still in them belongs
    // to the signal measured so far. Zeros for that long through a copy of the bank bring it out
    // (the filters at fs are not delayed, and are not run).
    std::array<double, octave::kBandCount> bandEnergy = bandEnergy_;
    for (int b = 0; b < octave::kBandCount; ++b) bandEnergy[std::size_t(b)] += mainBandEnergy_[std::size_t(b)];
    double mainHarsh = mainHarshEnergy_;
    if (bank_) // the fs lanes' run in progress
        for (std::size_t g = 0; g < bank_->mainGroups.size(); ++g)
            for (int lane = 0; lane < bank_->mainGroups[g].lanes; ++lane) {
                const int filter = bank_->mainLanes[g * bandbank::kLanes + std::size_t(lane)].filter;
                const double energy = bank_->mainGroups[g].partial[lane];
                if (filter < octave::kBandCount)
                    bandEnergy[std::size_t(filter)] += energy;
                else if (filter == kHarshIndex)
                    mainHarsh += energy;
            }
    if (bank_ && bank_->stages.size() > 1 && frames_ > 0) {
        Bank flush = *bank_;
        const int factor = flush.stages.back().factor;
        const int delay = (2 * int(flush.taps.size()) - 1) * (factor - 1); // at fs
        double harsh = 0;
        for (int done = 0; done < delay + factor;) {
            const int n = std::min(stepFrames_, delay + factor - done);
            for (auto& channel : flush.stages[0].signal) std::fill_n(channel.begin(), n, 0.0);
            flush.stages[0].frames = n;
            runBank(flush, 1, bandEnergy.data(), &harsh, false);
            done += n;
        }
    }
    for (int b = 0; b < octave::kBandCount; ++b)
        out.bandDb[std::size_t(b)] = totalEnergy_ > 0 && bandEnergy[std::size_t(b)] > 0
                                         ? 10 * std::log10(bandEnergy[std::size_t(b)] / totalEnergy_)
                                         : kNaN;
    const double harshEnergy = harshEnergy_ + mainHarsh;
    out.harshnessDb = totalEnergy_ > 0 && harshEnergy > 0 ? 10 * std::log10(harshEnergy / totalEnergy_) : kNaN;
    const double rms = frames_ > 0 ? std::sqrt(totalEnergy_ / (double(frames_) * channels_)) : 0;
    out.crestFactorDb = rms > 0 && peak_ > 0 ? 20 * std::log10(peak_ / rms) : kNaN;

    // Tech 3342's gates over the low end's short-term loudness.
    std::vector<double> gated;
    for (double v : lowShortTerm_)
        if (std::isfinite(v) && v > -70) gated.push_back(v);
    out.lowEndStabilityLu = out.lowEndRangeLu = kNaN;
    if (!gated.empty()) {
        double power = 0;
        for (double v : gated) power += std::pow(10.0, v / 10);
        const double relativeGate = 10 * std::log10(power / double(gated.size())) - 20;
        std::vector<double> kept;
        for (double v : gated)
            if (v >= relativeGate) kept.push_back(v);
        double mean = 0;
        for (double v : kept) mean += v;
        mean /= double(kept.size());
        double variance = 0;
        for (double v : kept) variance += (v - mean) * (v - mean);
        out.lowEndStabilityLu = std::sqrt(variance / double(kept.size()));
        std::sort(kept.begin(), kept.end());
        out.lowEndRangeLu = percentile(kept, 0.95) - percentile(kept, 0.10);
    }
    out.correlationMean = correlationWindows_ > 0 ? correlationSum_ / correlationWindows_ : kNaN;
    out.correlationMin = correlationWindows_ > 0 ? correlationMin_ : kNaN;
    return out;
}

} // namespace sg::cli
