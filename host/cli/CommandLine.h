// What every sub-command shares: exit statuses, counts in words ("1 step", "2 steps"), and
// turning SIGINT / SIGTERM into a flag so long work can stop cleanly (temporary files removed, terminal restored).
#pragma once

#include "core/Diagnostics.h"

#include <csignal>
#include <cstdint>
#include <string>

namespace sg::cli {

inline constexpr int kExitOk = 0;            ///< success
inline constexpr int kExitFailure = 1;       ///< processing or I/O failure
inline constexpr int kExitUsage = 2;         ///< usage or graph error
inline constexpr int kExitInterrupted = 130; ///< stopped by SIGINT / SIGTERM

/// "1 step", "0 steps", "2 steps": a count and the noun that agrees with it.
using ::sg::plural; // core/Diagnostics.h

/// While alive (and active), SIGINT and SIGTERM set interruptFlag() instead of ending the
/// process; the previous handlers come back on destruction.
class InterruptGuard {
public:
    explicit InterruptGuard(bool active = true);
    ~InterruptGuard();
    InterruptGuard(const InterruptGuard&) = delete;
    InterruptGuard& operator=(const InterruptGuard&) = delete;

private:
    bool active_;
    struct sigaction previousInt_ {};
    struct sigaction previousTerm_ {};
};

/// Set to 1 by SIGINT / SIGTERM while an InterruptGuard is active; cleared when one is created.
volatile std::sig_atomic_t* interruptFlag();

} // namespace sg::cli
