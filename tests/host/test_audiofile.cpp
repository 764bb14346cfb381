// Audio file I/O: round trips through every writer format and the formats libsndfile reads,
// TPDF dither statistics, atomic writes, refusal to overwrite inputs, damaged inputs.
#include "host/io/AudioFile.h"
#include "host/io/Dither.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <sndfile.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace sg;
using namespace sg::io;

namespace {

/// Planar test signal: channel c is noise with its own seed, scaled by `amplitude`.
AudioBuffer testSignal(int channels, int frames, float amplitude) {
    AudioBuffer buffer(channels, frames);
    for (int c = 0; c < channels; ++c) {
        auto n = test::noise(frames, amplitude, 1234u + std::uint32_t(c));
        std::copy(n.begin(), n.end(), buffer.channel(c));
    }
    return buffer;
}

std::string writeFile(const std::string& path, OutputFormat format, const AudioBuffer& signal, double rate = 48000,
                      std::uint64_t seed = TpdfDither::kDefaultSeed) {
    AudioFileWriter writer;
    std::string error = writer.open(path, format, rate, signal.channels(), {}, seed);
    if (error.empty()) error = writer.write(signal.view());
    if (error.empty()) error = writer.commit();
    return error;
}

/// Reads a whole file with the reader under test.
AudioBuffer readAll(const std::string& path, double* rate = nullptr) {
    AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    if (rate) *rate = reader.sampleRate();
    AudioBuffer out(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(out.view()) == reader.frames());
    REQUIRE(reader.read(out.view()) == 0); // at the end
    REQUIRE(reader.error() == "");
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct ErrorStats {
    double maxAbsLsb = 0, meanLsb = 0, varianceLsb2 = 0;
};
/// Error of `got` against `want` in LSB of a `bits`-bit format.
ErrorStats errorStats(const AudioBuffer& want, const AudioBuffer& got, int bits) {
    const double lsb = std::ldexp(1.0, -(bits - 1));
    double sum = 0, sumSquares = 0;
    ErrorStats s;
    std::size_t count = 0;
    for (int c = 0; c < want.channels(); ++c)
        for (int i = 0; i < want.frames(); ++i) {
            const double e = (double(got.channel(c)[i]) - double(want.channel(c)[i])) / lsb;
            s.maxAbsLsb = std::max(s.maxAbsLsb, std::abs(e));
            sum += e;
            sumSquares += e * e;
            ++count;
        }
    s.meanLsb = sum / double(count);
    s.varianceLsb2 = sumSquares / double(count) - s.meanLsb * s.meanLsb;
    return s;
}

} // namespace

TEST_CASE("output format names parse and follow the file extension", "[io]") {
    for (auto f : {OutputFormat::Wav16, OutputFormat::Wav24, OutputFormat::Wav32f, OutputFormat::Flac16, OutputFormat::Flac24})
        CHECK(parseOutputFormat(outputFormatName(f)) == f);
    CHECK(parseOutputFormat("FLAC24") == OutputFormat::Flac24);
    CHECK_FALSE(parseOutputFormat("mp4").has_value());
    CHECK(defaultFormatForPath("a/b.wav") == OutputFormat::Wav24);
    CHECK(defaultFormatForPath("B.WAV") == OutputFormat::Wav24);
    CHECK(defaultFormatForPath("x.flac") == OutputFormat::Flac24);
    CHECK_FALSE(defaultFormatForPath("x.txt").has_value());
    CHECK_FALSE(defaultFormatForPath("wav").has_value());
    CHECK(formatMatchesPath(OutputFormat::Wav16, "x.wav"));
    CHECK_FALSE(formatMatchesPath(OutputFormat::Flac16, "x.wav"));
    CHECK_FALSE(formatMatchesPath(OutputFormat::Wav32f, "x.flac"));
    CHECK(formatMatchesPath(OutputFormat::Flac16, "x.raw"));
}

TEST_CASE("TPDF dither is reproducible and triangular with variance 1/6 LSB^2", "[io]") {
    TpdfDither a(42), b(42), c(43);
    bool allEqual = true, anyDifferent = false;
    for (int i = 0; i < 1000; ++i) {
        const double x = a.next(), y = b.next(), z = c.next();
        allEqual = allEqual && x == y;
        anyDifferent = anyDifferent || x != z;
    }
    CHECK(allEqual);
    CHECK(anyDifferent);

    // The bulk fill gives the sequence next() gives, however the calls are split.
    TpdfDither one(5), bulk(5);
    std::vector<float> expected(1000), got(1000);
    for (auto& v : expected) v = one.next();
    std::size_t at = 0;
    for (std::size_t size : {1u, 2u, 3u, 7u, 100u, 887u}) {
        bulk.fill(got.data() + at, size);
        at += size;
    }
    CHECK(at == 1000);
    CHECK(got == expected);

    // Sum of two independent U[-0.5, 0.5): mean 0, variance 1/6, P(|d| < 0.5) = 3/4,
    // P(|d| < 0.25) = 1 - (0.75)^2 = 7/16, range [-1, 1).
    TpdfDither d(7);
    const int n = 1'000'000;
    double sum = 0, sumSquares = 0, lagProduct = 0, previous = 0, lowest = 0, highest = 0;
    int insideHalf = 0, insideQuarter = 0;
    for (int i = 0; i < n; ++i) {
        const double v = d.next();
        sum += v;
        sumSquares += v * v;
        lagProduct += v * previous;
        previous = v;
        insideHalf += std::abs(v) < 0.5;
        insideQuarter += std::abs(v) < 0.25;
        lowest = std::min(lowest, v);
        highest = std::max(highest, v);
    }
    const double mean = sum / n, variance = sumSquares / n - mean * mean;
    // Standard error of the mean: sqrt(1/6 / n) = 0.0004.
    CHECK(std::abs(mean) < 0.002);
    CHECK(variance == Approx(1.0 / 6.0).epsilon(0.01));
    CHECK(double(insideHalf) / n == Approx(0.75).margin(0.003));
    CHECK(double(insideQuarter) / n == Approx(7.0 / 16.0).margin(0.003));
    CHECK(lowest >= -1.0);
    CHECK(highest < 1.0);
    CHECK(std::abs(lagProduct / n) / variance < 0.005); // consecutive values uncorrelated
}

TEST_CASE("wav32f round trip is exact, including values beyond full scale", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(2, 10007, 1.8f);
    signal.channel(0)[5] = -0.0f;
    signal.channel(1)[9] = 1e-30f;
    REQUIRE(writeFile(dir.file("a.wav"), OutputFormat::Wav32f, signal) == "");
    double rate = 0;
    AudioBuffer back = readAll(dir.file("a.wav"), &rate);
    CHECK(rate == 48000);
    REQUIRE(back.channels() == 2);
    REQUIRE(back.frames() == 10007);
    bool exact = true;
    for (int c = 0; c < 2; ++c)
        for (int i = 0; i < signal.frames(); ++i) exact = exact && back.channel(c)[i] == signal.channel(c)[i];
    CHECK(exact);
}

TEST_CASE("integer formats round trip within rounding plus TPDF dither", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(2, 48000, 0.9f);
    struct Case {
        OutputFormat format;
        const char* name;
        int bits;
    };
    for (Case k : {Case{OutputFormat::Wav16, "a.wav", 16}, Case{OutputFormat::Wav24, "b.wav", 24},
                   Case{OutputFormat::Flac16, "c.flac", 16}, Case{OutputFormat::Flac24, "d.flac", 24}}) {
        INFO(outputFormatName(k.format));
        AudioFileWriter writer;
        REQUIRE(writer.open(dir.file(k.name), k.format, 44100, 2) == "");
        REQUIRE(writer.write(signal.view()) == "");
        CHECK(writer.clippedSamples() == 0);
        REQUIRE(writer.commit() == "");
        double rate = 0;
        AudioBuffer back = readAll(dir.file(k.name), &rate);
        CHECK(rate == 44100);
        REQUIRE(back.frames() == signal.frames());
        // Rounding (±0.5 LSB) after TPDF dither (±1 LSB): |error| < 1.5 LSB; the total error is
        // uniform ⊛ triangular with mean 0 and variance 1/12 + 1/6 = 1/4 LSB².
        ErrorStats s = errorStats(signal, back, k.bits);
        CHECK(s.maxAbsLsb <= 1.5);
        CHECK(s.maxAbsLsb > 1.0); // dither is present: plain rounding would stay within 0.5
        CHECK(std::abs(s.meanLsb) < 0.01);
        CHECK(s.varianceLsb2 == Approx(0.25).epsilon(0.03));
    }
}

TEST_CASE("integer output clips beyond full scale and counts the clipped samples", "[io]") {
    test::TempDir dir;
    AudioBuffer signal(1, 100);
    for (int i = 0; i < 100; ++i) signal.channel(0)[i] = 0.25f;
    for (int i : {3, 10, 50}) signal.channel(0)[i] = 1.5f;
    for (int i : {4, 60}) signal.channel(0)[i] = -3.0f;
    AudioFileWriter writer;
    REQUIRE(writer.open(dir.file("clip.wav"), OutputFormat::Wav16, 48000, 1) == "");
    REQUIRE(writer.write(signal.view()) == "");
    CHECK(writer.clippedSamples() == 5);
    REQUIRE(writer.commit() == "");
    AudioBuffer back = readAll(dir.file("clip.wav"));
    CHECK(back.channel(0)[3] == 32767.0f / 32768.0f);
    CHECK(back.channel(0)[4] == -1.0f);
    CHECK(std::abs(back.channel(0)[0] - 0.25f) <= 1.5f / 32768.0f);
}

TEST_CASE("dithered output does not depend on how the stream is split into blocks", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(2, 20000, 0.5f);
    REQUIRE(writeFile(dir.file("whole.wav"), OutputFormat::Wav16, signal, 48000, 99) == "");
    AudioFileWriter writer;
    REQUIRE(writer.open(dir.file("split.wav"), OutputFormat::Wav16, 48000, 2, {}, 99) == "");
    int done = 0, step = 1;
    while (done < signal.frames()) {
        const int n = std::min(step, signal.frames() - done);
        REQUIRE(writer.write(ConstAudioView(signal.view().frameRange(done, n))) == "");
        done += n;
        step = step * 3 + 1; // 1, 4, 13, 40, … crosses the chunk size
    }
    REQUIRE(writer.commit() == "");
    CHECK(slurp(dir.file("whole.wav")) == slurp(dir.file("split.wav")));
    // Another seed gives another file (the dither is really applied).
    REQUIRE(writeFile(dir.file("other.wav"), OutputFormat::Wav16, signal, 48000, 100) == "");
    CHECK(slurp(dir.file("whole.wav")) != slurp(dir.file("other.wav")));
}

TEST_CASE("the reader delivers the same samples whatever the block size", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(3, 30000, 0.7f);
    REQUIRE(writeFile(dir.file("x.wav"), OutputFormat::Wav32f, signal) == "");
    AudioFileReader reader;
    REQUIRE(reader.open(dir.file("x.wav")) == "");
    CHECK(reader.channels() == 3);
    CHECK(reader.frames() == 30000);
    AudioBuffer block(3, 9000); // larger than the reader's chunk
    bool same = true;
    std::int64_t total = 0;
    for (int size : {1, 17, 4096, 9000, 9000, 9000}) {
        const std::int64_t got = reader.read(block.view().frameRange(0, size));
        REQUIRE(got >= 0);
        for (int c = 0; c < 3; ++c)
            for (std::int64_t i = 0; i < got; ++i) same = same && block.channel(c)[i] == signal.channel(c)[total + i];
        total += got;
    }
    CHECK(same);
    CHECK(total == 30000);
    CHECK(reader.read(block.view()) == 0);
    REQUIRE(reader.seek(100) == "");
    REQUIRE(reader.read(block.view().frameRange(0, 1)) == 1);
    CHECK(block.channel(2)[0] == signal.channel(2)[100]);
}

TEST_CASE("the reader opens AIFF and Ogg Vorbis written by libsndfile", "[io]") {
    test::TempDir dir;
    const int frames = 48000;
    auto tone = test::sine(1000, 0.5, 48000, frames);
    std::vector<short> pcm(std::size_t(frames) * 2);
    std::vector<float> interleaved(std::size_t(frames) * 2);
    for (int i = 0; i < frames; ++i) {
        pcm[2 * i] = short(std::lrint(tone[i] * 32768));
        pcm[2 * i + 1] = short(-pcm[2 * i]);
        interleaved[2 * i] = tone[i];
        interleaved[2 * i + 1] = -tone[i];
    }
    SECTION("AIFF 16-bit: exact") {
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = 2;
        info.format = SF_FORMAT_AIFF | SF_FORMAT_PCM_16;
        SNDFILE* f = sf_open(dir.file("t.aiff").c_str(), SFM_WRITE, &info);
        REQUIRE(f);
        REQUIRE(sf_writef_short(f, pcm.data(), frames) == frames);
        sf_close(f);
        AudioBuffer back = readAll(dir.file("t.aiff"));
        REQUIRE(back.frames() == frames);
        bool exact = true;
        for (int i = 0; i < frames; ++i)
            exact = exact && back.channel(0)[i] == pcm[2 * i] / 32768.0f && back.channel(1)[i] == pcm[2 * i + 1] / 32768.0f;
        CHECK(exact);
    }
    SECTION("Ogg Vorbis: lossy, same length, level and waveform") {
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = 2;
        info.format = SF_FORMAT_OGG | SF_FORMAT_VORBIS;
        SNDFILE* f = sf_open(dir.file("t.ogg").c_str(), SFM_WRITE, &info);
        REQUIRE(f);
        REQUIRE(sf_writef_float(f, interleaved.data(), frames) == frames);
        sf_close(f);
        AudioBuffer back = readAll(dir.file("t.ogg"));
        REQUIRE(back.frames() == frames);
        // Correlation with the original tone (skip the codec's start-up): > 0.99.
        double dot = 0, energyA = 0, energyB = 0;
        for (int i = 4800; i < frames - 4800; ++i) {
            dot += double(back.channel(1)[i]) * -tone[i];
            energyA += double(back.channel(1)[i]) * back.channel(1)[i];
            energyB += double(tone[i]) * tone[i];
        }
        CHECK(dot / std::sqrt(energyA * energyB) > 0.99);
        CHECK(10 * std::log10(energyA / energyB) == Approx(0).margin(0.5));
    }
}

TEST_CASE("the writer makes the target appear only on commit", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(2, 1000, 0.5f);
    const std::string target = dir.file("out.flac");

    SECTION("commit renames the temporary file over the target") {
        AudioFileWriter writer;
        REQUIRE(writer.open(target, OutputFormat::Flac16, 48000, 2) == "");
        REQUIRE(dir.list().size() == 1);
        const std::string temp = dir.list()[0];
        CHECK(temp.rfind(".out.flac.", 0) == 0);
        CHECK(temp.size() > 4);
        CHECK(temp.substr(temp.size() - 4) == ".tmp");
        REQUIRE(writer.write(signal.view()) == "");
        CHECK_FALSE(fs::exists(target));
        REQUIRE(writer.commit() == "");
        CHECK(dir.list() == std::vector<std::string>{"out.flac"});
        // Usual permissions, not mkstemp's 0600.
        struct stat st {};
        REQUIRE(::stat(target.c_str(), &st) == 0);
        const mode_t mask = ::umask(0);
        ::umask(mask);
        CHECK((st.st_mode & 0777) == (0666 & ~mask));
    }
    SECTION("no commit: nothing is left, an existing target is untouched") {
        test::TempDir other;
        const std::string existing = other.write("old.wav", "old contents");
        {
            AudioFileWriter writer;
            REQUIRE(writer.open(existing, OutputFormat::Wav24, 48000, 2) == "");
            REQUIRE(writer.write(signal.view()) == "");
            CHECK(other.list().size() == 2);
        }
        CHECK(other.list() == std::vector<std::string>{"old.wav"});
        CHECK(slurp(existing) == "old contents");
        {
            AudioFileWriter writer;
            REQUIRE(writer.open(target, OutputFormat::Wav24, 48000, 2) == "");
            writer.discard();
            CHECK(dir.list().empty());
        }
    }
    SECTION("a device is written in place, never renamed over") {
        AudioFileWriter writer;
        REQUIRE(writer.open("/dev/null", OutputFormat::Wav16, 48000, 2) == "");
        CHECK(writer.tempPath() == "");
        REQUIRE(writer.write(signal.view()) == "");
        REQUIRE(writer.commit() == "");
        CHECK(fs::is_character_file("/dev/null"));
        CHECK(dir.list().empty());
    }
    SECTION("a folder that does not exist is an error naming the file") {
        AudioFileWriter writer;
        const std::string error = writer.open(dir.file("missing/out.wav"), OutputFormat::Wav16, 48000, 2);
        CHECK_THAT(error, Catch::Contains("missing/out.wav"));
        CHECK(dir.list().empty());
    }
}

TEST_CASE("an output that replaces a file is the same bytes as a new one, written in many blocks", "[io]") {
    // A replacing output starts its writeback in 8 MiB stretches while it is written (through
    // the descriptor whose offset libsndfile's shares): the offset and the bytes must not move.
    test::TempDir dir;
    const AudioBuffer signal = testSignal(2, 48000 * 45, 0.7f); // 45 s: 13 MB of wav24, 17 of f32
    for (const OutputFormat format : {OutputFormat::Wav24, OutputFormat::Wav32f, OutputFormat::Flac24}) {
        CAPTURE(outputFormatName(format));
        const std::string fresh = dir.file("fresh.out"), replaced = dir.file("replaced.out");
        fs::remove(fresh);
        REQUIRE(dir.write("replaced.out", std::string(1 << 20, 'x')) == replaced); // an old, longer-or-shorter file
        for (const std::string& path : {fresh, replaced}) {
            AudioFileWriter writer;
            REQUIRE(writer.open(path, format, 48000, 2) == "");
            for (int done = 0; done < signal.frames(); done += 4096) // 4096-frame writes, as a render's blocks
                REQUIRE(writer.write(signal.view().frameRange(done, std::min(4096, signal.frames() - done))) == "");
            REQUIRE(writer.commit() == "");
        }
        const std::string bytes = slurp(fresh);
        CHECK(bytes.size() > (std::size_t(8) << 20));
        CHECK(bytes == slurp(replaced));
        CHECK(readAll(replaced).channel(1)[123456] == readAll(fresh).channel(1)[123456]);
    }
}

TEST_CASE("the writer refuses to overwrite an input file", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(1, 100, 0.5f);
    REQUIRE(writeFile(dir.file("in.wav"), OutputFormat::Wav16, signal) == "");
    const std::string before = slurp(dir.file("in.wav"));
    REQUIRE(::link(dir.file("in.wav").c_str(), dir.file("hardlink.wav").c_str()) == 0);
    const std::vector<std::string> inputs = {dir.file("in.wav")};
    for (const std::string& target : {dir.file("in.wav"), dir.path() + "/./in.wav", dir.file("hardlink.wav")}) {
        INFO(target);
        AudioFileWriter writer;
        const std::string error = writer.open(target, OutputFormat::Wav16, 48000, 1, inputs);
        CHECK_THAT(error, Catch::Contains("refusing to overwrite input file") && Catch::Contains("in.wav"));
    }
    CHECK(slurp(dir.file("in.wav")) == before);
    CHECK(dir.list() == std::vector<std::string>{"hardlink.wav", "in.wav"});
    // Same path for a target that does not exist yet.
    CHECK(sameFile(dir.file("new.wav"), dir.path() + "/sub/../new.wav"));
    CHECK_FALSE(sameFile(dir.file("new.wav"), dir.file("new2.wav")));
}

TEST_CASE("truncated and unreadable files are errors that name the file", "[io]") {
    test::TempDir dir;
    AudioBuffer signal = testSignal(2, 48000, 0.5f);

    SECTION("WAV whose data chunk was cut short") {
        const std::string path = dir.file("cut.wav");
        REQUIRE(writeFile(path, OutputFormat::Wav24, signal) == "");
        REQUIRE(::truncate(path.c_str(), 100000) == 0);
        AudioFileReader reader;
        REQUIRE(reader.open(path) == "");
        CHECK(reader.frames() == 48000); // what the header declares
        AudioBuffer block(2, 1024);
        std::int64_t got = 0, total = 0;
        while ((got = reader.read(block.view())) > 0) total += got;
        CHECK(got == -1);
        CHECK(total < 48000);
        CHECK_THAT(reader.error(), Catch::Contains("'" + path + "'") && Catch::Contains("truncated"));
    }
    SECTION("FLAC cut short") {
        const std::string path = dir.file("cut.flac");
        REQUIRE(writeFile(path, OutputFormat::Flac24, signal) == "");
        REQUIRE(::truncate(path.c_str(), std::int64_t(fs::file_size(path) / 2)) == 0);
        AudioFileReader reader;
        REQUIRE(reader.open(path) == "");
        AudioBuffer block(2, 1024);
        std::int64_t got = 0;
        while ((got = reader.read(block.view())) > 0) {
        }
        CHECK(got == -1);
        CHECK_THAT(reader.error(), Catch::Contains("'" + path + "'"));
    }
    SECTION("garbage, missing file, folder") {
        std::string garbage(5000, '\0');
        for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = char((i * 7919u) >> 3);
        const std::string path = dir.write("garbage.wav", garbage);
        AudioFileReader reader;
        CHECK_THAT(reader.open(path), Catch::StartsWith("cannot open '" + path + "': "));
        CHECK_FALSE(reader.isOpen());
        CHECK_THAT(reader.open(dir.file("none.wav")), Catch::Contains("none.wav") && Catch::Contains("No such file"));
        CHECK_THAT(reader.open(dir.path()), Catch::Contains("is a directory"));
    }
}

TEST_CASE("little-endian PCM packed by the writer equals libsndfile's own integer conversion", "[io]") {
    // The writer packs WAV, RF64, W64 and raw PCM itself and writes it in large pieces; the
    // samples must be those libsndfile writes from the same quantised integers (sf_writef_int),
    // whatever the split of the stream, across the writer's 1 MiB buffer, and for clipped input.
    test::TempDir dir;
    const int frames = 250000; // 2 x 3 x 250000 bytes: more than one buffer
    AudioBuffer signal = testSignal(2, frames, 1.4f);
    for (const char* name : {"wav16", "wav24", "rf64-16", "rf64-24", "w64-16", "w64-24", "wavex24", "raw24", "aiff24"}) {
        INFO(name);
        const auto format = parseOutputFormat(name);
        REQUIRE(format);
        const int bits = outputFormatBits(*format);
        // The reference: the same dither and quantisation, converted by libsndfile.
        std::vector<float> interleaved(std::size_t(frames) * 2), ditherScratch(interleaved.size());
        std::vector<std::int32_t> quantised(interleaved.size());
        interleave(signal.view(), interleaved.data());
        TpdfDither dither;
        dither.reseed(TpdfDither::kDefaultSeed);
        quantize(interleaved.data(), interleaved.size(), bits, quantised.data(), ditherScratch.data(), dither);
        SF_INFO info{};
        info.samplerate = 48000;
        info.channels = 2;
        info.format = format->sndfileFormat;
        if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW) info.format |= SF_ENDIAN_LITTLE;
        const std::string reference = dir.file(std::string("ref-") + name);
        SNDFILE* ref = sf_open(reference.c_str(), SFM_WRITE, &info);
        REQUIRE(ref);
        REQUIRE(sf_writef_int(ref, quantised.data(), frames) == frames);
        sf_close(ref);

        const std::string ours = dir.file(std::string("ours-") + name);
        AudioFileWriter writer;
        REQUIRE(writer.open(ours, *format, 48000, 2) == "");
        for (int done = 0, step = 7; done < frames; step = step * 2 + 1) {
            const int n = std::min(step, frames - done);
            REQUIRE(writer.write(ConstAudioView(signal.view().frameRange(done, n))) == "");
            done += n;
        }
        CHECK(writer.clippedSamples() > 0);
        REQUIRE(writer.commit() == "");

        auto readInts = [&](const std::string& path) {
            SF_INFO in{};
            if ((info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_RAW) in = info;
            SNDFILE* f = sf_open(path.c_str(), SFM_READ, &in);
            REQUIRE(f);
            std::vector<std::int32_t> v(std::size_t(in.frames) * std::size_t(in.channels));
            CHECK(sf_readf_int(f, v.data(), in.frames) == in.frames);
            sf_close(f);
            return v;
        };
        const auto want = readInts(reference);
        const auto got = readInts(ours);
        REQUIRE(want.size() == quantised.size());
        CHECK(got == want);
    }
}
