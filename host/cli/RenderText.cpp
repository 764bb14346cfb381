#include "host/cli/RenderText.h"

#include "host/cli/CommandLine.h"
#include "host/cli/Target.h"
#include "host/io/TerminalText.h"

#include <cstdio>

namespace sg::cli {

namespace {
const char* commandName = "render";

/// The capture of this thread, if any (RenderMessageCapture).
thread_local std::string* capturedMessages = nullptr;

void printMessage(const char* kind, const std::string& message) {
    if (capturedMessages) {
        *capturedMessages += std::string(kind) + ": " + message + "\n";
        return;
    }
    std::fprintf(stderr, "stagegraph %s: %s: %s\n", commandName, kind, io::terminalLines(message).c_str());
}
} // namespace

void setRenderCommandName(const char* name) { commandName = name; }

RenderMessageCapture::RenderMessageCapture() : previous_(capturedMessages) { capturedMessages = &text_; }
RenderMessageCapture::~RenderMessageCapture() { capturedMessages = previous_; }

void printRenderDiagnostics(const std::string& lines) {
    if (capturedMessages)
        *capturedMessages += lines;
    else
        std::fputs(io::terminalLines(lines).c_str(), stderr);
}

// Messages quote graph names and paths: escaped here, where they reach the terminal.
void printRenderError(const std::string& message) { printMessage("error", message); }
void printRenderWarning(const std::string& message) { printMessage("warning", message); }
void printRenderNote(const std::string& message) { printMessage("note", message); }

int renderUsageError(const std::string& message) {
    printRenderError(message);
    if (!capturedMessages) std::fprintf(stderr, "(see 'stagegraph %s --help')\n", commandName);
    return kExitUsage;
}

std::string quotedText(const std::string& text) { return "'" + text + "'"; }

std::string countText(std::int64_t count, const char* one, const char* many) {
    return std::to_string(count) + " " + (count == 1 ? one : many);
}

std::string rateText(double hz) {
    char text[32];
    std::snprintf(text, sizeof text, "%g Hz", hz);
    return text;
}

std::string heavyLimitingText(const LoudnessTarget& target, const TargetResult& result) {
    char text[160];
    std::snprintf(text, sizeof text, "hitting %g LUFS needed heavy limiting: %.1f dB mean, %.1f dB max gain reduction",
                  target.integratedLufs, result.meanGainReductionDb, result.maxGainReductionDb);
    return text;
}

} // namespace sg::cli
