#include "host/cli/Demo.h"

#include "host/cli/CompareFigures.h"
#include "host/cli/DemoSong.h"
#include "host/cli/Render.h"
#include "host/cli/Report.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/meters/LoudnessMeter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <type_traits>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

void printError(const std::string& message) {
    std::fprintf(stderr, "stagegraph demo: error: %s\n", io::terminalLines(message).c_str());
}

/// A temporary folder removed with its contents on destruction (unless released).
class ScratchFolder {
public:
    ScratchFolder() {
        std::error_code ec;
        std::string pattern = (fs::temp_directory_path(ec) / "stagegraph-demo-XXXXXX").string();
        if (::mkdtemp(pattern.data())) path_ = pattern;
    }
    ~ScratchFolder() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

bool readWholeFile(const std::string& path, AudioBuffer& out, std::string& error) {
    io::AudioFileReader reader;
    error = reader.open(path);
    if (!error.empty()) return false;
    out = AudioBuffer(reader.channels(), int(reader.frames()));
    if (reader.read(out.view()) != reader.frames()) {
        error = reader.error().empty() ? "cannot read " + path : reader.error();
        return false;
    }
    return true;
}

/// `audio` through a BS.1770-5 meter (an unprepared meter, channels() == 0, if it cannot take it).
LoudnessMeter measureLoudness(const AudioBuffer& audio, double sampleRate) {
    LoudnessMeter meter;
    if (!meter.prepare(sampleRate, audio.channels()).empty()) return LoudnessMeter();
    std::vector<const float*> channels;
    for (int c = 0; c < audio.channels(); ++c) channels.push_back(audio.channel(c));
    meter.process(channels.data(), audio.frames());
    return meter;
}

std::string executableFolder() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

} // namespace

// ---- public helpers ----------------------------------------------------------------------

double peakDbfs(const float* samples, int frames) {
    float peak = 0;
    for (int i = 0; i < frames; ++i) peak = std::max(peak, std::abs(samples[i]));
    return peak > 0 ? 20.0 * std::log10(double(peak)) : -std::numeric_limits<double>::infinity();
}

double rmsDbfs(const float* samples, int frames) {
    double sumSquares = 0;
    for (int i = 0; i < frames; ++i) sumSquares += double(samples[i]) * double(samples[i]);
    return sumSquares > 0 && frames > 0 ? 10.0 * std::log10(sumSquares / frames) : -std::numeric_limits<double>::infinity();
}

std::optional<double> integratedLoudnessLufs(const AudioBuffer& audio, double sampleRate) {
    const LoudnessMeter meter = measureLoudness(audio, sampleRate);
    if (meter.channels() == 0 || !std::isfinite(meter.integratedLufs())) return std::nullopt;
    return meter.integratedLufs();
}

std::optional<double> truePeakDbtp(const AudioBuffer& audio, double sampleRate) {
    const LoudnessMeter meter = measureLoudness(audio, sampleRate);
    if (meter.channels() == 0 || !std::isfinite(meter.truePeakDbtp())) return std::nullopt;
    return meter.truePeakDbtp();
}

std::vector<std::string> graphSearchFolders() {
    std::vector<std::string> folders;
    if (const char* env = std::getenv("STAGEGRAPH_GRAPHS"); env && *env) folders.emplace_back(env);
    if (const std::string exe = executableFolder(); !exe.empty()) {
        folders.push_back((fs::path(exe) / ".." / "graphs").lexically_normal().string());
        folders.push_back((fs::path(exe) / ".." / ".." / "graphs").lexically_normal().string());
        folders.push_back((fs::path(exe) / ".." / "share" / "stagegraph" / "graphs").lexically_normal().string());
    }
#ifdef STAGEGRAPH_SOURCE_DIR
    folders.push_back((fs::path(STAGEGRAPH_SOURCE_DIR) / "graphs").lexically_normal().string());
#endif
    return folders;
}

std::string findShippedGraph(const std::string& relativePath) {
    for (const auto& folder : graphSearchFolders()) {
        std::error_code ec;
        const fs::path candidate = fs::path(folder) / relativePath;
        if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }
    return {};
}

