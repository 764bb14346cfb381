#include "host/live/KeepAwake.h"

#include <cerrno>
#include <cstring>
#include <pthread.h>
#include <sched.h>
#include <system_error>
#include <unistd.h>
#include <utility>

namespace sg::live {

KeepAwake::~KeepAwake() { stop(); }

std::string KeepAwake::start() {
    stop();
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return std::string("cannot read the CPUs this process may run on: ") + std::strerror(errno);
    stop_.store(false, std::memory_order_relaxed);
    std::string why;
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        auto spinner = std::make_unique<Spinner>();
        Spinner* s = spinner.get(); // outlives the thread: joined before it is dropped
        const auto report = [s](int state, std::string problem) {
            s->problem = std::move(problem);
            s->state.store(state, std::memory_order_release);
            s->state.notify_one();
        };
        try {
            spinner->thread = std::thread([this, cpu, s, report] {
                // The idle policy first: the thread never runs pinned at a normal priority.
                const sched_param none{};
                int code = ::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &none);
                if (code != 0) {
                    report(-1, std::string("cannot give a thread the idle scheduling policy: ") + std::strerror(code));
                    return;
                }
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                code = ::pthread_setaffinity_np(::pthread_self(), sizeof one, &one);
                if (code != 0) {
                    report(-1, "cannot pin a thread to CPU " + std::to_string(cpu) + ": " + std::strerror(code));
                    return;
                }
                s->tid = ::gettid();
                report(1, {});
                // No pause instruction: on a virtual machine, a loop of pauses is what the
                // hypervisor takes for a spinning lock and deschedules (pause-loop exiting).
                while (!stop_.load(std::memory_order_relaxed)) {
                }
            });
        } catch (const std::system_error& e) {
            why = std::string("cannot start a thread: ") + e.what();
            continue;
        }
        s->state.wait(0, std::memory_order_acquire); // until the thread has its policy and CPU, or says why not
        if (s->state.load(std::memory_order_acquire) < 0) {
            spinner->thread.join();
            why = s->problem;
            continue;
        }
        spinners_.push_back(std::move(spinner));
    }
    if (spinners_.empty()) return why.empty() ? "no CPU to keep awake" : why;
    return {};
}

void KeepAwake::stop() noexcept {
    stop_.store(true, std::memory_order_relaxed);
    for (auto& s : spinners_)
        if (s->thread.joinable()) s->thread.join();
    spinners_.clear();
}

std::vector<pid_t> KeepAwake::threadIds() const {
    std::vector<pid_t> ids;
    for (const auto& s : spinners_) ids.push_back(s->tid);
    return ids;
}

} // namespace sg::live
