#include "host/live/Terminal.h"

#include <unistd.h>

namespace sg::live {

bool isTerminal(int fd) { return fd >= 0 && ::isatty(fd) == 1; }

RawTerminal::RawTerminal(int fd) : fd_(fd) {
    if (!isTerminal(fd) || tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= ~tcflag_t(ICANON | ECHO); // ISIG stays: Ctrl-C still interrupts
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    active_ = tcsetattr(fd, TCSANOW, &raw) == 0;
}

RawTerminal::~RawTerminal() {
    if (active_) tcsetattr(fd_, TCSANOW, &saved_);
}

} // namespace sg::live
