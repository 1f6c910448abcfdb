#!/usr/bin/env bash
# poof against rclone on the same work, side by side (issue 5).
#
# Builds deterministic corpora under bench/scratch/ (gitignored), installs the rclone peer as the
# tests do (scripts/rclone-peer.sh, or $POOF_TEST_RCLONE when set), builds poof in release, then
# runs each workload with poof and with rclone alternately (poof, rclone, poof, rclone, ...)
# through a crypt remote over a local folder, or with --backend over a server on 127.0.0.1
# (the servers the tests use, storing in the run's folder):
#   --backend s3         rclone serve s3 (--s3 is the same)
#   --backend sftp       rclone serve sftp, password login
#   --backend webdav     rclone serve webdav (vendor rclone: modification times kept)
#   --backend azureblob  Azurite (scripts/test.sh installs it into target/azurite)
#   --backend gcs        fake-gcs-server (scripts/test.sh installs it into target/gcs-venv)
# --scale N runs W2, W3 and W5 only, on a tree of N tiny files (0-100 bytes, 100 per folder):
# what grows with the number of files (listings, plans, memory), not with bytes.
# --latency-ms N puts bench/delay-proxy.py between both tools and the server: N ms more each
# way (a round trip 2N ms longer, as to a store in a nearby region), no bandwidth cap.
# Only the client is measured: the server's time is in both tools' wall time, its memory in
# neither's peak RSS.
#
#   W1  encrypt-upload one large random file (1 GiB; 64 MiB with --quick); `cp` of the file
#       runs in each pair too, as the floor that writing a new file sets on this disk
#   W2  encrypt-upload many small files (20,000 of 1-16 KiB in 200 folders; 2,000 in 20);
#       `cp -r` of the folder runs in each pair too, as the floor
#   W3  re-sync W2 with nothing changed
#   W5  re-sync W2 after touching 1% of the files (a new set of files each pair)
#   W4  download + decrypt everything (W1 + W2 corpora, encrypted once by rclone) into an
#       empty folder
#   W6  encrypt-upload a mixed tree (~2 GiB; 200 MiB with --quick): nine files in ten of
#       1 KiB - 1 MiB, one in ten of 1 - 64 MiB, in nested folders
#
# and prints per workload the median wall time, MB/s or files/s, the median peak RSS
# (/usr/bin/time -v) and the ratios. Both tools get the same flags (--transfers N), no progress
# and no verbose output.
#
# The disk of the machines this was written on is ext4 without a journal: creating files is up
# to 20x slower for minutes after a mass delete. So nothing is deleted before or between timed
# runs: every run writes to a fresh destination, results of an earlier invocation are renamed
# into bench/scratch/trash/ at the start, and the trash is deleted only once all runs are done.
# A run that starts less than 7 minutes after the previous one deleted its copies waits first.
#
# The outputs of W1 and W6 (few, large files) are deleted as soon as their workload is done,
# which keeps a full run near 20 GB of disk; that deletes few inodes, so file creation does
# not slow down afterwards.
#
# Usage: bench/compare.sh [--quick] [--pairs N] [--transfers N] [--backend TYPE] [--keep]
#                         [--only W1,W4] [--latency-ms N] [--scale N]
#        bench/compare.sh --report bench/scratch/run-...   (the table of a kept run again)
# --keep keeps bench/scratch/run-*/ (times, facts and logs, not the copies) for --report.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$ROOT/bench/scratch

quick=0
pairs=3
transfers=4
backend_type=local
keep=0
only=W1,W2,W3,W4,W5,W6
report_only=
latency_ms=0
scale=0
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --pairs) pairs=$2; shift ;;
    --transfers) transfers=$2; shift ;;
    --s3) backend_type=s3 ;;
    --backend) backend_type=$2; shift ;;
    --keep) keep=1 ;;
    --only) only=$2; shift ;;
    --report) report_only=$2; shift ;;
    --latency-ms) latency_ms=$2; shift ;;
    --scale) scale=$2; shift ;;
    -h|--help) sed -n '2,49p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

small_min=1024; small_max=16384
if [ "$scale" -gt 0 ]; then
  big_mib=0; small_files=$scale; small_dirs=$(((scale + 99) / 100)); mixed_mib=0
  small_min=0; small_max=100; mode=scale-$scale
  only=$(printf '%s' "$only" | tr ',' '\n' | grep -E '^W[235]$' | paste -sd, -)
  [ -n "$only" ] || only=W2,W3,W5
