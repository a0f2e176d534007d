"""runc's command-line surface where engines, scripts and people can tell the difference.

Each test asserts the expected behaviour literally (so it passes where runc is not
installed) and, where runc is, runs the same steps through runc 1.x and compares.
runc gets its own --root and its own cgroup parent (it never removes a parent it
made), removed here.
"""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import RUNTIME, cgroup_dirs_named, wait_for

RUNC = shutil.which("runc")


class Runc:
    """runc driven like the rt fixture drives oci-runtime; ``None`` where it is missing."""

    def __init__(self, rt, tmp_path):
        self.rt = rt
        self.binary = RUNC
        self.root = str(tmp_path / "runc-root")
        self.parent = f"{rt.cgroup_parent}-runc"
        self.ids = []

    def bundle(self, args, edit=None, **process):
        def own_parent(config):
            config["linux"]["cgroupsPath"] = f"/{self.parent}/{len(self.ids)}-{os.urandom(3).hex()}"
            if edit:
                edit(config)
        return self.rt.bundle(args, edit=own_parent, **process)

    def cmd(self, *args, global_args=(), input=None):
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            status = subprocess.run([RUNC, "--root", self.root, *global_args, *args], stdout=out, stderr=err,
                                    input=input, timeout=30, stdin=None if input else subprocess.DEVNULL
                                    ).returncode
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(args, status, out.read().decode(errors="replace"),
                                               err.read().decode(errors="replace"))

    def new_id(self):
        self.ids.append(f"r{len(self.ids)}")
        return self.ids[-1]

    def status(self, container_id):
        result = self.cmd("state", container_id)
        return json.loads(result.stdout).get("status") if result.returncode == 0 else None

    def cleanup(self):
        for container_id in self.ids:
            self.cmd("delete", "--force", container_id)
        for top in cgroup_dirs_named(self.parent):
            for leaf in os.listdir(top):
                if os.path.isdir(os.path.join(top, leaf)):
                    os.rmdir(os.path.join(top, leaf))
            os.rmdir(top)


@pytest.fixture
def runc(rt, tmp_path):
    if not RUNC:
        yield None
        return
    driver = Runc(rt, tmp_path)
    yield driver
    driver.cleanup()


def _stop(tool, container_id, status_of):
    tool.cmd("kill", container_id, "KILL")
    assert wait_for(lambda: status_of(container_id) == "stopped")


# ------------------------------------------------------------ 1: kill --all, ps of a stopped container
def _stopped_container_steps(tool, bundle, container_id, status_of):
    assert tool.cmd("run", "-d", "-b", str(bundle), container_id).returncode == 0
    _stop(tool, container_id, status_of)
    seen = {}
    for name, argv in (("kill --all 0", ["kill", "--all", container_id, "0"]),
                       ("kill --all KILL", ["kill", "--all", container_id, "KILL"]),
                       ("kill --all TERM (default)", ["kill", "--all", container_id]),
                       ("kill KILL", ["kill", container_id, "KILL"]),
                       ("kill 0", ["kill", container_id, "0"]),
                       ("ps --format json", ["ps", "--format", "json", container_id]),
                       ("ps", ["ps", container_id]),
                       ("ps -o pid", ["ps", container_id, "-o", "pid"])):
        result = tool.cmd(*argv)
        seen[name] = (result.returncode, result.stdout)
    return seen


def test_kill_all_and_ps_of_a_stopped_container(rt, runc):
    container_id = rt.new_id()
    ours = _stopped_container_steps(rt, rt.bundle(["sleep", "60"]), container_id,
                                    lambda c: rt.state(c)["status"])
    def header(*ps_args):
        return subprocess.run(["ps", *ps_args], capture_output=True, text=True).stdout.splitlines()[0] + "\n"
    assert ours == {
        "kill --all 0": (0, ""), "kill --all KILL": (0, ""), "kill --all TERM (default)": (0, ""),
        "kill KILL": (1, ""), "kill 0": (1, ""),
        "ps --format json": (0, "null\n"),  # Go's encoding of an empty (nil) list
        "ps": (0, header("-ef")), "ps -o pid": (0, header("-o", "pid")),  # the header alone
    }
    assert "container not running" in rt.cmd("kill", container_id, "KILL").stderr
    if runc:
        theirs = _stopped_container_steps(runc, runc.bundle(["sleep", "60"]), runc.new_id(), runc.status)
        assert ours == theirs


# ------------------------------------------------------------ 2: exec --ignore-paused, update's flags
def _cgroup_file(config, controller, name):
    with open(os.path.join("/sys/fs/cgroup", controller, config["linux"]["cgroupsPath"].lstrip("/"), name)) as f:
        return f.read().strip()


