"""Unit tests that need no root: CLI parsing, config checks, signals, path resolution, spec,
Go's duration and size formats (units.py)."""
import errno
import json
import os
import stat
import signal
import subprocess

import pytest

from conftest import RUNTIME
from oci_runtime import config as config_mod
from oci_runtime import units
from oci_runtime.cliparse import Flag, parse
from oci_runtime.errors import ConfigError, OCIError, UsageError
from oci_runtime.lifecycle.kill import parse_signal
from oci_runtime.spec_default import default_spec
from oci_runtime.state import validate_id

FLAGS = (Flag(("bundle", "b"), "str"), Flag(("force", "f"), "bool", default=False),
         Flag(("preserve-fds",), "int", default=0))


# ------------------------------------------------------------------ CLI parsing

@pytest.mark.parametrize("argv", [
    ["--bundle", "/b", "id"], ["--bundle=/b", "id"], ["-bundle", "/b", "id"],
    ["-bundle=/b", "id"], ["-b", "/b", "id"], ["id", "--bundle", "/b"],
])
def test_flag_forms(argv):
    parsed = parse(argv, FLAGS)
    assert parsed.options["bundle"] == "/b"
    assert parsed.args == ["id"]


def test_bool_and_int_flags():
    parsed = parse(["-f", "--preserve-fds", "2", "id"], FLAGS)
    assert parsed.options["force"] is True and parsed.options["preserve_fds"] == 2
    assert parse(["--force=false", "id"], FLAGS).options["force"] is False
    with pytest.raises(UsageError):
        parse(["--preserve-fds", "two"], FLAGS)


def test_unknown_flag_and_missing_value():
    with pytest.raises(UsageError, match="flag provided but not defined: -nope"):
        parse(["--nope"], FLAGS)
    with pytest.raises(UsageError, match="flag needs an argument"):
        parse(["--bundle"], FLAGS)


def test_double_dash_and_stop_at_positional():
    assert parse(["--", "-f"], FLAGS).args == ["-f"]
    parsed = parse(["id", "sh", "-f"], FLAGS, stop_at_positional=True)
    assert parsed.args == ["id", "sh", "-f"] and parsed.options["force"] is False