elif [ "$quick" = 1 ]; then
  big_mib=64; small_files=2000; small_dirs=20; mixed_mib=200; mode=quick
else
  big_mib=1024; small_files=20000; small_dirs=200; mixed_mib=2048; mode=full
fi
# wanted W: true when workload W is among --only.
wanted() { case ",$only," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

log() { printf '%s\n' "$*" >&2; }

# report RUN: prints the table of a run from its times/ and facts (also: --report RUN).
report() {
  local run=$1
  # shellcheck disable=SC1091
  . "$run/facts"
  echo
  echo "poof vs rclone: $backend; $mode corpus; $pairs pairs; --transfers $transfers"
  echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "rclone: $rclone_version"
  python3 - "$run/times" "$big_bytes" "$small_bytes" "$small_files" "$mixed_bytes" "$mixed_files" <<'EOF'
import os, statistics, sys
times, big, small, files = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
mixed, mixed_files = int(sys.argv[5]), int(sys.argv[6])
rate = {
    "W1": ("MB/s", big),
    "W2": ("files/s", files),
    "W3": ("files/s", files),
    "W4": ("MB/s", big + small),
    "W5": ("files/s", files),
    "W6": ("MB/s", mixed),
}
what = {
    "W1": "encrypt-upload 1 large file",
    "W2": "encrypt-upload %d small files" % files,
    "W3": "re-sync, nothing changed",
    "W4": "download + decrypt all",
    "W5": "re-sync, 1% touched",
    "W6": "encrypt-upload mixed, %d files" % mixed_files,
}
def load(name, tool):
    rows = [l.split() for l in open(os.path.join(times, "%s.%s" % (name, tool)))]
    return statistics.median(float(r[0]) for r in rows), statistics.median(int(r[1]) for r in rows) / 1024
print()
print("%-4s %-32s %9s %9s %12s %12s %9s %9s %8s %8s" % (
    "", "workload", "poof s", "rclone s", "poof rate", "rclone rate",
    "poof MiB", "rclone MiB", "speedup", "RSS p/r"))
for name in ["W1", "W2", "W3", "W4", "W5", "W6"]:
    if not os.path.exists(os.path.join(times, "%s.poof" % name)):
        continue
    (ps, pr), (rs, rr) = load(name, "poof"), load(name, "rclone")
    unit, amount = rate[name]
    scale = 1e6 if unit == "MB/s" else 1
    print("%-4s %-32s %9.3f %9.3f %12s %12s %9.1f %9.1f %7.2fx %8.2f" % (
        name, what[name], ps, rs,
        "%.0f %s" % (amount / scale / ps, unit), "%.0f %s" % (amount / scale / rs, unit),
        pr, rr, rs / ps, pr / rr))
print()
print("seconds and peak RSS are medians; speedup = rclone time / poof time; RSS p/r = poof / rclone")
floors = {"W1": "cp of the file into a new file", "W2": "cp -r of the files, times kept"}
for name in ["W1", "W2"]:
    if os.path.exists(os.path.join(times, "%s.cp" % name)):
        (cs, _), (ps, _), (rs, _) = load(name, "cp"), load(name, "poof"), load(name, "rclone")
        print("%s floor: %s takes %.3f s; poof %.2fx, rclone %.2fx that time" % (
            name, floors[name], cs, ps / cs, rs / cs))
EOF
}

if [ -n "$report_only" ]; then
  report "$report_only"
  exit 0
fi

# --- tools --------------------------------------------------------------------------------
if ! [ -x /usr/bin/time ]; then
  log "installing GNU time"
  apt-get install -y time >/dev/null
fi
if [ -n "${POOF_TEST_RCLONE:-}" ]; then
  RCLONE=$POOF_TEST_RCLONE
else
  RCLONE=$(scripts/rclone-peer.sh)
fi
log "building poof (release)"
cargo build --release --quiet --bin poof
POOF=$ROOT/target/release/poof

# --- corpora (deterministic; rebuilt only when missing) -----------------------------------
CORPUS=$WORK/corpus-$mode
if ! [ -f "$CORPUS/.done" ]; then
  log "building the $mode corpus in $CORPUS"
  rm -rf "$CORPUS"
  python3 - "$CORPUS" "$big_mib" "$small_files" "$small_dirs" "$small_min" "$small_max" <<'EOF'
import os, random, sys
root, big_mib, n_files, n_dirs, lo, hi = sys.argv[1], *map(int, sys.argv[2:])
epoch = 1_700_000_000
big = os.path.join(root, "big")
os.makedirs(big)
rng = random.Random(1)
with open(os.path.join(big, "big.bin"), "wb") as f:
    for _ in range(big_mib // 4):
        f.write(rng.randbytes(4 << 20))
os.utime(os.path.join(big, "big.bin"), (epoch, epoch))
rng = random.Random(2)
small = os.path.join(root, "small")
for i in range(n_files):
    d = os.path.join(small, "d%03d" % (i % n_dirs))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%05d.bin" % i)
    with open(p, "wb") as f:
        f.write(rng.randbytes(rng.randint(lo, hi)))
    os.utime(p, (epoch + i, epoch + i))
EOF
  touch "$CORPUS/.done"
fi
# The mixed tree (W6), built apart so that corpora made before W6 existed gain it.
if [ "$mixed_mib" -gt 0 ] && ! [ -f "$CORPUS/.mixed-done" ]; then
  log "building the mixed tree in $CORPUS/mixed"
  rm -rf "$CORPUS/mixed"
  python3 - "$CORPUS/mixed" "$mixed_mib" <<'EOF'
import math, os, random, sys
mixed, mixed_mib = sys.argv[1], int(sys.argv[2])
epoch = 1_700_000_000
rng = random.Random(3)
total, i = 0, 0
while total < mixed_mib << 20:
    # Nine files in ten of 1 KiB - 1 MiB, one in ten of 1 - 64 MiB (log-uniform within each).
    low, high = (1 << 10, 1 << 20) if rng.random() < 0.9 else (1 << 20, 64 << 20)
    size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    d = os.path.join(mixed, "m%02d" % (i % 16), "n%d" % (i % 5))
    os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "file%05d.dat" % i)
    with open(p, "wb") as f:
        left = size
        while left > 0:
            f.write(rng.randbytes(min(left, 4 << 20)))
            left -= 4 << 20
    os.utime(p, (epoch + i, epoch + i))
    total, i = total + size, i + 1
EOF
  touch "$CORPUS/.mixed-done"
fi
big_bytes=$(stat -c %s "$CORPUS/big/big.bin")
small_bytes=$(find "$CORPUS/small" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}')
mkdir -p "$CORPUS/mixed"
mixed_bytes=$(find "$CORPUS/mixed" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}')
mixed_files=$(find "$CORPUS/mixed" -type f | wc -l)

# --- a mass delete slows file creation for minutes: wait until the last one is old enough --
# (each invocation ends by deleting its copies, and stamps the time in $WORK/.last-delete)
settle=420
if [ -f "$WORK/.last-delete" ]; then
  age=$(($(date +%s) - $(stat -c %Y "$WORK/.last-delete")))
  if [ "$age" -lt "$settle" ]; then
    log "the last run deleted its copies ${age}s ago: waiting $((settle - age))s for the disk to settle"
    sleep $((settle - age))
  fi
fi

# --- results of earlier invocations go aside, deleted at the very end ---------------------
TRASH=$WORK/trash
mkdir -p "$TRASH"
for old in "$WORK"/run-*; do
  [ -e "$old" ] && mv "$old" "$TRASH/"
done
RUN=$WORK/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"/{dst,out,times,logs}

# --- remotes ------------------------------------------------------------------------------
CONF=$RUN/rclone.conf
password=$("$RCLONE" obscure 'poof bench password')
salt=$("$RCLONE" obscure 'poof bench salt')
server_pid=
proxy_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ -n "$proxy_pid" ]; then kill "$proxy_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
# free_port: a loopback port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# serve NAME PORT CMD...: starts a server in the background, logging to logs/serve-NAME.log,
# and waits until it accepts connections.
serve() {
  local name=$1 port=$2
  shift 2
  "$@" >"$RUN/logs/serve-$name.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  log "the $name server did not start (see $RUN/logs/serve-$name.log)"
  exit 1
}
BENCH_USER=bench
BENCH_PASS=benchsecret0123456789
port=$(free_port)
# The port the tools connect to: the server's, or with --latency-ms the delay proxy's.
cport=$port
if [ "$latency_ms" -gt 0 ]; then
  if [ "$backend_type" = local ]; then
    log "--latency-ms needs a --backend with a server"
    exit 2
  fi
  cport=$(free_port)
  python3 "$ROOT/bench/delay-proxy.py" "$cport" "$port" "$latency_ms" \
    >"$RUN/logs/delay-proxy.log" 2>&1 &
  proxy_pid=$!
