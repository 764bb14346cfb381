// docs/safety.md "Outputs": what `-o` and `--report` may write, run as a user runs the command.
// Each case names the independent truth it checks: the file system's own view (lstat: a link
// stays a link, a FIFO stays a FIFO, mode bits), the bytes read back through libsndfile, and
// the content of files the run must not touch.
//
// STAGEGRAPH_SAFETY_CLI, when set, names the binary to test (to see these fail on an old build).
#include "SafetyTesting.h"
#include "core/Buffer.h"
#include "host/cli/Report.h"
#include "host/io/AudioFile.h"
#include "host/io/OutputFiles.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sys/mman.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::CommandResult;
using sg::test::runShell;
using sg::test::TempDir;

using namespace sg::test::safety;

namespace {

const char* kGainGraph = R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -6 dB}}
connections: ["mix -> g -> out"]
)";

constexpr int kFrames = 4800;

void writeInput(const std::string& path) {
    AudioBuffer buffer(2, kFrames);
    const auto left = test::sine(1000, 0.5, 48000, kFrames), right = test::sine(500, 0.5, 48000, kFrames);
    std::copy(left.begin(), left.end(), buffer.channel(0));
    std::copy(right.begin(), right.end(), buffer.channel(1));
    REQUIRE(io::writeAudioFile(path, io::OutputFormat::Wav32f, 48000, buffer.view()) == "");
}

/// Frames of an audio file as libsndfile reads it, -1 if unreadable.
std::int64_t framesOf(const std::string& path) {
    io::AudioFileReader reader;
    if (!reader.open(path).empty()) return -1;
    AudioBuffer buffer(reader.channels(), 1024);
    std::int64_t total = 0;
    for (;;) {
        const std::int64_t got = reader.read(buffer.view());
        if (got <= 0) return got < 0 ? -1 : total;
        total += got;
    }
}

bool isLink(const std::string& path) {
    struct stat st {};
    return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

bool noTemporaries(const TempDir& dir) {
    for (const auto& name : dir.list())
        if (name.size() > 4 && name.substr(name.size() - 4) == ".tmp") return false;
    return true;
}

struct Setup {
    TempDir dir;
    std::string graph, input;
    Setup() {
        graph = dir.write("gain.yaml", kGainGraph);
        input = dir.file("in.wav");
        writeInput(input);
    }
    std::string render(const std::string& rest) const { return "render " + q(graph) + " -i " + q(input) + " " + rest; }
};

} // namespace

TEST_CASE("safety: -o through a symbolic link writes the link's target and keeps the link", "[safety][outputs]") {
    Setup s;
    SECTION("the target exists") {
        const std::string real = s.dir.write("real.wav", "old contents");
        fs::create_symlink("real.wav", s.dir.file("link.wav"));
        const auto r = run(s.render("-o " + q(s.dir.file("link.wav"))));
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(isLink(s.dir.file("link.wav")));
        CHECK(fs::read_symlink(s.dir.file("link.wav")) == "real.wav");
        CHECK(framesOf(real) == kFrames);
    }
    SECTION("the target does not exist yet (a dangling link)") {
        fs::create_directory(s.dir.file("sub"));
        fs::create_symlink("sub/new.wav", s.dir.file("link.wav"));
        const auto r = run(s.render("-o " + q(s.dir.file("link.wav"))));
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(isLink(s.dir.file("link.wav")));
        CHECK(framesOf(s.dir.file("sub/new.wav")) == kFrames);
    }
    SECTION("--report through a link") {
        const std::string real = s.dir.write("real.json", "{}");
        fs::create_symlink("real.json", s.dir.file("report.json"));
        const auto r = run(s.render("-o " + q(s.dir.file("out.wav")) + " --report " + q(s.dir.file("report.json"))));
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(isLink(s.dir.file("report.json")));
        CHECK(slurp(real).find("\"outputs\"") != std::string::npos);
    }
    CHECK(noTemporaries(s.dir));
}

