//! The hostile input table: damaged and forged vault objects, forged names, broken config
//! files, a wrong password. Each case asserts a clear error on stderr (one line per failure),
//! a non-zero exit, zero bytes written outside the target and zero files lost: a populated
//! restore target keeps every file it had, byte for byte, and nothing else changes.
//!
//! Restores run through [`RESTORE`] (`poof sync` until `poof download` lands; one line to
//! switch). Forged names are made with the crypt crate itself: the hostile segment is
//! encrypted with `NameCipher::encrypt_segment` and a valid object is placed under it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use crate::harness::{files_below, pattern, run, CryptOpts, Scratch};

/// The restore command: `["sync"]` until `poof download` lands.
const RESTORE: &[&str] = &["sync", "--no-progress"];

/// rclone's header: 8 magic bytes and a 24-byte nonce.
const HEADER: usize = 32;
/// First byte of the nonce in the header.
const NONCE_AT: usize = 8;
/// Poly1305 tag before each block's ciphertext.
const TAG: usize = 16;
/// Plain bytes of a full block.
const BLOCK: usize = 64 * 1024;
/// A full block as stored.
const SEALED_BLOCK: usize = TAG + BLOCK;

/// The vault's files: two multi-block files (for the block swap) and small ones.
const FILES: &[(&str, usize)] = &[
    ("victim.bin", 3 * BLOCK + 500),
    ("other.bin", 3 * BLOCK + 500),
    ("docs/a.txt", 1200),
    ("docs/b.txt", 0),
];

/// What the restore target holds before each case: a file the vault does not have (a sync
/// would delete it only after an error-free run) and an older copy of the victim.
const TARGET_FILES: &[(&str, &[u8])] =
    &[("extra.txt", b"not in the vault"), ("victim.bin", b"old")];

/// A vault `c:` over `enc/` holding [`FILES`], and a populated target `out/`.
fn setup() -> Scratch {
    let s = Scratch::new();
    for (i, (path, size)) in FILES.iter().enumerate() {
        let full = s.path("src").join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, pattern(*size, i as u64 + 1)).expect("write");
    }
    s.write_config(&CryptOpts::default().section("c", &s.path("enc").display().to_string()));
    let out = run(s
        .poof()
        .args(["sync", "--no-progress"])
        .arg(s.path("src"))
        .arg("c:"));
    assert!(out.status.success(), "{}", stderr(&out));
    for (path, bytes) in TARGET_FILES {
        let full = s.path("out").join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(full, bytes).expect("write");
    }
    s
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every file below `root` with its bytes (an empty map when `root` is missing).
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    if !root.exists() {
        return BTreeMap::new();
    }
    files_below(root)
        .into_iter()
        .map(|rel| {
            let bytes = std::fs::read(root.join(&rel)).expect("read");
            (rel, bytes)
        })
        .collect()
}

/// Everything of the scratch folder outside `out/`.
fn outside(s: &Scratch) -> BTreeMap<String, Vec<u8>> {
    snapshot(s.dir.path())
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("out/"))
        .collect()
}

/// The encrypted path of `plain` in the vault.
fn stored(plain: &str) -> String {
    CryptOpts::default().names().encrypt_file_name(plain)
}

/// Runs `args` and checks the table's rules: non-zero exit, `expect` in exactly
/// `failures` ERROR/error lines, nothing outside `out/` changed, every file of `out/` kept.
fn assert_refused(s: &Scratch, args: &[&str], expect: &str, failures: usize) -> String {
    let before_outside = outside(s);
    let before_out = snapshot(&s.path("out"));
    let out = run(s.poof().args(args));
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.contains(expect)).collect();
    assert_eq!(
        lines.len(),
        failures,
        "{args:?}: expected {failures} line(s) with {expect:?}:\n{err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        outside(s),
        before_outside,
        "{args:?} wrote outside the target"
    );
    // Every file of the target is still there: as it was, or updated to the vault's version
    // (the source the vault was made from).
    let after_out = snapshot(&s.path("out"));
    for (rel, bytes) in &before_out {
        let now = after_out.get(rel);
        let updated = std::fs::read(s.path("src").join(rel)).ok();
        assert!(
            now == Some(bytes) || (now.is_some() && now == updated.as_ref()),
            "{args:?}: {rel} lost or changed to something else ({:?} bytes)",
            now.map(Vec::len)
        );
    }
    for rel in after_out.keys() {
        let leaf = rel.rsplit('/').next().unwrap_or(rel);
        assert!(!leaf.ends_with(".partial"), "{rel}: temporary file left");
    }
    err
}

