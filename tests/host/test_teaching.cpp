// The teaching material (docs/teaching/): the built-in song (host/cli/DemoSong.h), `stagegraph
// demo` and its lessons' claims in numbers, `demo --stems`, the translation models
// (graphs/translation/), and the figures the lesson pages quote against what the demo prints.
// One demo run (`--json`) is shared by the lesson tests.
#include "host/cli/Demo.h"
#include "host/cli/DemoSong.h"
#include "host/io/AudioFile.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>
#include <ebur128.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = std::filesystem;
using namespace sg;
using sg::test::runCli;
using sg::test::TempDir;

namespace {

std::string q(const std::string& path) { return "'" + path + "'"; }

/// FNV-1a over the bytes of every stem's samples.
std::uint64_t hashStems(const std::vector<cli::DemoStem>& stems) {
    std::uint64_t h = 1469598103934665603ull;
    for (const auto& stem : stems) {
        for (char c : stem.name) h = (h ^ std::uint8_t(c)) * 1099511628211ull;
        const auto* bytes = reinterpret_cast<const unsigned char*>(stem.audio.channel(0));
        for (std::size_t i = 0; i < std::size_t(stem.audio.frames()) * sizeof(float); ++i) h = (h ^ bytes[i]) * 1099511628211ull;
    }
    return h;
}

AudioBuffer readFile(const std::string& path, double* rate = nullptr) {
    io::AudioFileReader reader;
    REQUIRE(reader.open(path) == "");
    AudioBuffer out(reader.channels(), int(reader.frames()));
    REQUIRE(reader.read(out.view()) == reader.frames());
    if (rate) *rate = reader.sampleRate();
    return out;
}

void writeFile(const std::string& path, const AudioBuffer& audio) {
    io::AudioFileWriter writer;
    REQUIRE(writer.open(path, io::OutputFormat::Wav32f, 48000, audio.channels()) == "");
    REQUIRE(writer.write(audio.view()) == "");
    REQUIRE(writer.commit() == "");
}

/// libebur128's integrated loudness: the oracle for the demo's loudness figures.
double oracleLufs(const AudioBuffer& audio) {
    ebur128_state* state = ebur128_init(unsigned(audio.channels()), 48000, EBUR128_MODE_I);
    std::vector<float> interleaved(std::size_t(audio.frames()) * std::size_t(audio.channels()));
    for (int n = 0; n < audio.frames(); ++n)
        for (int c = 0; c < audio.channels(); ++c) interleaved[std::size_t(n * audio.channels() + c)] = audio.channel(c)[n];
    ebur128_add_frames_float(state, interleaved.data(), std::size_t(audio.frames()));
    double lufs = 0;
    ebur128_loudness_global(state, &lufs);
    ebur128_destroy(&state);
    return lufs;
}

/// One demo run on the whole built-in song (the lessons' claims are about the song as shipped;
/// some, like the low end's range over 3 s windows, need its verse and chorus at full length),
/// shared by the lesson tests: its JSON figures and its files.
struct DemoRun {
    TempDir stems, renders;
    test::CommandResult result;
    nlohmann::json figures;

    DemoRun() {
        result = runCli("demo --json --stems " + q(stems.path()) + " --keep " + q(renders.path()));
        if (result.status == 0) figures = nlohmann::json::parse(result.out);
    }
    /// The figures of one version ("" master = the mix).
    const nlohmann::json& version(const std::string& mix, const std::string& master) const {
        for (const auto& v : figures["versions"])
            if (v["mix"] == mix && (master.empty() ? v["master"].is_null() : v["master"] == master)) return v;
        throw std::logic_error("no version " + mix + " " + master);
    }
    double get(const std::string& mix, const std::string& master, const char* key) const {
        return version(mix, master)[key].get<double>();
    }
};

const DemoRun& demoRun() {
    static DemoRun run;
    INFO(run.result.err);
    REQUIRE(run.result.status == 0);
    return run;
}

} // namespace

// ---- the song -----------------------------------------------------------------------------------