fi
case "$backend_type" in
  local)
    inner="$RUN/dst"
    backend="crypt over a local folder"
    ;;
  s3)
    mkdir -p "$RUN/dst/bench"
    serve s3 "$port" "$RCLONE" serve s3 --config /dev/null --addr "127.0.0.1:$port" \
      --auth-key "BENCHACCESS,$BENCH_PASS" "$RUN/dst"
    inner="s3:bench"
    backend="crypt over S3 (rclone serve s3 on 127.0.0.1:$port)"
    cat >"$CONF" <<EOF
[s3]
type = s3
provider = Rclone
access_key_id = BENCHACCESS
secret_access_key = $BENCH_PASS
endpoint = http://127.0.0.1:$cport

EOF
    ;;
  sftp)
    serve sftp "$port" "$RCLONE" serve sftp --config /dev/null --addr "127.0.0.1:$port" \
      --user "$BENCH_USER" --pass "$BENCH_PASS" "$RUN/dst"
    inner="sftp:bench"
    backend="crypt over SFTP (rclone serve sftp on 127.0.0.1:$port)"
    cat >"$CONF" <<EOF
[sftp]
type = sftp
host = 127.0.0.1
port = $cport
user = $BENCH_USER
pass = $("$RCLONE" obscure "$BENCH_PASS")

