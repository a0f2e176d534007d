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
from dataclasses import dataclass, field

from oci_runtime.errors import UsageError


@dataclass(frozen=True)
class Flag:
    names: tuple          # first is the canonical long name, then aliases
    kind: str = "bool"    # "bool", "str", "int" or "list" (repeatable str)
    help: str = ""
    default: object = None
    metavar: str = "value"

    @property
    def dest(self):
        return self.names[0].replace("-", "_")


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    help: str
    flags: tuple = ()
    min_args: int = 0
    max_args: int = 0     # -1: unbounded
    stop_at_positional: bool = False
    module: str = ""      # oci_runtime.operations.<module>, imported only when run


@dataclass
class Parsed:
    options: dict = field(default_factory=dict)
    args: list = field(default_factory=list)
    help: bool = False


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
