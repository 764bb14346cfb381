#include "nodes/meters/BandMeter.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/filters/BiquadDesign.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace sg {

namespace {

constexpr int kBands = 10;
constexpr int kMaxSections = 6; ///< 3 high-pass + 3 low-pass
constexpr int kMaxChannels = 8;
/// Nominal names of the octave bands (IEC 61260-1 Annex E), as used in the measurement keys.
constexpr std::array<const char*, kBands> kBandNames{"31_5hz", "63hz", "125hz", "250hz", "500hz",
                                                     "1khz",   "2khz", "4khz",  "8khz",  "16khz"};

/// Exact midband frequency of octave band b (0 = 31.5 Hz), IEC 61260-1 base-10 system.
double midbandHz(int band) { return 1000.0 * std::pow(10.0, 0.3 * (band - 5)); }

struct BandMeterDecl {
    NodeDecl decl{"bands", "meters"};
    BandMeterDecl() {
        decl.describe("Passes its input through unchanged and measures the energy in each octave band, 31.5 Hz to "
                      "16 kHz, relative to the whole.")
            .input("in", "signal to measure, 1 to 8 channels")
            .output("out", "the input, unchanged (zero latency)")
            .channelRule("out has the channels of in (1 to 8)")
            .batchable()
            .inPlace()
            .reference("IEC 61260-1:2014 octave bands, base 10: f_m = 1000 * 10^(3k/10), k = -5..4, edges f_m "
                       "10^(-+3/20). Band filter: 6th-order Butterworth high-pass at the lower edge times 6th-order "
                       "Butterworth low-pass at the upper edge (RBJ sections; an edge >= 0.45 fs is omitted). "
                       "Reports band_31_5hz_db .. band_16khz_db = 10 log10(E_band/E_total) and total_db = mean "
                       "square per channel in dB re full scale, over the whole render, channels summed.");
    }
};

/// The sections of band `band` at `sampleRate`: high-pass then low-pass; returns how many.
int bandSections(int band, double sampleRate, biquad::Section* out) {
    const double edge = std::pow(10.0, 0.15); // G^(1/2)
    const double lowHz = midbandHz(band) / edge, highHz = midbandHz(band) * edge;
    int count = 0;
    if (lowHz < 0.45 * sampleRate) {
        biquad::designSections(biquad::Shape::Highpass, 3, lowHz, 0.7071, 0, sampleRate, out + count);
        count += 3;
    }
    if (highHz < 0.45 * sampleRate) {
        biquad::designSections(biquad::Shape::Lowpass, 3, highHz, 0.7071, 0, sampleRate, out + count);
        count += 3;
    }
    return count;
}

class BandMeterKernel final : public DeclaredKernelOf<BandMeterDecl> {
    struct Band {
        std::array<biquad::Section, kMaxSections> sections{};
        int sectionCount = 0;
    };
    struct Meter {
        std::array<std::array<std::array<biquad::SectionState, kMaxSections>, kBands>, kMaxChannels> state{};
        /// Sums of squares per channel (each summed frame by frame in order, so a reading does
        /// not depend on how the stream was split into blocks).
        std::array<std::array<double, kBands>, kMaxChannels> energy{};
        std::array<double, kMaxChannels> total{};
        std::int64_t frames = 0;
    };

public:
    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const Meter& m = meters_[std::size_t(instance)];
        const int channels = lanes(instance).inputs;
        double total = 0;
        for (int c = 0; c < channels; ++c) total += m.total[std::size_t(c)];
        for (int b = 0; b < kBands; ++b) {
            double energy = 0;
            for (int c = 0; c < channels; ++c) energy += m.energy[std::size_t(c)][std::size_t(b)];
            const double relative = total > 0 ? 10 * std::log10(energy / total) : std::numeric_limits<double>::quiet_NaN();
            out.push_back({std::string("band_") + kBandNames[std::size_t(b)] + "_db", relative, "dB"});
        }
        const double meanSquare = m.frames > 0 ? total / (double(m.frames) * channels) : 0;
        out.push_back({"total_db", meanSquare > 0 ? 10 * std::log10(meanSquare) : -HUGE_VAL, "dB"});
    }

private:
    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        for (int i = 0; i < instanceCount(); ++i)
            if (lanes(i).inputs < 1 || lanes(i).inputs > kMaxChannels)
                return "in: expects 1 to " + std::to_string(kMaxChannels) + " channels, got " + std::to_string(lanes(i).inputs);
        for (int b = 0; b < kBands; ++b)
            bands_[std::size_t(b)].sectionCount = bandSections(b, spec.sampleRate, bands_[std::size_t(b)].sections.data());
        meters_.assign(std::size_t(instanceCount()), Meter{});
        return {};
    }

    void clearState() noexcept override {
        for (Meter& m : meters_) m = Meter{};
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            Meter& m = meters_[std::size_t(i)];
            for (int c = 0; c < l.inputs; ++c) {
                const float* in = ctx.inputs[0][l.firstInput + c] + start;
                float* out = ctx.outputs[0][l.firstOutput + c] + start;
                double& total = m.total[std::size_t(c)];
                for (int n = 0; n < frames; ++n) total += double(in[n]) * double(in[n]);
                for (int b = 0; b < kBands; ++b) {
                    const Band& band = bands_[std::size_t(b)];
                    auto& state = m.state[std::size_t(c)][std::size_t(b)];
                    double& energy = m.energy[std::size_t(c)][std::size_t(b)];
                    for (int n = 0; n < frames; ++n) {
                        double y = in[n];
                        for (int s = 0; s < band.sectionCount; ++s)
                            y = state[std::size_t(s)].process(band.sections[std::size_t(s)], y);
                        energy += y * y;
                    }
                }
                if (in != out) std::memcpy(out, in, sizeof(float) * std::size_t(frames));
            }
            m.frames += frames;
        }
    }

    std::array<Band, kBands> bands_{};
    std::vector<Meter> meters_;
};

class BandMeterType final : public DeclaredTypeOf<BandMeterDecl, BandMeterKernel> {
public:
    std::string resolveChannels(const ParamValues& params, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        const int channels = inputChannels.empty() ? 0 : inputChannels[0];
        if (channels > kMaxChannels)
            return "in: expects 1 to " + std::to_string(kMaxChannels) + " channels, got " + std::to_string(channels);
        return NodeType::resolveChannels(params, inputChannels, outputChannels);
    }
};

} // namespace

void registerBandMeterNodes(Registry& registry) { registry.add(std::make_unique<BandMeterType>()); }

namespace octave {
const char* bandName(int band) { return kBandNames[std::size_t(band)]; }
double midbandHz(int band) { return ::sg::midbandHz(band); }
int bandSections(int band, double sampleRate, std::array<double, 5>* out) { return ::sg::bandSections(band, sampleRate, out); }
} // namespace octave

} // namespace sg
