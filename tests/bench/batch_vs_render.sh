#!/bin/sh
# Many short clips through one graph: `stagegraph batch` with --jobs 1 and --jobs 2 against a
# shell loop of `stagegraph render`, wall time of each; every batch output is compared with the
# loop's (they must be identical). Numbers in docs/batch.md ("Measured").
# usage: tests/bench/batch_vs_render.sh build/stagegraph graphs/mastering/streaming.yaml [COUNT [SECONDS]]
set -eu
exe=$(readlink -f "$1")
graph=$(readlink -f "$2")
count=${3:-1000}
seconds=${4:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/stagegraph-batch-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir "$work/in" "$work/loop" "$work/j1" "$work/j2"
i=0
while [ $i -lt "$count" ]; do
  sox -n -r 48000 -c 2 -b 24 "$work/in/$i.wav" synth "$seconds" pinknoise sine $((200 + i)) gain -$((10 + i % 10))
  i=$((i + 1))
done
for job in j1 j2; do
  echo "input,output,graph" >"$work/$job.csv"
  i=0
  while [ $i -lt "$count" ]; do echo "in/$i.wav,$job/$i.wav,$graph" >>"$work/$job.csv"; i=$((i + 1)); done
done
now() { date +%s.%N; }
t0=$(now)
i=0
while [ $i -lt "$count" ]; do "$exe" render "$graph" -i "$work/in/$i.wav" -o "$work/loop/$i.wav" >/dev/null; i=$((i + 1)); done
t1=$(now)
"$exe" batch "$work/j1.csv" --jobs 1 >/dev/null
t2=$(now)
"$exe" batch "$work/j2.csv" --jobs 2 >/dev/null
t3=$(now)
i=0
while [ $i -lt "$count" ]; do
  cmp -s "$work/loop/$i.wav" "$work/j1/$i.wav" && cmp -s "$work/loop/$i.wav" "$work/j2/$i.wav" || { echo "clip $i differs" >&2; exit 1; }
  i=$((i + 1))
done
awk -v n="$count" -v s="$seconds" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
  printf "%d clips of %g s\n", n, s;
  printf "  shell loop of render: %7.2f s  (%.1f ms per clip)\n", b - a, 1000 * (b - a) / n;
  printf "  batch --jobs 1:       %7.2f s  (%.1f ms per clip, %.2fx the loop)\n", c - b, 1000 * (c - b) / n, (b - a) / (c - b);
  printf "  batch --jobs 2:       %7.2f s  (%.1f ms per clip, %.2fx the loop)\n", d - c, 1000 * (d - c) / n, (b - a) / (d - c);
}'
echo "  outputs identical: yes"
