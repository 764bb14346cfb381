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
#include <limits>
#include <vector>

namespace sg {

/// Control-rate period for costly coefficient updates, in frames (absolute multiples).
inline constexpr int kControlFrames = 32;

/// First absolute frame after `position` that is a multiple of kControlFrames.
inline std::int64_t nextControlFrame(std::int64_t position) { return (position / kControlFrames + 1) * kControlFrames; }

/// A linear ramp in absolute frames. Real-time safe, trivially copyable.
class LinearRamp {
public:
    /// Jumps to `value` with no ramp.
    void jump(double value) {
        from_ = to_ = value;
        start_ = 0;
        length_ = 0;
    }
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

/// Parameter changes waiting for their frame. A host may call setParam() several times, with
/// positions anywhere ahead, before the block that contains them; a LinearRamp holds only one
/// segment, so a kernel queues each change here and applies it (rampTo at its position) when
/// processing reaches that frame, cutting its work there. Output then does not depend on how
/// the changes and blocks are interleaved. Capacity is fixed in reserve(); push() never allocates.
class ParamQueue {
public:
    struct Change {
        std::int64_t position = 0; ///< absolute frame
        int instance = 0, param = 0;
        double value = 0; ///< base unit
    };
    /// Allocates room for `capacity` pending changes. Setup time.
    void reserve(std::size_t capacity) {
        changes_.clear();
        changes_.reserve(capacity);
        head_ = 0;
    }
    /// Drops every pending change.
    void clear() noexcept {
        changes_.clear();
        head_ = 0;
    }
    /// Queues a change in position order (equal positions keep call order). Returns false,
    /// queuing nothing, when full: the caller then applies the change at once.
    bool push(const Change& change) noexcept {
        if (head_ > 0 && changes_.size() == changes_.capacity()) { // reclaim popped slots
            changes_.erase(changes_.begin(), changes_.begin() + std::ptrdiff_t(head_));
            head_ = 0;
        }
        if (changes_.size() == changes_.capacity()) return false;
        auto at = changes_.end();
        while (at != changes_.begin() + std::ptrdiff_t(head_) && (at - 1)->position > change.position) --at;
        changes_.insert(at, change);
        return true;
    }
    /// True when nothing is pending.
    bool empty() const noexcept { return head_ == changes_.size(); }
    /// Position of the earliest pending change, or the largest int64 when none.
    std::int64_t nextPosition() const noexcept {
        return empty() ? std::numeric_limits<std::int64_t>::max() : changes_[head_].position;
    }
    /// Removes and returns the earliest pending change (only when !empty()).
    Change pop() noexcept {
        Change c = changes_[head_++];
        if (head_ == changes_.size()) clear();
        return c;
    }
    /// Cuts frames [0, frames) of a block starting at absolute `position` at every queued change
    /// and at most every `maxChunk` frames: calls apply(change) for each change due at a
    /// segment's first frame, then run(start, count). The segments depend on absolute positions
    /// only where changes fall, so output stays block-split independent.
    template <class Apply, class Run>
    void forEachSegment(std::int64_t position, int frames, int maxChunk, Apply&& apply, Run&& run) noexcept {
        for (int start = 0; start < frames;) {
            while (nextPosition() <= position + start) apply(pop());
            const std::int64_t next = nextPosition();
            int end = std::min(frames, start + maxChunk);
            if (next < position + end) end = int(next - position);
            run(start, end - start);
            start = end;
        }
    }

private:
    std::vector<Change> changes_;
    std::size_t head_ = 0;
};

} // namespace sg
