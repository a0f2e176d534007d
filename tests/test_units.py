"""Unit tests that need no root: CLI parsing, config checks, signals, path resolution, spec."""
import errno
import json
import os
import stat
import signal
import subprocess

import pytest

from conftest import RUNTIME
from oci_runtime import config as config_mod
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
    assert str(info.value).startswith(f"config.json: {path}: ")


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
    assert "process.user.uid" in bad.stderr and "linux.namespaces.6.type" in bad.stderr


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
