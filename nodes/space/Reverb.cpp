#include "nodes/space/Reverb.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

namespace sg {

namespace {

constexpr int kLines = 8;
constexpr std::array<double, kLines> kLineMs{29.7, 37.1, 41.1, 43.7, 53.3, 59.9, 67.9, 73.3};
constexpr double kMaxPreDelayMs = 250;
/// Output taps: rows 1 and 2 of the 8 x 8 Sylvester-Hadamard matrix (orthogonal, zero sum).
constexpr std::array<double, kLines> kLeftTaps{1, -1, 1, -1, 1, -1, 1, -1};
constexpr std::array<double, kLines> kRightTaps{1, 1, -1, -1, 1, 1, -1, -1};
/// Input signs (row 3), so a mono input does not start on the matrix's eigenvector 1.
constexpr std::array<double, kLines> kInputSigns{1, -1, -1, 1, 1, -1, -1, 1};
constexpr double kOutputScale = 0.25; ///< 1 / sqrt(2 N): the wet level of a diffuse tail ~ the input's

bool isPrime(int n) {
    if (n < 2) return false;
    for (int d = 2; d * d <= n; ++d)
        if (n % d == 0) return false;
    return true;
}

/// The line lengths at `sampleRate`: distinct primes, so mutually prime.
std::array<int, kLines> lineLengths(double sampleRate) {
    std::array<int, kLines> lengths{};
    for (int i = 0; i < kLines; ++i) {
        int n = std::max(2, int(std::lround(kLineMs[std::size_t(i)] * sampleRate / 1000.0)));
        while (!isPrime(n) || std::find(lengths.begin(), lengths.begin() + i, n) != lengths.begin() + i) ++n;
        lengths[std::size_t(i)] = n;
    }
    return lengths;
}

struct ReverbDecl {
    NodeDecl decl{"reverb", "space"};
    SteppedParam decay = decl.param("decay")
                             .time(100, 20000)
                             .defaultValue(2000)
                             .describe("RT60 at low frequencies: the time the reverberation takes to fall by 60 dB.")
                             .stepped();
    SteppedParam damping = decl.param("damping")
                               .plain(0.05, 1)
                               .defaultValue(0.5)
                               .describe("RT60 at Nyquist as a fraction of decay: 1 decays evenly, 0.5 makes highs die "
                                         "twice as fast (absorption of air and walls).")
                               .stepped();
    SteppedParam predelay = decl.param("predelay")
                                .time(0, kMaxPreDelayMs)
                                .defaultValue(20)
                                .describe("Delay before the reverberation starts, rounded to whole frames.")
                                .stepped();
    SmoothedParam width = decl.param("width")
                              .percent(0, 100)
                              .defaultValue(100)
                              .describe("Stereo width of the reverberation: 0 % mono (mid only), 100 % the network's "
                                        "decorrelated left and right. Ramps over 20 ms.")
                              .smoothingMs(20);
    SmoothedParam mix = decl.param("mix")
                            .percent(0, 100)
                            .defaultValue(100)
                            .describe("Reverberation in the output: 100 % wet only (for a send return), 0 % dry only. "
                                      "Ramps over 20 ms.")
                            .smoothingMs(20);