EOF
    ;;
  webdav)
    serve webdav "$port" "$RCLONE" serve webdav --config /dev/null --addr "127.0.0.1:$port" \
      --user "$BENCH_USER" --pass "$BENCH_PASS" "$RUN/dst"
    inner="dav:bench"
    backend="crypt over WebDAV (rclone serve webdav on 127.0.0.1:$port)"
    cat >"$CONF" <<EOF
[dav]
type = webdav
url = http://127.0.0.1:$cport/
vendor = rclone
user = $BENCH_USER
pass = $("$RCLONE" obscure "$BENCH_PASS")

EOF
    ;;
  azureblob)
    azurite=$ROOT/target/azurite/node_modules/.bin/azurite-blob
    [ -x "$azurite" ] || { log "Azurite is missing: run scripts/test.sh (npm install azurite)"; exit 1; }
    serve azurite "$port" "$azurite" --blobHost 127.0.0.1 --blobPort "$port" \
      --location "$RUN/dst" --disableTelemetry --skipApiVersionCheck --loose --silent
    inner="az:bench"
    backend="crypt over Azure Blob (Azurite on 127.0.0.1:$port)"
    cat >"$CONF" <<EOF
[az]
type = azureblob
account = devstoreaccount1
key = Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==
endpoint = http://127.0.0.1:$cport/devstoreaccount1

EOF
    "$RCLONE" --config "$CONF" mkdir az:bench
    ;;
  gcs)
    gcs=$ROOT/target/gcs-venv/bin/fake-gcs-server
    [ -x "$gcs" ] || { log "fake-gcs-server is missing: run scripts/test.sh"; exit 1; }
    serve gcs "$port" "$gcs" -scheme http -host 127.0.0.1 -port "$port" -log-level error \
      -backend filesystem -filesystem-root "$RUN/dst"
    inner="gcs:bench"
    backend="crypt over GCS (fake-gcs-server on 127.0.0.1:$port)"
    cat >"$CONF" <<EOF
[gcs]
type = google cloud storage
anonymous = true
project_number = 1
endpoint = http://127.0.0.1:$cport/storage/v1/

EOF
    "$RCLONE" --config "$CONF" mkdir gcs:bench
    ;;
  *) log "unknown backend: $backend_type (local, s3, sftp, webdav, azureblob, gcs)"; exit 2 ;;
esac
if [ "$latency_ms" -gt 0 ]; then
  backend="$backend, $latency_ms ms each way (bench/delay-proxy.py)"
fi
cat >"$RUN/facts" <<EOF
backend='$backend'
mode=$mode
pairs=$pairs
transfers=$transfers
big_bytes=$big_bytes
small_bytes=$small_bytes
small_files=$small_files
mixed_bytes=$mixed_bytes
mixed_files=$mixed_files
rclone_version='$("$RCLONE" version | sed -n 1p)'
EOF
cat >>"$CONF" <<EOF
[c]
type = crypt
remote = $inner
password = $password
password2 = $salt
EOF