def _exec_into_paused(tool, bundle, container_id):
    """(status without the flag, its stderr, the file before resume, exec's status, the file after)."""
    marker = bundle / "rootfs" / "exec-ran"
    assert tool.cmd("run", "-d", "-b", str(bundle), container_id).returncode == 0
    assert tool.cmd("pause", container_id).returncode == 0
    refused = tool.cmd("exec", container_id, "touch", "/refused")
    with tempfile.TemporaryFile() as out:
        argv = [getattr(tool, "binary", RUNTIME), "--root", tool.root, "exec", "--ignore-paused", container_id]
        proc = subprocess.Popen([*argv, "touch", "/exec-ran"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            frozen = not wait_for(marker.exists, timeout=1.0)
            assert tool.cmd("resume", container_id).returncode == 0
            status = proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    ran = marker.exists()
    tool.cmd("delete", "--force", container_id)
    return refused.returncode, refused.stderr, frozen, status, ran, (bundle / "rootfs" / "refused").exists()


def test_exec_ignore_paused_waits_for_resume(rt, runc):
    ours = _exec_into_paused(rt, rt.bundle(["sleep", "60"]), rt.new_id())
    assert "cannot exec in a paused container (use --ignore-paused to override)" in ours[1]
    assert ours[0] == 255 and ours[2:] == (True, 0, True, False), ours
    if runc:
        theirs = _exec_into_paused(runc, runc.bundle(["sleep", "60"]), runc.new_id())
        assert (ours[0],) + ours[2:] == (theirs[0],) + theirs[2:]


RUNC_UPDATE_FLAGS = {"resources", "r", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period",
                     "cpu-rt-runtime", "cpuset-cpus", "cpuset-mems", "memory", "memory-reservation",
                     "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema",
                     "kernel-memory", "kernel-memory-tcp"}  # the last two hidden in runc's help


def _flag_names(help_text):
    names = set()
    for line in help_text.splitlines():
        for word in line.strip().split(", "):
            if word.startswith("-"):
                names.add(word.split()[0].lstrip("-"))
    return names


def test_update_has_runcs_flags(rt, runc):
    ours = _flag_names(rt.cmd("update", "--help", check=True).stdout)
    assert RUNC_UPDATE_FLAGS - {"kernel-memory", "kernel-memory-tcp"} <= ours
    if runc:
        theirs = _flag_names(runc.cmd("update", "--help").stdout)
        assert theirs - {"help", "h"} <= ours, theirs - ours
    refused = rt.cmd("update", "--l3-cache-schema", "L3:0=ff", "nope")
    assert refused.returncode == 1 and "Intel RDT/CAT: l3 cache schema is not enabled" in refused.stderr


def _update_steps(tool, bundle, container_id):
    config = json.loads((bundle / "config.json").read_text())
    assert tool.cmd("run", "-d", "-b", str(bundle), container_id).returncode == 0
    seen = {}
    for name, argv in (("--cpu-share", ["--cpu-share", "512"]), ("--memory -1", ["--memory", "-1"])):
        result = tool.cmd("update", *argv, container_id)
        seen[name] = (result.returncode, _cgroup_file(config, "cpu", "cpu.shares"),
                      _cgroup_file(config, "memory", "memory.limit_in_bytes"),
                      _cgroup_file(config, "memory", "memory.memsw.limit_in_bytes"))
    tool.cmd("delete", "--force", container_id)
    return seen


def _limited(config):
    config["linux"]["resources"]["memory"] = {"limit": 64 << 20, "swap": 128 << 20}


@pytest.mark.skipif(not os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"),
                    reason="needs cgroup v1 with swap accounting")
def test_update_cpu_share_and_unlimited_memory_lifts_swap(rt, runc):
    ours = _update_steps(rt, rt.bundle(["sleep", "60"], edit=_limited), rt.new_id())
    unlimited = _cgroup_file({"linux": {"cgroupsPath": "/"}}, "memory", "memory.limit_in_bytes")
    assert ours == {"--cpu-share": (0, "512", str(64 << 20), str(128 << 20)),
                    "--memory -1": (0, "512", unlimited, unlimited)}
    if runc:
        assert ours == _update_steps(runc, runc.bundle(["sleep", "60"], edit=_limited), runc.new_id())


# ------------------------------------------------------------ 3: state, list, ps, events print runc's bytes
ANNOTATIONS = {"b": "2", "a": "x<y&z é"}  # Go sorts a map's keys and escapes <, >, & but not UTF-8


def _outputs(tool, bundle, container_id):
    assert tool.cmd("run", "-d", "-b", str(bundle), container_id).returncode == 0
    seen = {name: tool.cmd(*argv).stdout for name, argv in (
        ("state", ["state", container_id]), ("list", ["list", "--format", "json"]),
        ("ps", ["ps", "--format", "json", container_id]), ("events", ["events", "--stats", container_id]))}
    tool.cmd("delete", "--force", container_id)
    return seen


def _with_annotations(config):
    config["annotations"] = dict(ANNOTATIONS)


def _key_paths(value, prefix=""):
    """Every key path of a JSON value, in document order (lists: their first item)."""
    paths = []
    if isinstance(value, dict):
        for key, item in value.items():
            paths += [f"{prefix}/{key}", *_key_paths(item, f"{prefix}/{key}")]
    elif isinstance(value, list) and value:
        paths += _key_paths(value[0], prefix + "[]")
    return paths


def test_state_list_ps_events_print_runcs_bytes(rt, runc):
    ours = _outputs(rt, rt.bundle(["sleep", "60"], edit=_with_annotations), rt.new_id())
    s = json.loads(ours["state"])
    assert s["created"][-2] != "0"  # RFC3339Nano: no trailing zeros in the fraction
    fields = (f'"ociVersion": "{s["ociVersion"]}"', f'"id": "{s["id"]}"', f'"pid": {s["pid"]}', '"status": "running"',
              f'"bundle": "{s["bundle"]}"', f'"rootfs": "{s["rootfs"]}"', f'"created": "{s["created"]}"',
              '"annotations": {\n    "a": "x\\u003cy\\u0026z é",\n    "b": "2"\n  }', '"owner": ""')
    assert ours["state"] == "{\n  " + ",\n  ".join(fields) + "\n}"  # MarshalIndent: no newline at the end
    compact = ",".join(f.replace('": ', '":').replace("\n", "").replace("  ", "") for f in fields[:-1])
    assert ours["list"] == "[{" + compact + ',"owner":"root"}]\n'
    assert ours["ps"] == f"[{s['pid']}]\n"
    assert ours["events"].startswith(f'{{"type":"stats","id":"{s["id"]}","data":{{"cpu":{{"usage":{{')
    assert ", " not in ours["events"] and '": ' not in ours["events"] and ours["events"].count("\n") == 1
    if runc:
        theirs = _outputs(runc, runc.bundle(["sleep", "60"], edit=_with_annotations), runc.new_id())
        r = json.loads(theirs["state"])
        for name in ("state", "list"):  # the values that differ between two containers
            for key in ("created", "ociVersion", "id", "bundle", "rootfs"):
                theirs[name] = theirs[name].replace(json.dumps(r[key]), json.dumps(s[key]))
            for spacing in (" ", ""):
                theirs[name] = theirs[name].replace(f'"pid":{spacing}{r["pid"]},', f'"pid":{spacing}{s["pid"]},')
        assert (ours["state"], ours["list"]) == (theirs["state"], theirs["list"])
        # runc 1.1.5 has no memory.peak reader on cgroup v2; current runc reports it as "max", as we do
        newer = {"/data/memory/usage/max"}
        assert [p for p in _key_paths(json.loads(ours["events"])) if p not in newer] == \
            [p for p in _key_paths(json.loads(theirs["events"])) if p not in newer]


# ------------------------------------------------------------ 4: --log FILE and --debug
def _logged_lifecycle(tool, bundle, container_id, log_path, log_format):
    flags = ("--log", str(log_path), "--log-format", log_format, "--debug")
    for argv in (("create", "-b", str(bundle), container_id), ("start", container_id),
                 ("exec", container_id, "true"), ("kill", container_id, "KILL")):
        assert tool.cmd(*argv, global_args=flags).returncode == 0, argv
    assert wait_for(lambda: json.loads(tool.cmd("state", container_id).stdout)["status"] == "stopped")
    assert tool.cmd("delete", container_id, global_args=flags).returncode == 0
    return log_path.read_text()


def test_log_file_is_made_and_debug_logs_the_steps(rt, runc, tmp_path):
    quiet = tmp_path / "quiet.log"
    assert rt.cmd("list", global_args=("--log", str(quiet))).returncode == 0
    assert quiet.exists() and quiet.read_text() == ""  # made even with nothing to say, as runc
    rt.cmd("create", "-b", str(rt.bundle(["sleep", "60"])), rt.new_id(), global_args=("--log", str(quiet)),
           check=True)
    assert "level=debug" not in quiet.read_text()  # no --debug, no debug lines
    text = _logged_lifecycle(rt, rt.bundle(["sleep", "60"]), rt.new_id(), tmp_path / "text.log", "text")
    debug = [line for line in text.splitlines() if " level=debug msg=" in line]
    for step in ("create", "init", "start", "exec", "kill", "delete"):
        assert any(f'msg="{step} ' in line or f'msg="{step}:' in line for line in debug), (step, text)
    lines = _logged_lifecycle(rt, rt.bundle(["sleep", "60"]), rt.new_id(), tmp_path / "json.log",
                              "json").splitlines()
    entries = [json.loads(line) for line in lines]
    assert {e["level"] for e in entries} == {"debug"} and len(entries) >= len(debug)
    assert all(line.startswith('{"level":"debug","msg":"') for line in lines)  # logrus: compact, sorted keys
    if runc:
        theirs = tmp_path / "runc-quiet.log"
        assert runc.cmd("list", global_args=("--log", str(theirs))).returncode == 0 and theirs.read_text() == ""
        runc_text = _logged_lifecycle(runc, runc.bundle(["sleep", "60"]), runc.new_id(), tmp_path / "runc.log",
                                      "text")
        assert " level=debug msg=" in runc_text


# ------------------------------------------------------------ 5: checkpoint and restore
def test_checkpoint_and_restore_check_runcs_flags_then_refuse_clearly(rt, runc, tmp_path):
    for command in ("checkpoint", "restore"):
        ours = _flag_names(rt.cmd(command, "--help", check=True).stdout)
        if runc:
            theirs = _flag_names(runc.cmd(command, "--help").stdout) - {"help", "h"}
            assert theirs <= ours, (command, theirs - ours)
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    created = rt.cmd("checkpoint", container_id)
    assert created.returncode == 1 and "Container cannot be checkpointed in created state" in created.stderr
    rt.cmd("start", container_id, check=True)
    images = tmp_path / "images"
    for flags, words in ((["--parent-path", "/abs"], "--parent-path must be relative"),
                         (["--parent-path", "missing"], "invalid --parent-path"),
                         (["--manage-cgroups-mode", "loose"], "Invalid manage cgroups mode"),
                         (["--page-server", "nohost"], "--page-server ADDRESS:PORT"),
                         (["--empty-ns", "pid"], "--empty-ns 'pid'"),
                         ([], "CRIU")):
        result = rt.cmd("checkpoint", "--image-path", str(images), *flags, container_id)
        assert result.returncode == 1 and words in result.stderr, (flags, result.stderr)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert not images.exists()  # nothing made
    assert rt.state(container_id)["status"] == "running"
    taken = rt.cmd("restore", "-b", str(bundle), container_id)
    assert taken.returncode == 1 and "already exists" in taken.stderr
    fresh = rt.cmd("restore", "-b", str(bundle), "restored")
    assert fresh.returncode == 1 and "CRIU" in fresh.stderr and "checkpoint/restore" in fresh.stderr
    assert not os.path.exists(rt.state_dir("restored"))
    missing = rt.cmd("restore", "-b", str(bundle), "restored", global_args=("--criu", "/nonexistent/criu"))
    assert missing.returncode == 1 and "'/nonexistent/criu' was not found" in missing.stderr


EXEC_ERRORS = [  # args[0], the part of runc's message engines match (containerd's CRI: 127 / 126)
    ("/nonexistent", 'exec: "/nonexistent": stat /nonexistent: no such file or directory'),
    ("no-such-program", 'exec: "no-such-program": executable file not found in $PATH'),
    ("/etc/passwd", 'exec: "/etc/passwd": permission denied'),
    ("/etc", 'exec: "/etc": permission denied'),
]


@pytest.mark.parametrize("program, phrase", EXEC_ERRORS, ids=[p for p, _ in EXEC_ERRORS])
def test_exec_errors_carry_runcs_phrases(rt, runc, program, phrase):
    """`run` of a program that cannot be exec'd fails at create with runc's words
    and no prefix of ours before them; `exec` adds runc's "exec failed: "."""
    bundle = rt.bundle([program])
    ours = rt.cmd("run", "-b", str(bundle), rt.new_id())
    assert ours.returncode == 1 and ours.stderr.startswith(phrase), ours.stderr
    container_id = rt.create(rt.bundle(["sleep", "30"]))
    rt.api.start(container_id)
    in_exec = rt.cmd("exec", container_id, program)
    assert in_exec.returncode == 255 and in_exec.stderr.startswith(f"exec failed: {phrase}"), in_exec.stderr
    if runc:
        reference = runc.cmd("run", "-b", str(runc.bundle([program])), runc.new_id())
        assert reference.returncode == 1 and phrase in reference.stderr.replace('\\"', '"')
