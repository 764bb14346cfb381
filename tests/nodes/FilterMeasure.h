// Measuring filters from rendered graphs: impulse responses through compiled YAML, the DFT of an
// impulse response at chosen frequencies, 1/12-octave frequency grids and the bilinear
// frequency warp of the analog prototypes (independent of the nodes' own design code).
#pragma once

#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdint>
#include <numbers>
#include <string>
#include <vector>

namespace sg::filtertest {

/// H(f) = sum_n h[n] e^{-j 2 pi f n / fs}, in double.
inline std::complex<double> dft(const std::vector<float>& h, double freqHz, double sampleRate) {
    const std::complex<double> step = std::polar(1.0, -2 * std::numbers::pi * freqHz / sampleRate);
    std::complex<double> rotor = 1, sum = 0;
    for (std::size_t n = 0; n < h.size(); ++n) {
        sum += double(h[n]) * rotor;
        rotor *= step;
        if ((n & 1023) == 1023) rotor /= std::abs(rotor); // keep the rotor on the unit circle
    }
    return sum;
}

/// 1/12-octave points from 20 Hz up to 20 kHz, with 20 kHz itself.
inline std::vector<double> twelfthOctaves() {
    std::vector<double> f;
    for (int k = 0; 20 * std::pow(2.0, k / 12.0) < 20000; ++k) f.push_back(20 * std::pow(2.0, k / 12.0));
    f.push_back(20000);
    return f;
}

/// s = j W of the analog prototype for digital frequency f under the bilinear transform
/// prewarped at f0 (what the RBJ cookbook designs).
inline std::complex<double> prototypeS(double f, double f0, double sampleRate) {
    return {0, std::tan(std::numbers::pi * f / sampleRate) / std::tan(std::numbers::pi * f0 / sampleRate)};
}

inline double toDb(double magnitude) { return 20 * std::log10(std::max(magnitude, 1e-300)); }

/// Every output of a compiled YAML graph with one input port of `channels` channels, for
/// `input` (one vector per channel), rendered in blocks of `block`.
inline std::vector<test::Planar> renderYaml(const std::string& yaml, double sampleRate, const test::Planar& input,
                                            int block = 512) {
    Diagnostics diags;
    CompileOptions options;
    options.sampleRate = sampleRate;
    auto program = test::compileYaml(yaml, diags, options);
    INFO(diags.formatAll());
    REQUIRE(program);
    return test::renderFixed(program->executor(), {input}, std::int64_t(input[0].size()), block);
}

/// A unit impulse of `frames` frames.
inline std::vector<float> impulse(std::int64_t frames) {
    std::vector<float> x(std::size_t(frames), 0.0f);
    x[0] = 1.0f;
    return x;
}

} // namespace sg::filtertest
