"""Bad input: a clear message naming the problem, exit 1, and nothing left behind.

The `rt` fixture's teardown checks for leftover state dirs, cgroups, mounts and
processes after every test here.
"""
import json
import os

import pytest


def assert_failed_cleanly(rt, result, *phrases):
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    for phrase in phrases:
        assert phrase in result.stderr, f"{phrase!r} not in {result.stderr!r}"
    assert "Traceback" not in result.stderr
    assert not os.path.isdir(rt.root) or os.listdir(rt.root) == []


def create(rt, bundle, container_id=None):
    return rt.cmd("create", "--bundle", str(bundle), container_id or rt.new_id())


def test_malformed_json(rt):
    bundle = rt.bundle()
    (bundle / "config.json").write_text('{"ociVersion": "1.3.0", "root": ')
    assert_failed_cleanly(rt, create(rt, bundle), "config.json: invalid JSON")


def test_wrong_type_names_the_json_path(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"].update(resources={"memory": {"limit": "64m"}}))
    assert_failed_cleanly(rt, create(rt, bundle),
                          'config.json: linux.resources.memory.limit: expected integer, got "64m"')


def test_missing_root_path(rt):
    bundle = rt.bundle(edit=lambda c: c["root"].pop("path"))
    assert_failed_cleanly(rt, create(rt, bundle), "config.json: root.path: is required")


def test_rootfs_directory_missing(rt):
    bundle = rt.bundle(edit=lambda c: c["root"].update(path="no-such-rootfs"))
    assert_failed_cleanly(rt, create(rt, bundle), "root.path", "no-such-rootfs", "does not exist")


def test_missing_config(rt, tmp_path):
    empty = tmp_path / "empty-bundle"
    empty.mkdir()
    assert_failed_cleanly(rt, create(rt, empty), "config.json", "no such file")


def test_missing_executable(rt):
    bundle = rt.bundle(["no-such-program", "arg"])
    assert_failed_cleanly(rt, create(rt, bundle),
                          'exec: "no-such-program": executable file not found in $PATH')


def test_missing_executable_by_path(rt):
    bundle = rt.bundle(["/bin/nope"])
    assert_failed_cleanly(rt, create(rt, bundle), '"/bin/nope"', "no such file or directory")


def test_bad_cwd_reports_the_child_error(rt):
    bundle = rt.bundle(["true"], cwd="/bin/busybox")  # a missing one is created, as runc does
    assert_failed_cleanly(rt, create(rt, bundle), 'chdir to cwd ("/bin/busybox")', "Not a directory")


def test_mount_failure_reports_the_mount(rt):
    bundle = rt.bundle(edit=lambda c: c["mounts"].append(
        {"destination": "/bad", "type": "no-such-fs", "source": "x"}))
    assert_failed_cleanly(rt, create(rt, bundle), 'mounting "x" to "/bad"', "No such device")


def test_missing_bind_source(rt, tmp_path):
    bundle = rt.bundle(edit=lambda c: c["mounts"].append(
        {"destination": "/data", "type": "bind", "source": str(tmp_path / "gone"), "options": ["bind"]}))
    assert_failed_cleanly(rt, create(rt, bundle), "source does not exist")


def test_duplicate_id_is_refused_and_the_first_survives(rt):
    bundle = rt.bundle(["sleep", "60"])
    container_id = rt.create(bundle)
    result = create(rt, bundle, container_id)
    assert result.returncode == 1
    assert "container with given ID already exists" in result.stderr
    assert rt.state(container_id)["status"] == "created"


@pytest.mark.parametrize("bad_id", ["has/slash", "..", "spa ce", "semi;colon", "star*"])
def test_invalid_id(rt, bad_id):
    bundle = rt.bundle()
    assert_failed_cleanly(rt, rt.cmd("create", "--bundle", str(bundle), bad_id), "invalid id format")


def test_unknown_namespace_type(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"]["namespaces"].append({"type": "bogus"}))
    last = len(rt.read_config(bundle)["linux"]["namespaces"]) - 1
    assert_failed_cleanly(rt, create(rt, bundle), f"linux.namespaces[{last}].type", "bogus")


def test_duplicate_namespace(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"]["namespaces"].append({"type": "pid"}))
    last = len(rt.read_config(bundle)["linux"]["namespaces"]) - 1
    assert_failed_cleanly(rt, create(rt, bundle), f"linux.namespaces[{last}].type", "duplicate namespace")


def test_namespace_path_of_the_wrong_type(rt):
    def edit(config):
        for ns in config["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = "/proc/self/ns/uts"
    bundle = rt.bundle(edit=edit)
    assert_failed_cleanly(rt, create(rt, bundle), "linux.namespaces[1].path", "uts namespace, not network")


def test_namespace_path_that_is_not_a_namespace(rt):
    def edit(config):
        config["linux"]["namespaces"][1]["path"] = "/etc/hostname"
    bundle = rt.bundle(edit=edit)
    assert_failed_cleanly(rt, create(rt, bundle), "linux.namespaces[1].path", "not a namespace")


def test_hostname_without_uts_namespace(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"].update(
        namespaces=[ns for ns in c["linux"]["namespaces"] if ns["type"] != "uts"]))
    assert_failed_cleanly(rt, create(rt, bundle), "hostname", "private UTS namespace")


@pytest.mark.parametrize("rlimits, phrase", [
    ([{"type": "RLIMIT_NOFILE", "soft": 1, "hard": 1}] * 2, "duplicate rlimit RLIMIT_NOFILE"),
    ([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}], "unknown rlimit type"),
    ([{"type": "RLIMIT_NOFILE", "soft": 10, "hard": 5}], "soft limit is greater than hard limit"),
])
def test_bad_rlimits(rt, rlimits, phrase):
    bundle = rt.bundle(rlimits=rlimits)
    assert_failed_cleanly(rt, create(rt, bundle), "process.rlimits", phrase)


def test_rlimit_above_the_hosts_hard_limit_fails_in_the_child(rt):
    # Root here lacks CAP_SYS_RESOURCE on some hosts; an impossible value fails everywhere.
    bundle = rt.bundle(rlimits=[{"type": "RLIMIT_NOFILE", "soft": 2**40, "hard": 2**40}])
    assert_failed_cleanly(rt, create(rt, bundle), "process.rlimits[0]", "RLIMIT_NOFILE")


def test_terminal_without_console_socket(rt):
    bundle = rt.bundle(terminal=True)
    assert_failed_cleanly(rt, create(rt, bundle), "cannot allocate tty")


def test_console_socket_that_does_not_exist(rt, tmp_path):
    bundle = rt.bundle(terminal=True)
    result = rt.cmd("create", "--console-socket", str(tmp_path / "nope.sock"), "-b", str(bundle), rt.new_id())
    assert_failed_cleanly(rt, result, "--console-socket", "No such file or directory")


def test_unknown_fields_are_ignored(rt):
    def edit(config):
        config["someFutureField"] = {"x": 1}
        config["process"]["alsoUnknown"] = True
        config["linux"]["notYetSpecified"] = []
    assert rt.run(rt.bundle(["true"], edit=edit)).returncode == 0


def test_errors_go_to_the_json_log(rt, tmp_path):
    log = tmp_path / "runtime.log"
    result = rt.cmd("state", "nope", global_args=("--log", str(log), "--log-format", "json"))
    assert result.returncode == 1
    assert "container does not exist" in result.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert lines[-1]["level"] == "error"
    assert lines[-1]["msg"] == "container does not exist"
    assert lines[-1]["time"].endswith("Z")


def test_unknown_flag_and_command(rt):
    result = rt.cmd("create", "--nope", "x")
    assert result.returncode == 1 and "flag provided but not defined: -nope" in result.stderr
    result = rt.cmd("frobnicate")
    assert result.returncode == 1 and "frobnicate" in result.stderr


def test_new_user_namespace_needs_mappings(rt):
    bundle = rt.bundle(edit=lambda c: c["linux"]["namespaces"].append({"type": "user"}))
    assert_failed_cleanly(rt, create(rt, bundle), "linux.uidMappings",
                          "required when a new user namespace is created")
