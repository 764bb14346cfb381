// `stagegraph live`: graphs played on an audio device, switched and changed while they play.
//
//   stagegraph live GRAPH.yaml… [-i FILE | --input-device ID] [--device ID] [--api jack|alsa|pulse]
//                   [--rate HZ] [--block N] [--duration S] [--loop] [--match-loudness]
//                   [--crossfade MS] [--tee FILE [--format F]] [--set node.param=VALUE…]
//   stagegraph live --list-devices [--api jack|alsa|pulse]
//
// The session itself is host/live/LiveSession.h; this file turns arguments into LiveOptions.
// Exit status: 0 success; 1 device, file or processing failure; 2 usage or graph error.
#pragma once

#include "host/live/LiveSession.h"

#include <string>
#include <vector>

namespace sg::cli {

/// What the arguments asked for.
struct LiveRequest {
    live::LiveOptions options;
    bool listDevices = false; ///< --list-devices
    bool help = false;        ///< -h / --help
};

/// Parses the arguments of `live` (after the command name). Returns "" or a usage error.
std::string parseLiveArguments(const std::vector<std::string>& args, LiveRequest& request);

/// `stagegraph live ARGS…` on the process's standard streams. Returns the exit status.
int runLive(const std::vector<std::string>& args);
/// The same with explicit streams (tests): commands from `console.commandFd`.
int runLive(const std::vector<std::string>& args, const live::LiveConsole& console, live::LiveSummary* summary = nullptr);

/// The usage text of `live`.
const char* liveUsage();

} // namespace sg::cli
