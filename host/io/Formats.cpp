#include "host/io/Formats.h"

#include <sndfile.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <sys/mman.h>
#include <unistd.h>

namespace sg::io {

namespace {

struct Major {
    int format;
    const char* name;       ///< stagegraph's name
    const char* extensions; ///< space-separated, the first is the usual one; "" = none claimed
};

// Every container of libsndfile 1.2. Containers the installed library does not write simply
// never pass sf_format_check.
constexpr Major kMajors[] = {
    {SF_FORMAT_WAV, "wav", "wav"},          {SF_FORMAT_AIFF, "aiff", "aiff aif aifc"},
    {SF_FORMAT_AU, "au", "au snd"},         {SF_FORMAT_RAW, "raw", ""},
    {SF_FORMAT_PAF, "paf", "paf"},          {SF_FORMAT_SVX, "iff", "iff svx"},
    {SF_FORMAT_NIST, "nist", ""},           {SF_FORMAT_VOC, "voc", "voc"},
    {SF_FORMAT_IRCAM, "ircam", "sf"},       {SF_FORMAT_W64, "w64", "w64"},
    {SF_FORMAT_MAT4, "mat4", ""},           {SF_FORMAT_MAT5, "mat5", "mat"},
    {SF_FORMAT_PVF, "pvf", "pvf"},          {SF_FORMAT_XI, "xi", "xi"},
    {SF_FORMAT_HTK, "htk", "htk"},          {SF_FORMAT_SDS, "sds", "sds"},
    {SF_FORMAT_AVR, "avr", "avr"},          {SF_FORMAT_WAVEX, "wavex", ""},
    {SF_FORMAT_SD2, "sd2", "sd2"},          {SF_FORMAT_FLAC, "flac", "flac"},
    {SF_FORMAT_CAF, "caf", "caf"},          {SF_FORMAT_WVE, "wve", "wve"},
    {SF_FORMAT_OGG, "ogg", "ogg oga opus"}, {SF_FORMAT_MPC2K, "mpc2k", "mpc"},
    {SF_FORMAT_RF64, "rf64", "rf64"},       {SF_FORMAT_MPEG, "mpeg", "mp3 mp2 mp1 m1a"},
};

struct Subtype {
    int format;
    const char* name;
    int ditherBits; ///< bits stagegraph quantises to itself; 0 = float to libsndfile
    bool lossy;
};

constexpr Subtype kSubtypes[] = {
    {SF_FORMAT_PCM_S8, "8", 8, false},          {SF_FORMAT_PCM_U8, "u8", 8, false},
    {SF_FORMAT_PCM_16, "16", 16, false},        {SF_FORMAT_PCM_24, "24", 24, false},
    {SF_FORMAT_PCM_32, "32", 0, false},         {SF_FORMAT_FLOAT, "32f", 0, false},
    {SF_FORMAT_DOUBLE, "64f", 0, false},        {SF_FORMAT_ULAW, "ulaw", 0, true},
    {SF_FORMAT_ALAW, "alaw", 0, true},          {SF_FORMAT_IMA_ADPCM, "ima", 0, true},
    {SF_FORMAT_MS_ADPCM, "msadpcm", 0, true},   {SF_FORMAT_GSM610, "gsm", 0, true},
    {SF_FORMAT_VOX_ADPCM, "vox", 0, true},      {SF_FORMAT_NMS_ADPCM_16, "nms16", 0, true},
    {SF_FORMAT_NMS_ADPCM_24, "nms24", 0, true}, {SF_FORMAT_NMS_ADPCM_32, "nms32", 0, true},
    {SF_FORMAT_G721_32, "g721", 0, true},       {SF_FORMAT_G723_24, "g723-24", 0, true},
    {SF_FORMAT_G723_40, "g723-40", 0, true},    {SF_FORMAT_DWVW_12, "dwvw12", 12, false},
    {SF_FORMAT_DWVW_16, "dwvw16", 16, false},   {SF_FORMAT_DWVW_24, "dwvw24", 24, false},
    {SF_FORMAT_DWVW_N, "dwvwn", 0, false},      {SF_FORMAT_DPCM_8, "dpcm8", 8, false},
    {SF_FORMAT_DPCM_16, "dpcm16", 16, false},   {SF_FORMAT_VORBIS, "vorbis", 0, true},
    {SF_FORMAT_OPUS, "opus", 0, true},          {SF_FORMAT_ALAC_16, "alac16", 16, false},
    {SF_FORMAT_ALAC_20, "alac20", 20, false},   {SF_FORMAT_ALAC_24, "alac24", 24, false},
    {SF_FORMAT_ALAC_32, "alac32", 0, false},    {SF_FORMAT_MPEG_LAYER_I, "mp1", 0, true},
    {SF_FORMAT_MPEG_LAYER_II, "mp2", 0, true},  {SF_FORMAT_MPEG_LAYER_III, "mp3", 0, true},
};

/// Names that are not CONTAINER + ENCODING.
struct Alias {
    const char* name;
    int format;
    bool canonical; ///< outputFormatName gives this name for `format`
};
constexpr Alias kAliases[] = {
    {"ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, true},
    {"vorbis", SF_FORMAT_OGG | SF_FORMAT_VORBIS, false},
    {"opus", SF_FORMAT_OGG | SF_FORMAT_OPUS, true},
    {"mp3", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, true},
    {"mp2", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_II, true},
    {"mp1", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_I, true},
    {"mpeg", SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III, false},
    {"aif", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, false},
};

/// The order a bare container name picks its encoding in.
constexpr int kDefaultSubtypes[] = {SF_FORMAT_PCM_24, SF_FORMAT_PCM_16,  SF_FORMAT_FLOAT, SF_FORMAT_PCM_S8,
                                    SF_FORMAT_PCM_U8, SF_FORMAT_DPCM_16, SF_FORMAT_ALAW,  SF_FORMAT_VORBIS};

std::string lowercase(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

const Major* majorOf(int format) {
    for (const auto& m : kMajors)
        if (m.format == (format & SF_FORMAT_TYPEMASK)) return &m;
    return nullptr;
}

const Subtype* subtypeOf(int format) {
    for (const auto& s : kSubtypes)
        if (s.format == (format & SF_FORMAT_SUBMASK)) return &s;
    return nullptr;
}

/// The format value libsndfile opens: a WAV that may outgrow 4 GiB is RF64 with auto-downgrade.
bool formatValid(int format) {
    for (int channels : {2, 1}) {
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = channels;
        info.format = format;
        if (sf_format_check(&info)) return true;
    }
    return false;
}

bool majorHas(int major, int subtype) { return formatValid(major | subtype); }

std::string subtypeName(int major, const Subtype& sub) {
    // "8" is the container's 8-bit PCM: signed where it has it, else unsigned (WAV, W64, RF64).
    if (sub.format == SF_FORMAT_PCM_U8 && !majorHas(major, SF_FORMAT_PCM_S8)) return "8";
    return sub.name;
}

std::string joinName(const std::string& major, const std::string& sub) {
    const bool digitEnd = !major.empty() && std::isdigit(static_cast<unsigned char>(major.back()));
    const bool digitStart = !sub.empty() && std::isdigit(static_cast<unsigned char>(sub.front()));
    return (digitStart && !digitEnd) ? major + sub : major + "-" + sub;
}

std::optional<int> defaultSubtype(int major) {
    for (int sub : kDefaultSubtypes)
        if (majorHas(major, sub)) return sub;
    for (const auto& s : kSubtypes)
        if (majorHas(major, s.format)) return s.format;
    return std::nullopt;
}

std::string extensionOf(const std::string& path) {
    std::string ext = lowercase(std::filesystem::path(path).extension().string());
    return ext.empty() ? ext : ext.substr(1);
}

bool hasWord(const char* words, const std::string& word) {
    std::string_view list(words);
    for (std::size_t start = 0; start < list.size();) {
        const std::size_t end = std::min(list.find(' ', start), list.size());
        if (list.substr(start, end - start) == word) return true;
        start = end + 1;
    }
    return false;
}

/// The containers an extension names (".wav" is also RF64, WAVEX and NIST's).
std::vector<int> majorsForExtension(const std::string& ext) {
    std::vector<int> out;
    if (ext.empty()) return out;
    for (const auto& m : kMajors)
        if (hasWord(m.extensions, ext)) out.push_back(m.format);
    if (ext == "wav") out.insert(out.end(), {SF_FORMAT_RF64, SF_FORMAT_WAVEX, SF_FORMAT_NIST});
    return out;
}

} // namespace

std::string outputFormatName(const OutputFormat& format) {
    const int value = format.sndfileFormat & (SF_FORMAT_TYPEMASK | SF_FORMAT_SUBMASK);
    for (const auto& a : kAliases)
        if (a.canonical && a.format == value) return a.name;
    const Major* major = majorOf(value);
    const Subtype* sub = subtypeOf(value);
    if (!major || !sub) return "format-" + std::to_string(value);
    return joinName(major->name, subtypeName(major->format, *sub));
}

std::optional<OutputFormat> parseOutputFormat(std::string_view text) {
    const std::string name = lowercase(text);
    for (const auto& a : kAliases)
        if (name == a.name) return formatValid(a.format) ? std::optional(OutputFormat{a.format}) : std::nullopt;
    // CONTAINER[-]ENCODING, or a bare container: the longest container name that prefixes it.
    const Major* major = nullptr;
    for (const auto& m : kMajors)
        if (name.rfind(m.name, 0) == 0 && (!major || std::strlen(m.name) > std::strlen(major->name))) major = &m;
    if (!major) return std::nullopt;
    std::string rest = name.substr(std::strlen(major->name));
    if (rest.empty()) {
        const auto sub = defaultSubtype(major->format);
        if (!sub) return std::nullopt;
        return OutputFormat{major->format | *sub | (major->format == SF_FORMAT_RAW ? SF_ENDIAN_LITTLE : 0)};
    }
    if (rest.front() == '-') rest.erase(0, 1);
    for (const auto& s : kSubtypes) {
        if (rest != s.name && rest != subtypeName(major->format, s)) continue;
        if (rest == "8" && s.format == SF_FORMAT_PCM_U8 && majorHas(major->format, SF_FORMAT_PCM_S8)) continue;
        const int value = major->format | s.format | (major->format == SF_FORMAT_RAW ? SF_ENDIAN_LITTLE : 0);
        if (formatValid(value)) return OutputFormat{value};
    }
    return std::nullopt;
}

std::optional<OutputFormat> defaultFormatForPath(const std::string& path) {
    if (path == "-") return OutputFormat::Wav24; // standard output: a streamed WAV
    const std::string ext = extensionOf(path);
    if (ext == "wav") return OutputFormat::Wav24;
    if (ext == "flac") return OutputFormat::Flac24;
    if (ext == "opus") return parseOutputFormat("opus");
    if (ext == "mp3") return parseOutputFormat("mp3");
    if (ext == "mp2") return parseOutputFormat("mp2");
    const auto majors = majorsForExtension(ext);
    if (majors.empty()) return std::nullopt;
    const auto sub = defaultSubtype(majors.front());
    if (!sub) return std::nullopt;
    return OutputFormat{majors.front() | *sub};
}

bool formatMatchesPath(const OutputFormat& format, const std::string& path) {
    const auto majors = majorsForExtension(extensionOf(path));
    if (majors.empty()) return true;
    return std::find(majors.begin(), majors.end(), format.sndfileFormat & SF_FORMAT_TYPEMASK) != majors.end();
}

int outputFormatBits(const OutputFormat& format) {
    const Subtype* sub = subtypeOf(format.sndfileFormat);
    return sub ? sub->ditherBits : 0;
}

bool isLossyFormat(const OutputFormat& format) {
    const Subtype* sub = subtypeOf(format.sndfileFormat);
    return !sub || sub->lossy;
}

bool takesQuality(const OutputFormat& format) {
    const int sub = format.sndfileFormat & SF_FORMAT_SUBMASK;
    return sub == SF_FORMAT_VORBIS || sub == SF_FORMAT_OPUS || sub == SF_FORMAT_MPEG_LAYER_I || sub == SF_FORMAT_MPEG_LAYER_II ||
           sub == SF_FORMAT_MPEG_LAYER_III;
}

bool takesBitrateMode(const OutputFormat& format) {
    const int sub = format.sndfileFormat & SF_FORMAT_SUBMASK;
    return sub == SF_FORMAT_OPUS || sub == SF_FORMAT_MPEG_LAYER_III;
}

std::string sndfileFormatDescription(int sndfileFormat) {
    auto nameOf = [](int value) {
        SF_FORMAT_INFO info{};
        info.format = value;
        if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) != 0 || !info.name) return std::string("unknown");
        return std::string(info.name);
    };
    return nameOf(sndfileFormat & SF_FORMAT_TYPEMASK) + ", " + nameOf(sndfileFormat & SF_FORMAT_SUBMASK);
}

std::string checkOutputFormat(const OutputFormat& format, double sampleRateHz, int channels) {
    const int sub = format.sndfileFormat & SF_FORMAT_SUBMASK;
    const int rate = int(sampleRateHz);
    if (sub == SF_FORMAT_OPUS && rate != 8000 && rate != 12000 && rate != 16000 && rate != 24000 && rate != 48000)
        return "Ogg Opus holds only 8, 12, 16, 24 or 48 kHz, not " + std::to_string(rate) +
               " Hz (resample with --output-rate 48000)";
    if (sub == SF_FORMAT_MPEG_LAYER_III || sub == SF_FORMAT_MPEG_LAYER_II || sub == SF_FORMAT_MPEG_LAYER_I) {
        static constexpr int kMpegRates[] = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000};
        if (std::find(std::begin(kMpegRates), std::end(kMpegRates), rate) == std::end(kMpegRates))
            return "MPEG audio holds only 8 to 48 kHz (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000), not " +
                   std::to_string(rate) + " Hz (resample with --output-rate 48000)";
        if (channels > 2) return "MPEG audio holds 1 or 2 channels, not " + std::to_string(channels);
    }
    SF_INFO info{};
    info.samplerate = rate;
    info.channels = channels;
    info.format = format.sndfileFormat;
    if (!sf_format_check(&info))
        return outputFormatName(format) + " (" + sndfileFormatDescription(format.sndfileFormat) + ") cannot hold " +
               std::to_string(channels) + (channels == 1 ? " channel" : " channels") + " at " + std::to_string(rate) + " Hz";
    return {};
}

