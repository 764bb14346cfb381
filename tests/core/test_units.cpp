#include "core/Units.h"

#include <catch2/catch.hpp>

using namespace sg;

TEST_CASE("units: values with units convert to the base unit", "[units]") {
    CHECK(*parseQuantity("30 Hz", UnitKind::Frequency).value == 30.0);
    CHECK(*parseQuantity("3 kHz", UnitKind::Frequency).value == 3000.0);
    CHECK(*parseQuantity("3kHz", UnitKind::Frequency).value == 3000.0);
    CHECK(*parseQuantity("-1.5 dB", UnitKind::Gain).value == -1.5);
    CHECK(*parseQuantity("10 ms", UnitKind::Time).value == 10.0);
    CHECK(*parseQuantity("0.1 s", UnitKind::Time).value == Approx(100.0));
    CHECK(*parseQuantity("50 %", UnitKind::Percent).value == 50.0);
    CHECK(*parseQuantity("-20%", UnitKind::Percent).value == -20.0);
    CHECK(*parseQuantity("4:1", UnitKind::Ratio).value == 4.0);
    CHECK(*parseQuantity("3:2", UnitKind::Ratio).value == 1.5);
    CHECK(*parseQuantity("2", UnitKind::Ratio).value == 2.0);
    CHECK(*parseQuantity("-14 LUFS", UnitKind::Loudness).value == -14.0);
    CHECK(*parseQuantity("-24 LKFS", UnitKind::Loudness).value == -24.0);
    CHECK(*parseQuantity("-1 dBTP", UnitKind::TruePeak).value == -1.0);
    CHECK(*parseQuantity(" 0.707 ", UnitKind::Plain).value == 0.707);
    CHECK(*parseQuantity("x2", UnitKind::Gain).value == Approx(6.0206).epsilon(1e-4));
}

TEST_CASE("units: a unit of the wrong kind is a clear error", "[units]") {
    auto r = parseQuantity("3 dB", UnitKind::Time);
    REQUIRE_FALSE(r.value);
    CHECK(r.error == "expected a time (ms, s), got '3 dB'");
    CHECK_FALSE(parseQuantity("30 Hz", UnitKind::Gain).value);
    CHECK_FALSE(parseQuantity("4:1", UnitKind::Gain).value);
    CHECK_FALSE(parseQuantity("-14 LUFS", UnitKind::TruePeak).value);
    CHECK_FALSE(parseQuantity("1 Hz", UnitKind::Plain).value);
    CHECK_FALSE(parseQuantity("fast", UnitKind::Time).value);
    CHECK_FALSE(parseQuantity("", UnitKind::Time).value);
    CHECK_FALSE(parseQuantity("nan", UnitKind::Plain).value);
    CHECK_FALSE(parseQuantity("inf dB", UnitKind::Gain).value);
    CHECK_FALSE(parseQuantity("1:0", UnitKind::Ratio).value);
    CHECK_FALSE(parseQuantity("12 parsecs", UnitKind::Time).value);
}

TEST_CASE("units: decibel conversions are inverse", "[units]") {
    CHECK(dbToGain(-6.0206) == Approx(0.5).epsilon(1e-5));
    CHECK(gainToDb(dbToGain(-17.3)) == Approx(-17.3));
}

// Found by fuzz/fuzz_units.cpp (crash input "1e308 kHz"): a finite number that overflows once
// scaled to the base unit, or a ratio that overflows, was returned as an infinite value.
TEST_CASE("units: a value that overflows in the base unit is an error, never infinite", "[units][fuzz]") {
    for (auto [text, kind] : {std::pair{"1e308 kHz", UnitKind::Frequency}, std::pair{"1e308 s", UnitKind::Time},
                              std::pair{"1e300:1e-300", UnitKind::Ratio}}) {
        INFO(text);
        const ParsedQuantity q = parseQuantity(text, kind);
        CHECK_FALSE(q.value);
        CHECK(q.error == std::string("value '") + text + "' is too large");
    }
}
