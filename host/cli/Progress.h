// A one-line progress bar for long work, drawn on a terminal and silent elsewhere.
//
// Enabled only when the stream is a terminal (isatty), so logs and pipes stay clean. Redraws at
// most kRedrawsPerSecond times a second whatever the update rate (and not at all for work that
// ends within the first period), so updating once per audio block costs one clock read.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace sg::cli {

class ProgressBar {
public:
    /// Most redraws per second.
    static constexpr int kRedrawsPerSecond = 10;

    /// A bar for `total` units of work (frames), labelled `label`, on `stream`. Enabled when
    /// `stream` is a terminal.
    ProgressBar(std::string label, std::int64_t total, std::FILE* stream = stderr);
    /// The same with the decision made by the caller (tests, --quiet).
    ProgressBar(std::string label, std::int64_t total, std::FILE* stream, bool enabled);
    ~ProgressBar(); ///< clears the line if something was drawn
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    /// `done` units of `total` are finished. Redraws if enabled and 1/kRedrawsPerSecond s passed.
    void update(std::int64_t done);
    /// Clears the bar's line (call before printing a summary).
    void finish();
    /// True if the bar draws anything.
    bool enabled() const { return enabled_; }
    /// Number of redraws so far (for tests).
    int redraws() const { return redraws_; }

    /// True when `stream` is a terminal.
    static bool isTerminal(std::FILE* stream);

private:
    void draw(std::int64_t done);

    std::string label_;
    std::int64_t total_ = 0;
    std::FILE* stream_ = nullptr;
    bool enabled_ = false;
    bool drawn_ = false;
    int redraws_ = 0;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point lastDraw_;
};

} // namespace sg::cli