TEST_CASE("teaching: the built-in song is seven deterministic stems, 48 s at 48 kHz by default", "[teaching]") {
    const auto song = cli::makeDemoSong();
    REQUIRE(song.size() == 7);
    std::vector<std::string> names;
    for (const auto& s : song) names.push_back(s.name);
    CHECK(names == std::vector<std::string>{"kick", "snare", "hats", "bass", "chords", "lead", "vocal"});
    for (const auto& s : song) {
        CHECK(s.audio.channels() == 1);
        CHECK(s.audio.frames() == 48 * 48000);
        // Each stem is normalised to a peak of -2 dBFS.
        CHECK(cli::peakDbfs(s.audio.channel(0), s.audio.frames()) == Approx(-2.0).margin(1e-4));
    }
    // Deterministic: a second synthesis is bit-identical.
    CHECK(hashStems(cli::makeDemoSong()) == hashStems(song));
    // Lengths round to whole bars of 2 s, within 8 .. 60 s.
    CHECK(cli::makeDemoSong(48000, 12.9).front().audio.frames() == 12 * 48000);
    CHECK(cli::makeDemoSong(48000, 1).front().audio.frames() == 8 * 48000);
    CHECK(cli::makeDemoSong(48000, 600).front().audio.frames() == 60 * 48000);
}

TEST_CASE("teaching: each stem has its energy where its instrument lives", "[teaching]") {
    const auto song = cli::makeDemoSong(48000, 12);
    // Energy share of the band in dB (0 = all of it): each part has more than half of its
    // energy (-3 dB) in its own band, and little in the others.
    struct Expect {
        const char* name;
        double loHz, hiHz;
    };
    const Expect expected[] = {{"kick", 30, 150},     {"snare", 120, 6000}, {"hats", 3000, 20000}, {"bass", 40, 300},
                               {"chords", 150, 2500}, {"lead", 300, 6000},  {"vocal", 150, 3500}};
    for (const auto& e : expected) {
        const auto& stem = *std::find_if(song.begin(), song.end(), [&](const cli::DemoStem& s) { return s.name == e.name; });
        INFO(e.name);
        CHECK(cli::rmsDbfs(stem.audio.channel(0), stem.audio.frames()) > -40);
        CHECK(cli::bandRelativeDb(stem.audio, 48000, e.loHz, e.hiHz) > -3.0);
    }
    // And the low band belongs to kick and bass; above 6 kHz the hats have the largest share.
    double hatsTop = 0, othersTop = -100;
    for (const auto& stem : song) {
        INFO(stem.name);
        const bool low = stem.name == "kick" || stem.name == "bass";
        CHECK((cli::bandRelativeDb(stem.audio, 48000, cli::kLowBandHz[0], cli::kLowBandHz[1]) > -10) == low);
        const double top = cli::bandRelativeDb(stem.audio, 48000, 6000, 0);
        if (stem.name == "hats")
            hatsTop = top;
        else
            othersTop = std::max(othersTop, top);
    }
    CHECK(hatsTop > othersTop + 3);
}

TEST_CASE("teaching: band figures follow Parseval and the Butterworth magnitude on two sines", "[teaching]") {
    // 1 kHz at amplitude 1 and 80 Hz at amplitude 0.5: energy shares 0.8 and 0.2, each weighted
    // by the band's 4th-order Butterworth power responses through the bilinear transform,
    // 1/(1 + (w(fc)/w(f))^8) and 1/(1 + (w(f)/w(fc))^8) with w(f) = tan(pi f / fs).
    const int frames = 4 * 48000;
    AudioBuffer x(1, frames);
    const auto a = test::sine(1000, 1.0, 48000, frames), b = test::sine(80, 0.5, 48000, frames);
    for (int n = 0; n < frames; ++n) x.channel(0)[n] = a[std::size_t(n)] + b[std::size_t(n)];
    auto w = [](double f) { return std::tan(M_PI * f / 48000); };
    auto band = [&](double f, const double* edges) {
        return 1 / (1 + std::pow(w(edges[0]) / w(f), 8)) / (1 + std::pow(w(f) / w(edges[1]), 8));
    };
    auto expected = [&](const double* edges) { return 10 * std::log10(0.8 * band(1000, edges) + 0.2 * band(80, edges)); };
    CHECK(cli::bandRelativeDb(x, 48000, cli::kVocalBandHz[0], cli::kVocalBandHz[1]) ==
          Approx(expected(cli::kVocalBandHz)).margin(0.05));
    CHECK(cli::bandRelativeDb(x, 48000, cli::kLowBandHz[0], cli::kLowBandHz[1]) ==
          Approx(expected(cli::kLowBandHz)).margin(0.05));
    CHECK(cli::bandRelativeDb(x, 48000, cli::kHarshBandHz[0], cli::kHarshBandHz[1]) ==
          Approx(expected(cli::kHarshBandHz)).margin(0.1));
    // A steady signal has no low-end range.
    CHECK(cli::measureTeachingFigures(x, 48000).lowRangeDb == Approx(0).margin(0.05));
}

