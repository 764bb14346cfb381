// Keeps the CPUs from going idle while a live session plays (`stagegraph live --keep-awake`).
//
// An idle CPU halts. On real hardware it wakes within microseconds; a virtual CPU that halts is
// handed back to the hypervisor, and the timer interrupt that should wake the audio server's
// driver thread, or the signal that should wake our callback thread, reaches it when the
// hypervisor runs it again: milliseconds later on a shared host, dozens of periods at 64 frames
// (docs/performance-live.md). Kernels offer idle=poll or guest halt polling against this; where
// neither is on (no cpuidle driver, a kernel command line the user does not control), a thread
// that never sleeps does the same from user space: one per CPU the process may run on, pinned
// there, at SCHED_IDLE, so it runs only when nothing else on that CPU wants to (any other
// thread, real-time or not, preempts it at once) and keeps the CPU out of its halt. Its price is
// the CPUs' power: it is asked for, never on by default.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

namespace sg::live {

class KeepAwake {
public:
    KeepAwake() = default;
    ~KeepAwake();
    KeepAwake(const KeepAwake&) = delete;
    KeepAwake& operator=(const KeepAwake&) = delete;

    /// Starts a spinning thread on every CPU of the process's affinity mask, each pinned to its
    /// CPU at SCHED_IDLE; a thread that cannot be both does not spin (it ends at once). Returns ""
    /// when at least one spins, else why none could (nothing is left running).
    std::string start();
    /// Stops and joins the threads (also on destruction).
    void stop() noexcept;
    /// CPUs kept awake (spinning threads).
    int cpus() const noexcept { return int(spinners_.size()); }
    /// The spinning threads' ids (for tests: their policy, affinity and state).
    std::vector<pid_t> threadIds() const;

private:
    struct Spinner {
        std::thread thread;
        std::atomic<int> state{0}; ///< 0 starting, 1 spinning, -1 not (problem says why)
        std::string problem;
        pid_t tid = 0;
    };
    std::atomic<bool> stop_{false};
    std::vector<std::unique_ptr<Spinner>> spinners_;
};

} // namespace sg::live
