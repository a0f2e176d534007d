"""A small, fast command-line parser with runc's (urfave/cli) conventions.

Why not argparse: it costs import time on every `state`/`kill`, and it does
not accept Go-style single-dash long flags (`-root x`) that callers of runc
use.  Accepted forms for a flag named "bundle" with alias "b":
``--bundle X``, ``--bundle=X``, ``-bundle X``, ``-bundle=X``, ``-b X``.
Boolean flags take no value, or an explicit ``=true``/``=false``.
Flags and positional arguments may be mixed unless the command stops at its
first positional argument (as `exec` will, so the container's own flags pass
through).  ``--`` ends flag parsing.
"""
from oci_runtime.errors import UsageError

# Plain classes, not dataclasses: importing dataclasses costs ~7 ms per command.


class Flag:
    """One flag: ``names`` = canonical long name first, then aliases;
    ``kind`` = "bool", "str", "int" or "list" (a repeatable str)."""

    __slots__ = ("names", "kind", "help", "default", "metavar", "dest")

    def __init__(self, names, kind="bool", help="", default=None, metavar="value"):
        self.names = names
        self.kind = kind
        self.help = help
        self.default = default
        self.metavar = metavar
        self.dest = names[0].replace("-", "_")


class Command:
    """A subcommand; ``module`` is oci_runtime.operations.<module>, imported only when
    it runs; ``max_args`` -1 means unbounded."""

    __slots__ = ("name", "usage", "help", "flags", "min_args", "max_args",
                 "stop_at_positional", "module")

    def __init__(self, name, usage, help, flags=(), min_args=0, max_args=0,
                 stop_at_positional=False, module=""):
        self.name = name
        self.usage = usage
        self.help = help
        self.flags = flags
        self.min_args = min_args
        self.max_args = max_args
        self.stop_at_positional = stop_at_positional
        self.module = module


class Parsed:
    __slots__ = ("options", "args", "help")

    def __init__(self):
        self.options = {}
        self.args = []
        self.help = False


_TRUE = {"true", "1", "t", "yes"}
_FALSE = {"false", "0", "f", "no"}


def _index(flags):
    table = {}
    for flag in flags:
        for name in flag.names:
            table[name] = flag
    return table


def _convert(flag, raw):
    if flag.kind == "int":
        try:
            return int(raw, 0)
        except ValueError:
            raise UsageError(f'invalid value "{raw}" for flag -{flag.names[0]}: parse error') from None
    if flag.kind == "bool":
        low = raw.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise UsageError(f'invalid boolean value "{raw}" for -{flag.names[0]}: parse error')
    return raw


def parse(argv, flags, stop_at_positional=False, allow_positional=True):
    """Parse ``argv`` against ``flags``; returns Parsed.  Raises UsageError."""
    table = _index(flags)
    result = Parsed()
    for flag in flags:
        result.options[flag.dest] = [] if flag.kind == "list" else flag.default
    i = 0
    while i < len(argv):
        token = argv[i]
        i += 1
        if token == "--":
            result.args.extend(argv[i:])
            break
        if token.startswith("-") and token != "-":
            name, has_value, value = token.lstrip("-").partition("=")
            if name in ("h", "help"):
                result.help = True
                continue
            flag = table.get(name)
            if flag is None:
                raise UsageError(f"flag provided but not defined: -{name}")
            if flag.kind == "bool":
                result.options[flag.dest] = _convert(flag, value) if has_value else True
                continue
            if not has_value:
                if i >= len(argv):
                    raise UsageError(f"flag needs an argument: -{name}")
                value = argv[i]
                i += 1
            converted = _convert(flag, value)
            if flag.kind == "list":
                result.options[flag.dest].append(converted)
            else:
                result.options[flag.dest] = converted
            continue
        if not allow_positional:
            # Global flags end at the subcommand name.
            result.args.append(token)
            result.args.extend(argv[i:])
            break
        result.args.append(token)
        if stop_at_positional:
            result.args.extend(argv[i:])
            break
    return result


def format_flags(flags):
    lines = []
    for flag in flags:
        names = ", ".join(("--" if len(n) > 1 else "-") + n for n in flag.names)
        if flag.kind != "bool":
            names += f" {flag.metavar}"
        default = f" (default: {flag.default})" if flag.default not in (None, False, "") else ""
        lines.append(f"   {names:<34} {flag.help}{default}")
    return "\n".join(lines)
