// The plain-text tables of analyze, compare and album renders: figures as cells, columns
// aligned.
#pragma once

#include <string>
#include <vector>

namespace sg::cli {

/// A figure for a table: "-23.0 LUFS", "+1.5 dB" (with `sign`), "-inf dBTP", "0.87" (no unit),
/// "-" for NaN; a value that rounds to zero is printed without its sign ("0.0 dB", not "-0.0 dB").
std::string figureCell(double value, const char* unit, int decimals = 1, bool sign = false);

/// Prints rows on stdout, columns two spaces apart: the first column (the names) left-aligned,
/// the others (the figures) right-aligned, no trailing spaces. Rows may be shorter than others.
void printAligned(const std::vector<std::vector<std::string>>& rows);

} // namespace sg::cli
