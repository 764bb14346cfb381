// Parameter smoothing that depends on the absolute sample position, never on block edges.
//
// A ramp is defined by (from, to, startFrame, lengthFrames): its value at absolute frame p is
//   from + (to - from) * clamp((p - startFrame) / lengthFrames, 0, 1).
// Evaluating it at any frame gives the same number however the stream is cut into blocks, so
// renders stay bit-identical for every block size. Kernels whose coefficients are costly to
// compute (biquads) re-evaluate them every kControlFrames frames, on absolute multiples of
// kControlFrames, while a ramp is running.
#pragma once

#include <algorithm>
#include <cstdint>

namespace sg {

/// Control-rate period for costly coefficient updates, in frames (absolute multiples).
inline constexpr int kControlFrames = 32;

/// First absolute frame after `position` that is a multiple of kControlFrames.
inline std::int64_t nextControlFrame(std::int64_t position) {
    return (position / kControlFrames + 1) * kControlFrames;
}

/// A linear ramp in absolute frames. Real-time safe, trivially copyable.
class LinearRamp {
public:
    /// Jumps to `value` with no ramp.
    void jump(double value) { from_ = to_ = value; start_ = 0; length_ = 0; }
    /// Starts a ramp from the current value at `position` to `target` over `lengthFrames`.
    void rampTo(double target, std::int64_t position, std::int64_t lengthFrames) {
        from_ = valueAt(position);
        to_ = target;
        start_ = position;
        length_ = lengthFrames > 0 ? lengthFrames : 0;
        if (length_ == 0) from_ = to_;
    }
    /// The value at absolute frame `position`.
    double valueAt(std::int64_t position) const {
        if (length_ == 0 || position >= start_ + length_) return to_;
        if (position <= start_) return from_;
        return from_ + (to_ - from_) * double(position - start_) / double(length_);
    }
    /// True when the value no longer changes from `position` on.
    bool settledAt(std::int64_t position) const { return length_ == 0 || position >= start_ + length_; }
    /// The value the ramp ends at.
    double target() const { return to_; }
    /// Jumps to the target (used by reset()).
    void finish() { jump(to_); }

private:
    double from_ = 0, to_ = 0;
    std::int64_t start_ = 0, length_ = 0;
};

} // namespace sg
