// Formats (host/io/Formats.h) and pipes: every format the installed libsndfile writes, round
// tripped; names, extensions and the errors for what cannot be written; standard input and
// output in real shell pipelines with sox and ffmpeg; raw samples; 8-bit, 64-bit float and
// multichannel files.
#include "host/io/AudioFile.h"
#include "host/io/Formats.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sndfile.h>
#include <sstream>
#include <vector>

using namespace sg;
using namespace sg::test;

namespace {

std::string q(const std::string& path) { return "'" + path + "'"; }

/// Planar samples: a 997 Hz and a 5 kHz tone with some noise, -6 dBFS peak or so.
AudioBuffer testSignal(int channels, int frames, double rate) {
    AudioBuffer buffer(channels, frames);
    const auto hiss = noise(frames, 0.02f, 7);
    for (int c = 0; c < channels; ++c)
        for (int n = 0; n < frames; ++n)
            buffer.channel(c)[n] = float(0.3 * std::sin(2 * 3.14159265358979 * 997 * n / rate + c) +
                                         0.15 * std::sin(2 * 3.14159265358979 * 5000 * n / rate)) +
                                   hiss[std::size_t(n)];
    return buffer;
}

struct Read {
    double rate = 0;
    std::vector<std::vector<float>> channels;
    std::string description;
};

Read readAll(const std::string& path) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    Read out;
    out.rate = reader.sampleRate();
    out.description = reader.formatDescription();
    out.channels.resize(std::size_t(reader.channels()));
    AudioBuffer buffer(reader.channels(), 4096);
    for (;;) {
        const std::int64_t got = reader.read(buffer.view());
        REQUIRE(got >= 0);
        if (got == 0) break;
        for (int c = 0; c < reader.channels(); ++c)
            out.channels[std::size_t(c)].insert(out.channels[std::size_t(c)].end(), buffer.channel(c), buffer.channel(c) + got);
    }
    return out;
}

/// The best normalised cross-correlation of `b` against `a` over lags -maxLag..maxLag.
double bestCorrelation(const std::vector<float>& a, const std::vector<float>& b, int maxLag, int* lagOut = nullptr) {
    double best = -1;
    for (int lag = -maxLag; lag <= maxLag; ++lag) {
        double ab = 0, aa = 0, bb = 0;
        for (std::size_t i = 2048; i + 2048 < a.size(); ++i) {
            const std::ptrdiff_t j = std::ptrdiff_t(i) + lag;
            if (j < 0 || std::size_t(j) >= b.size()) continue;
            ab += double(a[i]) * b[std::size_t(j)], aa += double(a[i]) * a[i],
                bb += double(b[std::size_t(j)]) * b[std::size_t(j)];
        }
        const double r = ab / std::sqrt(aa * bb + 1e-30);
        if (r > best) best = r, lagOut ? * lagOut = lag : 0;
    }
    return best;
}

} // namespace

