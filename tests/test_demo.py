"""`make demo` (examples/demo.py) shows what it says, within a minute, and leaves
nothing behind: no state, cgroup, mount or directory of its own."""
import glob
import os
import subprocess
import sys
import time

from conftest import CGROUP_ROOT, REPO, RUNTIME


def test_the_demo_tells_its_story_and_cleans_up(busybox_template):
    started = time.monotonic()
    result = subprocess.run([sys.executable, os.path.join(REPO, "examples", "demo.py"), str(busybox_template),
                             RUNTIME], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert elapsed < 60, f"the demo took {elapsed:.0f} s"
    namespaces = out[out.index("== 1."):out.index("== 2.")]
    assert "my pid: 1, hostname: demo-box" in namespaces, namespaces
    assert "2 sleep 30" in " ".join(namespaces.split()), namespaces
    memory = out[out.index("== 2."):out.index("== 3.")]
    assert "exit status 137" in memory
    pids = out[out.index("== 3."):out.index("== 4.")]
    refused = int(pids.split("forks refused at the limit: ")[1].split()[0])
    assert "pids.max: 32" in pids and refused > 0
    caps = out[out.index("== 4."):out.index("== 5.")]
    assert caps.index("could not bind port 80") < caps.index("bound port 80\n")
    assert "CapEff:\t0000000000000400" in caps
    engines = out[out.index("== 5."):]
    assert "hello from podman, pid 1" in engines or "podman is not installed" in engines
    assert "hello from docker, pid 1" in engines or "not installed" in engines
    tag = out.split("cgroups /oci-runtime-demo-")[1].split(",")[0]
    assert not glob.glob(f"/tmp/oci-runtime-demo-{tag}-*")
    assert not [h for h in os.listdir(CGROUP_ROOT) if os.path.exists(os.path.join(CGROUP_ROOT, h,
                                                                                  f"oci-runtime-demo-{tag}"))]
    with open("/proc/self/mounts") as f:
        assert f"oci-runtime-demo-{tag}" not in f.read()