AudioBuffer makeDemoMix(double sampleRate, double seconds) {
    const int frames = int(std::lround(sampleRate * seconds));
    std::vector<double> left(std::size_t(frames), 0.0), right(std::size_t(frames), 0.0);
    const double twoPi = 2.0 * M_PI;

    // Pad: an A minor chord, two detuned band-limited saws per note, a little wider on the
    // right, through a one-pole low-pass at 1.8 kHz, swelling slowly.
    const double notesHz[] = {110.0, 164.81, 220.0, 261.63, 329.63};
    const double centsLeft[] = {-7.0, 7.0}, centsRight[] = {-9.0, 10.0};
    for (int side = 0; side < 2; ++side) {
        std::vector<double>& out = side == 0 ? left : right;
        const double* cents = side == 0 ? centsLeft : centsRight;
        double lowpass = 0;
        const double lowpassCoefficient = 1.0 - std::exp(-twoPi * 1800.0 / sampleRate);
        std::vector<double> phases;
        std::vector<double> increments;
        int voice = 0;
        for (double note : notesHz) {
            for (int d = 0; d < 2; ++d) {
                increments.push_back(note * std::pow(2.0, cents[d] / 1200.0) / sampleRate);
                phases.push_back(std::fmod(0.137 * (voice + 1) + 0.31 * side, 1.0));
                ++voice;
            }
        }
        for (int n = 0; n < frames; ++n) {
            double sum = 0;
            for (std::size_t v = 0; v < phases.size(); ++v) {
                double& t = phases[v];
                sum += (2.0 * t - 1.0) - polyBlep(t, increments[v]);
                t += increments[v];
                if (t >= 1.0) t -= 1.0;
            }
            lowpass += lowpassCoefficient * (sum - lowpass);
            const double swell = 0.75 + 0.25 * std::sin(twoPi * 0.1 * n / sampleRate);
            out[std::size_t(n)] += 0.05 * swell * lowpass;
        }
    }

    // Kick: every 0.5 s, a sine falling from 120 Hz to 45 Hz with a 0.25 s decay, centred.
    const int beatFrames = int(std::lround(0.5 * sampleRate));
    for (int start = 0; start < frames; start += beatFrames) {
        double phase = 0;
        for (int n = 0; n < beatFrames * 2 && start + n < frames; ++n) {
            const double t = n / sampleRate;
            const double frequencyHz = 45.0 + 75.0 * std::exp(-t / 0.04);
            const double value = 0.9 * std::exp(-t / 0.25) * std::sin(phase);
            phase += twoPi * frequencyHz / sampleRate;
            left[std::size_t(start + n)] += value;
            right[std::size_t(start + n)] += value;
        }
    }

    // Hats: high-passed noise bursts (30 ms decay) on the off-beats, quieter 16th ghosts, panned
    // right. Deterministic noise (xorshift32).
    std::uint32_t seed = 0x2545F491u;
    auto white = [&seed] {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        return double(seed) / 2147483648.0 - 1.0;
    };
    const int sixteenth = beatFrames / 4;
    const double highpassCoefficient = std::exp(-twoPi * 7000.0 / sampleRate);
    for (int step = 0, start = 0; start < frames; ++step, start += sixteenth) {
        const double level = step % 4 == 2 ? 0.25 : (step % 2 == 1 ? 0.07 : 0.0);
        if (level == 0) continue;
        double previousInput = 0, highpass = 0;
        for (int n = 0; n < sixteenth && start + n < frames; ++n) {
            const double x = white();
            highpass = highpassCoefficient * (highpass + x - previousInput); // one-pole high-pass
            previousInput = x;
            const double value = level * std::exp(-(n / sampleRate) / 0.03) * highpass;
            left[std::size_t(start + n)] += 0.7 * value;
            right[std::size_t(start + n)] += value;
        }
    }

    // 5 ms fades, then peak at -6 dBFS.
    const int fadeFrames = std::min(frames / 2, int(0.005 * sampleRate));
    for (int n = 0; n < fadeFrames; ++n) {
        const double g = double(n) / fadeFrames;
        left[std::size_t(n)] *= g;
        right[std::size_t(n)] *= g;
        left[std::size_t(frames - 1 - n)] *= g;
        right[std::size_t(frames - 1 - n)] *= g;
    }
    double peak = 0;
    for (int n = 0; n < frames; ++n) peak = std::max({peak, std::abs(left[std::size_t(n)]), std::abs(right[std::size_t(n)])});
    const double gain = peak > 0 ? std::pow(10.0, -6.0 / 20.0) / peak : 0.0;
    AudioBuffer mix(2, frames);
    for (int n = 0; n < frames; ++n) {
        mix.channel(0)[n] = float(left[std::size_t(n)] * gain);
        mix.channel(1)[n] = float(right[std::size_t(n)] * gain);
    }
    return mix;
}

