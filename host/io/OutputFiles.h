// Where an output goes, and the temporary files on the way (docs/safety.md, "Outputs" and
// "Temporary files").
//
// Rules for a path given as an output (-o, --report, --tee):
//   - "-" is standard output: streamed, no temporary file.
//   - A symbolic link is followed (up to 40 links) and its final target is written; the link
//     itself is never replaced. A link whose target does not exist creates that target.
//   - A character device, FIFO or socket (after following links) is opened and streamed to:
//     no temporary file, nothing renamed over it. Other non-regular files are refused.
//   - A regular file (or a new name) is written through a temporary file in the target's folder
//     and renamed over it: the mode of a replaced file is kept; a file the user could not write
//     (no write permission) is refused rather than silently replaced.
// Temporary files are named ".NAME.sg-PID.XXXXXX.tmp". Every one is registered with a
// signal-safe list that a handler for each catchable terminating signal removes before the
// process dies; SIGKILL cannot be caught, so creating a temporary file first removes the
// leftovers of dead runs for the same target (same name, a PID that no longer exists, owned by
// this user).
#pragma once

#include <string>
#include <sys/stat.h>
#include <vector>

namespace sg::io {

/// How an output path is written.
struct OutputTarget {
    std::string path;      ///< the file finally written: symbolic links resolved; "-" for stdout
    bool streamed = false; ///< written straight to a device, FIFO, socket or stdout (no temp file)
    bool exists = false;   ///< `path` exists (then `status` is its stat)
    struct stat status {};
};

/// Applies the rules above to `path`. Returns "" or the reason it cannot be written.
std::string resolveOutputTarget(const std::string& path, OutputTarget& target);

/// Drops the cached pages of the regular file that output `path` will replace, unless it is one
/// of `inputs` (posix_fadvise DONTNEED: only clean pages go, nothing on disk changes, and a
/// failed render leaves the file as it was). A render that replaces its previous output then
/// takes those pages back for its own scratch and output at once: on a virtual machine that
/// hands free memory back to its host, a page touched for the first time after that costs a
/// fault on the host (2-3.5 s per GB measured here) and a page freed a moment ago does not.
/// Best effort: any failure is ignored.
void releaseReplacedPages(const std::string& path, const std::vector<std::string>& inputs);

/// Opens a streamed target for writing: stdout's descriptor (dup'ed) for "-", else open(2).
/// Returns "" or the reason.
std::string openStreamedTarget(const OutputTarget& target, int& fd);

/// Creates ".NAME.sg-PID.XXXXXX.tmp" beside `target.path` with the replaced file's mode (or
/// 0666 & ~umask), registers it for removal on a terminating signal, and first removes dead
/// runs' leftovers for the same target. Returns "" or the reason.
std::string createTemporaryBeside(const OutputTarget& target, int& fd, std::string& tempPath);

/// Renames a temporary file over its target and forgets it. Returns "" or strerror.
std::string commitTemporary(const std::string& tempPath, const std::string& targetPath);

/// Unlinks a temporary file and forgets it (no-op for "").
void removeTemporary(const std::string& tempPath);

/// Installs, once, handlers that remove the registered temporary files and then die of the
/// same signal (default action) for SIGHUP, SIGQUIT, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2,
/// SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO, SIGPWR, SIGSTKFLT, SIGINT and SIGTERM (the last
/// two only where no InterruptGuard has taken them). A signal ignored when the program started
/// (nohup, background jobs) stays ignored.
void installTemporaryFileCleanup();

/// Removes every registered temporary file now (async-signal-safe).
void removeRegisteredTemporaries();

/// The leftovers of dead runs for `targetPath` that would be removed: for tests and docs.
bool isDeadRunTemporary(const std::string& fileName, const std::string& targetFileName);

} // namespace sg::io
