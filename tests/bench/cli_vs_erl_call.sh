#!/usr/bin/env bash
# Times `beamlink ping` and `beamlink rpc NODE erlang node` as whole processes against
# `erl_call -a 'erlang node []'` on the same Erlang node, in one hyperfine run, and prints
# beamlink's time over erl_call's (target: at most 1.0).
#
# Usage: tests/bench/cli_vs_erl_call.sh [RUNS]   (from the repository root; builds the
# release binary first). The cookie is in a private HOME, never in a process argument.
set -euo pipefail

RUNS=${1:-300}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ERL_CALL=$(command -v erl_call || echo /usr/lib/erlang/bin/erl_call)
for tool in hyperfine erl epmd "$ERL_CALL"; do
  command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool is missing (make deps; apt-get install hyperfine)" >&2; exit 2; }
done

(cd "$ROOT" && cargo build --release -q -p beamlink-cli)
BEAMLINK="$ROOT/target/release/beamlink"

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

CSV="$WORK/times.csv"
hyperfine -N --warmup 20 --runs "$RUNS" --export-csv "$CSV" \
  -n "erl_call -a 'erlang node []'" "$ERL_CALL -n $NODE -a 'erlang node []'" \
  -n "beamlink rpc NODE erlang node" "$BEAMLINK rpc $NODE erlang node" \
  -n "beamlink ping NODE" "$BEAMLINK ping $NODE"

# command,mean,stddev,median,user,system,min,max (seconds)
awk -F, 'NR > 1 { name[NR] = $1; mean[NR] = $2; median[NR] = $4 }
  END {
    printf "\n%-32s %10s %10s %16s %16s\n", "command", "median ms", "mean ms", "median ratio", "mean ratio";
    for (i = 2; i <= NR; i++)
      printf "%-32s %10.2f %10.2f %16.2f %16.2f\n", name[i], median[i] * 1000, mean[i] * 1000,
        median[i] / median[2], mean[i] / mean[2];
    print "ratio = beamlink / erl_call on the same node (target: <= 1.0)";
  }' "$CSV"
