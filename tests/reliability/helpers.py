"""Shared by the reliability tests: runtime commands with a fault, and cheap bundles.

``light_bundle`` writes only a config.json whose ``root.path`` points at one
shared rootfs copy, so hundreds of containers (the soak) cost no copying; each
gets its own cgroup under the test's parent.
"""
import json
import os
import shutil

from oci_runtime.faults import ENV as FAULT_ENV


def with_fault(spec):
    """Environment for a runtime command that must hit fault ``spec`` ("name=kill")."""
    return dict(os.environ, **{FAULT_ENV: spec})


def shared_rootfs(rt):
    path = rt.tmp / "shared-rootfs"
    if not path.exists():
        shutil.copytree(rt.template / "rootfs", path, symlinks=True)
    return path


def light_bundle(rt, name, args=("sleep", "1000"), edit=None):
    """A bundle dir with only config.json (rootfs shared, cgroup of its own)."""
    path = rt.tmp / name
    path.mkdir()
    config = rt.read_config(rt.template)
    config["root"]["path"] = str(shared_rootfs(rt))
    config["process"]["args"] = list(args)
    config["linux"]["cgroupsPath"] = rt.cgroups_path(name)
    if edit:
        edit(config)
    rt.write_config(path, config)
    return path


def status_or_missing(rt, container_id):
    result = rt.cmd("state", container_id)
    if result.returncode != 0:
        assert "does not exist" in result.stderr, result.stderr
        return "missing"
    return json.loads(result.stdout)["status"]
