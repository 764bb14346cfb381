// A time series recorded by a node while it processes (gain reduction over time, a level
// history), real-time safe and bounded in memory for any length of input.
//
// One value is kept per window of W frames (W = round(sampleRate / valuesPerSecond)), reduced
// from the window's frames by max, mean or last. The storage is allocated by prepare(); when it
// is full, neighbouring values are merged pairwise by the same reduction and W doubles, so the
// whole render stays covered in constant memory: with the default 65,536 values at 10 per
// second, the first 109 minutes keep 10 Hz, a 4-hour render 5 Hz. add() never allocates.
//
// A window's max is the first of its largest values in frame order (std::max's rule: a value
// replaces the maximum only when it is larger, so a NaN first value stays and a later one is
// ignored), and its bits are those of that frame's value: how the frames arrive (one at a time,
// in segments of any length, so at any block size) never changes a bit. The value is selected,
// never computed: under denormals-are-zero (the engine's processing mode) an FP max instruction
// returns a zero for a denormal, a moved value keeps it, and a compiler picks either for
// std::max; so every build keeps the same bits.
#pragma once

#include "core/Node.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace sg {

class SeriesRecorder {
public:
    enum class Reduction { Max, Mean, Last };

    /// Allocates room for `capacity` values (even, >= 2). Setup time.
    void prepare(double sampleRate, double valuesPerSecond, Reduction reduction, std::size_t capacity = 65536) {
        sampleRate_ = sampleRate;
        initialWindow_ = std::max<std::int64_t>(1, std::llround(sampleRate / std::max(valuesPerSecond, 1e-3)));
        reduction_ = reduction;
        values_.assign(std::max<std::size_t>(2, capacity & ~std::size_t(1)), 0.0f);
        reset();
    }
    /// Forgets everything recorded. Real-time safe.
    void reset() noexcept {
        window_ = initialWindow_;
        size_ = 0;
        inWindow_ = 0;
        accumulator_ = 0;
        mostBits_ = 0;
    }
    /// One frame's value. Real-time safe.
    void add(float value) noexcept {
        switch (reduction_) {
        case Reduction::Max:
            mostBits_ =
                inWindow_ == 0 ? std::bit_cast<std::uint32_t>(value) : largerBits(mostBits_, std::bit_cast<std::uint32_t>(value));
            break;
        case Reduction::Mean:
            accumulator_ += value;
            break;
        case Reduction::Last:
            accumulator_ = value;
            break;
        }
        if (++inWindow_ == window_) push(windowValue(window_));
    }
    /// `count` frames' values at once: the same result as add() on each in turn (the reduction
    /// runs in the same order), with the state in registers. Real-time safe.
    void add(const float* values, std::size_t count) noexcept;
    /// What was recorded so far, including a partial last window.
    MeasurementSeries snapshot(std::string key, std::string unit) const {
        MeasurementSeries series;
        series.key = std::move(key);
        series.unit = std::move(unit);
        series.sampleRate = sampleRate_;
        series.framesPerValue = window_;
        series.reduction = reduction_ == Reduction::Max ? "max" : reduction_ == Reduction::Mean ? "mean" : "last";
        series.values.assign(values_.begin(), values_.begin() + std::ptrdiff_t(size_));
        if (inWindow_ > 0) series.values.push_back(windowValue(inWindow_));
        return series;
    }

private:
    /// std::max's choice between an earlier value `a` and a later `b`, by their bits (b only when
    /// it is larger): selected, never computed by an FP max (see the top of this file).
    static std::uint32_t largerBits(std::uint32_t a, std::uint32_t b) noexcept {
        return std::bit_cast<float>(a) < std::bit_cast<float>(b) ? b : a;
    }
    /// The current window's value over its first `frames` frames.
    float windowValue(std::int64_t frames) const noexcept {
        switch (reduction_) {
        case Reduction::Max:
            return std::bit_cast<float>(mostBits_);
        case Reduction::Mean:
            return float(accumulator_ / double(frames));
        case Reduction::Last:
            break;
        }
        return float(accumulator_);
    }
    void push(float value) noexcept {
        values_[size_++] = value;
        inWindow_ = 0;
        accumulator_ = 0;
        mostBits_ = 0;
        if (size_ == values_.size()) { // full: halve the resolution, keep the whole render
            for (std::size_t i = 0; i < size_ / 2; ++i) values_[i] = merge(values_[2 * i], values_[2 * i + 1]);
            size_ /= 2;
            window_ *= 2;
        }
    }
    float merge(float a, float b) const noexcept {
        switch (reduction_) {
        case Reduction::Max:
            return std::bit_cast<float>(largerBits(std::bit_cast<std::uint32_t>(a), std::bit_cast<std::uint32_t>(b)));
        case Reduction::Mean:
            return 0.5f * (a + b);
        case Reduction::Last:
            return b;
        }
        return b;
    }

    double sampleRate_ = 48000;
    std::int64_t initialWindow_ = 4800, window_ = 4800, inWindow_ = 0;
    Reduction reduction_ = Reduction::Max;
    double accumulator_ = 0;     ///< Mean: the sum; Last: the value
    std::uint32_t mostBits_ = 0; ///< Max: the bits of the window's first largest value
    std::vector<float> values_;
    std::size_t size_ = 0;
};

} // namespace sg