// ---- the demo and its lessons -------------------------------------------------------------------

static void demoCheck0() {
    const DemoRun& run = demoRun();
    for (const char* mix : {"balanced", "flawed"}) {
        for (const char* master : {"", "streaming", "loud"}) {
            const std::string file = std::string(mix) + "-" + (*master ? master : "mix") + ".wav";
            INFO(file);
            const AudioBuffer audio = readFile(run.renders.file(file));
            CHECK(run.get(mix, master, "integrated_lufs") == Approx(oracleLufs(audio)).margin(0.05));
        }
    }
}

static void demoCheck1() {
    const DemoRun& run = demoRun();
    for (const char* band : {"vocal_band_db", "harshness_db"}) {
        const double inMix = run.get("flawed", "", band) - run.get("balanced", "", band);
        INFO(band << " excess in the mix " << inMix);
        CHECK(inMix > 1.0);
        for (const char* master : {"streaming", "loud"}) {
            const double after = run.get("flawed", master, band) - run.get("balanced", master, band);
            INFO(master << " " << after);
            CHECK(std::abs(after - inMix) < 1.0);
        }
    }
    // The kick-bass fight: the flawed low end moves more than the balanced one, and heavy
    // limiting amplifies that.
    CHECK(run.get("flawed", "", "low_end_range_lu") > run.get("balanced", "", "low_end_range_lu"));
    CHECK(run.get("flawed", "loud", "low_end_range_lu") - run.get("balanced", "loud", "low_end_range_lu") >
          run.get("flawed", "", "low_end_range_lu") - run.get("balanced", "", "low_end_range_lu"));
}

static void demoCheck2() {
    const DemoRun& run = demoRun();
    for (const char* mix : {"balanced", "flawed"}) {
        INFO(mix);
        const double louder = run.get(mix, "loud", "integrated_lufs") - run.get(mix, "streaming", "integrated_lufs");
        CHECK(louder > 4.0);
        CHECK(run.get(mix, "streaming", "plr_db") - run.get(mix, "loud", "plr_db") > 3.0);
        CHECK(run.get(mix, "loud", "true_peak_dbtp") <= -1.0 + 0.05);
        // Matched by a gain of -louder dB, the loud master reads the streaming loudness (within
        // 0.1 LU, measured by the oracle on the gained samples).
        AudioBuffer loud = readFile(run.renders.file(std::string(mix) + "-loud.wav"));
        const float gain = float(std::pow(10.0, -louder / 20.0));
        for (int c = 0; c < loud.channels(); ++c)
            for (int n = 0; n < loud.frames(); ++n) loud.channel(c)[n] *= gain;
        CHECK(std::abs(oracleLufs(loud) - run.get(mix, "streaming", "integrated_lufs")) < 0.1);
    }
}

static void demoCheck3() {
    const DemoRun& run = demoRun();
    for (const char* mix : {"balanced", "flawed"}) {
        INFO(mix);
        CHECK(run.get(mix, "loud", "limiter_max_gain_reduction_db") > 3.0);
        CHECK(run.get(mix, "loud", "low_end_range_lu") > run.get(mix, "streaming", "low_end_range_lu") + 0.3);
    }
}

