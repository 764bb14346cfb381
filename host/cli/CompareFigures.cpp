#include "host/cli/CompareFigures.h"

#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cmath>
#include <limits>

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

} // namespace

std::string bandKey(int band) { return std::string("band_") + octave::bandName(band) + "_db"; }

std::string bandLabel(int band) {
    static const char* const kLabels[octave::kBandCount] = {"31.5 Hz", "63 Hz", "125 Hz", "250 Hz", "500 Hz",
                                                            "1 kHz",   "2 kHz", "4 kHz",  "8 kHz",  "16 kHz"};
    return kLabels[band];
}

std::string SignalAnalyzer::prepare(double sampleRate, int channels, int truePeakOversampling, bool keepSeries) {
    LoudnessOptions options;
    options.truePeakOversampling = truePeakOversampling;
    if (std::string error = meter_.prepare(sampleRate, channels, options); !error.empty()) return error;
    if (std::string error = lowMeter_.prepare(sampleRate, channels); !error.empty()) return error;
    sampleRate_ = sampleRate;
    channels_ = channels;
    keepSeries_ = keepSeries;
    std::array<std::array<double, 5>, kSections> sections{};
    for (int b = 0; b < octave::kBandCount; ++b)
        setFilter(b, sections.data(), octave::bandSections(b, sampleRate, sections.data()));
    biquad::designSections(biquad::Shape::Highpass, 3, kHarshLowHz, 0.7071, 0, sampleRate, sections.data());
    int harshCount = 3;
    if (kHarshHighHz < 0.45 * sampleRate) {
        biquad::designSections(biquad::Shape::Lowpass, 3, kHarshHighHz, 0.7071, 0, sampleRate, sections.data() + 3);
        harshCount = 6;
    }
    setFilter(kHarshIndex, sections.data(), harshCount);
    biquad::designSections(biquad::Shape::Lowpass, 3, kLowEndHz, 0.7071, 0, sampleRate, sections.data());
    setFilter(kLowIndex, sections.data(), 3);
    states_.assign(std::size_t(channels), {});
    bandEnergy_.fill(0);
    harshEnergy_ = totalEnergy_ = peak_ = 0;
    frames_ = 0;
    stepFrames_ = std::max(1, int(std::lround(kSeriesStepS * sampleRate)));
    inStep_ = 0;
    stepMin_ = stepMax_ = 0;
    lowShortTerm_.clear();
    lowBuffer_ = AudioBuffer(channels, stepFrames_);
    lowPointers_.assign(std::size_t(channels), nullptr);
    windowFrames_ = std::max(1, int(std::lround(kCorrelationWindowS * sampleRate)));
    inWindow_ = 0;
    windowLL_ = windowRR_ = windowLR_ = 0;
    correlationSum_ = 0;
    correlationMin_ = 2;
    correlationWindows_ = 0;
    series_ = SignalSeries{};
    return {};
}

void SignalAnalyzer::setFilter(int filter, const std::array<double, 5>* sections, int count) {
    const auto f = std::size_t(filter);
    for (int s = 0; s < kSections; ++s) {
        const auto i = std::size_t(s);
        if (s < count) {
            bank_.b0[i][f] = sections[i][0], bank_.b1[i][f] = sections[i][1], bank_.b2[i][f] = sections[i][2];
            bank_.a1[i][f] = sections[i][3], bank_.a2[i][f] = sections[i][4];
        } else { // identity: y = x, and the state stays zero
            bank_.b0[i][f] = 1, bank_.b1[i][f] = bank_.b2[i][f] = bank_.a1[i][f] = bank_.a2[i][f] = 0;
        }
    }
}

void SignalAnalyzer::process(const ConstAudioView& view) {
    std::vector<const float*> pointers(std::size_t(view.channels));
    for (int c = 0; c < view.channels; ++c) pointers[std::size_t(c)] = view.channel(c);
    process(pointers.data(), view.frames);
}