TEST_CASE("safety: a FIFO as output is streamed to, never replaced", "[safety][outputs]") {
    Setup s;
    for (const char* format : {"wav24", "wav32f", "flac16"}) {
        DYNAMIC_SECTION(format) {
            const std::string extension = std::string(format).rfind("flac", 0) == 0 ? ".flac" : ".wav";
            const std::string fifo = s.dir.file(std::string("pipe") + extension);
            REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
            // Through a link too, as /dev/stdout is a link to the process's pipe.
            fs::create_symlink(fs::path(fifo).filename(), s.dir.file(std::string("link") + extension));
            std::string received;
            std::thread reader([&] { received = slurp(fifo); });
            const auto r = run(s.render("-o " + q(s.dir.file(std::string("link") + extension)) + " --format " + format));
            reader.join();
            INFO(r.err);
            REQUIRE(r.status == 0);
            struct stat st {};
            REQUIRE(::lstat(fifo.c_str(), &st) == 0);
            CHECK(S_ISFIFO(st.st_mode));
            CHECK(isLink(s.dir.file(std::string("link") + extension)));
            // What came through the pipe is a whole file: libsndfile reads every frame back.
            const std::string copy = s.dir.write(std::string("received") + extension, received);
            CHECK(framesOf(copy) == kFrames);
        }
    }
    CHECK(noTemporaries(s.dir));
}

TEST_CASE("safety: -o - streams the audio to stdout and the summary to stderr", "[safety][outputs]") {
    Setup s;
    const std::string captured = s.dir.file("stdout.wav");
    const auto r = test::runShell(cliWord() + s.render("-o - --format wav24") + " > " + q(captured));
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(framesOf(captured) == kFrames);
    CHECK(r.err.find("rendered") != std::string::npos); // the summary went to stderr
    CHECK(noTemporaries(s.dir));
}

