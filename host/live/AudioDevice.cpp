#include "host/live/AudioDevice.h"

#include <rtaudio/RtAudio.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace sg::live {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

RtAudio::Api toRtApi(AudioApi api) {
    switch (api) {
    case AudioApi::Jack:
        return RtAudio::UNIX_JACK;
    case AudioApi::Alsa:
        return RtAudio::LINUX_ALSA;
    case AudioApi::Pulse:
        return RtAudio::LINUX_PULSE;
    default:
        return RtAudio::UNSPECIFIED;
    }
}

std::optional<AudioApi> fromRtApi(RtAudio::Api api) {
    switch (api) {
    case RtAudio::UNIX_JACK:
        return AudioApi::Jack;
    case RtAudio::LINUX_ALSA:
        return AudioApi::Alsa;
    case RtAudio::LINUX_PULSE:
        return AudioApi::Pulse;
    default:
        return std::nullopt;
    }
}

/// alsa-lib prints its own complaints (no card 0, ...) straight to stderr while devices are
/// probed. Setup time only, main thread: point fd 2 at /dev/null for the duration.
class StderrSilencer {
public:
    explicit StderrSilencer(bool active) {
        if (!active) return;
        std::fflush(stderr);
        saved_ = dup(2);
        const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (saved_ >= 0 && null >= 0) dup2(null, 2);
        if (null >= 0) ::close(null);
    }
    ~StderrSilencer() {
        if (saved_ < 0) return;
        std::fflush(stderr);
        dup2(saved_, 2);
        ::close(saved_);
    }
    StderrSilencer(const StderrSilencer&) = delete;
    StderrSilencer& operator=(const StderrSilencer&) = delete;

private:
    int saved_ = -1;
};

/// RtAudio's messages start with the class and function ("RtApiJack::probeDeviceOpen: ").
std::string cleanMessage(const std::string& text) {
    std::string out = text;
    const auto colon = out.find(": ");
    if (out.rfind("RtApi", 0) == 0 && colon != std::string::npos) out = out.substr(colon + 2);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ' || out.back() == '.')) out.pop_back();
    return out;
}

std::vector<DeviceInfo> queryDevices(RtAudio& rt) {
    std::vector<DeviceInfo> devices;
    const unsigned count = rt.getDeviceCount();
    for (unsigned i = 0; i < count; ++i) {
        const RtAudio::DeviceInfo info = rt.getDeviceInfo(i);
        if (!info.probed) continue;
        DeviceInfo d;
        d.index = int(i);
        d.name = info.name;
        d.inputChannels = int(info.inputChannels);
        d.outputChannels = int(info.outputChannels);
        d.isDefaultInput = info.isDefaultInput;
        d.isDefaultOutput = info.isDefaultOutput;
        d.preferredRateHz = info.preferredSampleRate;
        d.ratesHz = info.sampleRates;
        devices.push_back(std::move(d));
    }
    return devices;
}

ApiDevices devicesOf(AudioApi api) {
    ApiDevices result;
    result.api = api;
    result.displayName = RtAudio::getApiDisplayName(toRtApi(api));
    StderrSilencer quiet(api == AudioApi::Alsa);
    try {
        RtAudio rt(toRtApi(api));
        rt.showWarnings(false);
        result.devices = queryDevices(rt);
    } catch (const RtAudioError& e) {
        result.error = cleanMessage(e.what());
    }
    return result;
}

// ---- runtime errors -----------------------------------------------------------------------
// RtAudio's error callback carries no user pointer, so the first runtime error of the process
// goes into this fixed buffer: claimed with an atomic flag, written, then published. No lock,
// no allocation beyond RtAudio's own std::string argument.
std::atomic<bool> runtimeErrorClaimed{false};
std::atomic<bool> runtimeErrorReady{false};
char runtimeErrorText[512];

void onRuntimeError(RtAudioError::Type type, const std::string& text) {
    if (type == RtAudioError::WARNING || type == RtAudioError::DEBUG_WARNING) return;
    if (runtimeErrorClaimed.exchange(true)) return;
    std::snprintf(runtimeErrorText, sizeof runtimeErrorText, "%s", text.c_str());
    runtimeErrorReady.store(true, std::memory_order_release);
}

} // namespace

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

std::vector<AudioApi> compiledApis() {
    std::vector<RtAudio::Api> apis;
    RtAudio::getCompiledApi(apis);
    std::vector<AudioApi> out;
    for (auto api : apis)
        if (auto ours = fromRtApi(api)) out.push_back(*ours);
    return out;
}

