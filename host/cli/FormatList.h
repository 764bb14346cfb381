// `stagegraph formats [--markdown]`: the formats the installed libsndfile writes, by the names
// render's --format takes (host/io/Formats.h). docs/formats.md holds the --markdown table, and a
// test checks that it matches the installed library.
#pragma once

#include <string>
#include <vector>

namespace sg::cli {

/// `stagegraph formats ARGS…`. Returns the exit status.
int runFormats(const std::vector<std::string>& args);

} // namespace sg::cli