// ---- figures -------------------------------------------------------------------------------

namespace {

/// `audio` through a 4th-order Butterworth high-pass at loHz (none if 0) and low-pass at hiHz
/// (none if 0), in double, per channel.
std::vector<std::vector<double>> bandPassed(const AudioBuffer& audio, double sampleRate, double loHz, double hiHz) {
    biquad::Section high[2], low[2];
    if (loHz > 0) biquad::designSections(biquad::Shape::Highpass, 2, loHz, 0.707, 0, sampleRate, high);
    if (hiHz > 0) biquad::designSections(biquad::Shape::Lowpass, 2, hiHz, 0.707, 0, sampleRate, low);
    std::vector<std::vector<double>> out(std::size_t(audio.channels()), std::vector<double>(std::size_t(audio.frames())));
    for (int c = 0; c < audio.channels(); ++c) {
        biquad::SectionState state[4];
        for (int n = 0; n < audio.frames(); ++n) {
            double x = audio.channel(c)[n];
            if (loHz > 0) x = state[1].process(high[1], state[0].process(high[0], x));
            if (hiHz > 0) x = state[3].process(low[1], state[2].process(low[0], x));
            out[std::size_t(c)][std::size_t(n)] = x;
        }
    }
    return out;
}

double energy(const std::vector<std::vector<double>>& channels) {
    double sum = 0;
    for (const auto& c : channels)
        for (double v : c) sum += v * v;
    return sum;
}

double energy(const AudioBuffer& audio) {
    double sum = 0;
    for (int c = 0; c < audio.channels(); ++c)
        for (int n = 0; n < audio.frames(); ++n) sum += double(audio.channel(c)[n]) * audio.channel(c)[n];
    return sum;
}

double decibels(double ratio) { return ratio > 0 ? 10.0 * std::log10(ratio) : -std::numeric_limits<double>::infinity(); }

} // namespace

double bandRelativeDb(const AudioBuffer& audio, double sampleRate, double loHz, double hiHz) {
    return decibels(energy(bandPassed(audio, sampleRate, loHz, hiHz)) / energy(audio));
}

TeachingFigures measureTeachingFigures(const AudioBuffer& audio, double sampleRate) {
    // Loudness, true peak, harshness and the low end's range are compare's and analyze's own
    // figures (host/cli/CompareFigures.h), so the demo, compare and analyze agree on a file.
    TeachingFigures f;
    SignalAnalyzer analyzer;
    if (!analyzer.prepare(sampleRate, audio.channels()).empty()) return f;
    analyzer.process(audio.view());
    const BalanceFigures balance = analyzer.balance();
    f.integratedLufs = analyzer.loudness().integratedLufs();
    f.truePeakDbtp = analyzer.loudness().truePeakDbtp();
    f.plrDb = f.truePeakDbtp - f.integratedLufs;
    const double total = energy(audio);
    f.vocalBandDb = decibels(energy(bandPassed(audio, sampleRate, kVocalBandHz[0], kVocalBandHz[1])) / total);
    f.lowBandDb = decibels(energy(bandPassed(audio, sampleRate, kLowBandHz[0], kLowBandHz[1])) / total);
    f.harshBandDb = balance.harshnessDb;
    f.harshLevelDb = balance.harshnessDb + decibels(total / (double(audio.frames()) * audio.channels()));
    f.lowRangeDb = balance.lowEndRangeLu;
    return f;
}

// ---- the command ---------------------------------------------------------------------------

