#!/bin/sh
# Instructions per codec operation, beamlink against eetf, counted by callgrind (exact and
# repeatable on a loaded machine, unlike wall-clock timings). Run from the workspace root:
#   sh crates/term/benches/callgrind.sh [N]
# Prints, per corpus item and operation, instructions per operation for each codec and
# eetf/beamlink (the speed-up, >1 means beamlink runs fewer instructions). The
# `encode_chunks` line is beamlink's chunked encoding (large binaries shared, not copied,
# for vectored writes) against eetf's plain encode: a different API, reported apart.
set -eu
N=${1:-200}
cargo bench -p beamlink-term --bench codec_ops --no-run 2>/dev/null
BIN=$(ls -t target/release/deps/codec_ops-* | grep -v '\.d$' | head -1)
ir() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$@" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() {
    base=$(ir "$1" "$2" "$3" 0)
    runs=$(ir "$1" "$2" "$3" "$N")
    echo $(( (runs - base) / N ))
}
printf '%-14s %-13s %12s %12s %8s\n' case op beamlink eetf ratio
for case in control_tuple map_1kib binary_1mib int_list_10k; do
    for op in decode encode encode_chunks; do
        b=$(per_op "$case" "$op" beamlink)
        # encode_chunks is compared with eetf's encode, measured on the line before.
        [ "$op" = encode_chunks ] || e=$(per_op "$case" "$op" eetf)
        printf '%-14s %-13s %12d %12d %8s\n' "$case" "$op" "$b" "$e" \
            "$(awk "BEGIN { printf \"%.2f\", $e / ($b > 0 ? $b : 1) }")"
    done
done
