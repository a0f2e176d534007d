# Two entry points (see README): `make demo` and `make test`.
# Everything is installed by these targets themselves, on a fresh Debian 12.

PYTHON      ?= /usr/bin/python3
VENV        ?= .venv
RUNTIME     := $(VENV)/bin/oci-runtime
BUNDLE      := bundles/build/busybox
DEMO_ROOT   ?= /run/oci-runtime
APT_PACKAGES := busybox-static gcc libc6-dev python3-dev python3-venv python3-pip iproute2 procps

.PHONY: demo test system-deps install test-deps bundle clean

system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

install: system-deps $(VENV)/bin/python
	$(VENV)/bin/pip install -q .

test-deps: install
	$(VENV)/bin/pip install -q '.[test]'

$(BUNDLE)/config.json: bundles/busybox.sh | install
	sh bundles/busybox.sh $(BUNDLE) $(RUNTIME)

bundle: install $(BUNDLE)/config.json

demo: install bundle
	@$(VENV)/bin/python bundles/demo_config.py $(BUNDLE) bundles/build/demo
	$(RUNTIME) --root $(DEMO_ROOT) run --bundle bundles/build/demo demo-$$$$

test: test-deps
	$(VENV)/bin/pytest tests

clean:
	rm -rf build bundles/build *.egg-info
