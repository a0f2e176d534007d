"""`make demo`: what oci-runtime is for, in five short steps, each run for real.

    python examples/demo.py BUSYBOX_BUNDLE [OCI_RUNTIME]

1. a container in its own namespaces: pid 1, its own hostname and process list
2. a memory limit: a process that grows past it is OOM-killed, the host is not
3. a pids limit: a fork bomb stops at it
4. a capability whitelist: a non-root process binds port 80 only with
   CAP_NET_BIND_SERVICE
5. the same runtime under an engine: podman --runtime (and Docker, where its
   daemon is installed)

Each step prints the command it runs and what to look for.  Everything it
makes -- state, cgroups, bundles, the engines' storage -- lives under one
temporary directory and one cgroup parent, removed at the end (also after a
failure or Ctrl-C).  As root; about half a minute.
"""
import copy
import json
import os
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

TAG = uuid.uuid4().hex[:6]
_PODMAN_CONF = """[containers]
netns = "none"
default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]
[network]
network_backend = "netavark"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{base}/events.log"
"""
CGROUP_PARENT = f"oci-runtime-demo-{TAG}"


class Demo:
    def __init__(self, template, runtime):
        self.template = os.path.abspath(template)
        self.runtime = runtime
        self.base = tempfile.mkdtemp(prefix=f"oci-runtime-demo-{TAG}-")
        self.root = os.path.join(self.base, "state")
        with open(os.path.join(self.template, "config.json")) as f:
            self.config = json.load(f)
        self.config["root"] = {"path": os.path.join(self.template, "rootfs"), "readonly": True}
        self.count = 0

    # ------------------------------------------------------------ helpers
    def bundle(self, args, edit=None):
        """A bundle directory whose config runs ``args`` (the rootfs shared, read-only),
        changed by ``edit(config)``."""
        self.count += 1
        path = os.path.join(self.base, f"bundle{self.count}")
        os.mkdir(path)
        config = copy.deepcopy(self.config)
        config["process"]["args"] = list(args)
        config["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/c{self.count}"
        if edit:
            edit(config)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(config, f, indent=1)
        return path

    def run(self, bundle, shown=None, check_status=None):
        """`oci-runtime run` of a bundle, printing the command and the container's output."""
        container_id = f"demo-{TAG}-{self.count}"
        argv = [self.runtime, "--root", self.root, "run", "--bundle", bundle, container_id]
        print(f"  $ {shown or ' '.join(shlex.quote(a) for a in argv[:1] + argv[3:])}")
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        for line in (result.stdout + result.stderr).splitlines():
            print(f"    | {line}")
        print(f"    exit status {result.returncode}")
        if check_status is not None and result.returncode != check_status:
            raise SystemExit(f"demo: expected exit status {check_status}, got {result.returncode}")
        return result

    @staticmethod
    def step(number, title, what):
        print(f"\n== {number}. {title}\n   {what}")

    # ------------------------------------------------------------ the steps
    def namespaces(self):
        self.step(1, "A container in its own namespaces",
                  "Its shell is pid 1, the hostname is its own, and it sees only its own processes.")
        # `ps` waits until the background child has become `sleep` (a forked shell shows
        # the shell's own command line until its exec; on a busy machine ps can come first).
        script = ('sleep 30 & until read -r comm < /proc/$!/comm && [ "$comm" = sleep ]; do :; done; '
                  'echo "my pid: $$, hostname: $(hostname)"; echo "the processes I can see:"; '
                  'ps -o pid,args; kill $!')
        self.run(self.bundle(["sh", "-c", script], lambda config: config.update(hostname="demo-box")),
                 check_status=0)

    def memory_limit(self):
        self.step(2, "A memory limit the kernel enforces",
                  "64 MiB for the container; its shell keeps growing a string until the OOM killer "
                  "stops it (exit status 137 = killed by SIGKILL). This demo, outside, is untouched.")
        grow = ('x=; i=0; while :; do x="$x$(head -c 1048576 /dev/zero | tr "\\0" a)"; i=$((i+1)); '
                '[ $((i % 8)) = 0 ] && echo "grown ${i} times"; done')

        def limit(config):
            config["linux"]["resources"] = {"memory": {"limit": 64 << 20, "swap": 64 << 20}}

        self.run(self.bundle(["sh", "-c", grow], limit), check_status=137)
        print(f"   still here: this process (pid {os.getpid()}) is fine.")

    def pids_limit(self):
        self.step(3, "A pids limit that stops a fork bomb",
                  "At most 32 processes: the bomb's forks fail at the limit instead of filling the host's "
                  "process table; the runtime then removes every process it left.")
        bomb = ('cd /sys/fs/cgroup/pids 2>/dev/null || cd /sys/fs/cgroup; '
                'bomb() { bomb | bomb & }; bomb 2>/dev/null; sleep 2; '
                'echo "pids.max: $(cat pids.max);" '
                '"forks refused at the limit: $(grep max pids.events | cut -d\\  -f2)"; '
                'kill -9 -1 2>/dev/null; true')

        def limit(config):
            config["linux"]["resources"] = {"pids": {"limit": 32}}

        self.run(self.bundle(["sh", "-c", bomb], limit))

    def capabilities(self):
        self.step(4, "A capability whitelist",
                  "uid 1000 may not bind a port below 1024; with CAP_NET_BIND_SERVICE (and nothing else) "
                  "it may. Each in its own network namespace.")
        probe = 'id -u; grep CapEff /proc/self/status; nc -l -p 80 -w 1 & sleep 0.3; ' \
                'if kill $! 2>/dev/null; then echo "bound port 80"; else echo "could not bind port 80"; fi'
        for caps in ([], ["CAP_NET_BIND_SERVICE"]):
            def setup(config, caps=caps):
                config["process"]["user"] = {"uid": 1000, "gid": 1000}
                config["process"]["capabilities"] = {name: list(caps) for name in
                                                     ("bounding", "effective", "permitted", "inheritable",
                                                      "ambient")}
            print(f"   capabilities: {caps or 'none'}")
            self.run(self.bundle(["sh", "-c", probe], setup), check_status=0)

    def engines(self):
        self.step(5, "The same runtime under an engine",
                  "podman runs it with --runtime (private storage in this demo's directory); Docker too "
                  "where its daemon is installed.")
        rootfs = os.path.join(self.base, "rootfs")  # a copy: the engines write into the one they run
        shutil.copytree(os.path.join(self.template, "rootfs"), rootfs, symlinks=True)
        if shutil.which("podman") and shutil.which("conmon"):
            storage = os.path.join(self.base, "podman")
            os.makedirs(storage)
            conf = os.path.join(storage, "containers.conf")
            with open(conf, "w") as f:  # podman's defaults may ask more of the host than its root has
                nproc = min(resource.getrlimit(resource.RLIMIT_NPROC)[1], 32768)
                f.write(_PODMAN_CONF.format(nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[1], nproc=nproc,
                                            base=storage))
            argv = ["podman", "--root", f"{storage}/root", "--runroot", f"{storage}/run", "--runtime", self.runtime,
                    "run", "--rm", "--cgroup-parent", f"/{CGROUP_PARENT}", "--rootfs", rootfs,
                    "sh", "-c", "echo hello from podman, pid $$"]
            print(f"  $ podman --runtime {self.runtime} run --rm --rootfs ROOTFS sh -c '...'")
            result = subprocess.run(argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
                                    env=dict(os.environ, CONTAINERS_CONF=conf))
            for line in (result.stdout + result.stderr).splitlines():
                print(f"    | {line}")
        else:
            print("   podman is not installed: skipped")
        if os.access("/usr/sbin/dockerd", os.X_OK) and os.access("/usr/bin/docker", os.X_OK):
            self.docker(rootfs)
        else:
            print("   Docker (docker.io) is not installed: skipped")

    def docker(self, rootfs):
        home = os.path.join(self.base, "docker")
        os.makedirs(os.path.join(home, "cli"))
        env = dict(os.environ, DOCKER_HOST=f"unix://{home}/d.sock", DOCKER_CONFIG=f"{home}/cli")
        with open(os.path.join(home, "daemon.json"), "w") as f:
            json.dump({"deprecated-key-path": f"{home}/key.json"}, f)
        daemon = subprocess.Popen(
            ["/usr/sbin/dockerd", "--config-file", f"{home}/daemon.json", "--host", f"unix://{home}/d.sock",
             "--data-root", f"{home}/root", "--exec-root", f"{home}/exec", "--pidfile", f"{home}/d.pid",
             "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--ip-forward=false", "--bridge=none",
             "--exec-opt", "native.cgroupdriver=cgroupfs", "--cgroup-parent", f"/{CGROUP_PARENT}",
             "--add-runtime", f"ocirt={self.runtime}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        try:
            docker = ["/usr/bin/docker"]
            deadline = time.monotonic() + 30
            while subprocess.run(docker + ["version"], env=env, capture_output=True).returncode != 0:
                if time.monotonic() > deadline or daemon.poll() is not None:
                    print("   dockerd did not start: skipped")
                    return
                time.sleep(0.1)
            tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
            subprocess.run(docker + ["import", "-", "demo-busybox"], env=env, stdin=tar.stdout, capture_output=True)
            tar.wait()
            print("  $ docker run --rm --runtime ocirt demo-busybox sh -c '...'")
            result = subprocess.run(docker + ["run", "--rm", "--runtime", "ocirt", "--network", "none",
                                              "demo-busybox", "sh", "-c", "echo hello from docker, pid $$"],
                                    env=env, capture_output=True, text=True, timeout=120)
            if result.returncode != 0 and not (result.stdout + result.stderr).strip():
                print(f"    docker exited with status {result.returncode}")
            for line in (result.stdout + result.stderr).splitlines():
                print(f"    | {line}")
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()

    # ------------------------------------------------------------ clean-up
    def cleanup(self):
        if os.path.isdir(self.root):
            for container_id in os.listdir(self.root):
                subprocess.run([self.runtime, "--root", self.root, "delete", "--force", container_id],
                               capture_output=True)
        # The engines' storage mounts (podman's overlay home, dockerd's data-root), deepest first.
        with open("/proc/self/mounts") as f:
            mounts = sorted((line.split()[1] for line in f if line.split()[1].startswith(self.base + "/")),
                            reverse=True)
        for mount in mounts:
            subprocess.run(["umount", "-l", mount], capture_output=True)
        for hierarchy in os.listdir("/sys/fs/cgroup"):
            top = os.path.join("/sys/fs/cgroup", hierarchy, CGROUP_PARENT)
            for directory, _dirs, _files in sorted(os.walk(top), key=lambda e: -len(e[0])):
                try:
                    os.rmdir(directory)
                except OSError:
                    pass
        shutil.rmtree(self.base, ignore_errors=True)


def main(template, runtime="oci-runtime"):
    if os.geteuid() != 0:
        raise SystemExit("demo: run it as root (make demo)")
    demo = Demo(template, runtime)
    started = time.monotonic()
    try:
        demo.namespaces()
        demo.memory_limit()
        demo.pids_limit()
        demo.capabilities()
        demo.engines()
    finally:
        demo.cleanup()
    print(f"\nDone in {time.monotonic() - started:.0f} s; nothing of the demo is left "
          f"(state, cgroups /{CGROUP_PARENT}, bundles and engine storage removed).")


if __name__ == "__main__":
    main(*sys.argv[1:3])
