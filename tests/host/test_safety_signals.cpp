// docs/safety.md "Temporary files": a render killed by any catchable terminating signal leaves
// no temporary file beside its output and dies of that signal (SIGINT and SIGTERM: exit 130
// after a clean stop); the leftovers of a run killed by SIGKILL are removed by the next run to
// the same output, and those of a live run are not. The truth is the folder's listing and the
// wait status the kernel reports.
//
// The child is spawned with every signal at its default disposition and none blocked: a test
// run from a background job inherits SIGINT and SIGQUIT ignored (setup-notes, "Traps").
#include "SafetyTesting.h"
#include "host/io/OutputFiles.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace fs = std::filesystem;
using sg::test::TempDir;

using namespace sg::test::safety;

namespace {

// A source-only graph rendered one frame per block: slow enough to be caught mid-render, with a
// temporary file of a few MB beside the output.
const char* kSlowGraph = R"(stagegraph: 1
outputs: {out: {channels: 1}}
nodes: {tone: {type: sine, freq: 440 Hz, level: -6 dB}}
connections: ["tone -> out"]
)";

std::vector<std::string> temporaries(const TempDir& dir) {
    std::vector<std::string> found;
    for (const auto& name : dir.list())
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") found.push_back(name);
    return found;
}

/// Spawns `cli() args…` with default signal dispositions, stdout and stderr to files in `dir`.
pid_t spawnCli(const TempDir& dir, const std::vector<std::string>& args) {
    const rlimit noCore{0, 0}; // SIGQUIT, SIGXCPU dump core by default: not here
    ::setrlimit(RLIMIT_CORE, &noCore);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, dir.file("stdout.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, 2, dir.file("stderr.txt").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> argv{cli()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> pointers;
    for (auto& a : argv) pointers.push_back(a.data());
    pointers.push_back(nullptr);
    pid_t pid = -1;
    const int error = posix_spawn(&pid, argv[0].c_str(), &files, &attr, pointers.data(), environ);
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attr);
    REQUIRE(error == 0);
    return pid;
}

} // namespace

TEST_CASE("safety: every catchable terminating signal mid-render removes the temporary file", "[safety][signals]") {
    const int signals[] = {SIGHUP, SIGPIPE, SIGQUIT, SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGINT, SIGTERM};
    for (const int signal : signals) {
        DYNAMIC_SECTION("signal " << signal << " (" << strsignal(signal) << ")") {
            TempDir dir;
            const std::string graph = dir.write("slow.yaml", kSlowGraph);
            const pid_t pid = spawnCli(
                dir, {"render", graph, "-o", dir.file("out.wav"), "--duration", "300", "--rate", "8000", "--block", "1"});
            // Wait until the temporary file exists and holds samples: the render is under way.
            bool started = false;
            for (int i = 0; i < 400 && !started; ++i) {
                for (const auto& name : temporaries(dir))
                    if (fs::file_size(dir.file(name)) > 65536) started = true;
                if (!started) std::this_thread::sleep_for(std::chrono::milliseconds(10));
            }
            REQUIRE(started);
            REQUIRE(::kill(pid, signal) == 0);
            int status = 0;
            REQUIRE(::waitpid(pid, &status, 0) == pid);
            if (signal == SIGINT || signal == SIGTERM) {
                CHECK(WIFEXITED(status));
                CHECK(WEXITSTATUS(status) == 130);
            } else {
                REQUIRE(WIFSIGNALED(status));
                CHECK(WTERMSIG(status) == signal);
            }
            CHECK(temporaries(dir).empty());
            CHECK_FALSE(fs::exists(dir.file("out.wav")));
        }
    }
}

TEST_CASE("safety: a later run removes a dead run's temporary files and keeps a live run's", "[safety][signals]") {
    TempDir dir;
    // A PID that is certainly gone: a child that has exited and been reaped.
    const pid_t dead = ::fork();
    if (dead == 0) ::_exit(0);
    REQUIRE(dead > 0);
    int status = 0;
    REQUIRE(::waitpid(dead, &status, 0) == dead);
    const std::string deadTemp = dir.write(".out.wav.sg-" + std::to_string(dead) + ".AbC123.tmp", std::string(100000, 'x'));
    const std::string liveTemp = dir.write(".out.wav.sg-" + std::to_string(::getpid()) + ".XyZ789.tmp", "mine");
    const std::string otherTarget = dir.write(".other.wav.sg-" + std::to_string(dead) + ".AbC123.tmp", "not ours");
    CHECK(sg::io::isDeadRunTemporary(fs::path(deadTemp).filename(), "out.wav"));
    CHECK_FALSE(sg::io::isDeadRunTemporary(fs::path(liveTemp).filename(), "out.wav"));

    const std::string graph = dir.write("slow.yaml", kSlowGraph);
    const auto r = sg::test::runShell(cliWord() + "render '" + graph + "' -o '" + dir.file("out.wav") + "' --duration 0.1");
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK_FALSE(fs::exists(deadTemp));
    CHECK(fs::exists(liveTemp));    // its run may still be writing
    CHECK(fs::exists(otherTarget)); // another output's: left for that output's next run
}
