#include "host/cli/TextTable.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sg::cli {

std::string figureCell(double value, const char* unit, int decimals, bool sign) {
    if (std::isnan(value)) return "-";
    const char* space = *unit ? " " : "";
    char text[64];
    if (std::isinf(value)) {
        std::snprintf(text, sizeof text, "%sinf%s%s", value < 0 ? "-" : "", space, unit);
        return text;
    }
    if (std::fabs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0;
    std::snprintf(text, sizeof text, sign ? "%+.*f%s%s" : "%.*f%s%s", decimals, value, space, unit);
    return text;
}

void printAligned(const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> widths;
    for (const auto& row : rows) {
        if (widths.size() < row.size()) widths.resize(row.size(), 0);
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    for (const auto& row : rows) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) line += "  ";
            const std::string pad(widths[i] - row[i].size(), ' ');
            line += i == 0 ? row[i] + pad : pad + row[i];
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
    }
}

} // namespace sg::cli
