#include "host/live/LiveSessionInternal.h"

#include <cstdio>

namespace sg::live {

int runLiveSession(const LiveOptions& options, const LiveConsole& console, LiveSummary* summary) {
    detail::Session session(options, console);
    return session.run(summary);
}

int printDevices(AudioApi api, std::FILE* out, std::FILE* err) {
    if (const std::string error = audioBackendError(); !error.empty()) {
        std::fprintf(err, "stagegraph live: error: %s\n", error.c_str());
        return cli::kExitFailure;
    }
    const auto apis = listDevices(api);
    if (apis.empty()) {
        std::fputs("stagegraph live: error: this RtAudio has no audio API compiled in\n", err);
        return cli::kExitFailure;
    }
    for (const auto& each : apis) {
        std::fprintf(out, "%s (--api %s):\n", each.displayName.c_str(), audioApiName(each.api));
        if (each.devices.empty()) {
            std::fprintf(out, "  no devices%s%s\n", each.error.empty() ? "" : ": ", each.error.c_str());
            continue;
        }
        for (const auto& d : each.devices) {
            std::string defaults;
            if (d.isDefaultOutput) defaults += "default output";
            if (d.isDefaultInput) defaults += std::string(defaults.empty() ? "" : ", ") + "default input";
            std::fprintf(out, "  %d  %-24s %d in, %d out", d.index, ("'" + d.name + "'").c_str(), d.inputChannels,
                         d.outputChannels);
            if (d.preferredRateHz) std::fprintf(out, ", %u Hz", d.preferredRateHz);
            if (!defaults.empty()) std::fprintf(out, " (%s)", defaults.c_str());
            std::fputc('\n', out);
        }
    }
    return cli::kExitOk;
}

} // namespace sg::live
