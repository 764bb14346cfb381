#include "host/cli/Batch.h"

#include "host/cli/BatchManifest.h"
#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"
#include "host/cli/Json.h"
#include "host/cli/Progress.h"
#include "host/cli/Render.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/RenderText.h"
#include "host/cli/Report.h"
#include "host/io/OutputFiles.h"
#include "host/io/TerminalText.h"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <new>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

constexpr int kMaxJobs = 64; ///< --jobs: more threads than this only contend

void printError(const std::string& message) {
    std::fprintf(stderr, "stagegraph batch: error: %s\n", io::terminalLines(message).c_str());
}

int usageError(const std::string& message) {
    printError(message);
    std::fputs("(see 'stagegraph batch --help')\n", stderr);
    return kExitUsage;
}

// ---- options -------------------------------------------------------------------------------

struct BatchOptions {
    std::vector<std::string> positional, includeDirs;
    std::string jobs, shard, log;
    bool force = false;
    std::unique_ptr<CLI::App> app;

    BatchOptions() {
        app = makeCommandApp({"usage: stagegraph batch MANIFEST [--jobs N] [--shard K/N] [--log FILE.jsonl] [options]",
                              "Renders every row of MANIFEST (.csv or .yaml: columns input, output, graph, and\n"
                              "optionally set, target, ceiling, max_gain, format; paths relative to the manifest's\n"
                              "folder) as 'stagegraph render' would. Rows whose outputs are complete are skipped,\n"
                              "so a stopped batch resumes where it stopped. One bad row never stops the others.",
                              "A row is complete when its outputs exist, no input or graph file is newer, and the\n"
                              "log's last record for those outputs has the row's settings. See docs/batch.md.\n"
                              "Exit status: 0 every row ok or skipped, 1 a row failed, 2 usage error or bad manifest."});
        app->add_option("MANIFEST", positional, "the rows to render (.csv, .yaml or .yml)")->type_name("");
        app->add_option("--jobs,-j", jobs, "rows rendered at once on this machine, 1..64 (default 1)")->type_name("N");
        app->add_option("--shard", shard,
                        "only the rows i with i % N == K (0-based K < N): one shard per\n"
                        "machine, e.g. --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT")
            ->type_name("K/N");
        app->add_option("--log", log, "append one JSON line per row to FILE (- for standard output)")->type_name("FILE.jsonl");
        app->add_flag("--force", force, "render every row, complete or not");
        app->add_option("--include-dir", includeDirs, "a folder 'use:' may also include graphs from (repeatable)")
            ->type_name("DIR")
            ->allow_extra_args(false);
    }
};

bool parseCount(const std::string& text, int& value) {
    const auto [end, code] = std::from_chars(text.data(), text.data() + text.size(), value);
    return code == std::errc() && end == text.data() + text.size();
}

// ---- settings and resuming -----------------------------------------------------------------

/// Absolute and lexically normal: how the log names files, whatever the working folder.
std::string absolutePath(const std::string& path) {
    std::error_code ec;
    const fs::path absolute = fs::absolute(path, ec);
    return (ec ? fs::path(path) : absolute).lexically_normal().string();
}

std::vector<std::string> absolutePaths(const std::vector<std::string>& paths) {
    std::vector<std::string> out;
    for (const auto& p : paths) out.push_back(absolutePath(p));
    return out;
}

/// FNV-1a (64 bit) of everything that decides a row's output besides the files' contents.
std::string settingsFingerprint(const BatchRow& row, const std::vector<std::string>& includeDirs) {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    auto add = [&](const std::string& text) {
        for (const unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
        hash = (hash ^ 0xFFu) * 0x100000001b3ull; // a separator no UTF-8 text contains
    };
    add("stagegraph batch 1");
    add(absolutePath(row.graph));
    for (const auto& item : row.inputs) add("i " + item);
    for (const auto& file : row.inputFiles) add(absolutePath(file));
    for (const auto& item : row.outputs) add("o " + item);
    for (const auto& file : row.outputFiles) add(absolutePath(file));
    for (const auto& item : row.overrides) add("s " + item);
    if (row.target) {
        char text[128];
        std::snprintf(text, sizeof text, "t %.17g %.17g %.17g", row.target->integratedLufs, row.target->ceilingDbtp,
                      row.target->maxGainDb);
        add(text);
    }
    if (row.format) add(std::string("f ") + io::outputFormatName(*row.format));
    for (const auto& dir : includeDirs) add("d " + absolutePath(dir));
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
    return hex;
}

/// The key of a row's outputs in the log: their absolute paths, one per line.
std::string outputsKey(const std::vector<std::string>& absoluteOutputs) {
    std::string key;
    for (const auto& p : absoluteOutputs) key += p + "\n";
    return key;
}

/// The last record per outputs key in an existing log: its status and settings.
struct LoggedRow {
    std::string status, settings;
};

/// Reads the records of an earlier run. Lines that are not JSON objects of ours (a line cut
/// short by a killed run, text added by hand) are ignored.
std::map<std::string, LoggedRow> readLog(const std::string& path) {
    std::map<std::string, LoggedRow> rows;
    std::ifstream in(path, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
        const Json record = Json::parse(line, nullptr, false);
        if (!record.is_object()) continue;
        const auto files = record.find("output_files");
        const auto status = record.find("status");
        const auto settings = record.find("settings");
        if (files == record.end() || !files->is_array() || status == record.end() || !status->is_string() ||
            settings == record.end() || !settings->is_string())
            continue;
        std::vector<std::string> outputs;
        bool valid = true;
        for (const auto& f : *files) {
            if (!f.is_string())
                valid = false;
            else
                outputs.push_back(f.get<std::string>());
        }
        if (valid) rows[outputsKey(outputs)] = {status->get<std::string>(), settings->get<std::string>()};
    }
    return rows;
}

bool modificationTime(const std::string& path, struct timespec& time, bool& regular) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return false;
    time = st.st_mtim;
    regular = S_ISREG(st.st_mode);
    return true;
}