TEST_CASE("every format libsndfile writes round-trips: integer PCM bit-exact after dither, float exact, lossy close",
          "[formats]") {
    const auto& formats = io::writableFormats();
    REQUIRE(formats.size() > 60); // libsndfile 1.2 on Debian 12 writes ~120 container/encoding pairs
    TempDir dir;
    const double rate = 48000;
    const int frames = 9600;
    for (const auto& row : formats) {
        INFO(row.name << " (" << row.description << ")");
        const int channels = io::checkOutputFormat(row.format, rate, 2).empty() ? 2 : 1;
        REQUIRE(io::checkOutputFormat(row.format, rate, channels) == "");
        CHECK(io::parseOutputFormat(row.name) == row.format);
        const AudioBuffer signal = testSignal(channels, frames, rate);
        const std::string path = dir.file("x." + (row.extension.empty() ? std::string("bin") : row.extension));
        {
            io::AudioFileWriter writer;
            REQUIRE(writer.open(path, row.format, rate, channels) == "");
            REQUIRE(writer.write(signal.view()) == "");
            REQUIRE(writer.commit() == "");
        }
        // A headerless file is read back by libsndfile told what it holds.
        Read back;
        if (row.name.rfind("raw", 0) == 0) {
            SF_INFO info{};
            info.samplerate = int(rate);
            info.channels = channels;
            info.format = row.format.sndfileFormat;
            SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
            REQUIRE(file);
            std::vector<float> interleaved(std::size_t(frames * channels));
            const sf_count_t got = sf_readf_float(file, interleaved.data(), frames);
            sf_close(file);
            back.channels.assign(std::size_t(channels), {});
            for (sf_count_t n = 0; n < got; ++n)
                for (int c = 0; c < channels; ++c)
                    back.channels[std::size_t(c)].push_back(interleaved[std::size_t(n * channels + c)]);
        } else {
            back = readAll(path);
        }
        REQUIRE(int(back.channels.size()) == channels);
        const int bits = io::outputFormatBits(row.format);
        if (!row.lossy) {
            REQUIRE(back.channels[0].size() == std::size_t(frames));
            // What the writer must have stored: the same dither and quantisation, computed here.
            std::vector<float> interleaved(std::size_t(frames * channels)), scratch(interleaved.size());
            std::vector<std::int32_t> quantised(interleaved.size());
            io::interleave(signal.view(), interleaved.data());
            if (bits > 0) {
                io::TpdfDither dither;
                io::quantize(interleaved.data(), interleaved.size(), bits, quantised.data(), scratch.data(), dither);
            }
            std::size_t mismatches = 0;
            double worst = 0;
            for (int n = 0; n < frames; ++n)
                for (int c = 0; c < channels; ++c) {
                    const std::size_t i = std::size_t(n * channels + c);
                    const double expected = bits > 0 ? std::ldexp(double(quantised[i] >> (32 - bits)), 1 - bits) : interleaved[i];
                    const double got = back.channels[std::size_t(c)][std::size_t(n)];
                    worst = std::max(worst, std::abs(got - expected));
                    if (bits > 0 && got != expected) ++mismatches;
                }
            if (bits > 0)
                CHECK(mismatches == 0); // bit-exact
            else
                CHECK(worst <= std::ldexp(1.0, -30)); // float exact; 32-bit PCM within its step
        } else {
            // Lossy: the same music, near the same time and level.
            int lag = 0;
            const double r =
                bestCorrelation(std::vector<float>(signal.channel(0), signal.channel(0) + frames), back.channels[0], 64, &lag);
            const bool speechCodec =
                row.description.find("GSM") != std::string::npos || row.description.find("ADPCM") != std::string::npos ||
                row.description.find("G721") != std::string::npos || row.description.find("G723") != std::string::npos;
            CHECK(r > (speechCodec ? 0.8 : 0.97));
            CHECK(std::abs(double(back.channels[0].size()) - frames) <= 2400);
        }
    }
}