// ---- the table of writable formats ----------------------------------------------------------

namespace {

/// Writes 4800 stereo frames (mono where the container is mono only) and reads them back.
bool writesAndReads(int format) {
    for (int channels : {2, 1}) {
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = channels;
        info.format = format;
        if (!sf_format_check(&info)) continue;
        // A file in memory (memfd), opened as a file: the encoders see what a render gives them.
        const int fd = ::memfd_create("stagegraph-format-probe", MFD_CLOEXEC);
        if (fd < 0) return false;
        bool ok = false;
        // Each open gets its own descriptor: libsndfile 1.2.0 closes it when an open fails.
        if (SNDFILE* out = sf_open_fd(::dup(fd), SFM_WRITE, &info, SF_TRUE)) {
            std::vector<float> samples(std::size_t(4800 * channels));
            for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = 0.25f * float(std::sin(0.05 * double(i)));
            const bool wrote = sf_writef_float(out, samples.data(), 4800) == 4800;
            if (sf_close(out) == 0 && wrote && ::lseek(fd, 0, SEEK_SET) == 0) {
                SF_INFO back{};
                if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW) back = info;
                if (SNDFILE* in = sf_open_fd(::dup(fd), SFM_READ, &back, SF_TRUE)) {
                    ok = sf_readf_float(in, samples.data(), 4800) > 0;
                    sf_close(in);
                }
            }
        }
        ::close(fd);
        if (ok) return true;
    }
    return false;
}

} // namespace