namespace {

/// The graphs the demo runs and --stems writes, relative to the shipped graphs folder.
const char* const kDemoGraphFiles[] = {
    "teaching/session-balanced.yaml", "teaching/session-flawed.yaml",  "teaching/mix-balanced.yaml", "teaching/mix-flawed.yaml",
    "teaching/parts/song-strip.yaml", "mixing/parts/vocal-strip.yaml", "mastering/streaming.yaml",   "mastering/loud.yaml",
    "translation/phone.yaml",         "translation/earbuds.yaml",      "translation/laptop.yaml",    "translation/car.yaml",
    "translation/club.yaml"};

/// The playback models of lesson 6, in graphs/translation/.
const char* const kPlaybackModels[] = {"phone", "earbuds", "laptop", "car", "club"};

/// One master of the balanced mix heard through a playback model.
struct Playback {
    std::string model, master;
    TeachingFigures figures;
    double lowLevelDb = 0;   ///< energy 50-120 Hz, mean square per channel, dB re full scale
    double limiterMaxDb = 0; ///< the model's own limiter (0 if it has none)
};

/// One rendered version of the song.
struct Version {
    std::string mix;    ///< balanced | flawed
    std::string master; ///< streaming | loud | "" (the mix itself)
    TeachingFigures figures;
    double limiterMaxDb = 0, limiterMeanDb = 0; ///< the master's limiter (0 for a mix)
};

std::string readText(const std::string& path, std::string& error) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) error = "cannot read " + path;
    return text.str();
}

/// The limiter figures of a render (the deepest limiter if there are several).
template <class Figures> void limiterFigures(const RenderSummary& summary, Figures& v) {
    for (const auto& tap : summary.taps) {
        if (tap.type != "limiter") continue;
        for (const auto& m : tap.values) {
            if (m.key == "max_gain_reduction_db") v.limiterMaxDb = std::max(v.limiterMaxDb, m.value);
            if constexpr (std::is_same_v<Figures, Version>)
                if (m.key == "mean_gain_reduction_db") v.limiterMeanDb = std::max(v.limiterMeanDb, m.value);
        }
    }
}

std::string fixed(double value, int decimals = 2) {
    if (!std::isfinite(value)) return "-inf";
    char text[32];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return text;
}

std::string signedFixed(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%+.2f", value);
    return text;
}

const Version& find(const std::vector<Version>& versions, const std::string& mix, const std::string& master) {
    for (const auto& v : versions)
        if (v.mix == mix && v.master == master) return v;
    return versions.front();
}

