"""json.loads / json.dumps for the hot path, without importing the ``json`` package.

Why: ``import json`` pulls in ``re``, ``enum``, ``collections`` and ``functools``
(~6 ms per command, as much as the rest of `state` together).  The parsing and
compact encoding are done by CPython's C accelerator ``_json`` anyway; only the
pure-Python glue around it imports those modules.  This module drives ``_json``
directly and writes ``indent=`` output (for `state`) itself.

Output and errors are identical to the ``json`` package: anything outside the
common case (a parse error, an unusual encoding, a non-serializable value,
extra keyword arguments) is handed to the real ``json`` module, which then
produces the same result or raises the same exception it always would.
Drop-in: ``from oci_runtime import fastjson as json``.
"""
import _json

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}
# Byte prefixes that json.detect_encoding() treats as something other than plain UTF-8.
_UNUSUAL_START = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class _DecoderContext:
    """The attributes _json.make_scanner reads from a json.JSONDecoder (its defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__
    memo = {}


_scan = _json.make_scanner(_DecoderContext)
_encode_string = _json.encode_basestring_ascii


class _Unusual(Exception):
    """Raised inside this module to hand a value over to the real json module."""


def _slow():
    import json

    return json


def loads(data):
    """json.loads(data) for str or bytes (default arguments only)."""
    if isinstance(data, (bytes, bytearray)):
        if b"\x00" in data or data.startswith(_UNUSUAL_START):
            return _slow().loads(data)
        try:
            text = data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return _slow().loads(data)
    elif isinstance(data, str):
        text = data
    else:
        return _slow().loads(data)  # raises json's own TypeError
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except Exception:  # noqa: BLE001 - json.loads raises the exact error
        return _slow().loads(data)
    if text[end:].strip(_WHITESPACE):
        return _slow().loads(data)  # "Extra data"
    return value


def load(fileobj):
    return loads(fileobj.read())


def _default(value):
    raise _Unusual()


def _compact(value):
    """json.dumps() defaults: circular check (a fresh markers dict per call, as
    json's), ensure_ascii, ", " and ": ", allow_nan."""
    encoder = _json.make_encoder({}, _default, _encode_string, None, ": ", ", ", False, False, True)
    return "".join(encoder(value, 0))


def dumps(value, indent=None, **options):
    """json.dumps(value) or json.dumps(value, indent=N); other options go to json."""
    if options:
        return _slow().dumps(value, indent=indent, **options)
    try:
        if indent is None:
            return _compact(value)
        if isinstance(indent, int) and not isinstance(indent, bool):
            chunks = []
            _pretty(value, "\n", " " * indent, chunks)
            return "".join(chunks)
    except (_Unusual, RecursionError, ValueError):
        pass
    return _slow().dumps(value, indent=indent)


def _float(value):
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def _scalar(value, encode_string=_encode_string):
    """The JSON text of a scalar, in json's order of type checks; _Unusual otherwise."""
    if isinstance(value, str):
        return encode_string(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _float(value)
    raise _Unusual()


def _pretty(value, newline, step, out, encode_string=_encode_string):
    """json's indent= layout: "," between items, ": " after keys, "[]"/"{}" when empty
    (Go's MarshalIndent layout too: gojson passes its own string encoder)."""
    if isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = newline + step
        out.append("[")
        for i, item in enumerate(value):
            out.append(inner if i == 0 else "," + inner)
            _pretty(item, inner, step, out, encode_string)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = newline + step
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if not isinstance(key, str):
                raise _Unusual()  # json's key coercion: let json do it
            out.append((inner if i == 0 else "," + inner) + encode_string(key) + ": ")
            _pretty(item, inner, step, out, encode_string)
        out.append(newline + "}")
    else:
        out.append(_scalar(value, encode_string))
