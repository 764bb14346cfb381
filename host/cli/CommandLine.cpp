#include "host/cli/CommandLine.h"

namespace sg::cli {

namespace {
volatile std::sig_atomic_t interrupted = 0;
void onInterrupt(int) { interrupted = 1; }
} // namespace

InterruptGuard::InterruptGuard(bool active) : active_(active) {
    interrupted = 0;
    if (!active_) return;
    struct sigaction action {};
    action.sa_handler = onInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &previousInt_);
    sigaction(SIGTERM, &action, &previousTerm_);
}

InterruptGuard::~InterruptGuard() {
    if (!active_) return;
    sigaction(SIGINT, &previousInt_, nullptr);
    sigaction(SIGTERM, &previousTerm_, nullptr);
}

volatile std::sig_atomic_t* interruptFlag() { return &interrupted; }

} // namespace sg::cli