bool later(const struct timespec& a, const struct timespec& b) {
    return a.tv_sec != b.tv_sec ? a.tv_sec > b.tv_sec : a.tv_nsec > b.tv_nsec;
}

/// "" when the row must be rendered; else why it is complete (the resume rule in Batch.h).
std::string completeReason(const BatchRow& row, const RenderGraph& graph, const std::string& key, const std::string& settings,
                           const std::map<std::string, LoggedRow>& logged) {
    struct timespec oldest {};
    bool first = true;
    for (const auto& out : row.outputFiles) {
        struct timespec time {};
        bool regular = false;
        if (!modificationTime(out, time, regular) || !regular) return {};
        if (first || later(oldest, time)) oldest = time;
        first = false;
    }
    std::vector<std::string> sources = row.inputFiles;
    sources.insert(sources.end(), graph.graphFiles.begin(), graph.graphFiles.end());
    if (graph.graphFiles.empty()) sources.push_back(row.graph);
    for (const auto& source : sources) {
        struct timespec time {};
        bool regular = false;
        if (!modificationTime(source, time, regular) || later(time, oldest)) return {};
    }
    if (const auto it = logged.find(key); it != logged.end()) {
        if (it->second.settings != settings || (it->second.status != "ok" && it->second.status != "skipped")) return {};
        return "complete: the outputs exist, are newer than the inputs and graph files, and the log's last record for "
               "them has these settings";
    }
    return "complete: the outputs exist and are newer than the inputs and graph files";
}

// ---- one row -------------------------------------------------------------------------------

/// Every distinct graph + overrides, loaded and compiled once (the first row that needs it does;
/// rows that need it meanwhile wait for it).
class GraphCache {
public:
    std::shared_ptr<const RenderGraph> get(const RenderRequest& request) {
        std::string key = request.graphPath;
        for (const auto& o : request.overrides) key += '\n' + o;
        std::promise<std::shared_ptr<const RenderGraph>> promise;
        std::shared_future<std::shared_ptr<const RenderGraph>> future;
        bool loader = false;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            auto it = graphs_.find(key);
            if (it == graphs_.end()) {
                future = promise.get_future().share();
                graphs_.emplace(key, future);
                loader = true;
            } else {
                future = it->second;
            }
        }
        if (loader) {
            try {
                promise.set_value(loadRenderGraph(request));
            } catch (...) {
                promise.set_exception(std::current_exception());
            }
        }
        return future.get();
    }

private:
    std::mutex mutex_;
    std::map<std::string, std::shared_future<std::shared_ptr<const RenderGraph>>> graphs_;
};

/// What happened to a row.
struct RowResult {
    enum class Status { Ok, Skipped, Error, Interrupted } status = Status::Ok;
    Json record;
    std::string messages; ///< the render's messages (errors for Error)
};

std::vector<std::string> messageLines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto end = std::min(text.find('\n', start), text.size());
        if (end > start) lines.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return lines;
}

/// An output in the log: as in --report, with --target's figures beside the others.
Json outputJson(const RenderedOutput& out, double sampleRate, std::int64_t frames) {
    Json o = writtenOutputJson(out, sampleRate, frames);
    if (out.target) {
        const TargetResult& t = *out.target;
        o["before_integrated_lufs"] = jsonRounded(t.before.integratedLufs);
        o["before_true_peak_dbtp"] = jsonRounded(t.before.truePeakDbtp);
        o["gain_db"] = jsonRounded(t.gainDb);
        o["max_gain_reduction_db"] = jsonRounded(t.maxGainReductionDb);
        o["mean_gain_reduction_db"] = jsonRounded(t.meanGainReductionDb);
    }
    return o;
}

