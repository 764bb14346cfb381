#include "host/cli/FormatList.h"

#include "host/io/Formats.h"

#include <cstdio>

namespace sg::cli {

int runFormats(const std::vector<std::string>& args) {
    bool markdown = false;
    for (const auto& arg : args) {
        if (arg == "--markdown") {
            markdown = true;
        } else if (arg == "-h" || arg == "--help") {
            std::puts("usage: stagegraph formats [--markdown]\n"
                      "Lists every format the installed libsndfile writes (each proven by a round trip in memory),\n"
                      "by the name render --format takes, with its usual extension. --markdown prints the table\n"
                      "of docs/formats.md.");
            return 0;
        } else {
            std::fprintf(stderr, "stagegraph formats: error: unknown argument (see 'stagegraph formats --help')\n");
            return 2;
        }
    }
    const auto& rows = io::writableFormats();
    if (markdown) {
        std::puts("| --format | extension | container, encoding (libsndfile) | kind |\n|---|---|---|---|");
        for (const auto& row : rows)
            std::printf("| `%s` | %s | %s | %s |\n", row.name.c_str(), row.extension.empty() ? "" : ("." + row.extension).c_str(),
                        row.description.c_str(),
                        row.lossy                              ? "lossy"
                        : io::outputFormatBits(row.format) > 0 ? "integer, dithered"
                                                               : "exact");
        return 0;
    }
    for (const auto& row : rows)
        std::printf("%-14s %-7s %s%s\n", row.name.c_str(), row.extension.empty() ? "" : ("." + row.extension).c_str(),
                    row.description.c_str(), row.lossy ? " (lossy)" : "");
    return 0;
}

} // namespace sg::cli