# --- running and measuring ----------------------------------------------------------------
# run NAME TOOL ARGS...: runs one timed command, appends "seconds rss_kib" to times/NAME.TOOL.
run() {
  local name=$1 tool=$2
  shift 2
  local cmd
  if [ "$tool" = poof ]; then
    cmd=("$POOF" --rcloneconf "$CONF" "$@" --transfers "$transfers" --no-progress)
  elif [ "$tool" = cp ]; then
    cmd=(cp "$@")
  else
    cmd=("$RCLONE" --config "$CONF" "$@" --transfers "$transfers")
  fi
  local tfile=$RUN/times/last.time start end
  start=$(date +%s.%N)
  if ! /usr/bin/time -v -o "$tfile" "${cmd[@]}" >>"$RUN/logs/$name.$tool.log" 2>&1; then
    log "FAILED: ${cmd[*]} (see $RUN/logs/$name.$tool.log)"
    exit 1
  fi
  end=$(date +%s.%N)
  local rss
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tfile")
  echo "$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}') $rss" >>"$RUN/times/$name.$tool"
  log "  $name $tool $(tail -1 "$RUN/times/$name.$tool")"
}

# Touches 1% of the small files (a different set for each pair) with a new modification time.
touch_one_percent() {
  local pair=$1
  python3 - "$CORPUS/small" "$small_files" "$small_dirs" "$pair" <<'EOF'
import os, sys
root, n, dirs, pair = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
t = 1_800_000_000 + pair
step = 100
for i in range(pair % step, n, step):
    p = os.path.join(root, "d%03d" % (i % dirs), "f%05d.bin" % i)
    os.utime(p, (t, t))
EOF
}

# drop_outputs W: deletes the encrypted outputs of a large-file workload (few inodes). Their
# names are encrypted, so they are found through the crypt remote.
drop_outputs() {
  local i tool
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do
      "$RCLONE" --config "$CONF" purge "c:$1-$tool-$i" >/dev/null 2>&1 || true
    done
  done
}

log "rclone: $("$RCLONE" version | sed -n 1p); poof: $("$POOF" version 2>/dev/null | sed -n 1p || true)"
log "backend: $backend; corpus: $mode; pairs: $pairs; transfers: $transfers"

# W4's source: the W1 and W2 corpora encrypted once by rclone (not timed).
if wanted W4; then
  log "preparing the W4 source"
  "$RCLONE" --config "$CONF" copy "$CORPUS" c:all --exclude '.*done' --exclude 'mixed/**' \
    --transfers "$transfers"
fi

if wanted W1; then
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do run W1 "$tool" sync "$CORPUS/big" "c:w1-$tool-$i"; done
    # The floor of W1 on this disk: a plain copy of the file into a new file, no encryption.
    run W1 cp "$CORPUS/big/big.bin" "$RUN/out/w1-cp-$i.bin"
  done
  drop_outputs w1
  rm -f "$RUN"/out/w1-cp-*.bin
fi
if wanted W2 || wanted W3 || wanted W5; then
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do run W2 "$tool" sync "$CORPUS/small" "c:w2-$tool-$i"; done
    # The floor of W2: a plain recursive copy with times kept, no encryption, no temp names.
    run W2 cp -r --preserve=timestamps "$CORPUS/small" "$RUN/out/w2-cp-$i"
  done
fi
if wanted W3; then
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do run W3 "$tool" sync "$CORPUS/small" "c:w2-$tool-1"; done
  done
fi
if wanted W5; then
  for i in $(seq "$pairs"); do
    touch_one_percent "$i"
    for tool in poof rclone; do run W5 "$tool" sync "$CORPUS/small" "c:w2-$tool-1"; done
  done
fi
if wanted W4; then
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do run W4 "$tool" sync c:all "$RUN/out/w4-$tool-$i"; done
  done
fi
if wanted W6; then
  for i in $(seq "$pairs"); do
    for tool in poof rclone; do run W6 "$tool" sync "$CORPUS/mixed" "c:w6-$tool-$i"; done
  done
  drop_outputs w6
fi
# Put the corpus back as it was built.
python3 - "$CORPUS/small" "$small_files" "$small_dirs" <<'EOF'
import os, sys
root, n, dirs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    p = os.path.join(root, "d%03d" % (i % dirs), "f%05d.bin" % i)
    os.utime(p, (1_700_000_000 + i, 1_700_000_000 + i))
EOF

# --- report -------------------------------------------------------------------------------
report "$RUN"

# --- the trash goes last ------------------------------------------------------------------
cleanup
server_pid=
# --keep keeps the run's times, facts and logs (for --report), not its copies: two full runs
# of copies do not fit on the machines this was written on.
mv "$RUN/dst" "$RUN/out" "$TRASH/"
if [ "$keep" = 0 ]; then
  mv "$RUN" "$TRASH/"
fi
rm -rf "$TRASH"
touch "$WORK/.last-delete"
