// Measurement helpers for the tests of noise, dither and reverb: a radix-2 FFT, Welch band
// powers, correlation and the Schroeder energy decay curve with a T30 fit. Independent of the
// engine: plain double-precision textbook algorithms.
#pragma once

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <vector>

namespace sg::spectrum {

/// In-place iterative radix-2 FFT (size a power of two).
inline void fft(std::vector<std::complex<double>>& x) {
    const std::size_t n = x.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(x[i], x[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const double angle = -2 * std::numbers::pi / double(len);
        const std::complex<double> w(std::cos(angle), std::sin(angle));
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<double> wk(1, 0);
            for (std::size_t k = 0; k < len / 2; ++k) {
                const auto u = x[i + k], v = x[i + k + len / 2] * wk;
                x[i + k] = u + v;
                x[i + k + len / 2] = u - v;
                wk *= w;
            }
        }
    }
}

/// One-sided power spectral density by Welch's method (Hann window, 50 % overlap), normalised so
/// that the sum over bins 0 .. size/2 is the signal's mean square: psd[k] covers k rate / size Hz.
inline std::vector<double> welch(const std::vector<double>& x, std::size_t size) {
    std::vector<double> window(size), psd(size / 2 + 1, 0.0);
    double windowPower = 0;
    for (std::size_t n = 0; n < size; ++n) {
        window[n] = 0.5 - 0.5 * std::cos(2 * std::numbers::pi * double(n) / double(size));
        windowPower += window[n] * window[n];
    }
    std::vector<std::complex<double>> buffer(size);
    int segments = 0;
    for (std::size_t start = 0; start + size <= x.size(); start += size / 2, ++segments) {
        for (std::size_t n = 0; n < size; ++n) buffer[n] = x[start + n] * window[n];
        fft(buffer);
        for (std::size_t k = 0; k <= size / 2; ++k) psd[k] += std::norm(buffer[k]) * ((k == 0 || k == size / 2) ? 1.0 : 2.0);
    }
    for (double& p : psd) p /= double(segments) * double(size) * windowPower;
    return psd;
}

/// Power of `psd` (from welch, bins of rate / size Hz) in [lowHz, highHz).
inline double bandPower(const std::vector<double>& psd, double sampleRate, double lowHz, double highHz) {
    const double binHz = sampleRate / (2.0 * double(psd.size() - 1));
    double sum = 0;
    for (std::size_t k = 0; k < psd.size(); ++k) {
        const double f = double(k) * binHz;
        if (f >= lowHz && f < highHz) sum += psd[k];
    }
    return sum;
}

inline double mean(const std::vector<double>& x) {
    double s = 0;
    for (double v : x) s += v;
    return s / double(x.size());
}

inline double variance(const std::vector<double>& x) {
    const double m = mean(x);
    double s = 0;
    for (double v : x) s += (v - m) * (v - m);
    return s / double(x.size());
}

/// Pearson correlation of a and b (equal lengths).
inline double correlation(const std::vector<double>& a, const std::vector<double>& b) {
    const double ma = mean(a), mb = mean(b);
    double ab = 0, aa = 0, bb = 0;
    for (std::size_t n = 0; n < a.size(); ++n) {
        ab += (a[n] - ma) * (b[n] - mb);
        aa += (a[n] - ma) * (a[n] - ma);
        bb += (b[n] - mb) * (b[n] - mb);
    }
    return ab / std::sqrt(aa * bb);
}

/// Schroeder's energy decay curve in dB (0 dB at n = 0): 10 log10(sum_{k>=n} h^2 / sum h^2).
inline std::vector<double> energyDecayDb(const std::vector<double>& h) {
    std::vector<double> edc(h.size());
    double sum = 0;
    for (std::size_t n = h.size(); n-- > 0;) {
        sum += h[n] * h[n];
        edc[n] = sum;
    }
    const double total = edc.empty() ? 1.0 : edc[0];
    for (double& e : edc) e = 10 * std::log10(std::max(e / total, 1e-300));
    return edc;
}

/// RT60 from an energy decay curve: least-squares line through the part from -5 to -35 dB (T30),
/// extrapolated to 60 dB (ISO 3382-1). Seconds.
inline double t30(const std::vector<double>& edcDb, double sampleRate) {
    double sn = 0, st = 0, stt = 0, sy = 0, sty = 0;
    for (std::size_t n = 0; n < edcDb.size(); ++n) {
        if (edcDb[n] > -5 || edcDb[n] < -35) continue;
        const double t = double(n) / sampleRate;
        sn += 1;
        st += t;
        stt += t * t;
        sy += edcDb[n];
        sty += t * edcDb[n];
    }
    const double slope = (sn * sty - st * sy) / (sn * stt - st * st); // dB per second
    return -60.0 / slope;
}

} // namespace sg::spectrum