void printStory(const std::vector<Version>& versions, const std::vector<Playback>& playbacks, double seconds) {
    std::printf("stagegraph demo: the built-in song, %.0f s at 48000 Hz, 120 bpm, Am-F-C-G; 7 stems\n", seconds);
    std::printf("(kick, snare, hats, bass, chords, lead, vocal), mixed twice, each mix mastered twice.\n\n");
    std::printf("%-22s %8s %9s %6s %6s %6s %6s %7s %11s\n", "", "loudness", "true peak", "PLR", "vocal", "low", "harsh",
                "low-end", "limiter GR");
    std::printf("%-22s %8s %9s %6s %6s %6s %6s %7s %11s\n", "", "LUFS", "dBTP", "dB", "band", "band", "band", "range",
                "max/mean dB");
    for (const auto& v : versions) {
        const std::string label = v.master.empty() ? v.mix + " mix" : "  " + v.master + " master";
        const TeachingFigures& f = v.figures;
        const std::string limiter = v.master.empty() ? "-" : fixed(v.limiterMaxDb, 1) + "/" + fixed(v.limiterMeanDb, 1);
        std::printf("%-22s %8s %9s %6s %6s %6s %6s %7s %11s\n", label.c_str(), fixed(f.integratedLufs).c_str(),
                    fixed(f.truePeakDbtp).c_str(), fixed(f.plrDb, 1).c_str(), fixed(f.vocalBandDb, 1).c_str(),
                    fixed(f.lowBandDb, 1).c_str(), fixed(f.harshBandDb, 1).c_str(), fixed(f.lowRangeDb, 1).c_str(),
                    limiter.c_str());
    }
    std::printf("bands: energy relative to the whole mix, dB (vocal 500 Hz-2.5 kHz, low 50-120 Hz, harsh 2-8 kHz);\n"
                "low-end range: spread (P95 - P10) of the 3 s loudness below 120 Hz, LU (as in compare).\n\n");

    const Version &bm = find(versions, "balanced", ""), &fm = find(versions, "flawed", "");
    const Version &bs = find(versions, "balanced", "streaming"), &bl = find(versions, "balanced", "loud");
    const Version &fs_ = find(versions, "flawed", "streaming"), &fl = find(versions, "flawed", "loud");
    auto excess = [](const Version& f, const Version& b, double TeachingFigures::*field) {
        return signedFixed(f.figures.*field - b.figures.*field);
    };
    std::printf("1. Mixing works on the parts, mastering on the whole. The mixes differ only inside three\n"
                "   strips (vocal fader, kick and bass EQ and duck, hats EQ); the masters change the whole\n"
                "   mix at once: the streaming master moves the balanced mix by %s LU, the loud one by %s LU.\n",
                signedFixed(bs.figures.integratedLufs - bm.figures.integratedLufs).c_str(),
                signedFixed(bl.figures.integratedLufs - bm.figures.integratedLufs).c_str());
    std::printf("2. Mastering cannot fix a mix. Flawed minus balanced, vocal band: %s dB in the mix, %s dB\n"
                "   after the streaming master, %s dB after the loud one; low band %s / %s / %s dB;\n"
                "   harsh band %s / %s / %s dB. The flaws survive both masters.\n",
                excess(fm, bm, &TeachingFigures::vocalBandDb).c_str(), excess(fs_, bs, &TeachingFigures::vocalBandDb).c_str(),
                excess(fl, bl, &TeachingFigures::vocalBandDb).c_str(), excess(fm, bm, &TeachingFigures::lowBandDb).c_str(),
                excess(fs_, bs, &TeachingFigures::lowBandDb).c_str(), excess(fl, bl, &TeachingFigures::lowBandDb).c_str(),
                excess(fm, bm, &TeachingFigures::harshBandDb).c_str(), excess(fs_, bs, &TeachingFigures::harshBandDb).c_str(),
                excess(fl, bl, &TeachingFigures::harshBandDb).c_str());
    std::printf("3. Louder sounds better until loudness is matched. The loud master is %s LU louder than the\n"
                "   streaming one; turned down by that much to match, its PLR is %s dB against %s dB:\n"
                "   what is left is %s dB less punch, not more level.\n",
                signedFixed(bl.figures.integratedLufs - bs.figures.integratedLufs).c_str(), fixed(bl.figures.plrDb, 1).c_str(),
                fixed(bs.figures.plrDb, 1).c_str(), fixed(bs.figures.plrDb - bl.figures.plrDb, 1).c_str());
    std::printf("4. Low end that feels powerful collapses under limiting. The loud master's limiter takes up to\n"
                "   %s dB (%s dB on average); the low-end range goes from %s LU (streaming) to %s LU (loud),\n"
                "   and from %s to %s LU on the flawed mix, whose kick and bass pile up at 60-100 Hz.\n",
                fixed(bl.limiterMaxDb, 1).c_str(), fixed(bl.limiterMeanDb, 1).c_str(), fixed(bs.figures.lowRangeDb, 1).c_str(),
                fixed(bl.figures.lowRangeDb, 1).c_str(), fixed(fs_.figures.lowRangeDb, 1).c_str(),
                fixed(fl.figures.lowRangeDb, 1).c_str());
    std::printf("5. Harshness scales with mastering gain. Loud against streaming, balanced mix: loudness\n"
                "   %s LU, 2-8 kHz energy %s dB; flawed mix: loudness %s LU, 2-8 kHz energy %s dB.\n",
                signedFixed(bl.figures.integratedLufs - bs.figures.integratedLufs).c_str(),
                signedFixed(bl.figures.harshLevelDb - bs.figures.harshLevelDb).c_str(),
                signedFixed(fl.figures.integratedLufs - fs_.figures.integratedLufs).c_str(),
                signedFixed(fl.figures.harshLevelDb - fs_.figures.harshLevelDb).c_str());
    std::printf("6. A master must hold up on phone, earbuds, laptop, car and club. The balanced mix's masters\n"
                "   through the playback models of graphs/translation/ (low: the 50-120 Hz level, dBFS):\n");
    std::printf("   %-8s %-10s %8s %6s %6s %6s %9s\n", "model", "master", "loudness", "low", "vocal", "harsh", "model GR");
    for (const auto& p : playbacks)
        std::printf("   %-8s %-10s %8s %6s %6s %6s %9s\n", p.model.c_str(), p.master.c_str(),
                    fixed(p.figures.integratedLufs).c_str(), fixed(p.lowLevelDb, 1).c_str(),
                    fixed(p.figures.vocalBandDb, 1).c_str(), fixed(p.figures.harshBandDb, 1).c_str(),
                    fixed(p.limiterMaxDb, 1).c_str());
    std::printf("\n");
    std::printf("Lessons, commands and what to listen for: docs/teaching/.\n");
}