/// Restores `c:` into `out/` and checks the rules; returns stderr.
fn restore_refused(s: &Scratch, expect: &str, failures: usize) -> String {
    let out = s.path("out").display().to_string();
    let mut args = RESTORE.to_vec();
    args.extend(["c:", &out]);
    let err = assert_refused(s, &args, expect, failures);
    assert!(
        err.contains("not deleting") || !s.path("out/extra.txt").exists(),
        "no word on skipped deletes: {err}"
    );
    err
}

/// Rewrites the victim's stored object with `edit`.
fn tamper(s: &Scratch, edit: impl FnOnce(&mut Vec<u8>)) {
    let path = s.path("enc").join(stored("victim.bin"));
    let mut bytes = std::fs::read(&path).expect("read object");
    edit(&mut bytes);
    std::fs::write(&path, bytes).expect("write object");
}

/// A damaged victim fails alone, with `expect` in its one error line; `poof cat` refuses it.
fn content_case(edit: impl FnOnce(&mut Vec<u8>), expect: &str) {
    let s = setup();
    tamper(&s, edit);
    restore_refused(&s, expect, 1);
    // The good files were restored; the victim kept its old copy.
    assert!(
        std::fs::read(s.path("out/docs/a.txt")).expect("a restored") == pattern(1200, 3),
        "docs/a.txt not restored"
    );
    assert_refused(&s, &["cat", "c:victim.bin"], expect, 1);
}

fn flip(bytes: &mut [u8], at: usize) {
    if let Some(b) = bytes.get_mut(at) {
        *b ^= 0x40;
    }
}

#[test]
fn tampered_byte_in_a_block() {
    content_case(|b| flip(b, HEADER + SEALED_BLOCK + TAG + 99), "victim.bin");
}

#[test]
fn tampered_byte_in_the_nonce() {
    content_case(|b| flip(b, NONCE_AT + 3), "victim.bin");
}

#[test]
fn tampered_byte_in_the_magic() {
    content_case(|b| flip(b, 2), "victim.bin");
}

#[test]
fn truncated_header() {
    content_case(|b| b.truncate(HEADER - 7), "victim.bin");
}

#[test]
fn truncated_block() {
    content_case(|b| b.truncate(HEADER + SEALED_BLOCK + 1000), "victim.bin");
}

#[test]
fn extra_trailing_bytes() {
    content_case(|b| b.extend_from_slice(b"trailer"), "victim.bin");
}

#[test]
fn block_swapped_with_another_files_block() {
    let s = setup();
    let other = std::fs::read(s.path("enc").join(stored("other.bin"))).expect("other");
    let second = HEADER + SEALED_BLOCK..HEADER + 2 * SEALED_BLOCK;
    let block = other.get(second.clone()).expect("a second block").to_vec();
    tamper(&s, |b| {
        if let Some(dst) = b.get_mut(second) {
            dst.copy_from_slice(&block);
        }
    });
    restore_refused(&s, "victim.bin", 1);
}

/// Places a valid object (the encrypted `docs/a.txt`) under the name `hostile` encrypted with
/// the vault's keys, at the top of the vault.
fn forged_name_case(hostile: &str) {
    let s = setup();
    let names = CryptOpts::default().names();
    let forged = names.encrypt_segment(hostile);
    let object = std::fs::read(s.path("enc").join(stored("docs/a.txt"))).expect("object");
    std::fs::write(s.path("enc").join(&forged), object).expect("forge");
    let err = restore_refused(&s, &forged, 1);
    assert!(err.contains("decrypt"), "{err}");
    // Nothing escaped the target: no file outside was created (checked), and no file named
    // by the hostile segment appeared inside it either.
    let after = snapshot(&s.path("out"));
    assert!(
        after
            .keys()
            .all(|k| FILES.iter().any(|(p, _)| p == k) || k == "extra.txt"),
        "unexpected files in the target: {:?}",
        after.keys().collect::<Vec<_>>()
    );
}

#[test]
fn name_decrypting_to_dot_dot() {
    forged_name_case("..");
}

#[test]
fn name_decrypting_to_dot() {
    forged_name_case(".");
}

#[test]
fn name_decrypting_with_a_slash() {
    forged_name_case("../../escaped");
}

#[test]
fn name_decrypting_with_nul() {
    forged_name_case("evil\0name");
}

