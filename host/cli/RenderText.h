// The messages of `stagegraph render`, shared by its planning, pipeline and commit stages.
#pragma once

#include <cstdint>
#include <string>

namespace sg::cli {

struct LoudnessTarget; // host/cli/Target.h
struct TargetResult;

/// Names the command in the messages below ("render" unless set): `compare` plans and runs its
/// candidates with render's machinery and reports as itself. `name` must outlive the messages.
void setRenderCommandName(const char* name);
/// While alive, this thread's render messages (errors, warnings, notes, graph diagnostics) are
/// collected, unescaped, instead of printed on stderr: batch keeps each row's for its log.
/// Messages of other threads are not affected; captures nest.
class RenderMessageCapture {
public:
    RenderMessageCapture();
    ~RenderMessageCapture();
    RenderMessageCapture(const RenderMessageCapture&) = delete;
    RenderMessageCapture& operator=(const RenderMessageCapture&) = delete;
    /// "error: …", "warning: …", "note: …" and "file:line:col: error: …" lines, in order.
    const std::string& text() const { return text_; }

private:
    std::string text_;
    std::string* previous_;
};

/// Graph diagnostics, formatted one per line (Diagnostics::formatAll()), on stderr.
void printRenderDiagnostics(const std::string& lines);
/// "stagegraph render: error: MESSAGE" on stderr.
void printRenderError(const std::string& message);
/// "stagegraph render: warning: MESSAGE" on stderr.
void printRenderWarning(const std::string& message);
/// "stagegraph render: note: MESSAGE" on stderr.
void printRenderNote(const std::string& message);
/// Prints a usage error and the --help hint; returns kExitUsage.
int renderUsageError(const std::string& message);
/// 'TEXT', as names and paths appear in messages.
std::string quotedText(const std::string& text);
/// "1 sample", "3 samples".
std::string countText(std::int64_t count, const char* one, const char* many);
/// "48000 Hz".
std::string rateText(double hz);

/// "hitting -14 LUFS needed heavy limiting: 1.2 dB mean, 6.0 dB max gain reduction": the
/// warning for a --target result whose limiter did more than kHeavyLimitingDb on average.
std::string heavyLimitingText(const LoudnessTarget& target, const TargetResult& result);

} // namespace sg::cli
