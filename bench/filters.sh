#!/usr/bin/env bash
# What filter rules cost poof (issue 16): a re-sync of the full corpus's 20,000 small files in
# 200 folders (W3 of bench/compare.sh: nothing changed) through a crypt remote over a local
# folder, without rules and with 20 rules a backup of a home folder would have (none of which
# matches a file of the corpus, so both runs compare the same files and every path is matched
# against every rule), alternately, and the medians side by side.
#
# Usage: bench/filters.sh [--runs N]   (builds poof in release; the corpus comes from
# bench/compare.sh, which makes it on its first full run)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
runs=7
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift ;;
    *) echo "usage: bench/filters.sh [--runs N]" >&2; exit 2 ;;
  esac
  shift
done

CORPUS=$ROOT/bench/scratch/corpus-full/small
if [ ! -d "$CORPUS" ]; then
  echo "no corpus at $CORPUS: run bench/compare.sh once (a full run makes it)" >&2
  exit 1
fi
(cd "$ROOT" && cargo build --release -q)
POOF=$ROOT/target/release/poof
RUN=$(mktemp -d "$ROOT/bench/scratch/filters-XXXXXX")
trap 'rm -rf "$RUN"' EXIT

password=$("$POOF" obscure - <<<'poof bench password')
cat >"$RUN/rclone.conf" <<EOF
[c]
type = crypt
remote = $RUN/vault
password = $password
EOF
chmod 600 "$RUN/rclone.conf"

cat >"$RUN/rules" <<'EOF'
# What a home folder's backup leaves out.
- *.tmp
- *.swp
- *~
- .DS_Store
- Thumbs.db
- node_modules/
- __pycache__/
- *.py[co]
- .cache/
- .venv/
- target/
- build/
- dist/
- .git/objects/
- *.{o,a,so,class}
- *.iso
- /Downloads/**
- **/.Trash-*/**
- *.{{(?i)part|crdownload}}
+ **
EOF

resync=("$POOF" --rcloneconf "$RUN/rclone.conf" sync "$CORPUS" c:bench --no-progress)
"${resync[@]}" >/dev/null 2>&1
# Wall seconds of one re-sync, to the millisecond.
timed() {
  local start end
  start=$(date +%s%N)
  "${resync[@]}" "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  awk -v ns=$((end - start)) 'BEGIN { printf "%.3f\n", ns / 1e9 }'
}
: >"$RUN/plain"
: >"$RUN/filtered"
for _ in $(seq "$runs"); do
  timed >>"$RUN/plain"
  timed --filter-from "$RUN/rules" >>"$RUN/filtered"
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain=$(median "$RUN/plain")
filtered=$(median "$RUN/filtered")
echo "re-sync of 20,000 files, $runs runs each, medians: no rules ${plain} s, 20 rules ${filtered} s"
awk -v p="$plain" -v f="$filtered" 'BEGIN { printf "filtered / plain: %.3f\n", f / p }'
