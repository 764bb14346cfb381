// Commands of a live session, as lines on standard input (scriptable) or keys on a terminal.
//
//   switch N            crossfade to graph N (1-based, as on the command line); "N" alone too
//   set NODE.PARAM VALUE   change a parameter of the playing graph, VALUE as in YAML
//                       ("set tone.gain -3dB", "set hpf.freq 40 Hz"; "NODE.PARAM=VALUE" too)
//   reload [N]          compile graph N (default: the playing one) again from its file and
//                       crossfade to it; on an error the playing graph stays
//   level DB            monitor level ("level -6 dB") of what goes to the device (and the tee)
//   match on|off        loudness matching
//   status              print the status once
//   help                list the commands
//   quit                stop
// Blank lines and lines starting with '#' are ignored.
//
// Keys (terminal): 1-9 switch, + / - level by 1 dB, 0 level 0 dB, m matching on/off,
// r reload, : type a command line (Enter runs it, Esc cancels), ? help, q quit.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sg::live {

struct LiveCommand {
    enum class Kind { None, Switch, Set, Reload, Level, Match, Status, Help, Quit, Prompt };
    Kind kind = Kind::None;
    int graph = 0;         ///< Switch, Reload: 1-based; 0 = the playing graph (Reload)
    std::string target;    ///< Set: "node.param"
    std::string value;     ///< Set: the value text
    double levelDb = 0;    ///< Level
    bool relative = false; ///< Level: levelDb is a change
    bool on = false;       ///< Match
};

/// Parses one line (a Level from a line is absolute; keys give relative ones). Returns nullopt with `error` set for a line that
/// is not a command; a blank or comment line gives Kind::None.
std::optional<LiveCommand> parseCommandLine(std::string_view line, std::string& error);
/// The command a key stands for (Kind::None if none). `matching` is the current state (for m).
LiveCommand commandForKey(char key, bool matching);
/// The help text for lines and keys.
const char* commandHelp();

} // namespace sg::live
