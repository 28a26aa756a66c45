#!/usr/bin/env bash
# Times `beamlink ping` and `beamlink rpc NODE erlang node` as whole processes against
# `erl_call -a 'erlang node []'` on the same Erlang node, in one hyperfine run, and prints
# beamlink's time over erl_call's (target: at most 1.0).
#
# Usage: tests/bench/cli_vs_erl_call.sh [RUNS]   (from the repository root; builds the
# shipped binary first with `make release`). The cookie is in a private HOME, never in a process argument.
# BEAMLINK_BEFORE=PATH also times another beamlink binary (e.g. a build of an earlier
# commit) in the same rounds, for a before/after comparison on the same node.
set -euo pipefail

RUNS=${1:-300}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERL_CALL=$(command -v erl_call || echo /usr/lib/erlang/bin/erl_call)
for tool in hyperfine erl epmd "$ERL_CALL"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing (make deps; apt-get install hyperfine)" >&2; exit 2; }
done

# The binary timed is the one beamlink ships (`make release`, as docker/Dockerfile builds
# it: static, not position-independent, fat LTO). BEAMLINK=PATH times an already built binary
# instead, e.g. target/release/beamlink from a plain `cargo build --release`.
if [ -z "${BEAMLINK:-}" ]; then
  (cd "$ROOT" && make -s --no-print-directory release >/dev/null)
  BEAMLINK="${CARGO_TARGET_DIR:-$ROOT/target}/x86_64-unknown-linux-gnu/dist/beamlink"
fi

WORK=$(mktemp -d)
EPMD_PID=""; ERL_PID=""
cleanup() {
  [ -n "$ERL_PID" ] && kill "$ERL_PID" 2>/dev/null || true
  [ -n "$EPMD_PID" ] && kill "$EPMD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

export HOME="$WORK"
head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$HOME/.erlang.cookie"
chmod 400 "$HOME/.erlang.cookie"
unset BEAMLINK_COOKIE RELEASE_COOKIE

# A private EPMD on a free port.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 14369)
export ERL_EPMD_PORT=$PORT
epmd -port "$PORT" >/dev/null 2>&1 &
EPMD_PID=$!

NODE="bench_$$@127.0.0.1"
erl -noshell -noinput -name "$NODE" >/dev/null 2>&1 &
ERL_PID=$!
for _ in $(seq 1 300); do
  "$ERL_CALL" -n "$NODE" -a 'erlang node []' >/dev/null 2>&1 && break
  sleep 0.05
done
"$ERL_CALL" -n "$NODE" -a 'erlang node []' >/dev/null || { echo "bench: $NODE did not start" >&2; exit 1; }
"$BEAMLINK" ping "$NODE" >/dev/null || { echo "bench: beamlink cannot ping $NODE" >&2; exit 1; }
BEFORE=()
if [ -n "${BEAMLINK_BEFORE:-}" ]; then
  "$BEAMLINK_BEFORE" ping "$NODE" >/dev/null || { echo "bench: $BEAMLINK_BEFORE cannot ping $NODE" >&2; exit 1; }
  BEFORE=(-n "before: beamlink rpc" "$BEAMLINK_BEFORE rpc $NODE erlang node"
          -n "before: beamlink ping" "$BEAMLINK_BEFORE ping $NODE")
fi

# The machine's load drifts; hyperfine runs one command after the other. So the three
# commands are timed in ROUNDS short rounds, and each round's ratio compares runs made
# at nearly the same time; the summary is the median over the rounds.
ROUNDS=${ROUNDS:-6}
PER_ROUND=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
for r in $(seq 1 "$ROUNDS"); do
  hyperfine -N --style none --warmup 10 --runs "$PER_ROUND" --export-csv "$WORK/round_$r.csv" \
    -n "erl_call -a 'erlang node []'" "$ERL_CALL -n $NODE -a 'erlang node []'" \
    -n "beamlink rpc NODE erlang node" "$BEAMLINK rpc $NODE erlang node" \
    -n "beamlink ping NODE" "$BEAMLINK ping $NODE" "${BEFORE[@]}"
done

# Each CSV: command,mean,stddev,median,user,system,min,max (seconds).
awk -F, -v rounds="$ROUNDS" -v per="$PER_ROUND" '
  FNR == 1 { r++; i = 0; next }
  { i++; name[i] = $1; med[r, i] = $4; usr[r, i] = $5; sys[r, i] = $6 }
  function median(a, n,   j, k, t) {
    for (j = 2; j <= n; j++) for (k = j; k > 1 && a[k-1] > a[k]; k--) { t = a[k]; a[k] = a[k-1]; a[k-1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "\n%d rounds of %d runs each; times are medians over the rounds\n", rounds, per;
    printf "%-32s %10s %10s %14s   %s\n", "command", "median ms", "cpu ms", "median ratio", "ratio per round";
    for (c = 1; c <= i; c++) {
      split("", m); split("", q); split("", cpu); line = "";
      for (k = 1; k <= r; k++) {
        m[k] = med[k, c]; q[k] = med[k, c] / med[k, 1]; cpu[k] = usr[k, c] + sys[k, c];
        line = line sprintf("%.2f ", q[k]);
      }
      printf "%-32s %10.2f %10.2f %14.2f   %s\n", name[c], median(m, r) * 1000, median(cpu, r) * 1000, median(q, r), line;
    }
    print "ratio = beamlink / erl_call on the same node, same round (target: <= 1.0)";
  }' $(for r in $(seq 1 "$ROUNDS"); do echo "$WORK/round_$r.csv"; done)
