// The module stagegraph-audio.so: AudioBackend (host/live/AudioBackend.h) on RtAudio 5.2. Only
// stagegraph_audio_backend_v1 is exported (the module is built with hidden visibility).
//
// RtAudio reports setup errors as RtAudioError exceptions; here they become messages. Errors
// while running that it reports (a driver error) arrive through its error callback and are kept
// for the control thread to read: nothing is printed from the audio thread. (A JACK server that
// goes away is not reported there: RtAudio closes the stream and prints a line; the live session
// watches the callbacks for that.)
#include "host/live/AudioBackend.h"

#include <rtaudio/RtAudio.h>

#include <atomic>
#include <cstdio>
#include <fcntl.h>
#include <unistd.h>

namespace sg::live {

namespace {

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

class RtStream final : public BackendStream {
public:
    RtStream(AudioCallback& callback, int outputChannels, int inputChannels)
        : callback_(callback), outputs_(std::size_t(outputChannels), nullptr), inputs_(std::size_t(inputChannels), nullptr) {}
    ~RtStream() override { close(); }

    std::string open(const BackendStreamRequest& request, StreamInfo& info) {
        runtimeErrorClaimed.store(false);
        runtimeErrorReady.store(false);
        StderrSilencer quiet(request.api == AudioApi::Alsa);
        try {
            rt_ = std::make_unique<RtAudio>(toRtApi(request.api));
            rt_->showWarnings(false);
            RtAudio::StreamParameters output;
            output.deviceId = unsigned(request.outputIndex);
            output.nChannels = unsigned(request.outputChannels);
            RtAudio::StreamParameters input;
            input.deviceId = unsigned(request.inputIndex);
            input.nChannels = unsigned(request.inputChannels);
            RtAudio::StreamOptions options;
            options.flags = RTAUDIO_NONINTERLEAVED | RTAUDIO_SCHEDULE_REALTIME;
            options.streamName = request.streamName;
            unsigned blockFrames = unsigned(request.blockFrames);
            rt_->openStream(&output, request.useInput ? &input : nullptr, RTAUDIO_FLOAT32, request.sampleRateHz, &blockFrames,
                            &RtStream::trampoline, this, &options, &onRuntimeError);
            info.api = request.api;
            info.apiName = RtAudio::getApiDisplayName(toRtApi(request.api));
            info.blockFrames = int(blockFrames);
            info.sampleRateHz = rt_->getStreamSampleRate();
            info.latencyFrames = rt_->getStreamLatency();
        } catch (const RtAudioError& e) {
            rt_.reset();
            return cleanMessage(e.what());
        }
        return {};
    }

    std::string start() override {
        if (!rt_) return "no stream is open";
        try {
            rt_->startStream();
        } catch (const RtAudioError& e) {
            return "cannot start the stream: " + cleanMessage(e.what());
        }
        return {};
    }

    void close() override {
        if (!rt_) return;
        try {
            if (rt_->isStreamRunning()) rt_->stopStream();
            if (rt_->isStreamOpen()) rt_->closeStream();
        } catch (const RtAudioError&) {
            // Closing after the server went away: nothing left to release.
        }
        rt_.reset();
    }

    std::string runtimeError() const override {
        if (!runtimeErrorReady.load(std::memory_order_acquire)) return {};
        return cleanMessage(runtimeErrorText);
    }

private:
    static int trampoline(void* output, void* input, unsigned frames, double, RtAudioStreamStatus status, void* user) {
        auto* self = static_cast<RtStream*>(user);
        auto* out = static_cast<float*>(output);
        const auto* in = static_cast<const float*>(input);
        // Non-interleaved: channel c starts c * frames samples into the buffer.
        for (std::size_t c = 0; c < self->outputs_.size(); ++c) self->outputs_[c] = out + c * frames;
        for (std::size_t c = 0; c < self->inputs_.size(); ++c) self->inputs_[c] = in ? in + c * frames : nullptr;
        self->callback_.processAudio(in && !self->inputs_.empty() ? self->inputs_.data() : nullptr, self->outputs_.data(),
                                     int(frames), status != 0);
        return 0;
    }

    AudioCallback& callback_;
    std::vector<float*> outputs_;
    std::vector<const float*> inputs_;
    std::unique_ptr<RtAudio> rt_;
};

class RtBackend final : public AudioBackend {
public:
    std::vector<AudioApi> compiledApis() const override {
        std::vector<RtAudio::Api> apis;
        RtAudio::getCompiledApi(apis);
        std::vector<AudioApi> out;
        for (auto api : apis)
            if (auto ours = fromRtApi(api)) out.push_back(*ours);
        return out;
    }

    ApiDevices devices(AudioApi api) const override {
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

    std::unique_ptr<BackendStream> open(const BackendStreamRequest& request, AudioCallback& callback, StreamInfo& info,
                                        std::string& error) const override {
        auto stream = std::make_unique<RtStream>(callback, request.outputChannels, request.useInput ? request.inputChannels : 0);
        error = stream->open(request, info);
        if (!error.empty()) return nullptr;
        return stream;
    }
};

} // namespace

} // namespace sg::live

extern "C" __attribute__((visibility("default"))) const sg::live::AudioBackend* stagegraph_audio_backend_v1() {
    static const sg::live::RtBackend backend;
    return &backend;
}