void SignalAnalyzer::process(const float* const* planar, int frames) {
    // In pieces that end on 100 ms steps, so the series and the low-end short-term loudness are
    // read exactly at each step.
    for (int done = 0; done < frames;) {
        const int piece = std::min(frames - done, stepFrames_ - inStep_);
        processStep(planar, done, piece);
        done += piece;
        inStep_ += piece;
        if (inStep_ == stepFrames_) endStep();
    }
}

void SignalAnalyzer::processStep(const float* const* planar, int offset, int frames) {
    std::vector<const float*> pointers(static_cast<std::size_t>(channels_));
    for (int c = 0; c < channels_; ++c) {
        const float* x = planar[c] + offset;
        pointers[std::size_t(c)] = x;
        BankState& state = states_[std::size_t(c)];
        double total = 0;
        std::array<double, kFilters> energy{};
        float* low = lowBuffer_.channel(c);
        for (int n = 0; n < frames; ++n) {
            const double in = x[n];
            total += in * in;
            peak_ = std::max(peak_, std::fabs(in));
            // Transposed direct form II, section by section, every filter of the bank at once
            // (y = b0 v + z1; z1 = b1 v - a1 y + z2; z2 = b2 v - a2 y, as biquad::SectionState).
            std::array<double, kFilters> v;
            v.fill(in);
            for (std::size_t s = 0; s < std::size_t(kSections); ++s) {
                auto& z1 = state.z1[s];
                auto& z2 = state.z2[s];
                const auto& b0 = bank_.b0[s];
                const auto& b1 = bank_.b1[s];
                const auto& b2 = bank_.b2[s];
                const auto& a1 = bank_.a1[s];
                const auto& a2 = bank_.a2[s];
                for (std::size_t f = 0; f < std::size_t(kFilters); ++f) {
                    const double y = b0[f] * v[f] + z1[f];
                    z1[f] = (b1[f] * v[f] + z2[f]) - a1[f] * y;
                    z2[f] = b2[f] * v[f] - a2[f] * y;
                    v[f] = y;
                }
            }
            for (std::size_t f = 0; f < std::size_t(kFilters); ++f) energy[f] += v[f] * v[f];
            low[n] = float(v[std::size_t(kLowIndex)]);
        }
        totalEnergy_ += total;
        for (int b = 0; b < octave::kBandCount; ++b) bandEnergy_[std::size_t(b)] += energy[std::size_t(b)];
        harshEnergy_ += energy[std::size_t(kHarshIndex)];
        lowPointers_[std::size_t(c)] = low;
        if (keepSeries_)
            for (int n = 0; n < frames; ++n) {
                const bool first = inStep_ == 0 && n == 0 && c == 0;
                stepMin_ = first ? x[n] : std::min(stepMin_, x[n]);
                stepMax_ = first ? x[n] : std::max(stepMax_, x[n]);
            }
    }
    meter_.process(pointers.data(), frames);
    lowMeter_.process(lowPointers_.data(), frames);
    frames_ += frames;
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

void SignalAnalyzer::endStep() {
    inStep_ = 0;
    if (double(frames_) >= 3.0 * sampleRate_ - 0.5) lowShortTerm_.push_back(lowMeter_.shortTermLufs());
    if (keepSeries_) {
        series_.momentaryLufs.push_back(float(meter_.momentaryLufs()));
        series_.shortTermLufs.push_back(float(meter_.shortTermLufs()));
        series_.minSample.push_back(stepMin_);
        series_.maxSample.push_back(stepMax_);
    }
}

BalanceFigures SignalAnalyzer::balance() const {
    BalanceFigures out;
    for (int b = 0; b < octave::kBandCount; ++b)
        out.bandDb[std::size_t(b)] = totalEnergy_ > 0 && bandEnergy_[std::size_t(b)] > 0
                                         ? 10 * std::log10(bandEnergy_[std::size_t(b)] / totalEnergy_)
                                         : kNaN;
    out.harshnessDb = totalEnergy_ > 0 && harshEnergy_ > 0 ? 10 * std::log10(harshEnergy_ / totalEnergy_) : kNaN;
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
