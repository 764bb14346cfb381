#include "host/cli/Report.h"

#include "core/Node.h"
#include "host/cli/Json.h"
#include "host/io/OutputFiles.h"

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

namespace {

/// A tap's time series: [{"key", "unit", "frames_per_value", "sample_rate", "reduction",
/// "values": [...]}], values rounded like every figure, non-finite ones null.
Json seriesJson(const std::vector<MeasurementSeries>& series) {
    Json list = Json::array();
    for (const MeasurementSeries& s : series) {
        Json values = Json::array();
        for (float v : s.values) values.push_back(jsonRounded(double(v)));
        list.push_back(Json{{"key", s.key},
                            {"unit", s.unit},
                            {"frames_per_value", s.framesPerValue},
                            {"sample_rate", jsonRounded(s.sampleRate)},
                            {"reduction", s.reduction},
                            {"values", std::move(values)}});
    }
    return list;
}

} // namespace

Json writtenOutputJson(const RenderedOutput& out, double sampleRate, std::int64_t frames) {
    Json o = Json::object();
    o["name"] = out.name;
    o["file"] = out.path;
    o["format"] = io::outputFormatName(out.format);
    o[kSampleRateFigure.key] = jsonRounded(sampleRate);
    o[kChannelsFigure.key] = out.channels;
    o[kDurationFigure.key] = jsonRounded(sampleRate > 0 ? double(frames) / sampleRate : 0.0);
    for (const FigureField& field : figureFields(out.figures))
        o[field.name.key] = out.measured ? jsonRounded(field.value) : Json(nullptr);
    o["clipped_samples"] = out.clippedSamples;
    return o;
}

std::string reportJson(const RenderRequest& request, const RenderSummary& summary) {
    const double durationSeconds = summary.sampleRate > 0 ? double(summary.frames) / summary.sampleRate : 0.0;
    Json root = Json::object();
    root["graph"] = request.graphPath;
    root[kSampleRateFigure.key] = jsonRounded(summary.sampleRate);
    root["frames"] = summary.frames;
    root[kDurationFigure.key] = jsonRounded(durationSeconds);
    root["latency_frames"] = summary.latencyFrames;
    root["block_frames"] = request.blockFrames;
    root["threads"] = summary.threads;
    root["wall_seconds"] = jsonRounded(summary.wallSeconds);

    Json& inputs = root["inputs"] = Json::array();
    for (const auto& [name, file] : summary.inputs) inputs.push_back(Json{{"name", name}, {"file", file}});

    if (request.target) {
        Json target = Json::object();
        target["name"] = request.target->name.empty() ? Json(nullptr) : Json(request.target->name);
        target[kIntegratedFigure.key] = jsonRounded(request.target->integratedLufs);
        target["ceiling_dbtp"] = jsonRounded(request.target->ceilingDbtp);
        root["target"] = std::move(target);
    } else {
        root["target"] = nullptr;
    }

    Json& outputs = root["outputs"] = Json::array();
    for (const auto& out : summary.outputs) {
        Json o = writtenOutputJson(out, summary.sampleRate, summary.frames);
        if (out.target) {
            const TargetResult& t = *out.target;
            Json r = Json::object();
            r["before_integrated_lufs"] = jsonRounded(t.before.integratedLufs);
            r["before_true_peak_dbtp"] = jsonRounded(t.before.truePeakDbtp);
            r["gain_db"] = jsonRounded(t.gainDb);
            r["pass2_runs"] = t.pass2Runs;
            r["trim_db"] = jsonRounded(t.trimDb);
            r["probe_runs"] = t.probeRuns;
            r["limiter_ceiling_dbtp"] = jsonRounded(t.limiterCeilingDbtp);
            r["max_gain_reduction_db"] = jsonRounded(t.maxGainReductionDb);
            r["mean_gain_reduction_db"] = jsonRounded(t.meanGainReductionDb);
            r["limited_percent"] = jsonRounded(t.limitedPercent);
            r["pass2_seconds"] = jsonRounded(t.pass2Seconds);
            r["output_encodes"] = t.encodes;
            o["target"] = std::move(r);
        }
        outputs.push_back(std::move(o));
    }

    Json& taps = root["taps"] = Json::array();
    for (const auto& tap : summary.taps) {
        Json values = Json::object();
        for (const auto& m : tap.values) values[m.key] = Json{{"value", jsonRounded(m.value)}, {"unit", m.unit}};
        Json tapJson = Json{{"node", tap.node}, {"type", tap.type}, {"values", std::move(values)}};
        if (!tap.series.empty()) tapJson["series"] = seriesJson(tap.series);
        taps.push_back(std::move(tapJson));
    }
    return indentedText(root) + "\n";
}

// ---- atomic text file ------------------------------------------------------------------------

AtomicTextFile::~AtomicTextFile() { discard(); }

void AtomicTextFile::discard() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    io::removeTemporary(tempPath_);
    tempPath_.clear();
}

std::string AtomicTextFile::open(const std::string& path) {
    discard();
    path_ = path;
    io::OutputTarget target;
    if (auto error = io::resolveOutputTarget(path, target); !error.empty()) return error;
    finalPath_ = target.path;
    if (target.streamed) return io::openStreamedTarget(target, fd_); // stdout, a device or a FIFO
    if (auto error = io::createTemporaryBeside(target, fd_, tempPath_); !error.empty())
        return "cannot write '" + path + "': " + error;
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
    if (::close(fd) != 0) {
        const std::string reason = std::strerror(errno);
        discard();
        return cannot + reason;
    }
    if (tempPath_.empty()) return {}; // streamed
    if (auto reason = io::commitTemporary(tempPath_, finalPath_); !reason.empty()) {
        discard();
        return cannot + reason;
    }
    tempPath_.clear();
    return {};
}

std::string writeTextFile(const std::string& path, const std::string& text) {
    AtomicTextFile file;
    if (auto error = file.open(path); !error.empty()) return error;
    return file.commit(text);
}

} // namespace sg::cli