def test_cli_version_help_and_usage_errors():
    version = subprocess.run([RUNTIME, "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "oci-runtime version" in version.stdout
    assert "spec: 1.3.0" in version.stdout
    helptext = subprocess.run([RUNTIME, "--help"], capture_output=True, text=True)
    assert helptext.returncode == 0
    for command in ("create", "start", "state", "kill", "delete", "run", "list", "spec"):
        assert f"\n   {command} " in helptext.stdout
    missing = subprocess.run([RUNTIME, "state"], capture_output=True, text=True)
    assert missing.returncode == 1 and "argument" in missing.stderr
    module = subprocess.run([os.path.join(os.path.dirname(RUNTIME), "python"), "-m", "oci_runtime",
                             "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and "oci-runtime version" in module.stdout


# ------------------------------------------------------------------ config checks

def minimal():
    return {"ociVersion": "1.3.0", "root": {"path": "rootfs"},
            "process": {"args": ["sh"], "cwd": "/"}}


def check_fails(config, path, phrase):
    with pytest.raises(ConfigError) as info:
        config_mod.check(config)
    assert info.value.json_path == path, str(info.value)
    assert phrase in str(info.value)
    assert str(info.value).startswith(f"invalid configuration: config.json: {path}: ")


def test_minimal_and_default_configs_pass():
    config_mod.check(minimal())
    config_mod.check(default_spec())
    config_mod.check(default_spec(rootless=True))


@pytest.mark.parametrize("mutate, path, phrase", [
    (lambda c: c.update(ociVersion=1), "ociVersion", "expected string, got 1"),
    (lambda c: c["root"].update(readonly="yes"), "root.readonly", 'expected boolean, got "yes"'),
    (lambda c: c["process"].update(args="sh"), "process.args", 'expected array, got "sh"'),
    (lambda c: c["process"].update(args=[]), "process.args", "at least one argument"),
    (lambda c: c["process"].update(args=["sh", 3]), "process.args[1]", "expected string, got 3"),
    (lambda c: c["process"].update(env=["NOEQUALS"]), "process.env[0]", '"KEY=value"'),
    (lambda c: c["process"].update(cwd="relative"), "process.cwd", "absolute path"),
    (lambda c: c["process"].pop("cwd"), "process.cwd", "is required"),
    (lambda c: c["process"].update(user={"uid": -1, "gid": 0}), "process.user.uid", "uint32"),
    (lambda c: c["process"].update(user={"uid": True, "gid": 0}), "process.user.uid", "expected integer, got true"),
    (lambda c: c.update(linux={"resources": {"memory": {"limit": "64m"}}}),
     "linux.resources.memory.limit", 'expected integer, got "64m"'),
    (lambda c: c.update(linux={"namespaces": [{"type": "pid"}, {"type": "pid"}]}),
     "linux.namespaces[1].type", "duplicate namespace"),
    (lambda c: c.update(mounts=[{"type": "tmpfs"}]), "mounts[0].destination", "is required"),
    (lambda c: c.update(mounts=[{"destination": "/x", "options": "ro"}]), "mounts[0].options", "expected array"),
    (lambda c: c.update(hooks={"prestart": [{"path": "relative"}]}), "hooks.prestart[0].path", "absolute"),
    (lambda c: c.update(annotations={"a": 1}), "annotations.a", "expected string"),
    (lambda c: c.pop("root"), "root", "is required"),
    (lambda c: c.pop("ociVersion"), "ociVersion", "is required"),
])
def test_config_errors_name_the_path(mutate, path, phrase):
    config = minimal()
    mutate(config)
    check_fails(config, path, phrase)


def test_top_level_must_be_an_object(tmp_path):
    (tmp_path / "config.json").write_text("[1, 2]")
    with pytest.raises(ConfigError, match="top level"):
        config_mod.load(str(tmp_path))


def test_config_check_does_not_import_jsonschema():
    code = ("import sys; from oci_runtime import config, cli; "
            "from oci_runtime.operations import create, start, state, kill, delete; "
            "print('jsonschema' in sys.modules)")
    python = os.path.join(os.path.dirname(RUNTIME), "python")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, check=True, cwd="/").stdout
    assert out.strip() == "False"


# ------------------------------------------------------------------ misc

@pytest.mark.parametrize("text, number", [("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("9", 9),
                                          ("TERM", signal.SIGTERM), ("SIGUSR1", signal.SIGUSR1)])
def test_parse_signal(text, number):
    assert parse_signal(text) == number


def test_parse_signal_zero_is_the_existence_check():
    assert parse_signal("0") == 0  # runc accepts it: kill(2) with signal 0 only checks the process


@pytest.mark.parametrize("text", ["NOPE", "999", "-1"])
def test_parse_signal_rejects(text):
    with pytest.raises(OCIError):
        parse_signal(text)


@pytest.mark.parametrize("good", ["a", "A-b_c.d+e", "123"])
def test_valid_ids(good):
    validate_id(good)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a b", "ü"])
def test_invalid_ids(bad):
    with pytest.raises(OCIError, match="invalid id format"):
        validate_id(bad)


def test_root_resolves_and_creates_inside_itself(tmp_path):
    """inroot.Root: symlinks followed as if the root were "/", dangling ones created
    inside it, loops refused, a final symlink not followed by open_final."""
    from oci_runtime.rootfs.inroot import Root

    root_dir = tmp_path / "root"
    outside = tmp_path / "outside"
    (root_dir / "real").mkdir(parents=True)
    outside.mkdir()
    os.symlink("/real", root_dir / "abs")
    os.symlink("../../../../" + str(outside).lstrip("/"), root_dir / "up")
    os.symlink(str(outside), root_dir / "dangling")      # absolute: means <root>/<outside>
    os.symlink("loop", root_dir / "loop")
    with Root.of_directory(str(root_dir)) as root:
        os.close(root.make("/abs/x/y"))
        assert (root_dir / "real" / "x" / "y").is_dir()
        os.close(root.make("/up/z", kind="file"))
        assert (root_dir / str(outside).lstrip("/") / "z").is_file()
        os.close(root.make("/dangling/w"))
        assert (root_dir / str(outside).lstrip("/") / "w").is_dir()
        assert os.listdir(outside) == []                   # nothing made outside
        with pytest.raises(OSError) as loop:
            root.make("/loop/x")
        assert loop.value.errno == errno.ELOOP
        fd = root.open_final("/abs")
        try:
            assert stat.S_ISLNK(os.fstat(fd).st_mode)
        finally:
            os.close(fd)
        with pytest.raises(OSError) as refused:
            root.make("/abs/x", no_symlinks=True)
        assert refused.value.errno == errno.ELOOP


def test_lexical_paths():
    from oci_runtime.rootfs.inroot import lexical

    assert lexical("proc") == "/proc"
    assert lexical("/a/../../proc/./") == "/proc"
    assert lexical("//dev//pts") == "/dev/pts"


def test_mountinfo_decodes_octal_escapes():
    from oci_runtime.mountinfo import parse

    line = ("36 35 98:0 /mnt\\040dir /a\\040b\\011c rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n"
            "37 35 0:5 / /back\\134slash rw - tmpfs my\\040tmpfs rw\n")
    first, second = parse(line)
    assert (first.mountpoint, first.root, first.fstype, first.source) == ("/a b\tc", "/mnt dir", "ext3", "/dev/root")
    assert first.super_options == "rw,errors=continue"
    assert (second.mountpoint, second.source) == ("/back\\slash", "my tmpfs")


def test_spec_writes_a_default_config_and_refuses_to_overwrite(tmp_path):
    result = subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == default_spec()
    assert config["process"]["args"] == ["sh"] and config["root"] == {"path": "rootfs", "readonly": True}
    again = subprocess.run([RUNTIME, "spec", "-b", str(tmp_path)], capture_output=True, text=True)
    assert again.returncode == 1 and "exists" in again.stderr
    rootless = tmp_path / "rootless"
    rootless.mkdir()
    subprocess.run([RUNTIME, "spec", "--rootless", "--bundle", str(rootless)], check=True)
    types = [ns["type"] for ns in json.loads((rootless / "config.json").read_text())["linux"]["namespaces"]]
    assert "user" in types and "network" not in types


def test_validate_command(tmp_path):
    subprocess.run([RUNTIME, "spec", "--bundle", str(tmp_path)], check=True)
    ok = subprocess.run([RUNTIME, "validate", "--bundle", str(tmp_path)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    config = json.loads((tmp_path / "config.json").read_text())
    config["process"]["user"]["uid"] = "root"
    config["linux"]["namespaces"].append({"type": "bogus"})
    (tmp_path / "config.json").write_text(json.dumps(config))
    bad = subprocess.run([RUNTIME, "validate", str(tmp_path / "config.json")], capture_output=True, text=True)
    assert bad.returncode == 1
    bogus = len(config["linux"]["namespaces"]) - 1  # the spec's list depends on the host's cgroup layout
    assert "process.user.uid" in bad.stderr and f"linux.namespaces.{bogus}.type" in bad.stderr


def test_dotdot_after_a_symlink_is_resolved_physically(tmp_path):
    """As runc's securejoin: "/link/../x" is x next to the link's *target*."""
    from oci_runtime.rootfs.inroot import Root

    root_dir = tmp_path / "root"
    (root_dir / "a" / "b").mkdir(parents=True)
    os.symlink("/a/b", root_dir / "link")
    with Root.of_directory(str(root_dir)) as root:
        os.close(root.make("/link/../x"))
        os.close(root.make("/missing/../y"))
    assert (root_dir / "a" / "x").is_dir() and not (root_dir / "x").exists()
    assert (root_dir / "missing").is_dir() and (root_dir / "y").is_dir()


# ------------------------------------------------------------------ Go text formats (units.py)
#
# Expected values worked out by hand from Go's rules (time.ParseDuration;
# go-units v0.5.0 RAMInBytes, the version runc vendors), not from our code.

S = 1_000_000_000  # nanoseconds in a second
MAX_DURATION = (1 << 63) - 1


@pytest.mark.parametrize("text, nanoseconds", [
    ("1m30s", 90 * S), ("1.5h", 5400 * S), ("2h45m", 9900 * S), ("300ms", 300_000_000),
    (".5s", S // 2), ("1.s", S), ("1h2m3.5s", 3723 * S + S // 2), ("1s.5ms", S + 500_000),
    ("0", 0), ("-0", 0), ("+0", 0), ("0s", 0), ("-1s", -S), ("+2s", 2 * S),
    ("1us", 1000), ("1\u00b5s", 1000), ("1\u03bcs", 1000), ("1ns", 1),
    ("1.5ns", 1),                                  # the fraction of a nanosecond is truncated
    ("1.0000000001h", 3600 * S + 360),             # Go's float arithmetic is exact here
    ("2562047h", 2562047 * 3600 * S),
    ("2562047h47m16.854775807s", MAX_DURATION),    # the largest int64
    ("-2562047h47m16.854775808s", -(1 << 63)),     # the smallest
])
def test_go_durations(text, nanoseconds):
    assert units.parse_duration(text) == nanoseconds


@pytest.mark.parametrize("text, reason", [
    ("", "invalid duration"), ("s", "invalid duration"), (".s", "invalid duration"),
    ("-", "invalid duration"), ("--1s", "invalid duration"), (" 1s", "invalid duration"),
    ("1", "missing unit in duration"), ("00", "missing unit in duration"),
    ("1.5", "missing unit in duration"), ("1s2", "missing unit in duration"),
    ("1x", 'unknown unit "x" in duration'), ("1e3s", 'unknown unit "e" in duration'),
    ("1S", 'unknown unit "S" in duration'), ("1d", 'unknown unit "d" in duration'),
    ("1s ", 'unknown unit "s " in duration'), ("1 s", 'unknown unit " s" in duration'),
    ("9999999999h", "duration out of range"), ("2562047h47m16.854775808s", "duration out of range"),
    ("99999999999999999999ns", "duration out of range"),
])
def test_go_duration_errors(text, reason):
    with pytest.raises(units.FormatError) as info:
        units.parse_duration(text)
    assert str(info.value).startswith(reason)


@pytest.mark.parametrize("text, seconds", [
    ("5s", 5.0), ("300ms", 0.3), ("1m30s", 90.0), ("1.5h", 5400.0), (".5s", 0.5), ("1\u00b5s", 1e-6),
])
def test_events_interval(text, seconds):
    from oci_runtime.operations.events import parse_interval

    assert parse_interval(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text, message", [
    ("1x", '--interval "1x": unknown unit "x" in duration (e.g. 5s, 1m30s, 500ms)'),
    ("5", '--interval "5": missing unit in duration (e.g. 5s, 1m30s, 500ms)'),
    ("", '--interval "": invalid duration (e.g. 5s, 1m30s, 500ms)'),
    ("0", '--interval "0": duration interval must be greater than 0 (e.g. 5s, 1m30s, 500ms)'),
    ("0s", '--interval "0s": duration interval must be greater than 0'),
    ("-1s", '--interval "-1s": duration interval must be greater than 0'),
])
def test_events_interval_errors(text, message):
    """runc parses --interval with time.ParseDuration, then refuses <= 0 (its ticker would panic)."""
    from oci_runtime.operations.events import parse_interval

    with pytest.raises(OCIError) as info:
        parse_interval(text)
    assert str(info.value).startswith(message)
    assert "Error" not in str(info.value) and "Errno" not in str(info.value)


KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@pytest.mark.parametrize("text, size", [
    ("1.5g", 1610612736), ("1.5G", 1610612736), ("1.5GiB", 1610612736), ("2.5m", 2621440),
    ("64m", 64 * MiB), ("64M", 64 * MiB), ("64mb", 64 * MiB), ("64MB", 64 * MiB), ("64MiB", 64 * MiB),
    ("1k", KiB), ("1kb", KiB), ("1KiB", KiB), ("1kIb", KiB), ("1t", 1 << 40), ("1p", 1 << 50),
    ("1 k", KiB), ("1 KiB", KiB), ("1 b", 1), ("1 ", 1),     # one space before the unit, or at the end
    ("4096", 4096), ("0", 0), ("-0", 0), ("1b", 1), ("1B", 1),
    ("1.5", 1), ("1.", 1), (".5k", 512), ("0.5k", 512),       # truncated after scaling
    ("1e3k", 1_024_000), ("1_000", 1000), ("0x1p10", KiB),     # what Go's ParseFloat reads
    ("8191p", 8191 << 50),
])
def test_go_ram_sizes(text, size):
    assert units.parse_ram_size(text) == size


@pytest.mark.parametrize("text, reason", [
    ("", "invalid size: no number"), ("abc", "invalid size: no number"), ("k", "invalid size: no number"),
    ("-1", "invalid size: negative"), ("-1k", "invalid size: negative"),
    ("1.2.3m", 'invalid size: "1.2.3" is not a number'), ("1,5g", 'invalid size: "1,5" is not a number'),
    ("1  k", 'invalid size: "1 " is not a number'), ("1k ", 'invalid size: "1k" is not a number'),
    (" 1k", 'invalid size: " 1" is not a number'), ("inf k", 'invalid size: "inf" is not a number'),
    ("0x10", 'invalid size: "0x10" is not a number'),        # a hex float needs its p exponent
    ("1__0", 'invalid size: "1__0" is not a number'),
    ("1gg", 'unknown unit "gg" in size'), ("1bb", 'unknown unit "bb" in size'),
    ("1ib", 'unknown unit "ib" in size'), ("1kibb", 'unknown unit "kibb" in size'),
    ("1.5q", 'unknown unit "q" in size'), ("1\tk", 'unknown unit "\tk" in size'),
    ("1e", 'unknown unit "e" in size'),
    ("8192p", "size out of range"), ("9999999999999999999", "size out of range"),
    ("1e400", "size out of range"),
])
def test_go_ram_size_errors(text, reason):
    with pytest.raises(units.FormatError) as info:
        units.parse_ram_size(text)
    assert str(info.value).startswith(reason)


def test_update_memory_minus_one_is_only_the_exact_string():
    """runc's update compares the text with "-1" before calling go-units."""
    from oci_runtime.operations.update import parse_bytes

    assert parse_bytes("-1") == -1
    assert parse_bytes("64m") == 64 * MiB
    for text in ("-1k", " -1", "-1 ", "-2", "-1.0"):
        with pytest.raises(units.FormatError):
            parse_bytes(text)


@pytest.mark.parametrize("argv, message", [
    (["events", "--interval", "1x"], '--interval "1x": unknown unit "x" in duration'),
    (["events", "--interval", "0"], '--interval "0": duration interval must be greater than 0'),
    (["update", "--memory", "1.5q"], '--memory "1.5q": unknown unit "q" in size'),
    (["update", "--memory-swap", "-1k"], '--memory-swap "-1k": invalid size: negative'),
    (["update", "--kernel-memory", "1gg"], '--kernel-memory "1gg": unknown unit "gg" in size'),
])
def test_cli_checks_unit_flags_before_the_container(tmp_path, argv, message):
    """The bad value is the error, in one line, even though the container does not exist."""
    result = subprocess.run([RUNTIME, "--root", str(tmp_path), *argv, "no-such-container"],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(message), result.stderr


@pytest.mark.parametrize("argv", [["events", "--interval", "1m30s"], ["update", "--memory", "1.5g"]])
def test_cli_good_unit_flags_reach_the_container_lookup(tmp_path, argv):
    result = subprocess.run([RUNTIME, "--root", str(tmp_path), *argv, "no-such-container"],
                            capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr == "container does not exist\n"


@pytest.mark.parametrize("rootless", [False, True], ids=["rootful", "rootless"])
def test_spec_is_what_runc_spec_writes(tmp_path, rootless):
    """The same document as `runc spec` (here, and on the host's cgroup layout), but
    for ociVersion and the hostname (this program's name where runc's is "runc");
    with --rootless, what `runc spec --rootless` writes."""
    import shutil

    flag = ["--rootless"] * rootless
    ours = tmp_path / "ours"
    ours.mkdir()
    subprocess.run([RUNTIME, "spec", *flag, "--bundle", str(ours)], check=True)
    config = json.loads((ours / "config.json").read_text())
    pure_v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    assert [ns["type"] for ns in config["linux"]["namespaces"]] == \
        ["pid"] + ["network"] * (not rootless) + ["ipc", "uts", "mount"] + ["cgroup"] * pure_v2 + ["user"] * rootless
    assert "ambient" not in config["process"]["capabilities"] and config["hostname"] == "oci-runtime"
    if rootless:
        assert config["linux"]["uidMappings"] == [{"containerID": 0, "hostID": os.geteuid(), "size": 1}]
        assert "resources" not in config["linux"]
        assert not any(o.startswith(("uid=", "gid=")) for m in config["mounts"] for o in m.get("options", ()))
    if not shutil.which("runc"):
        return
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    subprocess.run(["runc", "spec", *flag], cwd=theirs, check=True)
    reference = json.loads((theirs / "config.json").read_text())
    for document in (config, reference):
        document.pop("ociVersion")
        document.pop("hostname")
        document["process"]["capabilities"].pop("ambient", None)  # runc 1.1 lists them; current runc does not
    assert config == reference