std::vector<ApiDevices> listDevices(AudioApi api) {
    std::vector<ApiDevices> out;
    if (api != AudioApi::Default) {
        out.push_back(devicesOf(api));
        return out;
    }
    for (AudioApi each : compiledApis()) out.push_back(devicesOf(each));
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
    std::unique_ptr<RtAudio> rt;
    AudioCallback* callback = nullptr;
    std::vector<float*> outputs;
    std::vector<const float*> inputs;
    bool running = false;

    static int trampoline(void* output, void* input, unsigned frames, double, RtAudioStreamStatus status, void* user) {
        auto* self = static_cast<State*>(user);
        auto* out = static_cast<float*>(output);
        const auto* in = static_cast<const float*>(input);
        // Non-interleaved: channel c starts c * frames samples into the buffer.
        for (std::size_t c = 0; c < self->outputs.size(); ++c) self->outputs[c] = out + c * frames;
        for (std::size_t c = 0; c < self->inputs.size(); ++c) self->inputs[c] = in ? in + c * frames : nullptr;
        self->callback->processAudio(in && !self->inputs.empty() ? self->inputs.data() : nullptr, self->outputs.data(),
                                     int(frames), status != 0);
        return 0;
    }
};

AudioStream::AudioStream() : state_(std::make_unique<State>()) {}

AudioStream::~AudioStream() { close(); }

std::string AudioStream::open(const StreamRequest& request, AudioCallback& callback, StreamInfo& info, bool& isUsageError) {
    isUsageError = false;
    close();
    runtimeErrorClaimed.store(false);
    runtimeErrorReady.store(false);
    // The API: as asked, or the first compiled one that has an output device.
    AudioApi api = request.api;
    ApiDevices devices;
    if (api == AudioApi::Default) {
        for (AudioApi each : compiledApis()) {
            devices = devicesOf(each);
            if (!devices.devices.empty()) {
                api = each;
                break;
            }
        }
        if (api == AudioApi::Default) return "no audio device found (is a JACK server or PulseAudio running? try --list-devices)";
    } else {
        devices = devicesOf(api);
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

    state_->callback = &callback;
    state_->outputs.assign(std::size_t(request.outputChannels), nullptr);
    state_->inputs.assign(request.useInput ? std::size_t(request.inputChannels) : 0, nullptr);

    StderrSilencer quiet(api == AudioApi::Alsa);
    try {
        state_->rt = std::make_unique<RtAudio>(toRtApi(api));
        state_->rt->showWarnings(false);
        RtAudio::StreamParameters output;
        output.deviceId = unsigned(outIndex);
        output.nChannels = unsigned(request.outputChannels);
        RtAudio::StreamParameters input;
        input.deviceId = unsigned(inIndex);
        input.nChannels = unsigned(request.inputChannels);
        RtAudio::StreamOptions options;
        options.flags = RTAUDIO_NONINTERLEAVED | RTAUDIO_SCHEDULE_REALTIME;
        options.streamName = request.streamName;
        unsigned blockFrames = unsigned(request.blockFrames);
        state_->rt->openStream(&output, request.useInput ? &input : nullptr, RTAUDIO_FLOAT32, request.sampleRateHz, &blockFrames,
                               &State::trampoline, state_.get(), &options, &onRuntimeError);
        info.api = api;
        info.apiName = apiName;
        info.blockFrames = int(blockFrames);
        info.sampleRateHz = state_->rt->getStreamSampleRate();
        info.latencyFrames = state_->rt->getStreamLatency();
    } catch (const RtAudioError& e) {
        state_->rt.reset();
        return "cannot open " + apiName + " device '" + info.outputDeviceName + "': " + cleanMessage(e.what());
    }
    return {};
}

std::string AudioStream::start() {
    if (!state_->rt) return "no stream is open";
    try {
        state_->rt->startStream();
        state_->running = true;
    } catch (const RtAudioError& e) {
        return "cannot start the stream: " + cleanMessage(e.what());
    }
    return {};
}

void AudioStream::close() {
    if (!state_->rt) return;
    try {
        if (state_->rt->isStreamRunning()) state_->rt->stopStream();
        if (state_->rt->isStreamOpen()) state_->rt->closeStream();
    } catch (const RtAudioError&) {
        // Closing after the server went away: nothing left to release.
    }
    state_->rt.reset();
    state_->running = false;
}

std::string AudioStream::runtimeError() const {
    if (!runtimeErrorReady.load(std::memory_order_acquire)) return {};
    return cleanMessage(runtimeErrorText);
}

} // namespace sg::live
