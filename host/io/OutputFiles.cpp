#include "host/io/OutputFiles.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <limits.h>
#include <mutex>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::io {

// ---- the signal-safe list of temporary files ---------------------------------------------

namespace {

constexpr int kMaxTemporaries = 256;
constexpr std::size_t kMaxPathBytes = 4096;

/// A slot is free (0), being written (1) or holds a path a handler may unlink (2).
struct TemporarySlot {
    std::atomic<int> state{0};
    char path[kMaxPathBytes] = {};
};

// Zero at load time (1 MiB of .bss, untouched until a slot is used): with `path` left
// uninitialised the array had a dynamic initialiser that wrote every slot's state at start-up,
// 256 pages first touched by every process, about 2 ms of each command's start here.
constinit TemporarySlot slots[kMaxTemporaries];

void registerTemporary(const std::string& path) {
    if (path.size() >= kMaxPathBytes) return;
    for (auto& slot : slots) {
        int expected = 0;
        if (!slot.state.compare_exchange_strong(expected, 1)) continue;
        std::memcpy(slot.path, path.c_str(), path.size() + 1);
        slot.state.store(2);
        return;
    }
}

void forgetTemporary(const std::string& path) {
    for (auto& slot : slots) {
        if (slot.state.load() != 2 || path != slot.path) continue;
        int expected = 2;
        if (slot.state.compare_exchange_strong(expected, 1)) {
            slot.path[0] = '\0';
            slot.state.store(0);
        }
        return;
    }
}

void onTerminatingSignal(int signal) {
    const int savedErrno = errno;
    removeRegisteredTemporaries();
    ::signal(signal, SIG_DFL); // then die of it, so the parent sees the real cause
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
    sigprocmask(SIG_UNBLOCK, &set, nullptr);
    ::raise(signal);
    errno = savedErrno;
}

constexpr int kTerminatingSignals[] = {SIGHUP,    SIGINT,  SIGQUIT, SIGPIPE, SIGALRM, SIGTERM,   SIGUSR1, SIGUSR2,
                                       SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ, SIGIO,   SIGSTKFLT, SIGPWR};

std::string cannotWrite(const std::string& path, const std::string& reason) { return "cannot write '" + path + "': " + reason; }

/// Follows symbolic links from `path` to the name finally written (which may not exist yet).
std::string followLinks(const std::string& path, std::string& resolved) {
    std::string current = path;
    for (int hops = 0; hops <= 40; ++hops) {
        struct stat link {};
        if (::lstat(current.c_str(), &link) != 0 || !S_ISLNK(link.st_mode)) {
            resolved = current;
            return {};
        }
        char buffer[PATH_MAX];
        const ssize_t n = ::readlink(current.c_str(), buffer, sizeof buffer - 1);
        if (n < 0) return cannotWrite(path, std::string("cannot read the symbolic link: ") + std::strerror(errno));
        buffer[n] = '\0';
        const fs::path target(buffer);
        current = target.is_absolute() ? target.string() : (fs::path(current).parent_path() / target).string();
    }
    return cannotWrite(path, "too many levels of symbolic links");
}

} // namespace

void removeRegisteredTemporaries() {
    for (auto& slot : slots)
        if (slot.state.load() == 2) ::unlink(slot.path);
}

void installTemporaryFileCleanup() {
    static std::once_flag once;
    std::call_once(once, [] {
        for (const int signal : kTerminatingSignals) {
            struct sigaction previous {};
            if (sigaction(signal, nullptr, &previous) != 0) continue;
            if (previous.sa_handler != SIG_DFL) continue; // ignored (nohup, background) or taken: leave it
            struct sigaction action {};
            action.sa_handler = onTerminatingSignal;
            sigemptyset(&action.sa_mask);
            for (const int other : kTerminatingSignals) sigaddset(&action.sa_mask, other);
            sigaction(signal, &action, nullptr);
        }
    });
}

// ---- output paths ---------------------------------------------------------------------------

void releaseReplacedPages(const std::string& path, const std::vector<std::string>& inputs) {
    OutputTarget target;
    if (!resolveOutputTarget(path, target).empty() || target.streamed || !target.exists || !S_ISREG(target.status.st_mode))
        return;
    for (const auto& input : inputs) {
        struct stat status {};
        if (::stat(input.c_str(), &status) == 0 && status.st_dev == target.status.st_dev && status.st_ino == target.status.st_ino)
            return; // an input's pages stay: it is about to be read
    }
    const int fd = ::open(target.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW);
    if (fd < 0) return;
    struct stat status {};
    if (::fstat(fd, &status) == 0 && S_ISREG(status.st_mode) && status.st_dev == target.status.st_dev &&
        status.st_ino == target.status.st_ino)
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
}

