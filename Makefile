# Gantry developer entry points.  Every target installs what it needs first,
# so `make demo` and `make test` work on a fresh Debian machine as root.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PYTEST_ARGS ?=

# Debian packages the runtime and its tests need (the real peers: runc, crun,
# containerd, podman, docker-registry, skopeo, umoci; busybox for test rootfs).
APT_PACKAGES := busybox docker-registry skopeo umoci runc crun containerd podman \
	containernetworking-plugins iproute2 iptables procps psmisc util-linux kmod \
	libseccomp2 libseccomp-dev gcc libc6-dev python3-dev python3-venv python3-pip \
	ca-certificates openssl apache2-utils fuse-overlayfs uidmap

.PHONY: install apt venv test test-unit fuzz demo proto bench lint clean

install: apt venv

# Install only what is missing; `apt-get update` only when something is.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt-get install:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# the Debian docker-registry package starts a registry on :5000 at install; tests run their own
	@-systemctl disable --now docker-registry >/dev/null 2>&1 || true

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip >/dev/null
	$(PIP) install -q -e '.[dev]'
	@# gantry-oci: replace pip's console script by a lean launcher (python -IS; see lowlevel/launcher.py)
	$(PY) -m gantry.lowlevel.launcher $(VENV)/bin/gantry-oci
	@# ... and its modules byte-compiled now, so no container operation pays for compiling them
	$(PY) -m compileall -q lowlevel >/dev/null
	touch $@

venv: $(VENV)/.installed

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

test-unit: venv
	$(VENV)/bin/pytest tests/unit $(PYTEST_ARGS)

# Fuzzing (tests/fuzz/README.md): every target for SECONDS each (default 60, at most TOTAL
# seconds in all), or one: `make fuzz TARGET=unpack SECONDS=600`.  Crashes: build/fuzz/crashes/.
SECONDS ?= 60
TOTAL ?= 3600
TARGET ?=
fuzz: venv
	$(PY) -m tests.fuzz --seconds $(SECONDS) --total $(TOTAL) $(TARGET)

demo: install
	$(PY) -m tests.demo_stack

# Regenerate the committed protobuf modules (see README: "Generated code").
proto: venv
	$(PY) -m tests.fixtures.protogen proto

bench: install
	$(PY) -m bench

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