static void demoCheck4() {
    const DemoRun& run = demoRun();
    for (const char* mix : {"balanced", "flawed"}) {
        INFO(mix);
        const double loudness = run.get(mix, "loud", "integrated_lufs") - run.get(mix, "streaming", "integrated_lufs");
        const double harsh = run.get(mix, "loud", "harsh_level_db") - run.get(mix, "streaming", "harsh_level_db");
        CHECK(harsh > loudness);
    }
}

static void demoCheck5() {
    const DemoRun& run = demoRun();
    const std::string dir = run.stems.path();
    for (const char* f : {"stems/kick.wav", "stems/vocal.wav", "teaching/session-flawed.yaml", "teaching/mix-balanced.yaml",
                          "teaching/parts/song-strip.yaml", "mixing/parts/vocal-strip.yaml", "mastering/loud.yaml"})
        CHECK(fs::is_regular_file(fs::path(dir) / f));
    // The session renders from there with its default input files, and the mix it writes is the
    // demo's flawed mix.
    TempDir out;
    auto r = runCli("render " + q(dir + "/teaching/session-flawed.yaml") + " --include-dir " + q(dir) +
                    " -o master=" + q(out.file("m.wav")) + " -o mix=" + q(out.file("x.wav")) + " --format wav32f");
    INFO(r.err);
    REQUIRE(r.status == 0);
    const AudioBuffer a = readFile(out.file("x.wav")), b = readFile(run.renders.file("flawed-mix.wav"));
    REQUIRE(a.frames() == b.frames());
    bool same = true;
    for (int c = 0; c < 2; ++c)
        for (int n = 0; n < a.frames(); ++n) same = same && a.channel(c)[n] == b.channel(c)[n];
    CHECK(same);

    // A second run refuses (exit 2) and leaves the files as they were; --force replaces them.
    TempDir own;
    REQUIRE(runCli("demo --length 8 --json --stems " + q(own.path())).status == 0);
    own.write("stems/kick.wav", "not a stem");
    auto again = runCli("demo --length 10 --stems " + q(own.path()));
    CHECK(again.status == 2);
    CHECK_THAT(again.err, Catch::Contains("exist and would be replaced (use --force)") && Catch::Contains("stems/kick.wav"));
    std::ifstream kept(own.file("stems/kick.wav"));
    CHECK(std::string(std::istreambuf_iterator<char>(kept), {}) == "not a stem");
    CHECK(readFile(own.file("stems/vocal.wav")).frames() == 8 * 48000);
    auto forced = runCli("demo --length 10 --json --force --stems " + q(own.path()));
    CHECK(forced.status == 0);
    CHECK(readFile(own.file("stems/kick.wav")).frames() == 10 * 48000);

    for (const char* bad : {"--length 5", "--length x", "--stems", "--bogus"}) {
        auto b2 = runCli(std::string("demo ") + bad);
        INFO(bad << ": " << b2.err);
        CHECK(b2.status == 2);
    }
}