const std::vector<FormatListing>& writableFormats() {
    static const std::vector<FormatListing> table = [] {
        std::vector<FormatListing> rows;
        int majorCount = 0;
        sf_command(nullptr, SFC_GET_FORMAT_MAJOR_COUNT, &majorCount, sizeof majorCount);
        for (int m = 0; m < majorCount; ++m) {
            SF_FORMAT_INFO major{};
            major.format = m;
            if (sf_command(nullptr, SFC_GET_FORMAT_MAJOR, &major, sizeof major) != 0) continue;
            for (const auto& s : kSubtypes) {
                const int value = major.format | s.format;
                if (!formatValid(value) || !writesAndReads(value)) continue;
                FormatListing row;
                row.format = OutputFormat{value | (major.format == SF_FORMAT_RAW ? SF_ENDIAN_LITTLE : 0)};
                row.name = outputFormatName(row.format);
                const Major* ours = majorOf(value);
                std::string ext = ours && *ours->extensions ? ours->extensions : (major.extension ? major.extension : "");
                row.extension = ext.substr(0, ext.find(' '));
                if (s.format == SF_FORMAT_OPUS) row.extension = "opus";
                if ((value & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG) row.extension = s.name;
                row.description = sndfileFormatDescription(value);
                row.lossy = s.lossy;
                rows.push_back(std::move(row));
            }
        }
        return rows;
    }();
    return table;
}

// ---- input specs ------------------------------------------------------------------------------

namespace {

struct RawEncoding {
    const char* name;
    int format;
};
constexpr RawEncoding kRawEncodings[] = {
    {"s8", SF_FORMAT_PCM_S8},
    {"u8", SF_FORMAT_PCM_U8},
    {"s16le", SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE},
    {"s16be", SF_FORMAT_PCM_16 | SF_ENDIAN_BIG},
    {"s24le", SF_FORMAT_PCM_24 | SF_ENDIAN_LITTLE},
    {"s24be", SF_FORMAT_PCM_24 | SF_ENDIAN_BIG},
    {"s32le", SF_FORMAT_PCM_32 | SF_ENDIAN_LITTLE},
    {"s32be", SF_FORMAT_PCM_32 | SF_ENDIAN_BIG},
    {"f32le", SF_FORMAT_FLOAT | SF_ENDIAN_LITTLE},
    {"f32be", SF_FORMAT_FLOAT | SF_ENDIAN_BIG},
    {"f64le", SF_FORMAT_DOUBLE | SF_ENDIAN_LITTLE},
    {"f64be", SF_FORMAT_DOUBLE | SF_ENDIAN_BIG},
    {"ulaw", SF_FORMAT_ULAW},
    {"alaw", SF_FORMAT_ALAW},
};

bool parseWhole(const std::string& text, int& value) {
    const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), value);
    return code == std::errc() && end == text.data() + text.size();
}

} // namespace

