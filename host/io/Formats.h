// The audio formats stagegraph writes and reads: every container (major format) and encoding
// (subtype) the installed libsndfile handles, by name (docs/formats.md).
//
// An output format is a libsndfile format value (major | subtype) plus the encoder settings
// libsndfile accepts (SFC_SET_COMPRESSION_LEVEL, SFC_SET_BITRATE_MODE). Names:
//   - the five historical names: wav16, wav24, wav32f, flac16, flac24;
//   - CONTAINER + ENCODING for the rest: wav8, wav32, wav64f, aiff16, aiff32f, caf24, au16…;
//     a container name that ends in a digit takes a dash: w64-24, rf64-32f, mat4-16;
//     word encodings always take a dash: wav-ulaw, caf-alac24, aiff-ima;
//   - a bare container name is its usual encoding: wav, aiff, caf, au, w64, rf64 (24-bit PCM),
//     flac (24-bit), ogg and vorbis (Ogg Vorbis), opus (Ogg Opus), mp3 (MPEG-1/2 Layer III);
//   - raw8, raw16, raw24, raw32, raw32f, raw64f, raw-ulaw, raw-alaw: headerless, little-endian.
// Encodings: 8 (signed 8-bit PCM where the container has it, else unsigned), u8, 16, 24, 32
// (signed PCM), 32f, 64f (IEEE float), ulaw, alaw, ima, msadpcm, gsm, vox, g721, g723-24,
// g723-40, dwvw12/16/24, dpcm8/16, nms16/24/32, alac16/20/24/32, vorbis, opus, mp1, mp2, mp3.
//
// Input specs: a file name, "-" for standard input (any format libsndfile reads from a pipe:
// WAV, AIFF, AU, FLAC, Ogg…), or headerless samples "raw:RATE:CHANNELS:ENCODING:FILE" with
// ENCODING s8, u8, s16le, s16be, s24le, s24be, s32le, s32be, f32le, f32be, f64le, f64be, ulaw,
// alaw (FILE may be "-").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::io {

/// libsndfile's SF_BITRATE_MODE_*, for MPEG Layer III and Opus.
enum class BitrateMode { Default, Constant, Average, Variable };

/// One output format: container, encoding and encoder settings.
struct OutputFormat {
    int sndfileFormat = 0;        ///< SF_FORMAT_* major | subtype (| endianness)
    double compressionLevel = -1; ///< SFC_SET_COMPRESSION_LEVEL 0..1, or -1 for libsndfile's default
    BitrateMode bitrateMode = BitrateMode::Default;

    bool operator==(const OutputFormat&) const = default;

    static const OutputFormat Wav16, Wav24, Wav32f, Flac16, Flac24; ///< the historical five
};

// A WAV is written as RF64 with auto-downgrade (a plain RIFF/WAVE file unless the data passes
// 4 GiB) wherever RF64 has the encoding; rf64-* names are RF64 whatever the size.
inline const OutputFormat OutputFormat::Wav16{0x010002};  // SF_FORMAT_WAV | SF_FORMAT_PCM_16
inline const OutputFormat OutputFormat::Wav24{0x010003};  // SF_FORMAT_WAV | SF_FORMAT_PCM_24
inline const OutputFormat OutputFormat::Wav32f{0x010006}; // SF_FORMAT_WAV | SF_FORMAT_FLOAT
inline const OutputFormat OutputFormat::Flac16{0x170002}; // SF_FORMAT_FLAC | SF_FORMAT_PCM_16
inline const OutputFormat OutputFormat::Flac24{0x170003}; // SF_FORMAT_FLAC | SF_FORMAT_PCM_24

/// The canonical name ("wav24", "caf-alac16", "mp3"); encoder settings are not part of it.
std::string outputFormatName(const OutputFormat& format);
/// Parses a name (case-insensitive) of a format the installed libsndfile can write.
std::optional<OutputFormat> parseOutputFormat(std::string_view text);
/// The format a file name implies by its extension (.wav wav24, .flac flac24, .aif/.aiff aiff24,
/// .caf caf24, .w64 w64-24, .rf64 rf64-24, .au/.snd au24, .ogg/.oga ogg, .opus opus, .mp3 mp3,
/// .raw/.pcm raw32f, …); nullopt for an unknown extension.
std::optional<OutputFormat> defaultFormatForPath(const std::string& path);
/// False when the name's extension says another container than `format` writes.
bool formatMatchesPath(const OutputFormat& format, const std::string& path);
/// Bits of the integer PCM stagegraph dithers and quantises itself (8, 16 or 24); 0 when the
/// samples go to libsndfile as float (float, 32-bit PCM, companded and lossy encodings).
int outputFormatBits(const OutputFormat& format);
/// True for encodings that do not store the samples exactly (MP3, Vorbis, Opus, ADPCM, GSM…).
bool isLossyFormat(const OutputFormat& format);
/// True for the encoders whose quality --quality sets (Vorbis, Opus, MPEG).
bool takesQuality(const OutputFormat& format);
/// True for the encoders --bitrate-mode applies to (MPEG Layer III, Opus).
bool takesBitrateMode(const OutputFormat& format);
/// "" if `format` can hold `channels` at `sampleRateHz`, else why not (e.g. "Ogg Opus holds
/// only 8, 12, 16, 24 or 48 kHz, not 44100 Hz").
std::string checkOutputFormat(const OutputFormat& format, double sampleRateHz, int channels);
/// "WAV (Microsoft), Signed 24 bit PCM": libsndfile's own names.
std::string sndfileFormatDescription(int sndfileFormat);

/// One row of the format table.
struct FormatListing {
    std::string name;        ///< as parseOutputFormat takes it
    std::string extension;   ///< the usual file extension, without the dot
    std::string description; ///< libsndfile's names of container and encoding
    bool lossy = false;      ///< see isLossyFormat
    OutputFormat format;
};
/// Every format the installed libsndfile writes (each proven by writing and reading back a short
/// stereo file at 48 kHz in memory), in libsndfile's order of containers.
const std::vector<FormatListing>& writableFormats();

/// A parsed input spec (see above).
struct InputSpec {
    std::string path;      ///< the file; "-" for standard input
    bool raw = false;      ///< headerless samples: the fields below apply
    int sampleRate = 0;    ///< Hz
    int channels = 0;      ///< per frame
    int sndfileFormat = 0; ///< SF_FORMAT_RAW | subtype | endianness
    std::string encoding;  ///< as written ("f32le")
};
/// Parses "FILE", "-" or "raw:RATE:CHANNELS:ENCODING:FILE". Returns "" or the reason.
std::string parseInputSpec(const std::string& text, InputSpec& spec);
/// The raw encodings parseInputSpec takes, for messages: "s8, u8, s16le, …".
std::string rawEncodingNames();

} // namespace sg::io
