// What a callback cost besides its wall time, recorded on the audio thread: CPU time, page
// faults and context switches (the thread's CPU clock and getrusage(RUSAGE_THREAD) at its start and end),
// and the gap since the previous callback started; and the most CPU time any one callback took,
// which the wall times cannot tell where the machine stalls the thread. So the summary can say why the worst
// callback was slow: work (CPU time close to the wall time), page faults (memory first touched
// in the callback), a wait (a voluntary switch: it blocked, which it must never do), or the
// thread taken off the CPU (wall time far above the CPU time: an involuntary switch, another
// thread ran instead; with none, the virtual CPU itself did not run -- steal time, which Linux
// subtracts from a task's CPU time in a guest) -- and whether xruns came from callbacks that
// ran long or from callbacks that started late (a long gap). Interrupts handled while the
// callback runs are charged to its CPU time unless the kernel accounts IRQ time separately.
//
// Four system calls per callback (clock_gettime of the thread's CPU clock and getrusage, at its
// start and end: about 1 to 2 us together, 0.1 % of a 64-frame period); no allocation, no lock. Figures are
// published with relaxed atomics (one writer, the audio thread).
#pragma once

#include <atomic>
#include <cstdint>

namespace sg::live {

/// Counters of the calling thread.
struct ThreadUsage {
    std::int64_t cpuNanoseconds = 0;      ///< user + system time
    std::int64_t pageFaults = 0;          ///< minor + major
    std::int64_t involuntarySwitches = 0; ///< preemptions (the thread could have run on)
    std::int64_t voluntarySwitches = 0;   ///< the thread waited (blocked) for something
};

/// The calling thread's CPU clock and getrusage(RUSAGE_THREAD) counters (zeros where
/// unavailable). Real-time safe.
ThreadUsage threadUsage() noexcept;

/// The anatomy of the longest callback and totals over all callbacks.
struct CallbackReport {
    std::uint64_t callbacks = 0;
    std::int64_t worstWallNs = 0;      ///< longest callback, wall clock
    std::int64_t worstCpuNs = 0;       ///< CPU time during it
    std::int64_t worstPageFaults = 0;  ///< page faults during it
    std::int64_t worstSwitches = 0;    ///< involuntary switches during it
    std::int64_t worstWaits = 0;       ///< voluntary switches during it (it blocked)
    std::uint64_t worstIndex = 0;      ///< which callback (0-based)
    std::int64_t heaviestCpuNs = 0;    ///< most CPU time of one callback (its own work, faults included)
    std::uint64_t heaviestIndex = 0;   ///< which callback (0-based)
    std::int64_t pageFaults = 0;       ///< during all callbacks
    std::int64_t switches = 0;         ///< involuntary switches during all callbacks
    std::int64_t waits = 0;            ///< voluntary switches during all callbacks
    std::int64_t longestGapNs = 0;     ///< longest time between two callback starts
    std::uint64_t longestGapIndex = 0; ///< the callback that started after it
    std::uint64_t lateStarts = 0;      ///< callbacks that started over 1.5 periods after the last
};

class CallbackProbe {
public:
    /// Audio thread, at the start of a callback; `startNs` is its steady-clock start.
    void begin(std::int64_t startNs) noexcept;
    /// Audio thread, at its end: `wallNs` long, `periodNs` the time its frames last.
    void end(std::int64_t wallNs, std::int64_t periodNs) noexcept { end(threadUsage(), wallNs, periodNs); }
    /// The same with the thread's counters `atEnd` read before the wall clock stopped, so the
    /// CPU interval lies inside the wall interval (nothing run between the two is charged to
    /// the CPU time and not to the wall time).
    void end(const ThreadUsage& atEnd, std::int64_t wallNs, std::int64_t periodNs) noexcept;
    /// Any thread: the figures so far.
    CallbackReport report() const noexcept;

private:
    // audio thread
    ThreadUsage atBegin_;
    std::int64_t startNs_ = 0, lastStartNs_ = -1, lastPeriodNs_ = 0;
    std::uint64_t index_ = 0;
    // published
    std::atomic<std::uint64_t> callbacks_{0}, worstIndex_{0}, heaviestIndex_{0}, longestGapIndex_{0}, lateStarts_{0};
    std::atomic<std::int64_t> worstWall_{0}, worstCpu_{0}, worstFaults_{0}, worstSwitches_{0}, worstWaits_{0};
    std::atomic<std::int64_t> heaviestCpu_{0};
    std::atomic<std::int64_t> faults_{0}, switches_{0}, waits_{0}, longestGap_{0};
};

} // namespace sg::live