    ReverbDecl() {
        decl.describe("Stereo feedback-delay-network reverb (8 lines, Householder matrix, per-line damping) with "
                      "decay time, high-frequency damping, pre-delay, width and mix.")
            .input("in", "mono or stereo signal")
            .output("out", "stereo reverberation (and the dry signal by mix)")
            .channelRule("in has 1 or 2 channels; out has 2")
            .batchable()
            .reference("Jot & Chaigne 1991. s_i[n] = sum_j A_ij f_j[n] + sign_i x_L/R[n - P]; f_i = H_i(z) z^-m_i s_i; A "
                       "= I - (2/N) 1 1^T, N = 8; H_i one-pole with DC gain g_i = 10^(-3 m_i/(T60 rate)) and Nyquist "
                       "gain 10^(-3 m_i/(damping T60 rate)); L = 0.25 sum_i c^L_i f_i, R = 0.25 sum_i c^R_i f_i "
                       "(Hadamard rows); L' = M + width S, R' = M - width S; y = (1-mix) dry + mix wet.");
    }
};

class ReverbKernel final : public DeclaredKernelOf<ReverbDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        if (std::string why = requireInputLanes(1, 2); !why.empty()) return why;
        lengths_ = lineLengths(sampleRate());
        preCapacity_ = int(std::llround(kMaxPreDelayMs * sampleRate() / 1000.0)) + 1;
        instances_.assign(std::size_t(instanceCount()), Instance());
        for (Instance& inst : instances_) {
            for (int k = 0; k < kLines; ++k) inst.lines[std::size_t(k)].assign(std::size_t(lengths_[std::size_t(k)]), 0.0f);
            for (auto& pre : inst.preDelay) pre.assign(std::size_t(preCapacity_), 0.0f);
        }
        for (int i = 0; i < instanceCount(); ++i) update(i);
        return {};
    }
    void update(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const double t60 = value(i, p().decay) / 1000.0, damping = value(i, p().damping);
        for (int k = 0; k < kLines; ++k) {
            const double m = lengths_[std::size_t(k)];
            const double g = std::pow(10.0, -3.0 * m / (t60 * sampleRate()));
            const double h = std::pow(10.0, -3.0 * m / (damping * t60 * sampleRate()));
            const double b = (g - h) / (g + h);
            inst.pole[std::size_t(k)] = b;
            inst.gain[std::size_t(k)] = g * (1.0 - b);
        }
        inst.preDelayFrames =
            int(std::clamp<long long>(std::llround(value(i, p().predelay) * sampleRate() / 1000.0), 0, preCapacity_ - 1));
    }
    void clearState() noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            Instance& inst = instances_[std::size_t(i)];
            for (auto& line : inst.lines) std::fill(line.begin(), line.end(), 0.0f);
            for (auto& pre : inst.preDelay) std::fill(pre.begin(), pre.end(), 0.0f);
            inst.filters.fill(0.0);
            inst.lineIndex.fill(0);
            inst.preIndex = 0;
            update(i);
        }
    }
    void paramChanged(int instance, int, std::int64_t) noexcept override { update(instance); }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            Instance& inst = instances_[std::size_t(i)];
            const LinearRamp& width = ramp(i, p().width);
            const LinearRamp& mix = ramp(i, p().mix);
            const bool settled = width.settledAt(position) && mix.settledAt(position);
            const float* inLeft = ctx.inputs[0][lanes.firstInput] + start;
            const float* inRight = ctx.inputs[0][lanes.firstInput + lanes.inputs - 1] + start;
            float* outLeft = ctx.outputs[0][lanes.firstOutput] + start;
            float* outRight = ctx.outputs[0][lanes.firstOutput + 1] + start;
            for (int n = 0; n < frames; ++n) {
                const double dryLeft = inLeft[n], dryRight = inRight[n];
                // Pre-delay: written, then read P frames back (P = 0 reads what was just written).
                inst.preDelay[0][std::size_t(inst.preIndex)] = float(dryLeft);
                inst.preDelay[1][std::size_t(inst.preIndex)] = float(dryRight);
                int preRead = inst.preIndex - inst.preDelayFrames;
                if (preRead < 0) preRead += preCapacity_;
                const double left = inst.preDelay[0][std::size_t(preRead)], right = inst.preDelay[1][std::size_t(preRead)];
                if (++inst.preIndex == preCapacity_) inst.preIndex = 0;

                std::array<double, kLines> f{};
                double sum = 0;
                for (int k = 0; k < kLines; ++k) {
                    const auto kk = std::size_t(k);
                    const double u = inst.lines[kk][std::size_t(inst.lineIndex[kk])];
                    inst.filters[kk] = inst.gain[kk] * u + inst.pole[kk] * inst.filters[kk];
                    f[kk] = inst.filters[kk];
                    sum += f[kk];
                }
                const double householder = 2.0 / kLines * sum;
                double wetLeft = 0, wetRight = 0;
                for (int k = 0; k < kLines; ++k) {
                    const auto kk = std::size_t(k);
                    const double x = k < kLines / 2 ? left : right;
                    inst.lines[kk][std::size_t(inst.lineIndex[kk])] = float(f[kk] - householder + kInputSigns[kk] * x);
                    if (++inst.lineIndex[kk] == lengths_[kk]) inst.lineIndex[kk] = 0;
                    wetLeft += kLeftTaps[kk] * f[kk];
                    wetRight += kRightTaps[kk] * f[kk];
                }
                const double w = (settled ? width.target() : width.valueAt(position + n)) / 100.0;
                const double m = (settled ? mix.target() : mix.valueAt(position + n)) / 100.0;
                const double mid = 0.5 * (wetLeft + wetRight) * kOutputScale, side = 0.5 * (wetLeft - wetRight) * kOutputScale;
                outLeft[n] = float((1.0 - m) * dryLeft + m * (mid + w * side));
                outRight[n] = float((1.0 - m) * dryRight + m * (mid - w * side));
            }
        }
    }

    struct Instance {
        std::array<std::vector<float>, kLines> lines; ///< line k holds m_k frames
        std::array<int, kLines> lineIndex{};          ///< read = write position of each line
        std::array<double, kLines> filters{};         ///< absorption filter states
        std::array<double, kLines> gain{}, pole{};    ///< H_k = gain / (1 - pole z^-1)
        std::array<std::vector<float>, 2> preDelay;   ///< left, right
        int preIndex = 0, preDelayFrames = 0;
    };
    std::array<int, kLines> lengths_{};
    int preCapacity_ = 1;
    std::vector<Instance> instances_;
};

class ReverbType final : public DeclaredTypeOf<ReverbDecl, ReverbKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return channelsInRange(inputChannels, 1, 2, 2, 1, outputChannels);
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        const ReverbDecl& d = declaration<ReverbDecl>();
        const int longest = lineLengths(sampleRate > 0 ? sampleRate : 48000).back();
        return (paramValue(params, d.predelay) + paramValue(params, d.decay)) / 1000.0 + longest / std::max(1.0, sampleRate);
    }
};

} // namespace

void registerReverbNodes(Registry& registry) { registry.add(std::make_unique<ReverbType>()); }

} // namespace sg