std::string resolveOutputTarget(const std::string& path, OutputTarget& target) {
    target = OutputTarget{};
    if (path.empty()) return "cannot write '': empty file name";
    if (path == "-") {
        target.path = path; // "-" (assigning the literal trips GCC 12's false -Wrestrict)
        target.streamed = true;
        return {};
    }
    // stat() follows every link, including /proc's magic ones (/dev/stdout -> /proc/self/fd/1 ->
    // "pipe:[…]"), so it tells what is finally written even where the link text is no path.
    struct stat followed {};
    if (::stat(path.c_str(), &followed) == 0 && !S_ISREG(followed.st_mode)) {
        if (S_ISDIR(followed.st_mode)) return cannotWrite(path, "is a directory");
        if (!(S_ISCHR(followed.st_mode) || S_ISFIFO(followed.st_mode) || S_ISSOCK(followed.st_mode)))
            return cannotWrite(path, "not a regular file, device or FIFO");
        target.path = path;
        target.streamed = true;
        target.exists = true;
        target.status = followed;
        return {};
    }
    if (auto error = followLinks(path, target.path); !error.empty()) return error;
    target.exists = ::stat(target.path.c_str(), &target.status) == 0;
    if (target.exists) {
        if (!S_ISREG(target.status.st_mode)) return cannotWrite(path, "not a regular file");
        // Renaming needs only the folder's permission, so the file's own is checked here: a
        // write-protected file is refused, even for root (who passes access(2) for any file).
        const bool root = ::geteuid() == 0;
        const bool writable =
            root ? (target.status.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0 : ::access(target.path.c_str(), W_OK) == 0;
        if (!writable) return cannotWrite(path, "the file is write-protected; make it writable (chmod u+w) to replace it");
        // A rename gives the file to whoever runs the render; only root can give it back.
        if (!root && target.status.st_uid != ::geteuid())
            return cannotWrite(path, "the file belongs to another user; replacing it would change its owner");
    }
    return {};
}

std::string openStreamedTarget(const OutputTarget& target, int& fd) {
    if (target.path == "-") {
        fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) return cannotWrite("-", std::string("standard output: ") + std::strerror(errno));
        return {};
    }
    fd = ::open(target.path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return cannotWrite(target.path, std::strerror(errno));
    return {};
}

// ---- temporary files --------------------------------------------------------------------------

bool isDeadRunTemporary(const std::string& fileName, const std::string& targetFileName) {
    // ".NAME.sg-PID.XXXXXX.tmp"
    std::string prefix = "."; // built with += : GCC 12 warns (-Wrestrict, falsely) on "." + string
    prefix += targetFileName;
    prefix += ".sg-";
    if (fileName.size() <= prefix.size() + 11 || fileName.compare(0, prefix.size(), prefix) != 0) return false;
    if (fileName.compare(fileName.size() - 4, 4, ".tmp") != 0) return false;
    const std::string rest = fileName.substr(prefix.size(), fileName.size() - prefix.size() - 4); // "PID.XXXXXX"
    const auto dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || rest.size() - dot - 1 != 6) return false;
    long pid = 0;
    for (std::size_t i = 0; i < dot; ++i) {
        if (rest[i] < '0' || rest[i] > '9' || pid > 100000000) return false;
        pid = pid * 10 + (rest[i] - '0');
    }
    if (pid <= 0 || pid == long(::getpid())) return false;
    return ::kill(pid_t(pid), 0) != 0 && errno == ESRCH;
}

namespace {

void removeDeadRunTemporaries(const fs::path& folder, const std::string& targetFileName) {
    DIR* dir = ::opendir(folder.c_str());
    if (!dir) return;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string name = entry->d_name;
        if (!isDeadRunTemporary(name, targetFileName)) continue;
        const std::string full = (folder / name).string();
        struct stat st {};
        if (::lstat(full.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid()) ::unlink(full.c_str());
    }
    ::closedir(dir);
}

} // namespace

std::string createTemporaryBeside(const OutputTarget& target, int& fd, std::string& tempPath) {
    installTemporaryFileCleanup();
    const fs::path path(target.path);
    fs::path folder = path.parent_path();
    if (folder.empty()) folder = ".";
    const std::string fileName = path.filename().string();
    removeDeadRunTemporaries(folder, fileName);
    std::string name = ".";
    name += fileName;
    name += ".sg-" + std::to_string(long(::getpid())) + ".XXXXXX.tmp";
    std::string pattern = (folder / name).string();
    // Blocked while the name is created and registered, so no signal can fall in between.
    sigset_t all, previous;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &previous);
    fd = ::mkostemps(pattern.data(), 4, O_CLOEXEC);
    const int savedErrno = errno;
    if (fd >= 0) registerTemporary(pattern);
    sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (fd < 0) return "cannot create a temporary file in '" + folder.string() + "': " + std::strerror(savedErrno);
    tempPath = pattern;
    mode_t mode;
    if (target.exists) {
        mode = target.status.st_mode & 07777;
    } else {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        mode = 0666 & ~mask;
    }
    (void)::fchmod(fd, mode);
    if (target.exists && (target.status.st_uid != ::geteuid() || target.status.st_gid != ::getegid()))
        (void)::fchown(fd, target.status.st_uid, target.status.st_gid); // root: keep the owner
    return {};
}

std::string commitTemporary(const std::string& tempPath, const std::string& targetPath) {
    if (::rename(tempPath.c_str(), targetPath.c_str()) != 0) return std::strerror(errno);
    forgetTemporary(tempPath);
    return {};
}

void removeTemporary(const std::string& tempPath) {
    if (tempPath.empty()) return;
    ::unlink(tempPath.c_str());
    forgetTemporary(tempPath);
}

} // namespace sg::io