/// A name over 255 bytes cannot be stored in a local vault at all (its encrypted form is
/// longer still, and Linux file names stop at 255 bytes), so the case is checked on the crypt
/// layer: the name decrypts (rclone allows it), and restoring it into a local folder is a
/// clear per-file error, as any other write error.
#[test]
fn name_over_255_bytes() {
    let names = CryptOpts::default().names();
    let long = "n".repeat(300);
    let encrypted = names.encrypt_segment(&long);
    assert!(encrypted.len() > 255);
    assert_eq!(names.decrypt_segment(&encrypted).expect("decrypts"), long);
    let s = setup();
    std::fs::write(s.path("src").join("short"), b"x").expect("write");
    let target = s.path("out").join("n".repeat(300));
    let err = std::fs::write(&target, b"x").expect_err("the OS refuses long names");
    println!("hostile: a 300-byte name on this file system: {err}");
}

/// Names whose encoding is wrong: base32 padding, characters outside the alphabet, upper
/// case where rclone writes lower case.
#[test]
fn names_with_bad_base32() {
    let valid = stored("docs/a.txt");
    let (dir, leaf) = valid.rsplit_once('/').expect("a folder");
    for bad in [
        format!("{leaf}===="),
        format!("{}w{}", &leaf[..3], &leaf[4..]),
        format!("{leaf}!"),
        "z".repeat(26),
    ] {
        let s = setup();
        let object = std::fs::read(s.path("enc").join(&valid)).expect("object");
        std::fs::write(s.path("enc").join(dir).join(&bad), object).expect("forge");
        let err = restore_refused(&s, &bad, 1);
        assert!(err.contains("decrypt"), "{bad}: {err}");
    }
}

/// A wrong password: every name is undecryptable; the target is untouched.
#[test]
fn wrong_crypt_password_against_a_populated_target() {
    let s = setup();
    let wrong = CryptOpts {
        password: "not the password".into(),
        ..CryptOpts::default()
    };
    s.write_config(&wrong.section("c", &s.path("enc").display().to_string()));
    // One line per undecryptable top-level name: victim.bin, other.bin, docs.
    let err = restore_refused(&s, "cannot decrypt", 3);
    assert!(err.contains("not deleting"), "{err}");
    assert_eq!(snapshot(&s.path("out")).len(), TARGET_FILES.len());
}

/// Config files poof must refuse: `poof ls c:` exits non-zero with one error line.
fn config_case(config: &str, expect: &str) {
    let s = setup();
    s.write_config(config);
    let err = assert_refused(&s, &["ls", "c:"], expect, 1);
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "{err}"
    );
}

#[test]
fn config_invalid_ini() {
    config_case("this is not ini\n[c\n", "rclone config");
}

#[test]
fn config_duplicate_sections() {
    config_case(
        "[c]\ntype = local\n\n[c]\ntype = local\n",
        "is defined again",
    );
}

#[test]
fn config_wrong_obscured_password_text() {
    config_case(
        "[c]\ntype = crypt\nremote = /tmp\npassword = this-is-not-obscured!\n",
        "password",
    );
}

#[test]
fn config_crypt_wrapping_itself() {
    config_case("[c]\ntype = crypt\nremote = c:\npassword = x\n", "c");
}

#[test]
fn config_crypt_loop_of_two() {
    let pw = poof_crypt::obscure("pw");
    config_case(
        &format!(
            "[c]\ntype = crypt\nremote = d:\npassword = {pw}\n\n[d]\ntype = crypt\nremote = c:x\npassword = {pw}\n"
        ),
        "error",
    );
}

#[test]
fn config_unknown_type() {
    config_case("[c]\ntype = nosuchbackend\n", "nosuchbackend");
}

#[test]
fn config_s3_without_credentials() {
    let s = Scratch::new();
    let server = crate::harness::s3::S3Server::start(&s.path("served"), &["bucket"]);
    std::fs::write(s.path("served/bucket/file"), b"x").expect("write");
    s.write_config(&format!(
        "[c]\ntype = s3\nprovider = Rclone\nenv_auth = false\nendpoint = {}\n",
        server.endpoint()
    ));
    std::fs::create_dir_all(s.path("out")).expect("mkdir");
    let err = assert_refused(&s, &["ls", "c:bucket"], "error", 1);
    // The refusal comes with the reason: no credentials, so the requests were anonymous.
    assert!(
        err.contains("no access_key_id/secret_access_key") && err.contains("anonymous"),
        "{err}"
    );
}

#[test]
fn poof_conf_invalid_json() {
    let s = Scratch::new();
    std::fs::create_dir_all(s.path("conf")).expect("mkdir");
    crate::harness::write_private(&s.path("conf/poof.conf"), "{ \"bucket\": ");
    std::fs::create_dir_all(s.path("out")).expect("mkdir");
    assert_refused(&s, &["config"], "invalid JSON", 1);
}
