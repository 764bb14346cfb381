// Audio devices through RtAudio 5.2, kept out of every other header and out of the command's
// start: RtAudio lives in a module loaded on first use (AudioBackend.h).
//
// Lists devices per API (JACK, ALSA, PulseAudio), finds one by index or name, and opens a
// stream with 32-bit float, non-interleaved (planar) buffers. RtAudio's setup errors become
// messages. Errors while running that RtAudio reports (a driver error) arrive through its error
// callback and are kept for the control thread to read: nothing is printed from the audio thread.
// A JACK server that goes away is not among them (RtAudio 5.2 closes the stream and only prints
// a line): the live session sees the callbacks stop (LiveSessionInternal.h, kStallSeconds).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::live {

/// The audio systems a user may ask for (Default: the first one with devices).
enum class AudioApi { Default, Jack, Alsa, Pulse };

/// "default", "jack", "alsa", "pulse".
const char* audioApiName(AudioApi api);
/// Parses "jack", "alsa", "pulse" (also "pulseaudio"), case-insensitive.
std::optional<AudioApi> parseAudioApi(std::string_view text);

/// One device as the API reports it.
struct DeviceInfo {
    int index = 0; ///< 0 .. count-1 within its API
    std::string name;
    int inputChannels = 0;  ///< most capture channels
    int outputChannels = 0; ///< most playback channels
    bool isDefaultInput = false;
    bool isDefaultOutput = false;
    unsigned preferredRateHz = 0;  ///< 0 = not reported
    std::vector<unsigned> ratesHz; ///< rates the device accepts (may be empty)
};

/// The devices of one API, or why there are none.
struct ApiDevices {
    AudioApi api = AudioApi::Default;
    std::string displayName; ///< "Jack", "ALSA", "Pulse"
    std::vector<DeviceInfo> devices;
    std::string error; ///< set when the API could not be queried
};

/// "" when the audio devices' module (RtAudio) loads, else which paths were tried and why each
/// failed. The functions below load it on first use; without it listDevices() lists nothing and
/// AudioStream::open() returns this message.
std::string audioBackendError();
/// Devices of `api`, or of every API compiled into RtAudio (in its order of preference) for
/// Default. Setup time.
std::vector<ApiDevices> listDevices(AudioApi api);
/// Finds `id` (an index, an exact name, or a unique case-insensitive part of a name) among
/// `devices`, considering only devices with input (`needInput`) or output channels. Returns
/// the index into `devices`, or -1 with `error` naming the candidates.
int findDevice(const std::vector<DeviceInfo>& devices, const std::string& id, bool needInput, std::string& error);

/// Called on the audio thread for every period. Must be real-time safe.
class AudioCallback {
public:
    virtual ~AudioCallback() = default;
    /// `input[c]` (inputChannels, may be null when there is no input) and `output[c]`
    /// (outputChannels) hold `frames` frames. `xrun`: the driver reported an over- or
    /// underflow since the last call.
    virtual void processAudio(const float* const* input, float* const* output, int frames, bool xrun) noexcept = 0;
};

/// What to open.
struct StreamRequest {
    AudioApi api = AudioApi::Default;
    std::string outputDevice; ///< index or name; "" = the API's default output
    bool useInput = false;    ///< open the input side too (duplex)
    std::string inputDevice;  ///< index or name; "" = the API's default input
    int outputChannels = 2;
    int inputChannels = 0;
    unsigned sampleRateHz = 48000;
    int blockFrames = 256;                 ///< requested period; the device may choose another
    std::string streamName = "stagegraph"; ///< the JACK client name
};

/// What was opened.
struct StreamInfo {
    AudioApi api = AudioApi::Default;
    std::string apiName; ///< "Jack"
    std::string outputDeviceName, inputDeviceName;
    int blockFrames = 0; ///< the period the device granted
    unsigned sampleRateHz = 0;
    long latencyFrames = 0; ///< the stream latency RtAudio reports
};

/// One open RtAudio stream.
class AudioStream {
public:
    AudioStream();
    ~AudioStream(); ///< stops and closes
    AudioStream(const AudioStream&) = delete;
    AudioStream& operator=(const AudioStream&) = delete;

    /// Opens (does not start) a stream that calls `callback`. Returns "" or a message, e.g.
    /// "no JACK output device 'foo' (devices: 0 'system')". `isUsageError` is set when the
    /// request itself names nothing that exists (a device that is not there).
    std::string open(const StreamRequest& request, AudioCallback& callback, StreamInfo& info, bool& isUsageError);
    /// Starts the callbacks. Returns "" or a message.
    std::string start();
    /// Stops (letting the last period play) and closes. Safe to call twice.
    void close();
    /// A driver error reported while running ("" = none), still there after close() until the
    /// next open(). Any thread while open; the control thread after close().
    std::string runtimeError() const;

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace sg::live
