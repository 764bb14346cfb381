#include "host/live/ProcessTimes.h"

#include <algorithm>
#include <cmath>

namespace sg::live {

int ProcessTimes::binOf(std::int64_t ns) noexcept {
    if (ns < 0) ns = 0;
    if (ns < 1'000'000) return int(ns / 50);
    if (ns < 100'000'000) return kFineBins + int((ns - 1'000'000) / 10'000);
    return kBins - 1;
}

std::int64_t ProcessTimes::upperEdge(int bin) noexcept {
    if (bin < kFineBins) return std::int64_t(bin + 1) * 50;
    if (bin < kFineBins + kCoarseBins) return 1'000'000 + std::int64_t(bin - kFineBins + 1) * 10'000;
    return 100'000'000;
}

void ProcessTimes::record(std::int64_t ns) noexcept {
    bins_[std::size_t(binOf(ns))].fetch_add(1, std::memory_order_relaxed);
    total_.fetch_add(ns, std::memory_order_relaxed);
    if (ns > worst_.load(std::memory_order_relaxed)) worst_.store(ns, std::memory_order_relaxed); // one writer
}

void ProcessTimes::clear() noexcept {
    for (auto& b : bins_) b.store(0, std::memory_order_relaxed);
    worst_.store(0, std::memory_order_relaxed);
    total_.store(0, std::memory_order_relaxed);
}

std::uint64_t ProcessTimes::count() const noexcept {
    std::uint64_t n = 0;
    for (const auto& b : bins_) n += b.load(std::memory_order_relaxed);
    return n;
}

std::int64_t ProcessTimes::percentileNanoseconds(double fraction) const noexcept {
    const std::uint64_t n = count();
    if (n == 0) return 0;
    // Rank of the requested sample, 1-based: the smallest k with k >= fraction * n.
    const auto rank = std::max<std::uint64_t>(1, std::uint64_t(std::ceil(std::clamp(fraction, 0.0, 1.0) * double(n))));
    std::uint64_t seen = 0;
    for (int b = 0; b < kBins; ++b) {
        seen += bins_[std::size_t(b)].load(std::memory_order_relaxed);
        if (seen >= rank) return std::min(upperEdge(b), worstNanoseconds());
    }
    return worstNanoseconds();
}

double ProcessTimes::meanNanoseconds() const noexcept {
    const std::uint64_t n = count();
    return n ? double(total_.load(std::memory_order_relaxed)) / double(n) : 0.0;
}

} // namespace sg::live
