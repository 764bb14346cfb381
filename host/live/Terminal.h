// The terminal side of a live session: raw key input and the status line.
//
// RawTerminal switches a terminal to non-canonical, no-echo input (keys arrive one by one,
// signals such as Ctrl-C still work) and restores the saved settings when destroyed, so the
// shell is left as it was also after Ctrl-C (the session stops through its signal flag and
// unwinds normally).
#pragma once

#include <termios.h>

namespace sg::live {

/// True if `fd` is a terminal.
bool isTerminal(int fd);

class RawTerminal {
public:
    /// Raw mode on `fd` if it is a terminal; otherwise does nothing.
    explicit RawTerminal(int fd);
    ~RawTerminal(); ///< restores the saved settings
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;
    bool active() const { return active_; } ///< raw mode is on

private:
    int fd_ = -1;
    bool active_ = false;
    termios saved_{};
};

} // namespace sg::live
