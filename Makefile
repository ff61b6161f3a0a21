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
	ca-certificates openssl apache2-utils fuse-overlayfs uidmap strace

# where `make install` links the four programs, and gantryd's root (checked before `make demo`)
BINDIR ?= /usr/local/bin
GANTRY_ROOT ?= /var/lib/gantry
PROGRAMS := gantryd gantryctl gantry-shim gantry-oci

.PHONY: install deps apt venv links install-service fscheck-demo fscheck-test test test-unit fuzz demo proto \
	bench lint clean

install: deps links

deps: apt venv

# Install only what is missing; `apt-get update` only when something is.  apt's own lines show
# its progress (a fresh machine takes a few minutes here).
apt:
	@set -o pipefail; missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "== apt-get install ($$(echo $$missing | wc -w) packages, a few minutes):" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			-o Dpkg::Use-Pty=0 $$missing | grep --line-buffered -E '^(Get:|Setting up|E:|W:)' || \
			{ echo "apt-get install failed (see above)"; exit 1; }; \
		echo "== apt-get: done"; \
	fi
	@# the Debian docker-registry package starts a registry on :5000 at install; tests run their own
	@-systemctl disable --now docker-registry >/dev/null 2>&1 || true

$(VENV)/.installed: pyproject.toml
	@echo "== pip: a virtualenv in $(VENV) with gantry installed in editable mode"
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip >/dev/null
	$(PIP) install -q --progress-bar off -e '.[dev]'
	@# gantry-oci: replace pip's console script by a lean launcher (python -IS; see lowlevel/launcher.py)
	$(PY) -m gantry.lowlevel.launcher $(VENV)/bin/gantry-oci
	@# ... and its modules byte-compiled now, so no container operation pays for compiling them
	$(PY) -m compileall -q lowlevel >/dev/null
	touch $@

venv: $(VENV)/.installed

# gantryd, gantryctl, gantry-shim, gantry-oci on PATH: symlinks into the virtualenv
links: venv
	@for p in $(PROGRAMS); do ln -sfn $(abspath $(VENV))/bin/$$p $(BINDIR)/$$p; done
	@echo "== on PATH: $(foreach p,$(PROGRAMS),$(BINDIR)/$(p)) -> $(abspath $(VENV))/bin/"

# gantryd as a systemd service (the unit is `gantryd --print-systemd-unit`; KillMode=process)
install-service: install
	@if [ -d /run/systemd/system ]; then \
		$(BINDIR)/gantryd --print-systemd-unit > /etc/systemd/system/gantryd.service && \
		systemctl daemon-reload && systemctl enable --now gantryd && \
		echo "== gantryd.service enabled and started (systemctl status gantryd; journalctl -u gantryd)"; \
	else echo "systemd is not running here: start gantryd yourself (make demo daemonises it)"; exit 1; fi

# filesystems, before anything is installed: overlay upper dirs cannot live on an overlayfs
fscheck-demo:
	@python3 highlevel/fscheck.py root=$(GANTRY_ROOT)
fscheck-test:
	@python3 highlevel/fscheck.py "tmp=$${TMPDIR:-/tmp}=TMPDIR=DIR"

test: fscheck-test deps
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

# the README's main job: gantryd as a service, an image, containers through CRI (tests/demo_stack.py)
demo: fscheck-demo install
	$(PY) -m tests.demo_stack

# Regenerate the committed protobuf modules (see README: "Generated code").
proto: venv
	$(PY) -m tests.fixtures.protogen proto

bench: deps
	$(PY) -m bench

lint: venv
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info
