// Units of parameter values, and parsing of YAML / command-line values with units.
//
// Each parameter has one unit kind and a base unit in which its value is stored:
//   Frequency -> Hz      ("30 Hz", "3 kHz")
//   Gain      -> dB      ("-1.5 dB"; also "x2" / "0.5x" as a linear factor)
//   Time      -> ms      ("10 ms", "0.1 s", "250 us")
//   Percent   -> %       ("50 %", "50%")
//   Ratio     -> n (:1)  ("4:1", "4")
//   Loudness  -> LUFS    ("-14 LUFS", "-24 LKFS")
//   TruePeak  -> dBTP    ("-1 dBTP")
//   Plain     -> number  ("0.707"; no unit allowed)
// A bare number is taken in the base unit. A unit of another kind is an error that names
// the expected kind.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sg {

enum class UnitKind { Frequency, Gain, Time, Percent, Ratio, Loudness, TruePeak, Plain };

/// The base unit's symbol ("Hz", "dB", "ms", "%", ":1", "LUFS", "dBTP", "").
const char* baseUnitSymbol(UnitKind kind);
/// What a user may write, for error messages: "a frequency (Hz, kHz)".
const char* unitKindDescription(UnitKind kind);

/// Result of parsing one value: the number in the base unit, or an error message.
struct ParsedQuantity {
    std::optional<double> value;
    std::string error; ///< set when !value, e.g. "expected a time (ms, s), got '3 dB'"
};

/// Parses `text` as a value of `kind`. Accepts surrounding spaces, a space or none between
/// number and unit, and case-insensitive unit symbols where unambiguous.
ParsedQuantity parseQuantity(std::string_view text, UnitKind kind);

/// Formats a base-unit value with its unit for messages and docs ("-1.5 dB", "3000 Hz").
std::string formatQuantity(double value, UnitKind kind);

/// Decibels to a linear amplitude factor, and back.
double dbToGain(double db);
double gainToDb(double gain);

} // namespace sg
