#include "host/cli/RenderText.h"

#include "host/cli/CommandLine.h"
#include "host/io/TerminalText.h"

#include <cstdio>

namespace sg::cli {

namespace {
const char* commandName = "render";
}

void setRenderCommandName(const char* name) { commandName = name; }

// Messages quote graph names and paths: escaped here, where they reach the terminal.
void printRenderError(const std::string& message) {
    std::fprintf(stderr, "stagegraph %s: error: %s\n", commandName, io::terminalLines(message).c_str());
}
void printRenderWarning(const std::string& message) {
    std::fprintf(stderr, "stagegraph %s: warning: %s\n", commandName, io::terminalLines(message).c_str());
}
void printRenderNote(const std::string& message) {
    std::fprintf(stderr, "stagegraph %s: note: %s\n", commandName, io::terminalLines(message).c_str());
}

int renderUsageError(const std::string& message) {
    printRenderError(message);
    std::fprintf(stderr, "(see 'stagegraph %s --help')\n", commandName);
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
