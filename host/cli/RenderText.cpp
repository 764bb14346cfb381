#include "host/cli/RenderText.h"

#include "host/cli/CommandLine.h"
#include "host/io/TerminalText.h"

#include <cstdio>

namespace sg::cli {

// Messages quote graph names and paths: escaped here, where they reach the terminal.
void printRenderError(const std::string& message) {
    std::fprintf(stderr, "stagegraph render: error: %s\n", io::terminalLines(message).c_str());
}
void printRenderWarning(const std::string& message) {
    std::fprintf(stderr, "stagegraph render: warning: %s\n", io::terminalLines(message).c_str());
}
void printRenderNote(const std::string& message) {
    std::fprintf(stderr, "stagegraph render: note: %s\n", io::terminalLines(message).c_str());
}

int renderUsageError(const std::string& message) {
    printRenderError(message);
    std::fputs("(see 'stagegraph render --help')\n", stderr);
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

} // namespace sg::cli
