#include "host/live/AudioDevice.h"

#include "host/live/AudioBackend.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sg::live {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

/// The folder of the running program ("" when /proc does not say).
std::string programFolder() {
    char path[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) return {};
    path[n] = '\0';
    const char* slash = std::strrchr(path, '/');
    return slash ? std::string(path, std::size_t(slash - path)) : std::string();
}

/// Where the module may be (AudioBackend.h gives the order), duplicates dropped.
std::vector<std::string> modulePaths() {
    if (const char* chosen = std::getenv("STAGEGRAPH_AUDIO_MODULE"); chosen && *chosen) return {chosen};
    std::vector<std::string> paths;
    const auto add = [&paths](std::string path) {
        if (!path.empty() && std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(std::move(path));
    };
    if (const std::string folder = programFolder(); !folder.empty()) {
        add(folder + "/" STAGEGRAPH_AUDIO_MODULE_NAME);
        add(folder + "/" STAGEGRAPH_AUDIO_MODULE_FROM_BIN);
    }
    add(STAGEGRAPH_AUDIO_MODULE_BUILT);
    add(STAGEGRAPH_AUDIO_MODULE_INSTALLED);
    add(STAGEGRAPH_AUDIO_MODULE_PACKAGED);
    return paths;
}

struct LoadedBackend {
    const AudioBackend* backend = nullptr;
    std::string error;
};

LoadedBackend loadBackend() {
    LoadedBackend loaded;
    std::string tried;
    for (const std::string& path : modulePaths()) {
        std::string why;
        struct stat info {};
        if (stat(path.c_str(), &info) != 0) {
            why = std::strerror(errno);
        } else if (void* module = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
            // Kept open for the process: its streams and static back end live as long.
            const auto entry = reinterpret_cast<AudioBackendEntry>(dlsym(module, kAudioBackendEntry));
            if (entry && (loaded.backend = entry())) return loaded;
            why = std::string("no ") + kAudioBackendEntry + " in it";
        } else {
            const char* message = dlerror();
            why = message ? message : "it does not load";
        }
        tried += (tried.empty() ? "" : "; ") + ("'" + path + "': " + why);
    }
    loaded.error = "cannot load the audio devices' module " STAGEGRAPH_AUDIO_MODULE_NAME " (RtAudio), tried " + tried;
    return loaded;
}

} // namespace

const AudioBackend* audioBackend(std::string& error) {
    static const LoadedBackend loaded = loadBackend(); // once, thread-safe
    error = loaded.error;
    return loaded.backend;
}

std::string audioBackendError() {
    std::string error;
    audioBackend(error);
    return error;
}

const char* audioApiName(AudioApi api) {
    switch (api) {
    case AudioApi::Jack:
        return "jack";
    case AudioApi::Alsa:
        return "alsa";
    case AudioApi::Pulse:
        return "pulse";
    default:
        return "default";
    }
}

std::optional<AudioApi> parseAudioApi(std::string_view text) {
    const std::string name = lower(text);
    if (name == "jack") return AudioApi::Jack;
    if (name == "alsa") return AudioApi::Alsa;
    if (name == "pulse" || name == "pulseaudio") return AudioApi::Pulse;
    return std::nullopt;
}

std::vector<ApiDevices> listDevices(AudioApi api) {
    std::vector<ApiDevices> out;
    std::string error;
    const AudioBackend* backend = audioBackend(error);
    if (!backend) return out;
    if (api != AudioApi::Default) {
        out.push_back(backend->devices(api));
        return out;
    }
    for (AudioApi each : backend->compiledApis()) out.push_back(backend->devices(each));
    return out;
}

int findDevice(const std::vector<DeviceInfo>& devices, const std::string& id, bool needInput, std::string& error) {
    auto usable = [&](const DeviceInfo& d) { return needInput ? d.inputChannels > 0 : d.outputChannels > 0; };
    auto candidates = [&]() {
        std::string list;
        for (const auto& d : devices)
            if (usable(d)) list += (list.empty() ? "" : ", ") + std::to_string(d.index) + " '" + d.name + "'";
        return list.empty() ? std::string("none") : list;
    };
    const char* side = needInput ? "input" : "output";
    int number = -1;
    const auto [end, code] = std::from_chars(id.data(), id.data() + id.size(), number);
    if (code == std::errc() && end == id.data() + id.size()) {
        for (std::size_t i = 0; i < devices.size(); ++i)
            if (devices[i].index == number && usable(devices[i])) return int(i);
        error = "no " + std::string(side) + " device number " + id + " (devices: " + candidates() + ")";
        return -1;
    }
    for (std::size_t i = 0; i < devices.size(); ++i)
        if (devices[i].name == id && usable(devices[i])) return int(i);
    for (std::size_t i = 0; i < devices.size(); ++i)
        if (lower(devices[i].name) == lower(id) && usable(devices[i])) return int(i);
    int found = -1, matches = 0;
    for (std::size_t i = 0; i < devices.size(); ++i) {
        if (usable(devices[i]) && lower(devices[i].name).find(lower(id)) != std::string::npos) {
            found = int(i);
            ++matches;
        }
    }
    if (matches == 1) return found;
    error = (matches > 1 ? "several " + std::string(side) + " devices match '" + id + "'"
                         : "no " + std::string(side) + " device '" + id + "'") +
            " (devices: " + candidates() + ")";
    return -1;
}

