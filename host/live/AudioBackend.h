// The audio devices' back end: RtAudio, in a module of its own (stagegraph-audio.so) that the
// command loads only when a device is used (`live`, `live --list-devices`).
//
// RtAudio links JACK, PulseAudio, ALSA, D-Bus and more: 25 of the command's 45 shared libraries,
// about 8 ms of every process's start that render, analyze and batch never use. The host calls
// the back end through this interface (AudioDevice.cpp: device choice and messages stay there);
// the module implements it and exports one C function, kAudioBackendEntry, that returns it. Both
// sides are built from this tree by the same compiler, so C++ types cross the boundary; nothing
// else does (RtAudio's exceptions are caught inside the module).
#pragma once

#include "host/live/AudioDevice.h"

#include <memory>
#include <string>
#include <vector>

namespace sg::live {

/// What the back end opens: devices by their index within `api` (chosen by the host).
struct BackendStreamRequest {
    AudioApi api = AudioApi::Jack; ///< never Default
    int outputIndex = 0;
    int outputChannels = 2;
    bool useInput = false;
    int inputIndex = 0;
    int inputChannels = 0;
    unsigned sampleRateHz = 48000;
    int blockFrames = 256;
    std::string streamName = "stagegraph";
};

/// One open stream of the back end; closed by close() or by its destructor.
class BackendStream {
public:
    virtual ~BackendStream() = default;
    /// Starts the callbacks. Returns "" or a message.
    virtual std::string start() = 0;
    /// Stops (letting the last period play) and closes. Safe to call twice.
    virtual void close() = 0;
    /// A driver error reported while running ("" = none). Any thread.
    virtual std::string runtimeError() const = 0;
};

class AudioBackend {
public:
    /// APIs compiled into RtAudio, in its order of preference.
    virtual std::vector<AudioApi> compiledApis() const = 0;
    /// The devices of one API (not Default), or why it could not be queried.
    virtual ApiDevices devices(AudioApi api) const = 0;
    /// Opens (does not start) a stream that calls `callback`; fills `info` but its device
    /// names. Null with `error` set when it cannot.
    virtual std::unique_ptr<BackendStream> open(const BackendStreamRequest& request, AudioCallback& callback, StreamInfo& info,
                                                std::string& error) const = 0;

protected:
    virtual ~AudioBackend() = default; ///< the module's own static instance
};

/// The module's one exported symbol: `const AudioBackend* stagegraph_audio_backend_v1()`.
inline constexpr const char* kAudioBackendEntry = "stagegraph_audio_backend_v1";
using AudioBackendEntry = const AudioBackend* (*)();

/// The back end, loaded on first use (thread-safe) and kept for the process; null with `error`
/// naming the module's paths tried and why each failed. The module is, in this order: the file
/// $STAGEGRAPH_AUDIO_MODULE when that is set (and then only it), beside the running program,
/// where an installed program finds its libraries (../lib/stagegraph/), where this build made
/// it, the configured install prefix, the Debian package's /usr.
const AudioBackend* audioBackend(std::string& error);

} // namespace sg::live
