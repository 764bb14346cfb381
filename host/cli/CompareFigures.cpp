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
    for (int b = 0; b < octave::kBandCount; ++b)
        bands_[std::size_t(b)].count = octave::bandSections(b, sampleRate, bands_[std::size_t(b)].sections.data());
    harsh_.count = 0;
    biquad::designSections(biquad::Shape::Highpass, 3, kHarshLowHz, 0.7071, 0, sampleRate, harsh_.sections.data());
    harsh_.count = 3;
    if (kHarshHighHz < 0.45 * sampleRate) {
        biquad::designSections(biquad::Shape::Lowpass, 3, kHarshHighHz, 0.7071, 0, sampleRate, harsh_.sections.data() + 3);
        harsh_.count = 6;
    }
    biquad::designSections(biquad::Shape::Lowpass, 3, kLowEndHz, 0.7071, 0, sampleRate, low_.sections.data());
    low_.count = 3;
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

double SignalAnalyzer::runFilter(const Filter& filter, std::array<State, octave::kMaxSections>& state, double x) const {
    double y = x;
    for (int s = 0; s < filter.count; ++s) {
        const Section& c = filter.sections[std::size_t(s)];
        auto& z = state[std::size_t(s)].z;
        const double out = c[0] * y + z[0];
        z[0] = (c[1] * y + z[1]) - c[3] * out;
        z[1] = c[2] * y - c[4] * out;
        y = out;
    }
    return y;
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
        auto& state = states_[std::size_t(c)];
        double total = 0;
        for (int n = 0; n < frames; ++n) {
            total += double(x[n]) * x[n];
            peak_ = std::max(peak_, double(std::fabs(x[n])));
        }
        totalEnergy_ += total;
        for (int b = 0; b < octave::kBandCount; ++b) {
            double energy = 0;
            for (int n = 0; n < frames; ++n) {
                const double y = runFilter(bands_[std::size_t(b)], state[std::size_t(b)], x[n]);
                energy += y * y;
            }
            bandEnergy_[std::size_t(b)] += energy;
        }
        double harsh = 0;
        for (int n = 0; n < frames; ++n) {
            const double y = runFilter(harsh_, state[kHarshIndex], x[n]);
            harsh += y * y;
        }
        harshEnergy_ += harsh;
        float* low = lowBuffer_.channel(c);
        for (int n = 0; n < frames; ++n) low[n] = float(runFilter(low_, state[kLowIndex], x[n]));
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
