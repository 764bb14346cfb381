#include "nodes/utility/Oversampler.h"

#include "nodes/utility/Kaiser.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

namespace sg {

OversamplerDesign processingOversampling(int factor) { return {factor, 0.45, 0.5, 90}; }
OversamplerDesign detectionOversampling(int factor) { return {factor, 0.475, 0.5, 70}; }

int oversamplerTapsPerPhase(const OversamplerDesign& design) {
    if (design.factor <= 1) return 1;
    const double widthRadians = 2 * std::numbers::pi * (design.stopbandEdge - design.passbandEdge) / design.factor;
    const double length = (design.stopbandDb - 7.95) / (2.285 * widthRadians) + 1;
    int taps = int(std::ceil(length / design.factor));
    return taps + (taps & 1); // even: the latency T - 1 is odd, the centre falls between frames
}

int oversamplerLatencyFrames(const OversamplerDesign& design) {
    return design.factor > 1 ? oversamplerTapsPerPhase(design) - 1 : 0;
}

std::vector<double> oversamplerPrototype(const OversamplerDesign& design) {
    const int factor = std::max(1, design.factor);
    if (factor == 1) return {1.0};
    const int length = factor * oversamplerTapsPerPhase(design);
    const double cutoff = (design.passbandEdge + design.stopbandEdge) / (2.0 * factor); // cycles per high-rate sample
    const double centre = (length - 1) / 2.0, beta = kaiser::beta(design.stopbandDb);
    std::vector<double> h(std::size_t(length), 0.0);
    for (int m = 0; m < length; ++m) {
        const double t = m - centre;
        const double x = 2 * cutoff * t;
        const double sinc = x == 0 ? 1.0 : std::sin(std::numbers::pi * x) / (std::numbers::pi * x);
        const double r = t / (centre + 0.5);
        const double window = kaiser::window(r, beta);
        h[std::size_t(m)] = factor * 2 * cutoff * sinc * window;
    }
    return h;
}

void Oversampler::prepare(const OversamplerDesign& design, int maxBlockFrames, SimdArch arch) {
    factor_ = std::max(1, design.factor);
    taps_ = oversamplerTapsPerPhase(design);
    fir_ = SG_SIMD_PICK(arch, firAlongTime);
    const std::vector<double> h = oversamplerPrototype(design);
    upCoefficients_.assign(std::size_t(factor_ * taps_), 0.0f);
    downCoefficients_.assign(std::size_t(factor_ * taps_), 0.0f);
    for (int k = 0; k < factor_; ++k)
        for (int j = 0; j < taps_; ++j) {
            const double value = h[std::size_t(j * factor_ + k)];
            upCoefficients_[std::size_t(k * taps_ + j)] = float(value);
            downCoefficients_[std::size_t(k * taps_ + j)] = float(value / factor_);
        }
    const std::size_t size = std::size_t(taps_ - 1 + std::max(1, maxBlockFrames));
    input_.assign(size, 0.0f);
    streams_.assign(std::size_t(factor_), std::vector<float>(size, 0.0f));
}

void Oversampler::reset() noexcept {
    std::fill(input_.begin(), input_.end(), 0.0f);
    for (auto& stream : streams_) std::fill(stream.begin(), stream.end(), 0.0f);
    previousFrames_ = 0;
}

void Oversampler::up(const float* in, int frames) noexcept {
    const int history = taps_ - 1;
    if (factor_ == 1) {
        std::memcpy(phase(0), in, sizeof(float) * std::size_t(frames));
        return;
    }
    // Each stream's last T - 1 values (after the previous block) move to its front.
    for (auto& stream : streams_)
        std::memmove(stream.data(), stream.data() + previousFrames_, sizeof(float) * std::size_t(history));
    previousFrames_ = frames;
    std::memcpy(input_.data() + history, in, sizeof(float) * std::size_t(frames));
    for (int k = 0; k < factor_; ++k)
        fir_(input_.data() + history, frames, upCoefficients_.data() + std::size_t(k * taps_), taps_, phase(k), false);
    std::memmove(input_.data(), input_.data() + frames, sizeof(float) * std::size_t(history));
}

void Oversampler::down(float* out, int frames) noexcept {
    if (factor_ == 1) {
        std::memcpy(out, phase(0), sizeof(float) * std::size_t(frames));
        return;
    }
    for (int q = 0; q < factor_; ++q)
        fir_(phase(factor_ - 1 - q), frames, downCoefficients_.data() + std::size_t(q * taps_), taps_, out, q > 0);
}

} // namespace sg
