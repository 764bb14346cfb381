// The `stagegraph` command: dispatches to the sub-commands in host/cli.
#include "host/cli/Analyze.h"
#include "host/cli/Batch.h"
#include "host/cli/Compare.h"
#include "host/cli/Demo.h"
#include "host/cli/FormatList.h"
#include "host/cli/Inspect.h"
#include "host/cli/Live.h"
#include "host/cli/Render.h"
#include "host/io/OutputFiles.h"
#include "host/io/TerminalText.h"

#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#ifndef STAGEGRAPH_VERSION
#define STAGEGRAPH_VERSION "dev"
#endif

namespace {

const char* kUsage = "stagegraph " STAGEGRAPH_VERSION " - a node-graph audio engine for mixing and mastering\n"
                     "\n"
                     "usage:\n"
                     "  stagegraph render GRAPH.yaml -i [NAME=]FILE... -o [NAME=]FILE... [--set node.param=VALUE...]\n"
                     "                    [--target -14LUFS|spotify|apple|youtube|amazon|ebu-r128|atsc-a85]\n"
                     "                    [--ceiling -1dBTP] [--report FILE.json]\n"
                     "                    [--format wav16|wav24|wav32f|flac16|flac24|mp3|opus|...] [--block N] [--no-batch]\n"
                     "                    [--rate HZ] [--output-rate HZ] [--resample-quality Q] [--quality Q]\n"
                     "                    (FILE may be -, standard input/output, or raw:RATE:CHANNELS:ENCODING:FILE)\n"
                     "                    [--swap NAME=FILE...] [--threads N|auto]\n"
                     "  stagegraph check GRAPH.yaml [--schedule]      validate and summarise, no audio\n"
                     "  stagegraph dot GRAPH.yaml                     Graphviz DOT of the graph\n"
                     "  stagegraph nodes [TYPE] [--markdown]          the node library and its parameters\n"
                     "  stagegraph demo [--stems DIR] [--keep DIR]    the built-in song, mixed and mastered, with the lessons\n"
                     "  stagegraph analyze FILE... [--json] [--oversampling 4|8]   loudness, true peak and more, per file\n"
                     "  stagegraph compare A.yaml B.yaml... -i [NAME=]FILE... [--through PLAYBACK.yaml] [--json]\n"
                     "                  [--ab FILE] [--null FILE] [--level LUFS | --no-match]   candidates at matched loudness\n"
                     "  stagegraph formats [--markdown]               the file formats render writes\n"
                     "  stagegraph live GRAPH.yaml... [-i FILE | --input-device ID] [--device ID] [--api jack|alsa|pulse]\n"
                     "                  [--rate HZ] [--block N] [--duration S] [--loop] [--match-loudness] [--crossfade MS]\n"
                     "                  [--tee FILE] [--set node.param=VALUE...] [--list-devices]\n"
                     "  stagegraph batch MANIFEST [--jobs N] [--shard K/N] [--log FILE.jsonl]   a catalogue, resumable\n"
                     "\n"
                     "Run 'stagegraph COMMAND --help' for a command's options.\n"
                     "Exit status: 0 success, 1 processing or I/O failure, 2 usage or graph error.\n";

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fputs(kUsage, stderr);
        return 2;
    }
    // Every catchable terminating signal removes the temporary files before the process dies.
    sg::io::installTemporaryFileCleanup();
    std::string command = argv[1];
    std::vector<std::string> args(argv + 2, argv + argc);
    if (command == "--help" || command == "-h" || command == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (command == "--version") {
        std::puts("stagegraph " STAGEGRAPH_VERSION);
        return 0;
    }
    try {
        if (command == "render") return sg::cli::runRender(args);
        if (command == "check") return sg::cli::runCheck(args);
        if (command == "dot") return sg::cli::runDot(args);
        if (command == "nodes") return sg::cli::runNodes(args);
        if (command == "demo") return sg::cli::runDemo(args);
        if (command == "analyze") return sg::cli::runAnalyze(args);
        if (command == "live") return sg::cli::runLive(args);
        if (command == "compare") return sg::cli::runCompare(args);
        if (command == "batch") return sg::cli::runBatch(args);
        if (command == "formats") return sg::cli::runFormats(args);
    } catch (const std::bad_alloc&) {
        // Not "std::bad_alloc": say what happened (exit 1, a processing failure, not a graph error).
        std::fprintf(stderr, "stagegraph %s: error: out of memory\n", command.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "stagegraph %s: error: %s\n", sg::io::terminalText(command).c_str(),
                     sg::io::terminalText(e.what()).c_str());
        return 1;
    }
    std::fprintf(stderr, "stagegraph: unknown command '%s'\n\n%s", sg::io::terminalText(command).c_str(), kUsage);
    return 2;
}
