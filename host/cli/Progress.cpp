#include "host/cli/Progress.h"

#include <algorithm>
#include <sys/ioctl.h>
#include <unistd.h>

namespace sg::cli {

namespace {

int terminalColumns(std::FILE* stream) {
    winsize size{};
    if (::ioctl(fileno(stream), TIOCGWINSZ, &size) == 0 && size.ws_col >= 20) return size.ws_col;
    return 80;
}

} // namespace

bool ProgressBar::isTerminal(std::FILE* stream) { return stream && ::isatty(fileno(stream)) == 1; }

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::FILE* stream)
    : ProgressBar(std::move(label), total, stream, isTerminal(stream)) {}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::FILE* stream, bool enabled)
    : label_(std::move(label)), total_(total), stream_(stream), enabled_(enabled && stream != nullptr),
      start_(std::chrono::steady_clock::now()), lastDraw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(std::int64_t done) {
    if (!enabled_) return;
    const auto now = std::chrono::steady_clock::now();
    // The first draw also waits one period, so work shorter than that draws nothing.
    if (now - lastDraw_ < std::chrono::milliseconds(1000 / kRedrawsPerSecond)) return;
    lastDraw_ = now;
    draw(done);
}

void ProgressBar::draw(std::int64_t done) {
    const double fraction = total_ > 0 ? std::clamp(double(done) / double(total_), 0.0, 1.0) : 1.0;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    char tail[64];
    const double remaining = fraction > 0 ? elapsed / fraction - elapsed : 0;
    if (fraction > 0.01 && fraction < 1.0 && remaining >= 10)
        std::snprintf(tail, sizeof tail, " %3d%%  %.0f s left", int(fraction * 100), remaining);
    else if (fraction > 0.01 && fraction < 1.0)
        std::snprintf(tail, sizeof tail, " %3d%%  %.1f s left", int(fraction * 100), remaining);
    else
        std::snprintf(tail, sizeof tail, " %3d%%", int(fraction * 100));
    const int columns = terminalColumns(stream_);
    const int barWidth = std::max(10, columns - 1 - int(label_.size()) - 3 - int(sizeof(" 100%  9999 s left") - 1));
    const int filled = int(fraction * barWidth);
    std::string line = "\r" + label_ + " [" + std::string(std::size_t(filled), '#') +
                       std::string(std::size_t(barWidth - filled), '-') + "]" + tail + "\033[K";
    std::fputs(line.c_str(), stream_);
    std::fflush(stream_);
    drawn_ = true;
    ++redraws_;
}

void ProgressBar::finish() {
    if (!enabled_ || !drawn_) return;
    std::fputs("\r\033[K", stream_);
    std::fflush(stream_);
    drawn_ = false;
}

} // namespace sg::cli