void printJson(const std::vector<Version>& versions, const std::vector<Playback>& playbacks, double seconds) {
    nlohmann::ordered_json out;
    out["seconds"] = seconds;
    out["sample_rate"] = kDemoSongRate;
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& v : versions) {
        const TeachingFigures& f = v.figures;
        nlohmann::ordered_json o;
        o["mix"] = v.mix;
        o["master"] = v.master.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(v.master);
        o["integrated_lufs"] = f.integratedLufs;
        o["true_peak_dbtp"] = f.truePeakDbtp;
        o["plr_db"] = f.plrDb;
        o["vocal_band_db"] = f.vocalBandDb;
        o["low_band_db"] = f.lowBandDb;
        o["harshness_db"] = f.harshBandDb;
        o["harsh_level_db"] = f.harshLevelDb;
        o["low_end_range_lu"] = f.lowRangeDb;
        o["limiter_max_gain_reduction_db"] = v.limiterMaxDb;
        o["limiter_mean_gain_reduction_db"] = v.limiterMeanDb;
        list.push_back(o);
    }
    out["versions"] = list;
    nlohmann::ordered_json models = nlohmann::ordered_json::array();
    for (const auto& p : playbacks) {
        nlohmann::ordered_json o;
        o["model"] = p.model;
        o["master"] = p.master;
        o["integrated_lufs"] = p.figures.integratedLufs;
        o["true_peak_dbtp"] = p.figures.truePeakDbtp;
        o["low_level_db"] = p.lowLevelDb;
        o["vocal_band_db"] = p.figures.vocalBandDb;
        o["harshness_db"] = p.figures.harshBandDb;
        o["limiter_max_gain_reduction_db"] = p.limiterMaxDb;
        models.push_back(o);
    }
    out["translation"] = models;
    std::printf("%s\n", out.dump(2).c_str());
}

} // namespace