static void demoCheck6() {
    const DemoRun& run = demoRun();
    const std::string dir = run.stems.path();
    TempDir out;
    auto r = runCli("render " + q(dir + "/teaching/session-balanced.yaml") + " --include-dir " + q(dir) +
                    " -o master=" + q(out.file("m.wav")) + " -o mix=" + q(out.file("x.wav")) +
                    " --format wav32f --swap mastering=" + q(dir + "/mastering/loud.yaml"));
    INFO(r.err);
    REQUIRE(r.status == 0);
    const AudioBuffer swapped = readFile(out.file("m.wav")), demoLoud = readFile(run.renders.file("balanced-loud.wav"));
    CHECK(oracleLufs(swapped) == Approx(oracleLufs(demoLoud)).margin(1e-6));
    auto bad = runCli("render " + q(dir + "/teaching/session-balanced.yaml") + " --include-dir " + q(dir) +
                      " -o master=" + q(out.file("m2.wav")) + " -o mix=" + q(out.file("x2.wav")) +
                      " --swap master=" + q(dir + "/mastering/loud.yaml"));
    CHECK(bad.status == 2);
    CHECK_THAT(bad.err, Catch::Contains("the graph has no `use:` instance named 'master'; its instances: mixing, ") &&
                            Catch::Contains("mastering"));
    CHECK_FALSE(fs::exists(out.file("m2.wav")));
    // --set reaches a file parameter through two instances, as written: the vocal 4 dB up.
    auto set = runCli("render " + q(dir + "/teaching/session-balanced.yaml") + " --include-dir " + q(dir) +
                      " -o master=" + q(out.file("m3.wav")) + " -o mix=" + q(out.file("x3.wav")) +
                      " --format wav32f --set mixing.vocal_ch.level=-2dB");
    INFO(set.err);
    REQUIRE(set.status == 0);
    const AudioBuffer louderVocal = readFile(out.file("x3.wav"));
    CHECK(cli::bandRelativeDb(louderVocal, 48000, cli::kVocalBandHz[0], cli::kVocalBandHz[1]) >
          run.get("balanced", "", "vocal_band_db") + 1.0);
}

// ---- translation ----------------------------------------------------------------------------------

static void demoCheck7() {
    const DemoRun& run = demoRun();
    const std::string master = run.renders.file("balanced-streaming.wav");
    const AudioBuffer source = readFile(master);
    // A band's own level (mean square per channel, dB re full scale).
    auto bandLevelDb = [](const AudioBuffer& x, const double* band) {
        double sum = 0;
        for (int c = 0; c < x.channels(); ++c)
            for (int n = 0; n < x.frames(); ++n) sum += double(x.channel(c)[n]) * x.channel(c)[n];
        return cli::bandRelativeDb(x, 48000, band[0], band[1]) + 10 * std::log10(sum / (double(x.frames()) * x.channels()));
    };
    auto lowLevelDb = [&](const AudioBuffer& x) { return bandLevelDb(x, cli::kLowBandHz); };
    const double sourceLow = lowLevelDb(source);
    TempDir out;
    std::map<std::string, AudioBuffer> through;
    for (const char* model : {"phone", "earbuds", "laptop", "car", "club"}) {
        auto r = runCli("render " + q(test::sourceDir() + "/graphs/translation/" + model + ".yaml") + " -i " + q(master) +
                        " -o " + q(out.file(std::string(model) + ".wav")) + " --format wav32f");
        INFO(model << ": " << r.err);
        REQUIRE(r.status == 0);
        through[model] = readFile(out.file(std::string(model) + ".wav"));
    }
    // The low band's own level (mean square per channel, dB re full scale), before and after.
    auto lowShift = [&](const std::string& model) { return lowLevelDb(through[model]) - sourceLow; };
    CHECK(through["phone"].channels() == 1); // mono
    CHECK(lowShift("phone") < -20);          // 450 Hz high-pass, 24 dB/oct
    CHECK(lowShift("laptop") < -15);         // 350 Hz high-pass, 24 dB/oct
    CHECK(lowShift("earbuds") > 1.0);        // +4 dB shelf below 105 Hz
    CHECK(lowShift("earbuds") < 5.0);
    // Cabin gain, +9 dB below 80 Hz, heard 6 dB down: the low band rises against the midrange.
    const double carMidShift = bandLevelDb(through["car"], cli::kVocalBandHz) - bandLevelDb(source, cli::kVocalBandHz);
    CHECK(carMidShift == Approx(-6.0).margin(0.5));
    CHECK(lowShift("car") - carMidShift > 4.0);
    CHECK(lowShift("club") > 3.0); // +6 dB below 90 Hz
    CHECK(cli::truePeakDbtp(through["phone"], 48000).value() <= -3.0 + 0.05);
    CHECK(cli::truePeakDbtp(through["club"], 48000).value() <= -1.0 + 0.05);

    // The car's road noise: on silence, pink noise at -30 dBFS RMS low-passed at 400 Hz is left.
    AudioBuffer silence(2, 4 * 48000);
    writeFile(out.file("silence.wav"), silence);
    auto r = runCli("render " + q(test::sourceDir() + "/graphs/translation/car.yaml") + " -i " + q(out.file("silence.wav")) +
                    " -o " + q(out.file("road.wav")) + " --format wav32f");
    REQUIRE(r.status == 0);
    const AudioBuffer road = readFile(out.file("road.wav"));
    const double rms = cli::rmsDbfs(road.channel(0) + 48000, road.frames() - 48000);
    CHECK(rms < -30.0);
    CHECK(rms > -40.0);
    CHECK(cli::bandRelativeDb(road, 48000, 0, 500) > -1.0);
}

