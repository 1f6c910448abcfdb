#!/usr/bin/env bash
# What keeping a history costs a backup (issue 13): `poof backup` with poof.conf's history on
# (the default policy) against the same backup with `"history": false`, interleaved, on the
# small-file corpus of bench/compare.sh (20,000 files of 1-16 KiB in 200 folders; run
# bench/compare.sh once first to build it). rclone runs beside them as the reference: `rclone
# sync` for the mirror, `rclone sync --backup-dir` for a history.
#
#   W3  re-run the backup with nothing changed
#   W5  re-run it after touching 1% of the files (a new set each pair): with history on, each
#       replaced file first moves into poof-history/<run>/, and the policy runs after the run
#
# Every tool backs up into its own crypt remote over a local folder, seeded once (not timed).
# Prints the median wall time per workload and tool, and the ratio of history on to off.
#
# Usage: bench/history.sh [--pairs N] [--transfers N] [--quick]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/scratch
pairs=5
transfers=4
mode=full
while [ $# -gt 0 ]; do
  case "$1" in
    --pairs) pairs=$2; shift ;;
    --transfers) transfers=$2; shift ;;
    --quick) mode=quick ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
log() { printf '%s\n' "$*" >&2; }

CORPUS=$WORK/corpus-$mode/small
if ! [ -f "$WORK/corpus-$mode/.done" ]; then
  log "no corpus in $WORK/corpus-$mode: run bench/compare.sh$([ $mode = quick ] && echo ' --quick') once first"
  exit 1
fi
RCLONE=${POOF_TEST_RCLONE:-$(scripts/rclone-peer.sh)}
log "building poof (release)"
cargo build --release --quiet --bin poof
POOF=$ROOT/target/release/poof

RUN=$WORK/history-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"/{dst,times,logs}
password=$("$RCLONE" obscure 'poof bench password')
salt=$("$RCLONE" obscure 'poof bench salt')

# One config folder per poof side: its own vault, history on or off.
for side in on off; do
  conf=$RUN/conf-$side
  mkdir -p "$conf"
  cat >"$conf/rclone-poof.conf" <<EOF
[c]
type = crypt
remote = $RUN/dst/poof-$side
password = $password
password2 = $salt
EOF
  history=true
  [ "$side" = off ] && history=false
  cat >"$conf/poof.conf" <<EOF
{"bucket": "bench", "confFile": "$conf/rclone-poof.conf", "remote": "c",
 "paths": {"$CORPUS": "small"}, "history": $history}
EOF
  chmod 600 "$conf"/*
done
RCONF=$RUN/rclone.conf
cat >"$RCONF" <<EOF
[c]
type = crypt
remote = $RUN/dst/rclone
password = $password
password2 = $salt
EOF

# run NAME TOOL: one timed run, "seconds" appended to times/NAME.TOOL.
run() {
  local name=$1 tool=$2 cmd start end
  case "$tool" in
    poof-on|poof-off)
      cmd=("$POOF" --confdir "$RUN/conf-${tool#poof-}" backup --transfers "$transfers" --no-progress) ;;
    rclone-mirror)
      cmd=("$RCLONE" --config "$RCONF" sync "$CORPUS" c:small --transfers "$transfers") ;;
    rclone-backup-dir)
      cmd=("$RCLONE" --config "$RCONF" sync "$CORPUS" c:small --transfers "$transfers"
        --backup-dir "c:poof-history/$(date -u +%Y-%m-%dT%H%M%SZ)-$name/small") ;;
  esac
  start=$(date +%s.%N)
  if ! "${cmd[@]}" >>"$RUN/logs/$name.$tool.log" 2>&1; then
    log "FAILED: ${cmd[*]} (see $RUN/logs/$name.$tool.log)"
    exit 1
  fi
  end=$(date +%s.%N)
  awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}' >>"$RUN/times/$name.$tool"
  log "  $name $tool $(tail -1 "$RUN/times/$name.$tool")"
}

# Touches 1% of the files (a different set for each pair) with a time no earlier run used.
touch_one_percent() {
  python3 - "$CORPUS" "$1" "$(date +%s)" <<'EOF'
import os, sys
root, pair, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
for p in files[pair % 100::100]:
    os.utime(p, (now, now))
EOF
}

log "rclone: $("$RCLONE" version | sed -n 1p); corpus: $CORPUS ($(find "$CORPUS" -type f | wc -l) files); pairs: $pairs"
log "seeding the vaults (not timed)"
for tool in poof-on poof-off rclone-mirror; do run seed "$tool"; done
# The order alternates each pair, so that neither side always runs on a warmer cache.
order() { if [ $(($1 % 2)) = 0 ]; then echo poof-on poof-off; else echo poof-off poof-on; fi; }
for i in $(seq "$pairs"); do
  for tool in $(order "$i") rclone-mirror; do run W3 "$tool"; done
done
for i in $(seq "$pairs"); do
  touch_one_percent "$i"
  # Each side sees the same touched files; rclone takes the --backup-dir path in W5.
  for tool in $(order "$i") rclone-backup-dir; do run W5 "$tool"; done
done

median() { sort -n "$1" | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
{
  echo "poof backup, history on (default policy) vs off; $(find "$CORPUS" -type f | wc -l) files; $pairs pairs; --transfers $transfers"
  echo "machine: $(nproc) cores; $(date -u +%Y-%m-%dT%H:%MZ)"
  printf '%-4s %12s %12s %8s %16s\n' work "on (s)" "off (s)" on/off "rclone (s)"
  for w in W3 W5; do
    on=$(median "$RUN/times/$w.poof-on")
    off=$(median "$RUN/times/$w.poof-off")
    ref=rclone-mirror
    [ "$w" = W5 ] && ref=rclone-backup-dir
    rc=$(median "$RUN/times/$w.$ref")
    printf '%-4s %12s %12s %8s %16s\n' "$w" "$on" "$off" "$(awk -v a="$on" -v b="$off" 'BEGIN {printf "%.3f", a / b}')" "$rc ($ref)"
  done
} | tee "$RUN/report"
log "times and logs in $RUN (the vaults in $RUN/dst are left for inspection; delete them with care: mass deletes slow this disk)"