int runDemo(const std::vector<std::string>& args) {
    DemoOptions options;
    if (std::string error = parseDemoArguments(args, options); !error.empty()) {
        printError(error);
        std::fputs("(see 'stagegraph demo --help')\n", stderr);
        return 2;
    }
    if (options.help) {
        std::fputs(demoUsage(), stdout);
        return 0;
    }

    // The shipped graphs, read before anything is written.
    std::vector<std::pair<std::string, std::string>> graphTexts; // relative path, text
    for (const char* relative : kDemoGraphFiles) {
        const std::string path = findShippedGraph(relative);
        if (path.empty()) {
            std::string looked;
            for (const auto& folder : graphSearchFolders()) looked += "\n  " + folder;
            printError(std::string("cannot find the shipped graph ") + relative + "; looked in:" + looked +
                       "\n(set STAGEGRAPH_GRAPHS to the graphs folder)");
            return 1;
        }
        std::string error;
        graphTexts.emplace_back(relative, readText(path, error));
        if (!error.empty()) {
            printError(error);
            return 1;
        }
    }

    const std::vector<DemoStem> stems = makeDemoSong(kDemoSongRate, options.seconds);
    const double seconds = double(stems.front().audio.frames()) / kDemoSongRate;

    // Where everything goes; nothing existing is replaced without --force.
    ScratchFolder scratch;
    if (scratch.path().empty()) {
        printError("cannot create a temporary folder");
        return 1;
    }
    const std::string work = options.stemsFolder.empty() ? scratch.path() : options.stemsFolder;
    const std::string renders = options.keepFolder.empty() ? scratch.path() : options.keepFolder;
    std::vector<std::string> planned;
    for (const auto& stem : stems) planned.push_back((fs::path(work) / "stems" / (stem.name + ".wav")).string());
    for (const auto& [relative, text] : graphTexts) planned.push_back((fs::path(work) / relative).string());
    for (const char* mix : {"balanced", "flawed"}) {
        planned.push_back((fs::path(renders) / (std::string(mix) + "-mix.wav")).string());
        for (const char* master : {"streaming", "loud"})
            planned.push_back((fs::path(renders) / (std::string(mix) + "-" + master + ".wav")).string());
    }
    if (!options.force) {
        std::string existing;
        for (const auto& path : planned) {
            std::error_code ec;
            if (fs::exists(fs::symlink_status(path, ec))) existing += "\n  " + path;
        }
        if (!existing.empty()) {
            printError("these files exist and would be replaced (use --force):" + existing);
            return 2;
        }
    }
    for (const auto& path : planned) {
        std::error_code ec;
        fs::create_directories(fs::path(path).parent_path(), ec);
        if (ec) {
            printError("cannot create '" + fs::path(path).parent_path().string() + "': " + ec.message());
            return 1;
        }
    }
    std::size_t next = 0;
    std::vector<std::string> stemPaths;
    for (const auto& stem : stems) {
        stemPaths.push_back(planned[next++]);
        if (std::string error = io::writeAudioFile(stemPaths.back(), io::OutputFormat::Wav32f, kDemoSongRate, stem.audio.view());
            !error.empty()) {
            printError(error);
            return 1;
        }
    }
    for (const auto& [relative, text] : graphTexts) {
        if (std::string error = writeTextFile(planned[next++], text); !error.empty()) {
            printError(error);
            return 1;
        }
    }

    // Two mixes, each through two masters: the session graph with its master, then with the
    // master swapped, as `stagegraph render ... --swap mastering=...` does.
    std::vector<Version> versions;
    const std::string loudMaster = (fs::path(work) / "mastering" / "loud.yaml").string();
    for (const char* mix : {"balanced", "flawed"}) {
        const std::string mixPath = planned[next++];
        for (const char* master : {"streaming", "loud"}) {
            const std::string masterPath = planned[next++];
            RenderRequest request;
            request.graphPath = (fs::path(work) / "teaching" / (std::string("session-") + mix + ".yaml")).string();
            for (std::size_t s = 0; s < stems.size(); ++s) request.inputs.push_back(stems[s].name + "=" + stemPaths[s]);
            request.outputs = {"master=" + masterPath, "mix=" + mixPath};
            if (std::string(master) == "loud") request.swaps = {"mastering=" + loudMaster};
            request.includeDirs = {work}; // the sessions include ../mastering and ../mixing
            request.format = io::OutputFormat::Wav32f;
            request.printSummary = false;
            request.showProgress = false;
            RenderSummary summary;
            if (const int status = render(request, &summary); status != 0) return status;
            for (int pass = 0; pass < 2; ++pass) {
                if (pass == 0 && std::string(master) != "streaming") continue; // the mix once
                AudioBuffer audio;
                if (std::string error; !readWholeFile(pass == 0 ? mixPath : masterPath, audio, error)) {
                    printError(error);
                    return 1;
                }
                Version v{mix, pass == 0 ? "" : master, measureTeachingFigures(audio, summary.sampleRate)};
                if (pass == 1) limiterFigures(summary, v);
                versions.push_back(v);
            }
        }
    }

    // Lesson 6: the balanced mix's two masters through each playback model.
    std::vector<Playback> playbacks;
    for (const char* model : kPlaybackModels) {
        for (const char* master : {"streaming", "loud"}) {
            const std::string heard = (fs::path(scratch.path()) / (std::string(model) + "-" + master + ".wav")).string();
            RenderRequest request;
            request.graphPath = (fs::path(work) / "translation" / (std::string(model) + ".yaml")).string();
            request.inputs = {(fs::path(renders) / (std::string("balanced-") + master + ".wav")).string()};
            request.outputs = {heard};
            request.format = io::OutputFormat::Wav32f;
            request.printSummary = false;
            request.showProgress = false;
            RenderSummary summary;
            if (const int status = render(request, &summary); status != 0) return status;
            AudioBuffer audio;
            if (std::string error; !readWholeFile(heard, audio, error)) {
                printError(error);
                return 1;
            }
            Playback p{model, master, measureTeachingFigures(audio, summary.sampleRate)};
            p.lowLevelDb = p.figures.lowBandDb + decibels(energy(audio) / (double(audio.frames()) * audio.channels()));
            limiterFigures(summary, p);
            playbacks.push_back(p);
        }
    }

    if (options.json)
        printJson(versions, playbacks, seconds);
    else
        printStory(versions, playbacks, seconds);
    if (!options.json && !options.stemsFolder.empty())
        std::printf("\nstems and graphs: %s\ntry: stagegraph render %s --include-dir %s -o master=master.wav -o mix=mix.wav\n",
                    io::terminalText(work).c_str(),
                    io::terminalText((fs::path(work) / "teaching" / "session-flawed.yaml").string()).c_str(),
                    io::terminalText(work).c_str());
    if (!options.json && !options.keepFolder.empty()) std::printf("mixes and masters: %s\n", io::terminalText(renders).c_str());
    return 0;
}

} // namespace sg::cli
