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
# CPU seconds (user + system) as well as wall time: on a busy machine wall time depends on the
# other work, CPU time much less.
cat >"$work/loop.sh" <<LOOP
i=0
while [ \$i -lt $count ]; do "$exe" render "$graph" -i "$work/in/\$i.wav" -o "$work/loop/\$i.wav" >/dev/null; i=\$((i + 1)); done
LOOP
t0=$(now)
/usr/bin/time -f "%U %S" -o "$work/cpu-loop" sh "$work/loop.sh"
t1=$(now)
/usr/bin/time -f "%U %S" -o "$work/cpu-j1" "$exe" batch "$work/j1.csv" --jobs 1 >/dev/null
t2=$(now)
/usr/bin/time -f "%U %S" -o "$work/cpu-j2" "$exe" batch "$work/j2.csv" --jobs 2 >/dev/null
t3=$(now)
cpu() { awk '{printf "%.2f", $1 + $2}' "$work/cpu-$1"; }
i=0
while [ $i -lt "$count" ]; do
  cmp -s "$work/loop/$i.wav" "$work/j1/$i.wav" && cmp -s "$work/loop/$i.wav" "$work/j2/$i.wav" || { echo "clip $i differs" >&2; exit 1; }
  i=$((i + 1))
done
awk -v n="$count" -v s="$seconds" -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" \
    -v ca="$(cpu loop)" -v cb="$(cpu j1)" -v cc="$(cpu j2)" -v cores="$(nproc)" -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
  printf "%d clips of %g s, %d cores, load average %s at the end\n", n, s, cores, load;
  printf "  shell loop of render: %7.2f s wall (%.1f ms per clip), %7.2f s CPU\n", b - a, 1000 * (b - a) / n, ca;
  printf "  batch --jobs 1:       %7.2f s wall (%.1f ms per clip, %.2fx faster), %7.2f s CPU\n", c - b, 1000 * (c - b) / n, (b - a) / (c - b), cb;
  printf "  batch --jobs 2:       %7.2f s wall (%.1f ms per clip, %.2fx faster), %7.2f s CPU\n", d - c, 1000 * (d - c) / n, (b - a) / (d - c), cc;
}'
echo "  outputs identical: yes"