TEST_CASE("format names, extensions and the historical five", "[formats]") {
    using io::OutputFormat;
    CHECK(io::outputFormatName(OutputFormat::Wav16) == "wav16");
    CHECK(io::outputFormatName(OutputFormat::Flac24) == "flac24");
    CHECK(io::parseOutputFormat("WAV32F") == OutputFormat::Wav32f);
    CHECK((io::parseOutputFormat("wav8")->sndfileFormat & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_U8); // WAV's 8-bit is unsigned
    CHECK((io::parseOutputFormat("aiff8")->sndfileFormat & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_S8);
    CHECK(io::parseOutputFormat("wav64f")->sndfileFormat == (SF_FORMAT_WAV | SF_FORMAT_DOUBLE));
    CHECK(io::parseOutputFormat("rf64")->sndfileFormat == (SF_FORMAT_RF64 | SF_FORMAT_PCM_24));
    CHECK(io::parseOutputFormat("w64-16")->sndfileFormat == (SF_FORMAT_W64 | SF_FORMAT_PCM_16));
    CHECK(io::parseOutputFormat("caf-alac24")->sndfileFormat == (SF_FORMAT_CAF | SF_FORMAT_ALAC_24));
    CHECK(io::parseOutputFormat("opus")->sndfileFormat == (SF_FORMAT_OGG | SF_FORMAT_OPUS));
    CHECK(io::parseOutputFormat("mp3")->sndfileFormat == (SF_FORMAT_MPEG | SF_FORMAT_MPEG_LAYER_III));
    for (const char* bad : {"", "wav12", "flac32f", "mp4", "opus24", "wavx", "raw:f32le"}) {
        INFO(bad);
        CHECK_FALSE(io::parseOutputFormat(bad).has_value());
    }
    CHECK(io::defaultFormatForPath("a.AIFF") == io::parseOutputFormat("aiff24"));
    CHECK(io::defaultFormatForPath("a.caf") == io::parseOutputFormat("caf24"));
    CHECK(io::defaultFormatForPath("a.ogg") == io::parseOutputFormat("ogg"));
    CHECK(io::defaultFormatForPath("a.opus") == io::parseOutputFormat("opus"));
    CHECK(io::defaultFormatForPath("a.mp3") == io::parseOutputFormat("mp3"));
    CHECK(io::defaultFormatForPath("-") == OutputFormat::Wav24);
    CHECK_FALSE(io::defaultFormatForPath("a.txt").has_value());
    CHECK(io::formatMatchesPath(*io::parseOutputFormat("rf64-32f"), "a.wav"));
    CHECK_FALSE(io::formatMatchesPath(*io::parseOutputFormat("mp3"), "a.wav"));
    CHECK_FALSE(io::formatMatchesPath(*io::parseOutputFormat("opus"), "a.flac"));
    CHECK(io::checkOutputFormat(*io::parseOutputFormat("opus"), 48000, 2) == "");
    CHECK(io::checkOutputFormat(*io::parseOutputFormat("opus"), 44100, 2).find("44100") != std::string::npos);
    CHECK(io::checkOutputFormat(*io::parseOutputFormat("mp3"), 96000, 2).find("96000") != std::string::npos);
}

TEST_CASE("docs/formats.md lists every format the installed libsndfile writes", "[formats]") {
    std::ifstream in(sourceDir() + "/docs/formats.md");
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    for (const auto& row : io::writableFormats()) {
        INFO(row.name);
        CHECK(text.str().find("| `" + row.name + "` |") != std::string::npos);
    }
    // And the table is the one `stagegraph formats --markdown` prints.
    const auto listed = runCli("formats --markdown");
    REQUIRE(listed.status == 0);
    CHECK(text.str().find(listed.out) != std::string::npos);
}

TEST_CASE("render writes by extension and --format, and refuses what a format cannot hold", "[formats]") {
    TempDir dir;
    const std::string stereo = dir.write("s.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                                   "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    const std::string in44 = dir.file("in44.wav");
    REQUIRE(runShell("sox -R -n -r 44100 -c 2 -b 16 " + q(in44) + " synth 1 sine 440 sine 20000 gain -6").status == 0);
    auto render = [&](const std::string& args) { return runCli("render " + q(stereo) + " -i " + q(in44) + " " + args); };

    // Opus holds 48 kHz but not 44.1: a usage error naming the file and the format, nothing written.
    const auto opus = render("-o " + q(dir.file("a.opus")));
    CHECK(opus.status == 2);
    CHECK_THAT(opus.err, Catch::Contains("a.opus") && Catch::Contains("opus") && Catch::Contains("44100 Hz"));
    CHECK_FALSE(std::ifstream(dir.file("a.opus")).good());
    // ...and with --output-rate 48000 it is written at 48 kHz.
    REQUIRE(render("-o " + q(dir.file("a.opus")) + " --output-rate 48000").status == 0);
    CHECK(readAll(dir.file("a.opus")).rate == 48000);

    // By extension: AIFF 24-bit, CAF, MP3; by --format: 8-bit WAV.
    REQUIRE(render("-o " + q(dir.file("b.aif"))).status == 0);
    CHECK(readAll(dir.file("b.aif")).description == "AIFF (Apple/SGI), Signed 24 bit PCM");
    REQUIRE(render("-o " + q(dir.file("c.caf"))).status == 0);
    CHECK(readAll(dir.file("c.caf")).description == "CAF (Apple Core Audio File), Signed 24 bit PCM");
    REQUIRE(render("-o " + q(dir.file("d.wav")) + " --format wav8").status == 0);
    CHECK_THAT(readAll(dir.file("d.wav")).description, Catch::StartsWith("WAV") && Catch::EndsWith("Unsigned 8 bit PCM"));

    // --quality: a better quality is a larger file (Vorbis); refused on lossless formats.
    REQUIRE(render("-o " + q(dir.file("lo.ogg")) + " --quality 0.1").status == 0);
    REQUIRE(render("-o " + q(dir.file("hi.ogg")) + " --quality 0.9").status == 0);
    CHECK(std::filesystem::file_size(dir.file("hi.ogg")) > std::filesystem::file_size(dir.file("lo.ogg")));
    const auto qualityOnWav = render("-o " + q(dir.file("e.wav")) + " --quality 0.5");
    CHECK(qualityOnWav.status == 2);
    CHECK_THAT(qualityOnWav.err, Catch::Contains("--quality") && Catch::Contains("wav24"));
    // --bitrate-mode: MP3 at a constant bitrate is larger than variable at the same quality.
    REQUIRE(render("-o " + q(dir.file("cbr.mp3")) + " --quality 0.8 --bitrate-mode constant").status == 0);
    REQUIRE(render("-o " + q(dir.file("vbr.mp3")) + " --quality 0.8 --bitrate-mode variable").status == 0);
    CHECK(std::filesystem::file_size(dir.file("cbr.mp3")) > std::filesystem::file_size(dir.file("vbr.mp3")));
    const auto modeOnOgg = render("-o " + q(dir.file("f.ogg")) + " --bitrate-mode constant");
    CHECK(modeOnOgg.status == 2);
    CHECK_THAT(modeOnOgg.err, Catch::Contains("--bitrate-mode") && Catch::Contains("ogg"));

    // Bad names and mismatches.
    for (const char* args :
         {"-o x.wav --format mp4", "-o x.wav --format mp3", "-o x.flac --format opus", "-o x.txt", "-o x.wav --quality 2",
          "-o x.mp3 --bitrate-mode sometimes", "-o x.wav --output-rate 44.1k", "-o x.wav --resample-quality best"}) {
        INFO(args);
        const auto r = render(std::string(args));
        CHECK(r.status == 2);
        CHECK(r.err.find("error") != std::string::npos);
    }
    CHECK_THAT(render("-o x.wav --format mp4").err, Catch::Contains("'mp4'") && Catch::Contains("docs/formats.md"));
    CHECK_THAT(render("-o " + q(dir.file("x.txt"))).err, Catch::Contains("x.txt") && Catch::Contains("--format"));
}

TEST_CASE("8-bit, 64-bit float and multichannel files; a channel count that does not fit is named", "[formats]") {
    TempDir dir;
    const std::string six = dir.write("six.yaml", "stagegraph: 1\ninputs: {mix: {channels: 6}}\noutputs: {out: {channels: 6}}\n"
                                                  "nodes: {g: {type: gain, gain: -6 dB}}\nconnections: [mix -> g -> out]\n");
    const std::string in = dir.file("six8.wav"), out = dir.file("six64.wav");
    // 8-bit 6-channel from sox (unsigned, as WAV stores it), written as 64-bit float.
    REQUIRE(runShell("sox -R -n -r 44100 -c 6 -b 8 " + q(in) +
                     " synth 0.3 sine 440 sine 880 sine 1320 sine 1760 sine 2200 sine 21000")
                .status == 0);
    REQUIRE(runCli("render " + q(six) + " -i " + q(in) + " -o " + q(out) + " --format wav64f").status == 0);
    const Read a = readAll(in), b = readAll(out);
    CHECK_THAT(b.description, Catch::StartsWith("WAV") && Catch::EndsWith("64 bit float")); // WAVEX beyond 2 channels
    REQUIRE(b.channels.size() == 6);
    for (std::size_t c = 0; c < 6; ++c)
        for (std::size_t n = 0; n < a.channels[c].size(); ++n)
            REQUIRE(std::abs(b.channels[c][n] - a.channels[c][n] * std::pow(10.0, -6.0 / 20)) <= 1e-7); // -6 dB, nothing else

    const std::string stereo = dir.write("s.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                                   "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    const auto wrong = runCli("render " + q(stereo) + " -i " + q(in) + " -o " + q(dir.file("x.wav")));
    CHECK(wrong.status == 1);
    CHECK_THAT(wrong.err, Catch::Contains("six8.wav") && Catch::Contains("6 channels") && Catch::Contains("expects 2"));
}

TEST_CASE("stagegraph in shell pipelines: sox | render -i - -o - | ffmpeg, raw samples, FLAC and Opus to a pipe", "[formats]") {
    TempDir dir;
    const std::string graph = dir.write("g.yaml", "stagegraph: 1\ninputs: {mix: {channels: 2}}\noutputs: {out: {channels: 2}}\n"
                                                  "nodes: {g: {type: gain}}\nconnections: [mix -> g -> out]\n");
    const std::string cli = q(cliPath());
    const std::string source = dir.file("source.wav");
    const std::string make = "sox -R -n -r 44100 -c 2 -b 16 -t wav - synth 1.5 sine 440 sine 21000 gain -4 2>/dev/null";
    REQUIRE(runShell(make + " > " + q(source)).status == 0);
    const Read original = readAll(source);

    SECTION("WAV through stdin and stdout, sox's streamed header (0x7FFFF000) read to its end") {
        const std::string out = dir.file("ffmpeg.wav");
        const auto r = runShell(make + " | " + cli + " render " + q(graph) + " -i - -o - --format wav32f | " +
                                "ffmpeg -hide_banner -loglevel error -y -f wav -i - -c:a pcm_f32le " + q(out));
        REQUIRE(r.status == 0);
        CHECK(r.err.find("error") == std::string::npos);
        CHECK(r.out.empty()); // the summary went to stderr, not into the audio
        const Read back = readAll(out);
        REQUIRE(back.channels[0].size() == original.channels[0].size());
        CHECK(back.channels == original.channels); // 16-bit in, float out: exactly the samples sox made
    }
    SECTION("raw float samples in and out") {
        const std::string out = dir.file("raw.wav");
        const auto r =
            runShell("sox -R " + q(source) + " -t raw -e float -b 32 - | " + cli + " render " + q(graph) +
                     " -i raw:44100:2:f32le:- -o - --format raw32f | sox -R -t raw -r 44100 -c 2 -e float -b 32 - " + q(out));
        REQUIRE(r.status == 0);
        CHECK(readAll(out).channels == original.channels);
    }
    SECTION("FLAC and Opus down a pipe, decoded by ffmpeg") {
        const std::string flac = dir.file("pipe.wav"), opus = dir.file("opus.wav");
        REQUIRE(runShell(cli + " render " + q(graph) + " -i " + q(source) + " -o - --format flac24 | ffmpeg " +
                         "-hide_banner -loglevel error -y -f flac -i - -c:a pcm_f32le " + q(flac))
                    .status == 0);
        const Read decoded = readAll(flac);
        REQUIRE(decoded.channels[0].size() == original.channels[0].size());
        CHECK(bestCorrelation(original.channels[0], decoded.channels[0], 0) > 0.999999);
        REQUIRE(runShell(cli + " render " + q(graph) + " -i " + q(source) +
                         " -o - --format opus --output-rate 48000 | ffmpeg -hide_banner -loglevel error -y -f ogg -i - " +
                         "-c:a pcm_f32le " + q(opus))
                    .status == 0);
        CHECK(std::abs(double(readAll(opus).channels[0].size()) - 72000) <= 1000);
    }
    SECTION("containers that finish their header at the end are refused on a pipe, by name") {
        const auto r = runShell(cli + " render " + q(graph) + " -i " + q(source) + " -o - --format aiff24 | cat > /dev/null");
        CHECK_THAT(r.err, Catch::Contains("aiff24") && Catch::Contains("pipe"));
    }
    SECTION("analyze reads standard input; a bad raw spec names what is wrong") {
        const auto r = runShell(cli + " analyze --json - < " + q(source));
        REQUIRE(r.status == 0);
        CHECK(r.out.find("\"sample_rate\": 44100") != std::string::npos);
        for (const char* spec : {"raw:44100:2:f33le:-", "raw:44100:0:f32le:-", "raw:fast:2:f32le:-", "raw:44100:2:f32le"}) {
            INFO(spec);
            const auto bad = runShell(cli + " analyze " + spec + " < " + q(source));
            CHECK(bad.status == 1);
            CHECK(bad.err.find(spec) != std::string::npos);
        }
    }
}
