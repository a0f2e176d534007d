"""Go-compatible text formats: durations as Go's time.ParseDuration reads them,
sizes as docker/go-units' RAMInBytes reads them.

runc takes `events --interval` as a Go duration and the `update --memory*`
flags through go-units, so a value runc accepts must mean the same here and a
value runc refuses must be refused.  The rules below are Go's (time/format.go,
strconv/atof.go) and go-units v0.5.0's (size.go, the version runc vendors),
written out in Python; each parser raises FormatError with a short reason and
the caller adds the flag's name and the value.

No `re` here: the CLI's modules avoid it (it costs milliseconds to import).
"""

DURATION_EXAMPLES = "5s, 1m30s, 500ms"
SIZE_EXAMPLES = "64m, 1.5g, 512MiB"

_DIGITS = "0123456789"
_INT64_LIMIT = 1 << 63  # Go's Duration and RAMInBytes' result are int64s


class FormatError(ValueError):
    """A value not in the expected format.  Its text is a short reason in Go's words
    ('unknown unit "x" in duration'), meant to follow the flag and the value."""


def quote(text):
    """``text`` in double quotes with quotes and backslashes escaped, as Go's %q shows
    a value (the CLI escapes control characters when it prints the error line)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ------------------------------------------------------------------ durations

# Nanoseconds in each unit Go knows.  The micro sign U+00B5 and the Greek mu
# U+03BC look alike; Go accepts both.
_DURATION_UNITS = {
    "ns": 1,
    "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}


def parse_duration(text):
    """Nanoseconds (an int) from a Go duration: an optional sign, then one or more
    "<decimal number><unit>" terms ("1m30s", "1.5h", ".5s", "1.s", "-2h45m").

    As Go: "0" (signed or not) is the only number allowed without a unit; no
    spaces anywhere; more than 2562047h47m16.854775807s is out of range (Go's
    Duration is an int64 count of nanoseconds)."""
    negative = text.startswith("-")
    rest = text[1:] if text[:1] in ("-", "+") else text
    if rest == "0":
        return 0
    if not rest:
        raise FormatError("invalid duration")
    total = 0
    while rest:
        nanoseconds, rest = _duration_term(rest)
        total += nanoseconds
        if total > _INT64_LIMIT:
            raise _duration_out_of_range()
    if negative:
        return -total  # Go lets the negative side reach -2^63
    if total == _INT64_LIMIT:
        raise _duration_out_of_range()
    return total


def _duration_term(text):
    """The first "<number><unit>" of ``text``: (its nanoseconds, the text after it)."""
    whole, rest = _leading(text, _DIGITS)
    fraction = ""
    if rest.startswith("."):
        fraction, rest = _leading(rest[1:], _DIGITS)
    if not whole and not fraction:  # a letter, a space or a lone "." where a number belongs
        raise FormatError("invalid duration")
    unit_end = 0
    while unit_end < len(rest) and rest[unit_end] not in _DIGITS + ".":
        unit_end += 1
    unit, rest = rest[:unit_end], rest[unit_end:]
    if not unit:
        raise FormatError("missing unit in duration")
    if unit not in _DURATION_UNITS:
        raise FormatError(f"unknown unit {quote(unit)} in duration")
    scale = _DURATION_UNITS[unit]
    nanoseconds = int(whole or "0") * scale
    if nanoseconds > _INT64_LIMIT:
        raise _duration_out_of_range()
    nanoseconds += _fraction_nanoseconds(fraction, scale)
    if nanoseconds > _INT64_LIMIT:
        raise _duration_out_of_range()
    return nanoseconds, rest


def _fraction_nanoseconds(digits, scale):
    """The digits after the point, times the unit, with Go's arithmetic so that the
    result matches to the nanosecond: only the digits that fit in 63 bits count,
    and the product is taken in float64 and truncated."""
    value, divisor = 0, 1.0
    for digit in digits:
        if value > (_INT64_LIMIT - 1) // 10 or value * 10 + int(digit) > _INT64_LIMIT:
            break
        value = value * 10 + int(digit)
        divisor *= 10
    if value == 0:
        return 0
    return int(float(value) * (float(scale) / divisor))


def _duration_out_of_range():
    return FormatError("duration out of range (at most 2562047h47m16.854775807s)")


def _leading(text, allowed):
    """(the longest prefix of ``text`` made of ``allowed`` characters, the rest)."""
    end = 0
    while end < len(text) and text[end] in allowed:
        end += 1
    return text[:end], text[end:]


# ------------------------------------------------------------------ sizes

# RAMInBytes' units: b, or k, m, g, t, p alone or followed by "b" or "ib", in
# any case; all of them binary ("64m", "64MB" and "64MiB" are all 64 * 2^20).
_RAM_UNITS = {"": 1, "b": 1, **{letter + suffix: 1024 ** power
                                for power, letter in enumerate("kmgtp", start=1)
                                for suffix in ("", "b", "ib")}}


def parse_ram_size(text):
    """Bytes (an int) from a size as go-units' RAMInBytes reads it: a number ("64",
    "1.5", "1e3"), then a unit from _RAM_UNITS, with at most one space between
    ("1 k").  A fraction is truncated after scaling (1.5g is 1610612736).

    As go-units: the number runs to the last digit, "." or space; a number and no
    unit is bytes; negative sizes are refused.  Unlike go-units, a size that does
    not fit in an int64 is an error (Go would wrap it to a negative number)."""
    number, unit = _split_size(text)
    value = _go_float(number)
    if value < 0:
        raise FormatError("invalid size: negative")
    multiplier = _RAM_UNITS.get(unit.lower())
    if multiplier is None:
        raise FormatError(f"unknown unit {quote(unit)} in size")
    size = value * multiplier
    if not size < _INT64_LIMIT:  # also catches inf from "1e400"
        raise FormatError("size out of range (must be less than 8 EiB)")
    return int(size)


def _split_size(text):
    """(number, unit) the way go-units v0.5.0 splits them: at the last digit, "."
    or space; a space there belongs to neither ("1 k" is ("1", "k"))."""
    end = len(text)
    while end and text[end - 1] not in _DIGITS + ". ":
        end -= 1
    if not end:
        raise FormatError("invalid size: no number")
    if text[end - 1] == " ":
        return text[:end - 1], text[end:]
    return text[:end], text[end:]


_DECIMAL_FLOAT_CHARS = frozenset(_DIGITS + "_.eE+-")
_HEX_DIGITS = frozenset(_DIGITS + "abcdefABCDEF")
_HEX_FLOAT_CHARS = _HEX_DIGITS | frozenset("_.pP+-")


def _go_float(text):
    """The float64 Go's strconv.ParseFloat reads from ``text``, or FormatError.

    Go's syntax is that of its float literals: decimal ("1", "1.5", ".5", "1.",
    "1e3", "1_000") or hexadecimal with a mandatory p exponent ("0x1p10").  On
    text made only of digits, "_", ".", "e", signs, Python's float() follows the
    same grammar (underscores only between digits included); the character check
    keeps out what only Python accepts (spaces, "inf", "nan", other scripts'
    digits).  Go's "Inf" and "NaN" are refused here: go-units would turn them into
    a meaningless int64."""
    unsigned = text[1:] if text[:1] in ("+", "-") else text
    try:
        if unsigned[:2] in ("0x", "0X"):
            return _go_hex_float(text, unsigned[2:])
        if set(text) <= _DECIMAL_FLOAT_CHARS:
            return float(text)
    except (ValueError, OverflowError):
        pass
    raise FormatError(f"invalid size: {quote(text)} is not a number")


def _go_hex_float(text, digits):
    """A hex float ("0x1.8p3"): float.fromhex reads it once Go's stricter rules are
    checked (a p exponent is required; an underscore only between two digits, the
    0x counting as one)."""
    if not set(digits) <= _HEX_FLOAT_CHARS or "p" not in digits.lower():
        raise ValueError(text)
    padded = "0" + digits + "!"  # the prefix as a digit before, a non-digit after
    for i, char in enumerate(padded):
        if char == "_" and not (padded[i - 1] in _HEX_DIGITS and padded[i + 1] in _HEX_DIGITS):
            raise ValueError(text)
    return float.fromhex(text.replace("_", ""))
