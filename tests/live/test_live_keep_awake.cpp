// --keep-awake (host/live/KeepAwake.h): a spinning thread per CPU, pinned, at SCHED_IDLE, for
// as long as the session plays. Checked against what the kernel reports of each thread (its
// policy, its CPUs, its state, its time on the CPU), not against the class's own word.
#include "host/WavTesting.h"
#include "live/LiveTesting.h"

#include "core/Diagnostics.h"
#include "host/live/KeepAwake.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <sched.h>
#include <set>
#include <thread>

using namespace sg;

namespace {

using namespace sg::test;

/// The CPUs a thread may run on (0: the calling thread).
cpu_set_t maskOf(pid_t tid) {
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(::sched_getaffinity(tid, sizeof set, &set) == 0);
    return set;
}

int cpusOf(pid_t tid) {
    const cpu_set_t set = maskOf(tid);
    return CPU_COUNT(&set);
}

/// The lowest CPU of `set` (-1 if none).
int firstCpu(const cpu_set_t& set) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &set)) return cpu;
    return -1;
}

/// The CPU a thread is pinned to (-1 if it may run on more than one).
int pinnedCpu(pid_t tid) {
    const cpu_set_t set = maskOf(tid);
    return CPU_COUNT(&set) == 1 ? firstCpu(set) : -1;
}

/// The threads of this process, from /proc.
std::vector<pid_t> threadsOfProcess() {
    std::vector<pid_t> tids;
    DIR* dir = ::opendir("/proc/self/task");
    REQUIRE(dir != nullptr);
    while (const dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') tids.push_back(pid_t(std::atoi(entry->d_name)));
    ::closedir(dir);
    return tids;
}

/// Threads of this process at SCHED_IDLE.
int idleThreads() {
    int idle = 0;
    for (pid_t tid : threadsOfProcess())
        if (::sched_getscheduler(tid) == SCHED_IDLE) ++idle;
    return idle;
}

/// The state letter of /proc/self/task/TID/stat ('R' runnable or running, 'S' sleeping...).
char stateOf(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t close = text.rfind(')'); // the name may hold spaces and parentheses
    return close != std::string::npos && close + 2 < text.size() ? text[close + 2] : '?';
}

/// Nanoseconds a thread of this process has run on a CPU (schedstat's first field).
long long cpuNanoseconds(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
    long long ns = -1;
    in >> ns;
    return ns;
}

bool threadExists(pid_t tid) {
    std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/stat");
    return bool(in);
}

} // namespace

TEST_CASE("keep-awake: one spinning thread per allowed CPU, pinned there, at SCHED_IDLE, and none after stop",
          "[live][keep-awake]") {
    const int allowed = cpusOf(0);
    const int idleBefore = idleThreads();
    live::KeepAwake awake;
    REQUIRE(awake.start().empty());
    REQUIRE(awake.cpus() == allowed);
    const std::vector<pid_t> tids = awake.threadIds();
    REQUIRE(int(tids.size()) == allowed);
    std::set<int> cpus;
    for (pid_t tid : tids) {
        INFO("thread " << tid);
        CHECK(::sched_getscheduler(tid) == SCHED_IDLE);
        const int cpu = pinnedCpu(tid);
        CHECK(cpu >= 0);
        cpus.insert(cpu);
        // It never sleeps: runnable whenever the kernel looks (running, or waiting for its CPU).
        CHECK(stateOf(tid) == 'R');
    }
    CHECK(int(cpus.size()) == allowed); // every allowed CPU, each once
    CHECK(idleThreads() == idleBefore + allowed);

    // start() again replaces them: still one per CPU.
    REQUIRE(awake.start().empty());
    CHECK(awake.cpus() == allowed);
    CHECK(idleThreads() == idleBefore + allowed);

    awake.stop();
    CHECK(awake.cpus() == 0);
    for (pid_t tid : awake.threadIds()) CHECK_FALSE(threadExists(tid));
    for (pid_t tid : tids) CHECK_FALSE(threadExists(tid));
    CHECK(idleThreads() == idleBefore);
    awake.stop(); // twice is harmless
}

