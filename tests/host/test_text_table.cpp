// figureCell: the cells of analyze's, compare's and the album's text tables.
#include "host/cli/TextTable.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

using sg::cli::figureCell;

TEST_CASE("figureCell prints a figure with its unit, its decimals and its sign", "[cli][table]") {
    CHECK(figureCell(-23.04, "LUFS") == "-23.0 LUFS");
    CHECK(figureCell(-23.05001, "LUFS", 2) == "-23.05 LUFS");
    CHECK(figureCell(1.5, "dB", 2, true) == "+1.50 dB");
    CHECK(figureCell(-1.5, "dB", 2, true) == "-1.50 dB");
    CHECK(figureCell(0.87, "", 2) == "0.87"); // no unit, no trailing space
    CHECK(figureCell(12.0, "dB", 0) == "12 dB");
}

TEST_CASE("figureCell: zero has no sign, NaN is a dash, infinities keep their unit", "[cli][table]") {
    CHECK(figureCell(-0.04, "dB") == "0.0 dB"); // rounds to zero: not "-0.0 dB"
    CHECK(figureCell(-0.0, "dB", 2, true) == "+0.00 dB");
    CHECK(figureCell(-0.05, "dB") == "-0.1 dB"); // (-0.05 is just over the half-step in binary)
    CHECK(figureCell(std::nan(""), "LUFS") == "-");
    CHECK(figureCell(-std::numeric_limits<double>::infinity(), "dBTP") == "-inf dBTP");
    CHECK(figureCell(std::numeric_limits<double>::infinity(), "") == "inf");
}
