#include "host/live/CallbackProbe.h"

#include <ctime>
#include <sys/resource.h>

namespace sg::live {

ThreadUsage threadUsage() noexcept {
    ThreadUsage usage;
    // The thread's CPU clock, not rusage's times: those advance only at scheduler ticks (4 ms at
    // 250 Hz) for a running thread, far too coarse for one callback.
    timespec cpu{};
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
        usage.cpuNanoseconds = std::int64_t(cpu.tv_sec) * 1'000'000'000 + std::int64_t(cpu.tv_nsec);
#ifdef RUSAGE_THREAD
    struct rusage r {};
    if (getrusage(RUSAGE_THREAD, &r) == 0) {
        usage.pageFaults = std::int64_t(r.ru_minflt) + std::int64_t(r.ru_majflt);
        usage.involuntarySwitches = std::int64_t(r.ru_nivcsw);
        usage.voluntarySwitches = std::int64_t(r.ru_nvcsw);
    }
#endif
    return usage;
}

void CallbackProbe::begin(std::int64_t startNs) noexcept {
    startNs_ = startNs;
    atBegin_ = threadUsage();
}

void CallbackProbe::end(const ThreadUsage& now, std::int64_t wallNs, std::int64_t periodNs) noexcept {
    const std::int64_t faults = now.pageFaults - atBegin_.pageFaults;
    const std::int64_t switches = now.involuntarySwitches - atBegin_.involuntarySwitches;
    const std::int64_t waits = now.voluntarySwitches - atBegin_.voluntarySwitches;
    faults_.store(faults_.load(std::memory_order_relaxed) + faults, std::memory_order_relaxed);
    switches_.store(switches_.load(std::memory_order_relaxed) + switches, std::memory_order_relaxed);
    waits_.store(waits_.load(std::memory_order_relaxed) + waits, std::memory_order_relaxed);
    const std::int64_t cpu = now.cpuNanoseconds - atBegin_.cpuNanoseconds;
    if (cpu > heaviestCpu_.load(std::memory_order_relaxed)) {
        heaviestCpu_.store(cpu, std::memory_order_relaxed);
        heaviestIndex_.store(index_, std::memory_order_relaxed);
    }
    if (wallNs > worstWall_.load(std::memory_order_relaxed)) {
        worstWall_.store(wallNs, std::memory_order_relaxed);
        worstCpu_.store(cpu, std::memory_order_relaxed);
        worstFaults_.store(faults, std::memory_order_relaxed);
        worstSwitches_.store(switches, std::memory_order_relaxed);
        worstWaits_.store(waits, std::memory_order_relaxed);
        worstIndex_.store(index_, std::memory_order_relaxed);
    }
    if (lastStartNs_ >= 0) {
        const std::int64_t gap = startNs_ - lastStartNs_;
        if (gap > longestGap_.load(std::memory_order_relaxed)) {
            longestGap_.store(gap, std::memory_order_relaxed);
            longestGapIndex_.store(index_, std::memory_order_relaxed);
        }
        // Late: the previous callback's frames ran out well before this one started.
        if (lastPeriodNs_ > 0 && 2 * gap > 3 * lastPeriodNs_)
            lateStarts_.store(lateStarts_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    }
    lastStartNs_ = startNs_;
    lastPeriodNs_ = periodNs;
    ++index_;
    callbacks_.store(index_, std::memory_order_relaxed);
}

CallbackReport CallbackProbe::report() const noexcept {
    CallbackReport r;
    r.callbacks = callbacks_.load(std::memory_order_relaxed);
    r.worstWallNs = worstWall_.load(std::memory_order_relaxed);
    r.worstCpuNs = worstCpu_.load(std::memory_order_relaxed);
    r.worstPageFaults = worstFaults_.load(std::memory_order_relaxed);
    r.worstSwitches = worstSwitches_.load(std::memory_order_relaxed);
    r.worstWaits = worstWaits_.load(std::memory_order_relaxed);
    r.worstIndex = worstIndex_.load(std::memory_order_relaxed);
    r.heaviestCpuNs = heaviestCpu_.load(std::memory_order_relaxed);
    r.heaviestIndex = heaviestIndex_.load(std::memory_order_relaxed);
    r.pageFaults = faults_.load(std::memory_order_relaxed);
    r.switches = switches_.load(std::memory_order_relaxed);
    r.waits = waits_.load(std::memory_order_relaxed);
    r.longestGapNs = longestGap_.load(std::memory_order_relaxed);
    r.longestGapIndex = longestGapIndex_.load(std::memory_order_relaxed);
    r.lateStarts = lateStarts_.load(std::memory_order_relaxed);
    return r;
}

} // namespace sg::live
