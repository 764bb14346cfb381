// The audio devices' module (host/live/AudioBackend.h): RtAudio and the 25 libraries it brings
// (JACK, PulseAudio, ALSA...) are loaded only by the commands that use a device, and a module
// that is missing or broken is named with the reason. The dynamic loader itself says what it
// loads (LD_DEBUG=files), so the check does not trust our own account of it.
#include "WavTesting.h"
#include "host/live/AudioBackend.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <string>
#include <utility>

using namespace sg::test;

namespace {

const char* kPassGraph = "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                         "  g: {type: gain, gain: -1 dB}\nconnections: [\"mix -> g -> out\"]\n";

/// `stagegraph <arguments>` with the dynamic loader reporting every library it opens (on stderr).
CommandResult runTraced(const std::string& arguments) { return runShell("LD_DEBUG=files '" + cliPath() + "' " + arguments); }

bool loads(const CommandResult& r, const std::string& library) {
    return r.err.find("file=" + library) != std::string::npos || r.err.find("/" + library) != std::string::npos;
}

} // namespace

TEST_CASE("audio module: render, analyze and --version do not load RtAudio; live --list-devices does", "[cli][live]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeWav(dir.file("in.wav"), {noise(4800, 0.3f, 1), noise(4800, 0.3f, 2)});
    const auto quietCommands = {std::string("--version"),
                                "render '" + graph + "' -i '" + dir.file("in.wav") + "' -o '" + dir.file("out.wav") + "'",
                                "analyze '" + dir.file("in.wav") + "'"};
    for (const std::string& arguments : quietCommands) {
        CAPTURE(arguments);
        const CommandResult r = runTraced(arguments);
        REQUIRE(r.status == 0);
        CHECK(loads(r, "libsndfile.so.1")); // the trace works: a library every command links
        CHECK_FALSE(loads(r, "librtaudio"));
        CHECK_FALSE(loads(r, "libjack"));
        CHECK_FALSE(loads(r, "libpulse"));
        CHECK_FALSE(loads(r, "libasound"));
        CHECK_FALSE(loads(r, sg::live::kAudioBackendEntry));
        CHECK(r.err.find("stagegraph-audio.so") == std::string::npos);
    }
    // JACK is asked with no server of that name: the module loads, lists nothing, exits 0.
    const CommandResult devices = runShell("JACK_DEFAULT_SERVER=stagegraph-no-such-server LD_DEBUG=files '" + cliPath() +
                                           "' live --list-devices --api jack");
    INFO(devices.out);
    REQUIRE(devices.status == 0);
    CHECK(devices.err.find("stagegraph-audio.so") != std::string::npos);
    CHECK(loads(devices, "librtaudio.so.6"));
    CHECK(devices.out.find("Jack (--api jack):") != std::string::npos);
}

TEST_CASE("audio module: a missing or broken module is named with the reason, and only device commands fail", "[cli][live]") {
    TempDir dir;
    const std::string graph = dir.write("pass.yaml", kPassGraph);
    writeWav(dir.file("in.wav"), {noise(4800, 0.3f, 1), noise(4800, 0.3f, 2)});
    const std::string missing = dir.file("missing.so");
    const std::string broken = dir.write("broken.so", std::string(4096, 'x')); // long enough to have a header
    for (const auto& [module, reason] :
         {std::pair{missing, std::string("No such file or directory")}, std::pair{broken, std::string("invalid ELF header")}}) {
        CAPTURE(module);
        const std::string env = "STAGEGRAPH_AUDIO_MODULE='" + module + "' ";
        const CommandResult list = runShell(env + "'" + cliPath() + "' live --list-devices");
        CHECK(list.status == 1);
        CHECK(list.err.find("stagegraph live: error: cannot load the audio devices' module") != std::string::npos);
        CHECK(list.err.find("'" + module + "': ") != std::string::npos);
        CHECK(list.err.find(reason) != std::string::npos);
        CHECK(list.out.empty());
        // A session: the graph and file are fine, the device cannot be opened.
        const CommandResult play =
            runShell(env + "'" + cliPath() + "' live '" + graph + "' -i '" + dir.file("in.wav") + "' --api jack </dev/null");
        CHECK(play.status == 1);
        CHECK(play.err.find("cannot load the audio devices' module") != std::string::npos);
        CHECK(play.err.find(reason) != std::string::npos);
        // Commands without devices do not look for it.
        const CommandResult render = runShell(env + "'" + cliPath() + "' render '" + graph + "' -i '" + dir.file("in.wav") +
                                              "' -o '" + dir.file("o.wav") + "'");
        CHECK(render.status == 0);
        CHECK(render.err.find("module") == std::string::npos);
    }
}