TEST_CASE("safety: a write-protected output is refused and a replaced file keeps its mode", "[safety][outputs]") {
    Setup s;
    SECTION("write-protected: refused, untouched") {
        const std::string out = s.dir.write("out.wav", "precious");
        REQUIRE(::chmod(out.c_str(), 0444) == 0);
        const auto r = run(s.render("-o " + q(out)));
        CHECK(r.status != 0);
        CHECK(r.err.find("write-protected") != std::string::npos);
        CHECK(slurp(out) == "precious");
        struct stat st {};
        REQUIRE(::stat(out.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0444);
        ::chmod(out.c_str(), 0644);
    }
    SECTION("replaced: same mode") {
        const std::string out = s.dir.write("out.wav", "old");
        REQUIRE(::chmod(out.c_str(), 0640) == 0);
        const auto r = run(s.render("-o " + q(out)));
        INFO(r.err);
        REQUIRE(r.status == 0);
        struct stat st {};
        REQUIRE(::stat(out.c_str(), &st) == 0);
        CHECK((st.st_mode & 07777) == 0640);
        CHECK(framesOf(out) == kFrames);
    }
    CHECK(noTemporaries(s.dir));
}

TEST_CASE("safety: run by another user, a file it does not own is refused, its own is replaced", "[safety][outputs]") {
    // The rule is about a user who is not root; the test becomes one with setpriv (util-linux),
    // which needs root to start from. As another user, the test cannot make such a file at all.
    if (::geteuid() != 0 || runShell("command -v setpriv").status != 0) {
        WARN("not run: needs root and setpriv to run the command as another user");
        return;
    }
    Setup s;
    // The user 'nobody' (65534) reads the graph and the input, writes in the folder.
    REQUIRE(::chmod(s.dir.path().c_str(), 01777) == 0);
    const std::string asNobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
    if (runShell(asNobody + cliWord() + "--version").status != 0) {
        WARN("not run: user 65534 cannot run the binary under test (a folder on its path is closed to it)");
        return;
    }
    SECTION("root's file, group- and world-writable: refused (a rename would hand it to nobody)") {
        const std::string out = s.dir.write("roots.wav", "root's");
        REQUIRE(::chmod(out.c_str(), 0666) == 0);
        const auto r = runShell(asNobody + cliWord() + s.render("-o " + q(out)));
        CHECK(r.status == 1);
        CHECK(r.err.find("belongs to another user") != std::string::npos);
        CHECK(slurp(out) == "root's");
        struct stat st {};
        REQUIRE(::stat(out.c_str(), &st) == 0);
        CHECK(st.st_uid == 0);
    }
    SECTION("nobody's own file: replaced, still nobody's, same mode") {
        const std::string out = s.dir.write("own.wav", "old");
        REQUIRE(::chown(out.c_str(), 65534, 65534) == 0);
        REQUIRE(::chmod(out.c_str(), 0604) == 0);
        const auto r = runShell(asNobody + cliWord() + s.render("-o " + q(out)));
        INFO(r.err);
        REQUIRE(r.status == 0);
        struct stat st {};
        REQUIRE(::stat(out.c_str(), &st) == 0);
        CHECK(st.st_uid == 65534);
        CHECK((st.st_mode & 07777) == 0604);
        CHECK(framesOf(out) == kFrames);
    }
    CHECK(noTemporaries(s.dir));
}

TEST_CASE("safety: no output or report overwrites a graph pulled in by use:", "[safety][outputs]") {
    TempDir dir;
    fs::create_directory(dir.file("parts"));
    const std::string part = dir.write("parts/trim.yaml", R"(stagegraph: 1
inputs: {in: {channels: 2}}
outputs: {out: {channels: 2}}
nodes: {g: {type: gain, gain: -3 dB}}
connections: ["in -> g -> out"]
)");
    const std::string top = dir.write("top.yaml", R"(stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {master: {channels: 2}}
nodes: {trim: {use: parts/trim.yaml}}
connections: ["mix -> trim -> master"]
)");
    const std::string input = dir.file("in.wav");
    writeInput(input);
    const std::string before = slurp(part);
    const std::string render = "render " + q(top) + " -i " + q(input) + " ";
    SECTION("-o") {
        const auto r = run(render + "-o " + q(part) + " --format wav24");
        CHECK(r.status == 2);
        CHECK(r.err.find("graph file") != std::string::npos);
    }
    SECTION("-o through a link to it") {
        fs::create_symlink("parts/trim.yaml", dir.file("sneaky.wav"));
        const auto r = run(render + "-o " + q(dir.file("sneaky.wav")));
        CHECK(r.status == 2);
    }
    SECTION("--report") {
        const auto r = run(render + "-o " + q(dir.file("out.wav")) + " --report " + q(part));
        CHECK(r.status == 2);
        CHECK(r.err.find("graph file") != std::string::npos);
        CHECK_FALSE(fs::exists(dir.file("out.wav")));
    }
    CHECK(slurp(part) == before);
    CHECK(noTemporaries(dir));
}

TEST_CASE("safety: the whole-file writers (audio, text) replace a file whole, keep links, stream to FIFOs", "[safety][outputs]") {
    TempDir dir;
    // Hostile audio: noise driven +20 dB into clipping plus a near-Nyquist tone, 44.1 kHz, written
    // as float so it must read back bit for bit.
    const int frames = 44100;
    AudioBuffer audio(2, frames);
    for (int c = 0; c < 2; ++c) {
        const auto driven = test::drivenNoise(frames, 22000, 44100, 5 + std::uint32_t(c));
        std::copy(driven.begin(), driven.end(), audio.channel(c));
    }
    const std::string real = dir.write("real.wav", "old contents");
    fs::create_symlink("real.wav", dir.file("link.wav"));
    REQUIRE(io::writeAudioFile(dir.file("link.wav"), io::OutputFormat::Wav32f, 44100, audio.view()) == "");
    CHECK(isLink(dir.file("link.wav")));
    io::AudioFileReader reader;
    REQUIRE(reader.open(real) == "");
    CHECK(reader.sampleRate() == 44100);
    AudioBuffer back(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(back.view()) == frames);
    for (int c = 0; c < 2; ++c) CHECK(std::memcmp(back.channel(c), audio.channel(c), sizeof(float) * std::size_t(frames)) == 0);

    const std::string text = dir.write("real.txt", "old text");
    fs::create_symlink("real.txt", dir.file("link.txt"));
    REQUIRE(cli::writeTextFile(dir.file("link.txt"), "new text\n") == "");
    CHECK(isLink(dir.file("link.txt")));
    CHECK(slurp(text) == "new text\n");

    // A FIFO is streamed to and stays a FIFO.
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    std::string received;
    std::thread readerThread([&] { received = slurp(dir.file("fifo")); });
    const std::string streamed = cli::writeTextFile(dir.file("fifo"), "through the pipe");
    if (!streamed.empty()) ::close(::open(dir.file("fifo").c_str(), O_WRONLY | O_NONBLOCK)); // frees the reader
    readerThread.join();
    CHECK(streamed == "");
    CHECK(received == "through the pipe");
    struct stat st {};
    REQUIRE(::lstat(dir.file("fifo").c_str(), &st) == 0);
    CHECK(S_ISFIFO(st.st_mode));

    // A folder that does not exist: an error naming the file, nothing written.
    const std::string audioError = io::writeAudioFile(dir.file("none/x.wav"), io::OutputFormat::Wav24, 44100, audio.view());
    const std::string textError = cli::writeTextFile(dir.file("none/x.txt"), "text");
    CHECK_THAT(audioError, Catch::Contains("x.wav"));
    CHECK_THAT(textError, Catch::Contains("x.txt"));
    CHECK_FALSE(fs::exists(dir.file("none")));
    CHECK(noTemporaries(dir));
}

namespace {

/// Pages of `path` in the page cache, by mincore(2) over a read-only mapping (-1: not measured).
long residentPages(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat status {};
    long resident = -1;
    if (::fstat(fd, &status) == 0 && status.st_size > 0) {
        const std::size_t size = std::size_t(status.st_size), page = std::size_t(::sysconf(_SC_PAGESIZE));
        void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
        if (map != MAP_FAILED) {
            std::vector<unsigned char> pages((size + page - 1) / page);
            if (::mincore(map, size, pages.data()) == 0)
                resident = long(std::count_if(pages.begin(), pages.end(), [](unsigned char p) { return (p & 1) != 0; }));
            ::munmap(map, size);
        }
    }
    ::close(fd);
    return resident;
}

} // namespace

TEST_CASE("safety: the pages of a file an output replaces are dropped from the cache, never an input's, never its bytes",
          "[safety][outputs]") {
    TempDir dir;
    const std::string file = dir.file("old.wav"), link = dir.file("link.wav");
    std::vector<char> bytes(4 << 20);
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = char(i * 2654435761u >> 24);
    {
        std::ofstream out(file, std::ios::binary);
        out.write(bytes.data(), std::streamsize(bytes.size()));
    }
    fs::create_symlink(file, link);
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(fd >= 0);
    REQUIRE(::fsync(fd) == 0); // clean pages: the only ones DONTNEED drops
    ::close(fd);
    const long before = residentPages(file);
    REQUIRE(before > 0);
    // Named as an input too (through the link): the pages stay.
    io::releaseReplacedPages(link, {file});
    CHECK(residentPages(file) == before);
    io::releaseReplacedPages(file, {link});
    CHECK(residentPages(file) == before);
    // Not an input: through the link, the target's pages go (where the file system drops
    // cached pages at all: not tmpfs, whose pages are the file).
    io::releaseReplacedPages(link, {dir.file("other.wav")});
    const long after = residentPages(file);
    if (after == before)
        WARN("this file system keeps the pages of " << file << " (tmpfs?): the drop is not measurable here");
    else
        CHECK(after < before / 8);
    // Nothing on disk changed, and a missing file, a FIFO and stdout are left alone.
    std::ifstream in(file, std::ios::binary);
    const std::vector<char> back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(back == bytes);
    CHECK(fs::is_symlink(link));
    io::releaseReplacedPages(dir.file("missing.wav"), {});
    REQUIRE(::mkfifo(dir.file("fifo").c_str(), 0600) == 0);
    io::releaseReplacedPages(dir.file("fifo"), {}); // must not block on the FIFO
    io::releaseReplacedPages("-", {});
    CHECK(fs::is_fifo(dir.file("fifo")));
}

TEST_CASE("safety: an output keeps only its last stretches in the page cache, and every byte written", "[safety][outputs]") {
    // The writer starts each 8 MiB stretch's writeback as the file grows and drops the clean
    // pages two stretches behind its end (host/io/AudioFile.cpp): a long output reuses a few
    // pages instead of filling the cache. Dropping must never lose a byte: the file read back
    // through libsndfile is every sample written, in a new file and in one that replaces another,
    // through libsndfile's own writes (float) and the writer's packed raw writes (24-bit PCM).
    TempDir dir;
    constexpr int kRate = 48000, kSeconds = 180, kBlock = kRate / 4; // 66 MiB of float stereo, 49 of wav24
    AudioBuffer block(2, kBlock);
    const auto sample = [](std::int64_t frame, int channel) {
        return float((frame * 2654435761u + std::uint64_t(channel) * 40503u) % 65521u) / 65521.0f - 0.5f;
    };
    const std::string fresh = dir.file("fresh.wav"), replaced = dir.file("replaced.wav");
    {
        std::ofstream old(replaced, std::ios::binary);
        old << std::string(4 << 20, 'x');
    }
    // Whether this file system drops clean cached pages at all (tmpfs keeps them: they are the
    // file): the old file, on disk, offered back whole.
    bool dropsPages = false;
    {
        const int fd = ::open(replaced.c_str(), O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        REQUIRE(::fsync(fd) == 0);
        const long before = residentPages(replaced);
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
        dropsPages = residentPages(replaced) < before;
        if (!dropsPages) WARN("this file system keeps clean pages cached (tmpfs?): the drop is not measurable here");
    }
    const long pageBytes = ::sysconf(_SC_PAGESIZE);
    for (const io::OutputFormat format : {io::OutputFormat::Wav32f, io::OutputFormat::Wav24})
        for (const std::string& path : {fresh, replaced}) {
            CAPTURE(io::outputFormatName(format), path);
            // Exact for float; 24-bit samples are within the TPDF dither's 1 LSB and the rounding's
            // half of the written value (a lost or misplaced page is off by far more).
            const float tolerance = format == io::OutputFormat::Wav32f ? 0.0f : 1.5f / 8388608.0f;
            if (path == fresh) fs::remove(fresh); // new in each format's round
            io::AudioFileWriter writer;
            REQUIRE(writer.open(path, format, kRate, 2) == "");
            for (std::int64_t done = 0; done < std::int64_t(kRate) * kSeconds; done += kBlock) {
                for (int c = 0; c < 2; ++c)
                    for (int i = 0; i < kBlock; ++i) block.channel(c)[i] = sample(done + i, c);
                REQUIRE(writer.write(block.view()) == "");
                // A render's pace, about 200x real time: the disk keeps up, as it does for a render.
                std::this_thread::sleep_for(std::chrono::microseconds(1200));
            }
            REQUIRE(writer.commit() == "");
            const long pages = (long(fs::file_size(path)) + pageBytes - 1) / pageBytes, resident = residentPages(path);
            CAPTURE(pages, resident);
            if (dropsPages) CHECK(resident < pages * 3 / 4); // 16 to 24 MiB of 66 (or of 49)
            io::AudioFileReader reader;
            REQUIRE(reader.open(path) == "");
            REQUIRE(reader.frames() == std::int64_t(kRate) * kSeconds);
            std::int64_t wrong = 0;
            for (std::int64_t done = 0; done < reader.frames(); done += kBlock) {
                REQUIRE(reader.read(block.view()) == kBlock);
                for (int c = 0; c < 2; ++c)
                    for (int i = 0; i < kBlock; ++i)
                        wrong += !(std::fabs(block.channel(c)[i] - sample(done + i, c)) <= tolerance);
            }
            CHECK(wrong == 0);
        }
}
