#include "host/cli/Report.h"

#include "core/Node.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

std::string jsonString(const std::string& text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", unsigned(c));
                out += escaped;
            } else {
                out += ch;
            }
        }
    }
    return out + "\"";
}

std::string jsonNumber(double value) {
    if (!std::isfinite(value)) return "null";
    char text[40];
    std::snprintf(text, sizeof text, "%.10g", value);
    return text;
}

namespace {

/// Collects "key": value pairs of one object at an indentation.
class ObjectWriter {
public:
    explicit ObjectWriter(int indent) : indent_(indent) {}
    void add(const std::string& key, const std::string& rawValue) {
        text_ += (first_ ? "\n" : ",\n") + std::string(std::size_t(indent_ + 2), ' ') + jsonString(key) + ": " + rawValue;
        first_ = false;
    }
    void number(const std::string& key, double value) { add(key, jsonNumber(value)); }
    void string(const std::string& key, const std::string& value) { add(key, jsonString(value)); }
    std::string close() const { return first_ ? "{}" : "{" + text_ + "\n" + std::string(std::size_t(indent_), ' ') + "}"; }

private:
    int indent_;
    std::string text_;
    bool first_ = true;
};

std::string array(const std::vector<std::string>& items, int indent) {
    if (items.empty()) return "[]";
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i)
        out += (i ? ",\n" : "\n") + std::string(std::size_t(indent + 2), ' ') + items[i];
    return out + "\n" + std::string(std::size_t(indent), ' ') + "]";
}

void addFigures(ObjectWriter& o, const OutputFigures& f) {
    for (const FigureField& field : figureFields(f)) o.number(field.key, field.value);
}

} // namespace

std::string reportJson(const RenderReport& report) {
    ObjectWriter root(0);
    root.string("graph", report.graphPath);
    root.number("sample_rate", report.sampleRate);
    root.number("frames", double(report.frames));
    root.number("duration_s", report.sampleRate > 0 ? double(report.frames) / report.sampleRate : 0.0);
    root.number("latency_frames", report.latencyFrames);
    root.number("block_frames", report.blockFrames);
    root.number("wall_seconds", report.wallSeconds);

    std::vector<std::string> inputs;
    for (const auto& [name, file] : report.inputs) {
        ObjectWriter o(4);
        o.string("name", name);
        o.string("file", file);
        inputs.push_back(o.close());
    }
    root.add("inputs", array(inputs, 2));

    if (report.target) {
        ObjectWriter o(2);
        if (report.target->name.empty())
            o.add("name", "null");
        else
            o.string("name", report.target->name);
        o.number("integrated_lufs", report.target->integratedLufs);
        o.number("ceiling_dbtp", report.target->ceilingDbtp);
        root.add("target", o.close());
    } else {
        root.add("target", "null");
    }

    std::vector<std::string> outputs;
    for (const auto& out : report.outputs) {
        ObjectWriter o(4);
        o.string("name", out.name);
        o.string("file", out.path);
        o.string("format", io::outputFormatName(out.format));
        o.number("sample_rate", report.sampleRate);
        o.number("channels", out.channels);
        o.number("duration_s", report.sampleRate > 0 ? double(report.frames) / report.sampleRate : 0.0);
        if (out.measured) {
            addFigures(o, out.figures);
        } else {
            for (const char* key : {"integrated_lufs", "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs",
                                    "max_momentary_lufs", "max_short_term_lufs", "plr_db"})
                o.add(key, "null");
        }
        o.number("clipped_samples", double(out.clippedSamples));
        if (out.target) {
            const TargetResult& t = *out.target;
            ObjectWriter r(6);
            r.number("before_integrated_lufs", t.before.integratedLufs);
            r.number("before_true_peak_dbtp", t.before.truePeakDbtp);
            r.number("gain_db", t.gainDb);
            r.number("pass2_runs", t.pass2Runs);
            r.number("limiter_ceiling_dbtp", t.limiterCeilingDbtp);
            r.number("max_gain_reduction_db", t.maxGainReductionDb);
            r.number("mean_gain_reduction_db", t.meanGainReductionDb);
            r.number("limited_percent", t.limitedPercent);
            r.number("pass2_seconds", t.pass2Seconds);
            o.add("target", r.close());
        }
        outputs.push_back(o.close());
    }
    root.add("outputs", array(outputs, 2));

    std::vector<std::string> taps;
    for (const auto& tap : report.taps) {
        ObjectWriter o(4);
        o.string("node", tap.node);
        o.string("type", tap.type);
        ObjectWriter values(6);
        for (const auto& m : tap.values) {
            ObjectWriter v(8);
            v.number("value", m.value);
            v.string("unit", m.unit);
            values.add(m.key, v.close());
        }
        o.add("values", values.close());
        taps.push_back(o.close());
    }
    root.add("taps", array(taps, 2));
    return root.close() + "\n";
}

// ---- atomic text file ------------------------------------------------------------------------

AtomicTextFile::~AtomicTextFile() { discard(); }

void AtomicTextFile::discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (!tempPath_.empty()) ::unlink(tempPath_.c_str());
    tempPath_.clear();
}

std::string AtomicTextFile::open(const std::string& path) {
    discard();
    path_ = path;
    const std::string cannot = "cannot write '" + path + "': ";
    struct stat existing {};
    const bool exists = ::stat(path.c_str(), &existing) == 0;
    if (exists && S_ISDIR(existing.st_mode)) return cannot + "is a directory";
    const fs::path target(path);
    fs::path folder = target.parent_path();
    if (folder.empty()) folder = ".";
    std::string name = "."; // built with += : GCC 12 warns (-Wrestrict, falsely) on "." + string
    name += target.filename().string();
    name += ".XXXXXX.tmp";
    std::string pattern = (folder / name).string();
    fd_ = ::mkstemps(pattern.data(), 4);
    if (fd_ < 0) return cannot + "cannot create a temporary file in '" + folder.string() + "': " + std::strerror(errno);
    tempPath_ = pattern;
    mode_t mode;
    if (exists) {
        mode = existing.st_mode & 07777;
    } else {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        mode = 0666 & ~mask;
    }
    (void)::fchmod(fd_, mode);
    return {};
}

std::string AtomicTextFile::commit(const std::string& text) {
    const std::string cannot = "cannot write '" + path_ + "': ";
    if (fd_ < 0) return cannot + "not open";
    for (std::size_t done = 0; done < text.size();) {
        const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            const std::string reason = std::strerror(errno);
            discard();
            return cannot + reason;
        }
        done += std::size_t(n);
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 || ::rename(tempPath_.c_str(), path_.c_str()) != 0) {
        const std::string reason = std::strerror(errno);
        discard();
        return cannot + reason;
    }
    tempPath_.clear();
    return {};
}

} // namespace sg::cli