// ---- the lesson pages -----------------------------------------------------------------------------

// A lesson page quotes the demo's output in blocks opened by "```demo lines A-B": the block holds
// lines A to B (1-based) of what `stagegraph demo` prints. This test checks every block; with
// STAGEGRAPH_UPDATE_DOCS=1 (`make teaching-docs`) it rewrites stale blocks instead.
TEST_CASE("teaching: the figures quoted in docs/teaching are what `stagegraph demo` prints", "[teaching][teaching-docs]") {
#if defined(__SANITIZE_ADDRESS__)
    WARN("skipped under AddressSanitizer: the full 48 s demo is checked by the Release build");
#else
    auto r = runCli("demo");
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::vector<std::string> printed;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) printed.push_back(line);
    const char* update = std::getenv("STAGEGRAPH_UPDATE_DOCS");
    const bool rewrite = update && std::string(update) == "1";
    int blocks = 0;
    for (const auto& entry : fs::directory_iterator(test::sourceDir() + "/docs/teaching")) {
        if (entry.path().extension() != ".md") continue;
        std::ifstream in(entry.path());
        std::vector<std::string> page;
        for (std::string line; std::getline(in, line);) page.push_back(line);
        std::vector<std::string> fresh;
        bool stale = false;
        for (std::size_t i = 0; i < page.size(); ++i) {
            fresh.push_back(page[i]);
            int first = 0, last = 0;
            if (std::sscanf(page[i].c_str(), "```demo lines %d-%d", &first, &last) != 2) continue;
            ++blocks;
            std::size_t end = i + 1;
            while (end < page.size() && page[end].rfind("```", 0) != 0) ++end;
            const std::vector<std::string> quoted(page.begin() + long(i) + 1, page.begin() + long(end));
            INFO(entry.path().filename().string() << " line " << i + 1 << ": demo lines " << first << "-" << last);
            REQUIRE(first >= 1);
            REQUIRE(last >= first);
            REQUIRE(std::size_t(last) <= printed.size());
            const std::vector<std::string> expected(printed.begin() + first - 1, printed.begin() + last);
            if (quoted != expected) {
                stale = true;
                if (!rewrite) CHECK(quoted == expected);
            }
            fresh.insert(fresh.end(), expected.begin(), expected.end());
            i = end - 1;
        }
        if (rewrite && stale) {
            std::ofstream out(entry.path());
            for (const auto& line : fresh) out << line << "\n";
        }
    }
    CHECK(blocks >= 6);
#endif
}

// ---- the lessons through `stagegraph compare` --------------------------------------------------------

