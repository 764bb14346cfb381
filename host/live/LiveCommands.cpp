#include "host/live/LiveCommands.h"

#include "core/Units.h"

#include <cctype>
#include <charconv>
#include <vector>

namespace sg::live {

namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
    return text;
}

/// The first word and the rest (trimmed).
std::pair<std::string_view, std::string_view> splitWord(std::string_view text) {
    text = trim(text);
    std::size_t end = 0;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    return {text.substr(0, end), trim(text.substr(end))};
}

bool parseGraphNumber(std::string_view text, int& number) {
    const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), number);
    return code == std::errc() && end == text.data() + text.size() && number >= 1;
}

} // namespace

std::optional<LiveCommand> parseCommandLine(std::string_view line, std::string& error) {
    LiveCommand command;
    line = trim(line);
    if (line.empty() || line.front() == '#') return command;
    const auto [word, rest] = splitWord(line);
    const std::string verb(word);
    if (verb == "switch" || verb == "s" || (rest.empty() && !verb.empty() && std::isdigit(static_cast<unsigned char>(verb[0])))) {
        const std::string_view number = (verb == "switch" || verb == "s") ? rest : word;
        if (!parseGraphNumber(number, command.graph)) {
            error = "switch: expected a graph number (1, 2, ...), got '" + std::string(number) + "'";
            return std::nullopt;
        }
        command.kind = LiveCommand::Kind::Switch;
        return command;
    }
    if (verb == "set") {
        // "set node.param VALUE" or "set node.param=VALUE"
        auto [target, value] = splitWord(rest);
        std::string targetText(target), valueText(value);
        if (const auto eq = targetText.find('='); eq != std::string::npos) {
            valueText = targetText.substr(eq + 1) + (value.empty() ? "" : " " + valueText);
            targetText = targetText.substr(0, eq);
        }
        if (targetText.empty() || targetText.find('.') == std::string::npos || trim(valueText).empty()) {
            error = "set: expected 'set node.param VALUE' (e.g. set tone.gain -3dB)";
            return std::nullopt;
        }
        command.kind = LiveCommand::Kind::Set;
        command.target = targetText;
        command.value = std::string(trim(valueText));
        return command;
    }
    if (verb == "reload") {
        command.kind = LiveCommand::Kind::Reload;
        if (!rest.empty() && !parseGraphNumber(rest, command.graph)) {
            error = "reload: expected a graph number or nothing, got '" + std::string(rest) + "'";
            return std::nullopt;
        }
        return command;
    }
    if (verb == "level") {
        const std::string text(rest);
        const std::string_view number =
            !text.empty() && text[0] == '+' ? std::string_view(text).substr(1) : std::string_view(text);
        const ParsedQuantity parsed = parseQuantity(number, UnitKind::Gain);
        if (text.empty() || !parsed.value) {
            error = "level: expected a level in dB (level -6dB), got '" + text + "'";
            return std::nullopt;
        }
        command.kind = LiveCommand::Kind::Level;
        command.levelDb = *parsed.value;
        return command;
    }
    if (verb == "match") {
        if (rest != "on" && rest != "off") {
            error = "match: expected 'match on' or 'match off'";
            return std::nullopt;
        }
        command.kind = LiveCommand::Kind::Match;
        command.on = rest == "on";
        return command;
    }
    if (verb == "status" && rest.empty()) {
        command.kind = LiveCommand::Kind::Status;
        return command;
    }
    if ((verb == "help" || verb == "?") && rest.empty()) {
        command.kind = LiveCommand::Kind::Help;
        return command;
    }
    if ((verb == "quit" || verb == "exit" || verb == "q") && rest.empty()) {
        command.kind = LiveCommand::Kind::Quit;
        return command;
    }
    error = "unknown command '" + std::string(line) + "' (try 'help')";
    return std::nullopt;
}

LiveCommand commandForKey(char key, bool matching) {
    LiveCommand command;
    if (key >= '1' && key <= '9') {
        command.kind = LiveCommand::Kind::Switch;
        command.graph = key - '0';
    } else if (key == '+' || key == '=') {
        command.kind = LiveCommand::Kind::Level;
        command.levelDb = 1;
        command.relative = true;
    } else if (key == '-' || key == '_') {
        command.kind = LiveCommand::Kind::Level;
        command.levelDb = -1;
        command.relative = true;
    } else if (key == '0') {
        command.kind = LiveCommand::Kind::Level;
        command.levelDb = 0;
    } else if (key == 'm' || key == 'M') {
        command.kind = LiveCommand::Kind::Match;
        command.on = !matching;
    } else if (key == 'r' || key == 'R') {
        command.kind = LiveCommand::Kind::Reload;
    } else if (key == ':') {
        command.kind = LiveCommand::Kind::Prompt;
    } else if (key == '?' || key == 'h' || key == 'H') {
        command.kind = LiveCommand::Kind::Help;
    } else if (key == 'q' || key == 'Q') {
        command.kind = LiveCommand::Kind::Quit;
    }
    return command;
}

const char* commandHelp() {
    return "commands (standard input, one per line):\n"
           "  switch N               crossfade to graph N (or just: N)\n"
           "  set NODE.PARAM VALUE   change a parameter of the playing graph (set tone.gain -3dB)\n"
           "  reload [N]             compile graph N (default: the playing one) again and crossfade to it\n"
           "  level DB               monitor level (level -6dB; the keys + and - change it by 1 dB)\n"
           "  match on|off           loudness matching of the graphs\n"
           "  status | help | quit\n"
           "keys (terminal): 1-9 switch, +/- level 1 dB, 0 level 0 dB, m matching, r reload,\n"
           "  : type a command, ? help, q quit\n";
}

} // namespace sg::live