struct BatchContext {
    std::vector<std::string> includeDirs;
    bool force = false;
    std::map<std::string, LoggedRow> logged;
    GraphCache graphs;
};

RowResult renderRow(const BatchRow& row, BatchContext& context) {
    RowResult result;
    const auto absoluteOutputs = absolutePaths(row.outputFiles);
    const std::string settings = settingsFingerprint(row, context.includeDirs);
    Json& record = result.record;
    record["row"] = row.index;
    record["line"] = row.line;
    record["input"] = row.inputText;
    record["output"] = row.outputText;
    record["graph"] = row.graphText;
    record["status"] = nullptr;
    record["settings"] = settings;
    record["output_files"] = absoluteOutputs;

    RenderRequest request;
    request.graphPath = row.graph;
    request.inputs = row.inputs;
    request.outputs = row.outputs;
    request.overrides = row.overrides;
    request.includeDirs = context.includeDirs;
    request.format = row.format;
    request.target = row.target;
    request.printSummary = false;
    request.showProgress = false;
    request.measureOutputs = true;
    request.handleInterrupts = false; // runBatch's InterruptGuard stops every row

    const auto started = std::chrono::steady_clock::now();
    int status = kExitOk;
    RenderSummary summary;
    {
        RenderMessageCapture capture;
        try {
            request.graph = context.graphs.get(request);
            if (!context.force) {
                const std::string reason =
                    completeReason(row, *request.graph, outputsKey(absoluteOutputs), settings, context.logged);
                if (!reason.empty()) {
                    result.status = RowResult::Status::Skipped;
                    record["status"] = "skipped";
                    record["reason"] = reason;
                    return result;
                }
            }
            status = render(request, &summary);
        } catch (const std::bad_alloc&) {
            printRenderError("out of memory");
            status = kExitFailure;
        } catch (const std::exception& e) {
            printRenderError(e.what());
            status = kExitFailure;
        }
        result.messages = capture.text();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    record["seconds"] = jsonFixed(seconds, 3);
    if (status != kExitOk) {
        // An interrupted row is logged as an error (it has no output) but is not a failure of its own.
        result.status = status == kExitInterrupted ? RowResult::Status::Interrupted : RowResult::Status::Error;
        record["status"] = "error";
        record["exit_status"] = status;
        record["error"] = result.messages.empty() ? std::string("render failed") : result.messages;
        if (!result.messages.empty() && result.messages.back() == '\n')
            record["error"] = result.messages.substr(0, result.messages.size() - 1);
        return result;
    }
    record["status"] = "ok";
    record[kSampleRateFigure.key] = jsonRounded(summary.sampleRate);
    record["frames"] = summary.frames;
    record["latency_frames"] = summary.latencyFrames;
    Json outputs = Json::array();
    for (const auto& out : summary.outputs) outputs.push_back(outputJson(out, summary.sampleRate, summary.frames));
    record["outputs"] = std::move(outputs);
    if (!result.messages.empty()) record["messages"] = messageLines(result.messages);
    return result;
}

// ---- the log -------------------------------------------------------------------------------

/// The JSON-lines log: opened for appending; each record is one write(2) of one line, so
/// concurrent rows (and other processes appending to the same local file) never interleave.
class BatchLog {
public:
    ~BatchLog() {
        if (fd_ > 2) ::close(fd_);
    }
    std::string open(const std::string& path) {
        if (path.empty()) return {};
        if (path == "-") {
            fd_ = STDOUT_FILENO;
            return {};
        }
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (fd_ < 0) return "cannot open the log '" + path + "': " + std::strerror(errno);
        return {};
    }
    /// Appends one record. Returns "" or the reason it could not.
    std::string append(const Json& record) {
        if (fd_ < 0) return {};
        const std::string line = oneLineText(record) + "\n";
        std::size_t written = 0;
        while (written < line.size()) {
            const ssize_t n = ::write(fd_, line.data() + written, line.size() - written);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return std::string("cannot write the log: ") + std::strerror(errno);
            written += std::size_t(n);
        }
        return {};
    }

private:
    int fd_ = -1;
};

} // namespace

const char* batchUsage() {
    static const std::string text = helpText(*BatchOptions().app);
    return text.c_str();
}