static void demoCheck8() {
    const DemoRun& run = demoRun();
    const std::string mix = run.renders.file("balanced-mix.wav");
    const std::string masters = test::sourceDir() + "/graphs/mastering/";
    auto compare = [&](const std::string& args) {
        auto r = runCli("compare " + args + " --json");
        INFO(args << "\n" << r.err);
        REQUIRE(r.status == 0);
        return nlohmann::json::parse(r.out);
    };
    auto candidate = [](const nlohmann::json& j, const std::string& label) {
        for (const auto& c : j["candidates"])
            if (c["label"] == label) return c;
        throw std::logic_error("no candidate " + label);
    };

    // Lesson 3: matched, the two masters differ by < 0.1 LU; the loud one was turned down by
    // its loudness gain and has the smaller PLR and the deeper limiting.
    const auto masterPair = compare(q(masters + "streaming.yaml") + " " + q(masters + "loud.yaml") + " -i " + q(mix));
    const auto streaming = candidate(masterPair, "streaming"), loud = candidate(masterPair, "loud");
    CHECK(std::abs(streaming["integrated_lufs"].get<double>() - loud["integrated_lufs"].get<double>()) < 0.1);
    CHECK(loud["gain_db"].get<double>() ==
          Approx(run.get("balanced", "streaming", "integrated_lufs") - run.get("balanced", "loud", "integrated_lufs"))
              .margin(0.05));
    CHECK(streaming["plr_db"].get<double>() - loud["plr_db"].get<double>() > 3.0);
    CHECK(loud["limiter_max_gain_reduction_db"].get<double>() > 3.0);
    // Lessons 4 and 5 in compare's own figures: the loud master's low end moves more, and at
    // matched loudness its harshness is higher.
    CHECK(loud["low_end_range_lu"].get<double>() > streaming["low_end_range_lu"].get<double>());
    CHECK(loud["harshness_db"].get<double>() > streaming["harshness_db"].get<double>());
    // The demo and compare measure harshness and the low-end range with the same code.
    CHECK(streaming["harshness_db"].get<double>() == Approx(run.get("balanced", "streaming", "harshness_db")).margin(0.01));

    // Lesson 2: the two sessions (the flawed and the balanced mix through the same master), matched:
    // the flawed master is harsher.
    const std::string dir = run.stems.path();
    std::string stems;
    for (const char* s : {"kick", "snare", "hats", "bass", "chords", "lead", "vocal"})
        stems += std::string(" -i ") + s + "=" + q(dir + "/stems/" + s + ".wav");
    const auto sessions = compare(q(dir + "/teaching/session-balanced.yaml") + " " + q(dir + "/teaching/session-flawed.yaml") +
                                  " --include-dir " + q(dir) + stems);
    CHECK(candidate(sessions, "session-flawed")["harshness_db"].get<double>() -
              candidate(sessions, "session-balanced")["harshness_db"].get<double>() >
          1.0);

    // Lesson 6: through the phone model the low octaves are gone and what is heard is mono.
    const auto phone = compare(q(masters + "streaming.yaml") + " " + q(masters + "loud.yaml") + " -i " + q(mix) + " --through " +
                               q(test::sourceDir() + "/graphs/translation/phone.yaml"));
    for (const char* label : {"streaming", "loud"}) {
        const auto c = candidate(phone, label);
        INFO(label);
        CHECK(c["correlation_mean"].is_null()); // mono: no stereo correlation to measure
        CHECK(c["band_63hz_db"].get<double>() < -40);
    }
}

// ---- one process, one demo run ------------------------------------------------------------------

// ctest runs each test case in its own process: the checks on the demo's output are sections of
// one test case, so the whole song is rendered once per run (twice: the page check renders the
// text output too, outside sanitizer builds).
TEST_CASE("teaching: the demo on the built-in song, its lessons and its files", "[teaching]") {
    SECTION("teaching: the demo's loudness figures agree with libebur128 on the files it rendered") { demoCheck0(); }
    SECTION("teaching lesson 2: the flawed mix's excesses survive every master within 1 dB") { demoCheck1(); }
    SECTION("teaching lesson 3: the loud master is louder and has less PLR; matching removes the level") { demoCheck2(); }
    SECTION("teaching lesson 4: the low end's short-term range grows under heavy limiting") { demoCheck3(); }
    SECTION("teaching lesson 5: the loud master's harsh-band energy rises more than its loudness") { demoCheck4(); }
    SECTION("teaching: demo --stems writes stems and graphs that render by themselves; nothing is replaced without --force") {
        demoCheck5();
    }
    SECTION("teaching: render --swap runs one session through another master") { demoCheck6(); }
    SECTION("teaching lesson 6: the translation models change the figures as documented") { demoCheck7(); }
    SECTION("teaching: the lessons hold through stagegraph compare at matched loudness") { demoCheck8(); }
}
