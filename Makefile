# beamlink: build, test, benchmark and fuzz. `make test` is what CI runs.
SHELL := /bin/bash
CARGO ?= cargo
FUZZ_SECONDS ?= 60

.PHONY: all deps build test demo bench fuzz lint clean

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

build:
	$(CARGO) build --workspace --all-targets

test: deps build
	PATH="$$PATH:/usr/lib/erlang/bin" $(CARGO) test --workspace --no-fail-fast

demo: deps
	@echo "make demo arrives with the deploy issue (#8); until then see README.md"; exit 2

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