// ---- stream -------------------------------------------------------------------------------

struct AudioStream::State {
    std::unique_ptr<BackendStream> stream;
    std::string closedError; ///< the runtime error of the stream close() ended, read after it
};

AudioStream::AudioStream() : state_(std::make_unique<State>()) {}

AudioStream::~AudioStream() { close(); }

std::string AudioStream::open(const StreamRequest& request, AudioCallback& callback, StreamInfo& info, bool& isUsageError) {
    isUsageError = false;
    close();
    state_->closedError.clear();
    std::string loadError;
    const AudioBackend* backend = audioBackend(loadError);
    if (!backend) return loadError;
    // The API: as asked, or the first compiled one that has an output device.
    AudioApi api = request.api;
    ApiDevices devices;
    if (api == AudioApi::Default) {
        for (AudioApi each : backend->compiledApis()) {
            devices = backend->devices(each);
            if (!devices.devices.empty()) {
                api = each;
                break;
            }
        }
        if (api == AudioApi::Default) return "no audio device found (is a JACK server or PulseAudio running? try --list-devices)";
    } else {
        devices = backend->devices(api);
        if (devices.devices.empty()) {
            std::string why = devices.error.empty() ? "" : ": " + devices.error;
            if (api == AudioApi::Jack) why += " (is the JACK server running? jack_lsp lists its ports)";
            if (api == AudioApi::Pulse) {
                const char* server = std::getenv("PULSE_SERVER");
                why += std::string(" (is the PulseAudio server running? no server answers") +
                       (server && *server ? std::string(" at PULSE_SERVER=") + server : std::string()) +
                       "; 'pactl info' asks it)";
            }
            if (api == AudioApi::Alsa)
                why += " (no sound card, and ALSA's default device does not open: when it is PulseAudio's pulse plugin, "
                       "is that server running? 'aplay -L' lists ALSA's devices)";
            return std::string("no ") + devices.displayName + " device" + why;
        }
    }
    const std::string apiName = devices.displayName;

    auto pick = [&](const std::string& id, bool input, int& rtIndex, std::string& name) -> std::string {
        int found = -1;
        std::string error;
        if (id.empty()) {
            for (std::size_t i = 0; i < devices.devices.size(); ++i) {
                const auto& d = devices.devices[i];
                if ((input ? d.isDefaultInput && d.inputChannels > 0 : d.isDefaultOutput && d.outputChannels > 0)) found = int(i);
            }
            if (found < 0)
                for (std::size_t i = 0; i < devices.devices.size() && found < 0; ++i)
                    if ((input ? devices.devices[i].inputChannels : devices.devices[i].outputChannels) > 0) found = int(i);
            if (found < 0) return "no " + apiName + (input ? " input" : " output") + " device";
        } else {
            found = findDevice(devices.devices, id, input, error);
            if (found < 0) {
                isUsageError = true; // the command line names a device that is not there
                return apiName + ": " + error;
            }
        }
        const DeviceInfo& d = devices.devices[std::size_t(found)];
        const int needed = input ? request.inputChannels : request.outputChannels;
        const int has = input ? d.inputChannels : d.outputChannels;
        if (has < needed)
            return apiName + " device '" + d.name + "' has " + std::to_string(has) + (input ? " input" : " output") +
                   " channels; the graph needs " + std::to_string(needed);
        rtIndex = d.index;
        name = d.name;
        return {};
    };

    int outIndex = 0, inIndex = 0;
    if (auto error = pick(request.outputDevice, false, outIndex, info.outputDeviceName); !error.empty()) return error;
    if (request.useInput)
        if (auto error = pick(request.inputDevice, true, inIndex, info.inputDeviceName); !error.empty()) return error;

    BackendStreamRequest chosen;
    chosen.api = api;
    chosen.outputIndex = outIndex;
    chosen.outputChannels = request.outputChannels;
    chosen.useInput = request.useInput;
    chosen.inputIndex = inIndex;
    chosen.inputChannels = request.inputChannels;
    chosen.sampleRateHz = request.sampleRateHz;
    chosen.blockFrames = request.blockFrames;
    chosen.streamName = request.streamName;
    std::string error;
    state_->stream = backend->open(chosen, callback, info, error);
    if (!state_->stream) return "cannot open " + apiName + " device '" + info.outputDeviceName + "': " + error;
    info.apiName = apiName;
    return {};
}

std::string AudioStream::start() {
    if (!state_->stream) return "no stream is open";
    return state_->stream->start();
}

void AudioStream::close() {
    if (!state_->stream) return;
    state_->stream->close();
    state_->closedError = state_->stream->runtimeError(); // the session reads it after closing
    state_->stream.reset();
}

std::string AudioStream::runtimeError() const { return state_->stream ? state_->stream->runtimeError() : state_->closedError; }

} // namespace sg::live