TEST_CASE("keep-awake: only the CPUs the process may run on", "[live][keep-awake]") {
    // The CPUs come from the calling thread's mask (what taskset or a cgroup leaves it).
    const cpu_set_t saved = maskOf(0);
    const int first = firstCpu(saved);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    REQUIRE(::sched_setaffinity(0, sizeof one, &one) == 0);
    live::KeepAwake awake;
    const std::string problem = awake.start();
    REQUIRE(::sched_setaffinity(0, sizeof saved, &saved) == 0); // restored before any check can end the test
    REQUIRE(problem.empty());
    REQUIRE(awake.cpus() == 1);
    CHECK(pinnedCpu(awake.threadIds()[0]) == first);
}

TEST_CASE("keep-awake: a thread of normal priority on the same CPU takes nearly all of it", "[live][keep-awake]") {
    // The point of SCHED_IDLE: the spinner yields its CPU to any other thread. A busy thread of
    // normal priority pinned beside it gets, by the scheduler's weights (1024 against 3), about
    // 340 times its CPU time; whatever else the machine runs shares the CPU with both alike, so
    // the ratio holds on a loaded machine too. Asked: at least 20 times.
    live::KeepAwake awake;
    REQUIRE(awake.start().empty());
    const pid_t spinner = awake.threadIds()[0];
    const int cpu = pinnedCpu(spinner);
    REQUIRE(cpu >= 0);
    std::atomic<pid_t> busyTid{0};
    std::atomic<bool> done{false};
    std::thread busy([&] {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ::sched_setaffinity(0, sizeof one, &one);
        busyTid.store(::gettid());
        volatile unsigned spin = 0;
        while (!done.load(std::memory_order_relaxed)) spin = spin + 1;
    });
    while (busyTid.load() == 0) std::this_thread::yield();
    // Both measured over the same interval, after the busy thread is pinned.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const long long busy0 = cpuNanoseconds(busyTid.load()), spin0 = cpuNanoseconds(spinner);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    const long long busy1 = cpuNanoseconds(busyTid.load()), spin1 = cpuNanoseconds(spinner);
    done.store(true);
    busy.join();
    awake.stop();
    const long long busyNs = busy1 - busy0, spinNs = spin1 - spin0;
    INFO("on CPU " << cpu << " over 400 ms: the normal thread " << busyNs / 1000 << " us, the spinner " << spinNs / 1000
                   << " us");
    REQUIRE(busyNs > 0);
    CHECK(spinNs * 20 < busyNs);
}

JACK_TEST_CASE("jack: --keep-awake keeps every CPU busy while the session plays, and nothing after it", "[live][keep-awake]") {
    test::TempDir dir;
    const std::int64_t frames = std::int64_t(0.5 * kLiveRate);
    writeWav(dir.file("in.wav"), {test::noise(frames, 0.4f, 31), test::noise(frames, 0.4f, 32)});
    const std::string graph = dir.write("g.yaml", gainGraph(-3));
    const int allowed = cpusOf(0);
    const int idleBefore = idleThreads();

    int idleWhilePlaying = -1;
    const LiveRun run = runLive({graph, "-i", dir.file("in.wav"), "--loop", "--duration", "1.5", "--keep-awake"},
                                [&](int, const MessageCounter& count) {
                                    // "playing on" comes once the stream has started: the threads
                                    // started before it.
                                    waitForMessage(count, "playing on");
                                    idleWhilePlaying = idleThreads();
                                });
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(idleWhilePlaying == idleBefore + allowed);
    CHECK(run.summary.keptAwakeCpus == allowed);
    CHECK(run.out.find("kept awake: " + plural(allowed, "CPU", "CPUs") + " (a spinning thread each at the idle priority)") !=
          std::string::npos);
    CHECK(idleThreads() == idleBefore);

    // Without the option: no such thread, no such line.
    int idleWithout = -1;
    const LiveRun plain = runLive({graph, "-i", dir.file("in.wav"), "--duration", "0.3"}, [&](int, const MessageCounter& count) {
        waitForMessage(count, "playing on");
        idleWithout = idleThreads();
    });
    INFO(plain.out << plain.err);
    REQUIRE(plain.status == 0);
    CHECK(idleWithout == idleBefore);
    CHECK(plain.summary.keptAwakeCpus == 0);
    CHECK(plain.out.find("kept awake") == std::string::npos);
}