std::string rawEncodingNames() {
    std::string out;
    for (const auto& e : kRawEncodings) out += (out.empty() ? "" : ", ") + std::string(e.name);
    return out;
}

std::string parseInputSpec(const std::string& text, InputSpec& spec) {
    spec = InputSpec{};
    if (text.rfind("raw:", 0) != 0) {
        spec.path = text;
        return {};
    }
    // raw:RATE:CHANNELS:ENCODING:FILE (FILE is the rest, colons and all)
    std::size_t fields[3];
    std::size_t at = 4;
    for (auto& field : fields) {
        field = text.find(':', at);
        if (field == std::string::npos)
            return "'" + text + "': expected raw:RATE:CHANNELS:ENCODING:FILE, e.g. raw:48000:2:f32le:-";
        at = field + 1;
    }
    const std::string rate = text.substr(4, fields[0] - 4), channels = text.substr(fields[0] + 1, fields[1] - fields[0] - 1);
    const std::string encoding = lowercase(text.substr(fields[1] + 1, fields[2] - fields[1] - 1));
    spec.path = text.substr(fields[2] + 1);
    spec.raw = true;
    spec.encoding = encoding;
    if (!parseWhole(rate, spec.sampleRate) || spec.sampleRate < 1000 || spec.sampleRate > 768000)
        return "'" + text + "': raw sample rate '" + rate + "' is not a whole rate from 1000 to 768000 Hz";
    if (!parseWhole(channels, spec.channels) || spec.channels < 1 || spec.channels > 256)
        return "'" + text + "': raw channel count '" + channels + "' is not from 1 to 256";
    for (const auto& e : kRawEncodings)
        if (encoding == e.name) spec.sndfileFormat = SF_FORMAT_RAW | e.format;
    if (spec.sndfileFormat == 0) return "'" + text + "': unknown raw encoding '" + encoding + "' (" + rawEncodingNames() + ")";
    if (spec.path.empty()) return "'" + text + "': no file after the encoding (use - for standard input)";
    return {};
}

} // namespace sg::io
