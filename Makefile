# Two entry points (see README): `make demo` and `make test`.
# Everything is installed by these targets themselves, on a fresh Debian 12.

PYTHON      ?= /usr/bin/python3
VENV        ?= .venv
RUNTIME     := $(VENV)/bin/oci-runtime
BUNDLE      := bundles/build/busybox
APT_PACKAGES := busybox-static gcc libc6-dev libseccomp-dev python3-dev python3-venv python3-pip iproute2 procps \
                podman conmon containerd runc catatonit netavark uidmap fuse-overlayfs bsdutils qemu-system-x86 \
                dbus-daemon

SHARED      ?= $(CURDIR)/../shared
V2VM        := $(SHARED)/recipes/cgroup-v2-vm/v2vm-run.sh
V2_TESTS    ?= tests/test_cgroups.py tests/test_operations.py tests/test_devices_bpf.py tests/test_lifecycle.py \
               tests/reliability/test_fault_matrix.py tests/reliability/test_force_delete.py tests/test_launcher.py \
               tests/security/test_kernel_filesystems.py tests/security/test_host_side_decisions.py tests/test_api.py \
               tests/test_cli_compat.py tests/test_exec.py \
               tests/rootless/test_rootless_runtime.py tests/rootless/test_rootless_security.py \
               tests/rootless/test_rootless_podman.py
SDVM        := $(SHARED)/recipes/systemd-vm/systemd-vm-run.sh
SDVM_CHECK  := $(SHARED)/recipes/systemd-vm/check-systemd-cgroup.sh
SYSTEMD_TESTS ?= tests/test_systemd_cgroup.py tests/rootless/test_rootless_systemd.py
# run again with every command under --systemd-cgroup (OCI_RUNTIME_TEST_SYSTEMD=1, conftest.py)
SYSTEMD_MODE_TESTS ?= tests/reliability/test_fault_matrix.py tests/reliability/test_force_delete.py tests/test_lifecycle.py \
                      tests/engines/test_podman_containerd.py

.PHONY: demo test lint test-v2 test-systemd test-soak validation system-deps install test-deps bundle clean

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@# Docker's engine for tests/engines/test_docker.py (a private dockerd the tests start): without
	@# its recommends (cgroupfs-mount, needrestart...), and never started as a system service.
	@if ! dpkg-query -W -f='$${Status}' docker.io 2>/dev/null | grep -q "install ok installed"; then \
	  echo "installing: docker.io"; made=""; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; \
	    chmod 755 /usr/sbin/policy-rc.d; made=1; fi; \
	  apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io; \
	  status=$$?; [ -n "$$made" ] && rm -f /usr/sbin/policy-rc.d; exit $$status; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: system-deps $(VENV)/bin/python
	$(VENV)/bin/pip install -q .

test-deps: install
	$(VENV)/bin/pip install -q '.[test,lint]'

$(BUNDLE)/config.json: bundles/busybox.sh | install
	sh bundles/busybox.sh $(BUNDLE) $(RUNTIME)

bundle: install $(BUNDLE)/config.json

demo: install bundle
	@$(VENV)/bin/python examples/demo.py $(BUNDLE) $(CURDIR)/$(RUNTIME)

test: test-deps lint
	$(VENV)/bin/pytest tests

# ruff: unused or undefined names, style, likely bugs (pyproject.toml [tool.ruff]);
# mypy: the public API's types (oci_runtime/api.py, docs/api.md).
lint: test-deps
	$(VENV)/bin/ruff check oci_runtime tests benchmarks examples bundles cffi_build setup.py
	$(VENV)/bin/mypy

# The kill soak at full length: 1000 lifecycles, 2 callers, one command of each
# SIGKILLed at a random moment; the host must end exactly as it began (~2 min).
test-soak: test-deps
	OCI_RUNTIME_KILL_SOAK=$${OCI_RUNTIME_KILL_SOAK:-1000} $(VENV)/bin/pytest -p no:cacheprovider -s tests/reliability/test_kill_soak.py

# The cgroup v2 lane: the cgroup test modules inside a throw-away VM booted with a
# pure cgroup v2 hierarchy (software emulation: slow, so only those modules).
test-v2: test-deps
	@if [ ! -x "$(V2VM)" ] && [ ! -f "$(V2VM)" ]; then echo "test-v2: $(V2VM) not found" >&2; exit 1; fi
	V2VM_TIMEOUT=$${V2VM_TIMEOUT:-2400} bash $(V2VM) -c 'cd $(CURDIR) && $(CURDIR)/$(VENV)/bin/pytest -p no:cacheprovider $(V2_TESTS)'

# The systemd lane: the same VM with systemd as PID 1 (../shared/recipes/systemd-vm): the
# systemd cgroup driver's test modules, then the recipe's own checks of a runtime's
# --systemd-cgroup (the 36 that runc 1.1.5 passes) with oci-runtime.
test-systemd: test-deps
	@if [ ! -f "$(SDVM)" ]; then echo "test-systemd: $(SDVM) not found" >&2; exit 1; fi
	V2VM_CPUS=1 V2VM_TIMEOUT=$${V2VM_TIMEOUT:-2400} bash $(SDVM) -c 'cd $(CURDIR) && $(CURDIR)/$(VENV)/bin/pytest -p no:cacheprovider $(SYSTEMD_TESTS) && OCI_RUNTIME_TEST_SYSTEMD=1 $(CURDIR)/$(VENV)/bin/pytest -p no:cacheprovider $(SYSTEMD_MODE_TESTS)'
	V2VM_TIMEOUT=$${V2VM_TIMEOUT:-900} bash $(SDVM_CHECK) $(CURDIR)/$(RUNTIME)

# The opencontainers runtime-tools validation suite (not part of `make test`; see
# docs/validation.md). It builds an unmodified upstream runtime-tools tree (pinned
# commit, with its vendor/ directory) under RTOOLS_GOPATH, extracted from the upstream
# git repository RTOOLS_GIT when missing. Debian's runtime-tools package ships only the
# library half (no validation/, no cmd/runtimetest/).
VALIDATION_APT := golang-go git bc util-linux
VALIDATION_RUNTIMES ?= $(CURDIR)/$(RUNTIME)
RTOOLS_GOPATH ?= /work/rtools-src
RTOOLS_GIT ?=

validation: install
	@missing=""; for p in $(VALIDATION_APT); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	RUNTIMES="$(VALIDATION_RUNTIMES)" RTOOLS_GOPATH="$(RTOOLS_GOPATH)" RTOOLS_GIT="$(RTOOLS_GIT)" \
	  bash tests/runtime_tools/run.sh

clean:
	rm -rf build bundles/build *.egg-info
