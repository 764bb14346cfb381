// Process-time statistics of the audio callback, recorded lock-free on the audio thread.
//
// A histogram of atomic counters (relaxed increments: one writer, readers only need a
// consistent-enough snapshot) with 50 ns bins below 1 ms and 10 µs bins from 1 ms to 100 ms
// (everything longer lands in the last bin), plus the exact worst case. Percentiles are read
// from the histogram: the value returned is the upper edge of the bin holding the requested
// rank, so it never under-reports. record() is wait-free and allocation-free.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace sg::live {

class ProcessTimes {
public:
    /// Audio thread: one callback took `nanoseconds`.
    void record(std::int64_t nanoseconds) noexcept;
    /// Clears everything (not concurrently with record()).
    void clear() noexcept;

    /// Callbacks recorded.
    std::uint64_t count() const noexcept;
    /// Longest callback, in ns.
    std::int64_t worstNanoseconds() const noexcept { return worst_.load(std::memory_order_relaxed); }
    /// Smallest bin edge (ns) at or below which `fraction` (0..1) of the callbacks fall.
    std::int64_t percentileNanoseconds(double fraction) const noexcept;
    /// Mean, in ns.
    double meanNanoseconds() const noexcept;
    /// Sum of all recorded times, in ns.
    std::int64_t totalNanoseconds() const noexcept { return total_.load(std::memory_order_relaxed); }

private:
    static constexpr int kFineBins = 20000;  // 50 ns each, 0 .. 1 ms
    static constexpr int kCoarseBins = 9900; // 10 us each, 1 ms .. 100 ms
    static constexpr int kBins = kFineBins + kCoarseBins + 1;
    static int binOf(std::int64_t nanoseconds) noexcept;
    static std::int64_t upperEdge(int bin) noexcept;

    std::array<std::atomic<std::uint32_t>, kBins> bins_{};
    std::atomic<std::int64_t> worst_{0};
    std::atomic<std::int64_t> total_{0};
};

} // namespace sg::live