int runBatch(const std::vector<std::string>& args) {
    BatchOptions o;
    const ParseOutcome outcome = parseCommandArguments(*o.app, args);
    if (outcome.help) {
        std::fputs(batchUsage(), stdout);
        return kExitOk;
    }
    if (!outcome.error.empty()) return usageError(outcome.error);
    if (o.positional.empty()) return usageError("no manifest given");
    if (o.positional.size() > 1) return usageError("unexpected argument '" + o.positional[1] + "' (one manifest per batch)");
    const std::string manifestPath = o.positional[0];

    int jobs = 1;
    if (o.app->count("--jobs") && (!parseCount(o.jobs, jobs) || jobs < 1 || jobs > kMaxJobs))
        return usageError("--jobs: expected a count from 1 to " + std::to_string(kMaxJobs) + ", got '" + o.jobs + "'");
    int shardIndex = 0, shardCount = 1;
    if (o.app->count("--shard")) {
        const auto slash = o.shard.find('/');
        if (slash == std::string::npos || !parseCount(o.shard.substr(0, slash), shardIndex) ||
            !parseCount(o.shard.substr(slash + 1), shardCount) || shardCount < 1 || shardIndex < 0 || shardIndex >= shardCount)
            return usageError("--shard: expected K/N with N >= 1 and 0 <= K < N (K counts from 0), got '" + o.shard + "'");
    }
    if (o.app->count("--log") && o.log.empty()) return usageError("--log needs a file name");

    Diagnostics diags;
    std::vector<BatchRow> rows;
    readBatchManifest(manifestPath, rows, diags);
    if (diags.hasErrors()) {
        std::fputs(io::terminalLines(diags.formatAll()).c_str(), stderr);
        return kExitUsage;
    }
    if (!o.log.empty() && o.log != "-") {
        if (io::sameFile(o.log, manifestPath)) return usageError("--log: refusing to overwrite the manifest");
        for (const auto& row : rows) {
            for (const auto& file : row.outputFiles)
                if (io::sameFile(o.log, file))
                    return usageError("--log '" + o.log + "' is also an output file (line " + std::to_string(row.line) + ")");
            for (const auto& file : row.inputFiles)
                if (io::sameFile(o.log, file)) return usageError("--log: refusing to write input file '" + file + "'");
        }
    }

    std::vector<const BatchRow*> shard;
    for (const auto& row : rows)
        if (row.index % shardCount == shardIndex) shard.push_back(&row);

    BatchContext context;
    context.includeDirs = o.includeDirs;
    context.force = o.force;
    if (!o.log.empty() && o.log != "-") context.logged = readLog(o.log);
    BatchLog log;
    if (auto error = log.open(o.log); !error.empty()) {
        printError(error);
        return kExitFailure;
    }

    InterruptGuard interruptGuard;
    std::FILE* console = o.log == "-" ? stderr : stdout;
    ProgressBar progress("batch", std::int64_t(shard.size()), stderr);
    std::mutex reportMutex;
    std::atomic<std::size_t> next{0};
    std::size_t done = 0, rendered = 0, skipped = 0, failed = 0, stopped = 0;
    std::string logError;
    const auto started = std::chrono::steady_clock::now();
    auto worker = [&] {
        while (!*interruptFlag()) {
            const std::size_t k = next.fetch_add(1);
            if (k >= shard.size()) return;
            const BatchRow& row = *shard[k];
            RowResult result = renderRow(row, context);
            std::lock_guard<std::mutex> lock(reportMutex);
            if (auto error = log.append(result.record); !error.empty() && logError.empty()) logError = error;
            switch (result.status) {
            case RowResult::Status::Ok:
                ++rendered;
                break;
            case RowResult::Status::Skipped:
                ++skipped;
                break;
            case RowResult::Status::Interrupted:
                ++stopped;
                break;
            case RowResult::Status::Error:
                ++failed;
                progress.finish();
                std::fprintf(stderr, "stagegraph batch: row %d (%s:%d) failed:\n", row.index,
                             io::terminalText(manifestPath).c_str(), row.line);
                for (const auto& line : messageLines(result.messages))
                    std::fprintf(stderr, "  %s\n", io::terminalText(line).c_str());
                break;
            }
            progress.update(std::int64_t(++done));
        }
    };
    const int threads = int(std::min<std::size_t>(std::size_t(jobs), std::max<std::size_t>(shard.size(), 1)));
    std::vector<std::thread> pool;
    for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& thread : pool) thread.join();
    progress.finish();

    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::string scope = plural(long(shard.size()), "row", "rows");
    if (shardCount > 1)
        scope += " (shard " + std::to_string(shardIndex) + "/" + std::to_string(shardCount) + " of " +
                 std::to_string(rows.size()) + ")";
    std::fprintf(console, "batch %s: %s: %zu rendered, %zu skipped, %zu failed, in %.3f s\n",
                 io::terminalText(manifestPath).c_str(), scope.c_str(), rendered, skipped, failed, seconds);
    if (*interruptFlag()) {
        printError("interrupted: " + plural(long(stopped), "row", "rows") + " stopped, " + std::to_string(shard.size() - done) +
                   " not started; run again to resume");
        return kExitInterrupted;
    }
    if (!logError.empty()) {
        printError(logError);
        return kExitFailure;
    }
    return failed > 0 ? kExitFailure : kExitOk;
}

} // namespace sg::cli
