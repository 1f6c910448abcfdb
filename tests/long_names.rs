//! Names too long for the destination: a name whose encrypted form is longer than a disk's 255
//! bytes, or a path whose encrypted key is longer than an object store's 1,024, is reported
//! before anything is sent, once (a folder for everything below it), with the
//! `filename_encoding` that would hold it when one does; the rest of the folder is copied,
//! nothing is deleted, and the run exits 1. What the message promises, rclone confirms: the
//! encoding it names holds the name, and rclone lists it.

use std::path::Path;
use std::process::Output;

use crate::harness::azurite::Azurite;
use crate::harness::home::{populate, Home};
use crate::harness::s3::S3Server;
use crate::harness::{files_below, lines_starting, run, run_ok, CryptOpts, Scratch};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `poof sync SRC DST` without progress.
fn poof_sync(s: &Scratch, src: &Path, dst: &str) -> Output {
    run(s.poof().args(["sync", "--no-progress"]).arg(src).arg(dst))
}

/// What `rclone lsf -R` lists of `remote`, sorted.
fn rclone_lsf(s: &Scratch, remote: &str) -> Vec<String> {
    let listed = run_ok(s.rclone().args(["lsf", "-R", remote]));
    let mut names: Vec<String> = listed.lines().map(str::to_owned).collect();
    names.sort();
    names
}

/// Crypt options with another `filename_encoding`.
fn encoded(encoding: &'static str) -> CryptOpts {
    CryptOpts {
        filename_encoding: encoding,
        ..CryptOpts::default()
    }
}

/// The length in bytes of the encrypted name of `segment` with `opts`, from the crypt crate.
fn encrypted_len(opts: &CryptOpts, segment: &str) -> usize {
    opts.names().encrypt_segment(segment).len()
}

/// The `ERROR :` line the run prints for `name`, too long on a local disk in base32 (names
/// of up to 143 bytes fit there), with the hint when base64 holds it.
fn too_long_line(name: &str) -> String {
    let base32 = encrypted_len(&CryptOpts::default(), name);
    let mut line = format!(
        "ERROR : {name}: name too long for the destination (encrypted name of {base32} bytes, limit 255); names of up to 143 bytes fit"
    );
    if encrypted_len(&encoded("base64"), name) <= 255 {
        line += "; a new crypt remote with filename_encoding = base64 would hold it";
    }
    line
}

#[test]
fn names_too_long_once_encrypted_are_reported_before_anything_is_sent() {
    let s = Scratch::new();
    let enc = s.path("enc").display().to_string();
    let enc64 = s.path("enc64").display().to_string();
    s.write_config(&format!(
        "{}{}",
        CryptOpts::default().section("c", &enc),
        encoded("base64").section("d", &enc64)
    ));
    let src = s.path("src");
    populate(
        &src,
        &[
            ("a.txt", b"a".to_vec()),
            ("sub/b.txt", b"b".to_vec()),
            ("extra.txt", b"only on the destination next time".to_vec()),
        ],
    );
    let out = poof_sync(&s, &src, "c:");
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::remove_file(src.join("extra.txt")).unwrap();
    // 200 bytes: too long in every encoding (333 bytes of base32, 278 of base64); 160 and a
    // folder of 150: too long in base32 (282, 256), not in base64.
    let (long, mid, dir) = ("l".repeat(200), "m".repeat(160), "d".repeat(150));
    populate(
        &src,
        &[
            (long.as_str(), b"long".to_vec()),
            (mid.as_str(), b"mid".to_vec()),
            (&format!("{dir}/x"), b"x".to_vec()),
            (&format!("{dir}/deeper/y"), b"y".to_vec()),
            ("sub/c.txt", b"c".to_vec()),
        ],
    );
    let out = poof_sync(&s, &src, "c:");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Each once, the folder for what is below it, before any copy; nothing was attempted.
    assert_eq!(
        lines_starting(&err, "ERROR :"),
        [
            too_long_line(&dir),
            too_long_line(&long),
            too_long_line(&mid),
            "ERROR : not deleting 1 files because there were errors".to_owned(),
        ],
        "{err}"
    );
    assert!(err.contains("base64 would hold it"), "{err}");
    assert!(!err.contains("File name too long"), "{err}");
    // The rest was copied; the file only on the destination stays.
    assert_eq!(
        rclone_lsf(&s, "c:"),
        ["a.txt", "extra.txt", "sub/", "sub/b.txt", "sub/c.txt"]
    );
    // The encoding the hint names holds them (rclone lists them), but the longest.
    let out = poof_sync(&s, &src, "d:");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let errors = lines_starting(&err, "ERROR :");
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].starts_with(&format!("ERROR : {long}: name too long for the destination (encrypted name of {} bytes, limit 255); names of up to 175 bytes fit", encrypted_len(&encoded("base64"), &long))),
        "{err}"
    );
    let listed = rclone_lsf(&s, "d:");
    for path in [mid.clone(), format!("{dir}/x"), format!("{dir}/deeper/y")] {
        assert!(listed.contains(&path), "{path} not in {listed:?}");
    }
    assert!(!listed.contains(&long));
    // A dry run reports the same, and nothing else changes.
    let out = run(s
        .poof()
        .args(["sync", "--no-progress", "--dry-run"])
        .arg(&src)
        .arg("c:"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&too_long_line(&long)), "{err}");
    assert!(!err.contains(&format!("{long}: Skipped copy")), "{err}");
}

#[test]
fn backup_reports_a_name_too_long_and_backs_up_the_rest() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    let long = "l".repeat(200);
    populate(
        &docs,
        &[("a.txt", b"a".to_vec()), (long.as_str(), b"long".to_vec())],
    );
    h.add_path(&docs, "docs");
    let out = run(h.poof().arg("backup"));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "{long}: name too long for the destination (encrypted name of"
        )),
        "{err}"
    );
    let vault = run_ok(h.rclone().args(["lsf", "-R", "poof-crypt:docs"]));
    assert_eq!(vault.lines().collect::<Vec<_>>(), ["a.txt"], "{err}");
}

/// Eight folders of 100 bytes and a file: 1,447 characters of base32 once encrypted.
fn deep_path() -> String {
    format!("{}/f", vec!["n".repeat(100); 8].join("/"))
}

/// The key of `folder` in a crypt remote of `opts` over `prefix` (a folder of the bucket),
/// measured by `measure`.
fn folder_key(opts: &CryptOpts, prefix: &str, folder: &str, measure: fn(&str) -> usize) -> usize {
    measure(&format!(
        "{prefix}/{}",
        opts.names().encrypt_dir_name(folder)
    ))
}

/// The first folder of `path` whose key ([`folder_key`]) leaves no room for `/` and a name
/// under `limit`; and that key's length.
fn folder_without_room(
    opts: &CryptOpts,
    prefix: &str,
    path: &str,
    limit: usize,
    measure: fn(&str) -> usize,
) -> (String, usize) {
    let segments: Vec<&str> = path.split('/').collect();
    (1..segments.len())
        .map(|depth| segments[..depth].join("/"))
        .map(|folder| {
            let key = folder_key(opts, prefix, &folder, measure);
            (folder, key)
        })
        .find(|(_, len)| len + 2 > limit)
        .expect("a folder too deep")
}

#[test]
fn a_key_too_long_for_s3_is_reported_not_sent() {
    let (s, server) = S3Server::scratch();
    let opts = CryptOpts::default();
    s.write_config(&format!(
        "{}{}",
        server.section("s3"),
        opts.section("c", "s3:bucket/vault")
    ));
    let src = s.path("src");
    let deep = deep_path();
    populate(
        &src,
        &[
            ("ok.txt", b"ok".to_vec()),
            (deep.as_str(), b"deep".to_vec()),
        ],
    );
    let out = poof_sync(&s, &src, "c:");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    // Once, for the first folder whose key (the folder of the bucket, then its encrypted
    // path) leaves no room for a name below it; base64 holds that folder when its key does.
    let (folder, key) = folder_without_room(&opts, "vault", &deep, 1024, str::len);
    let mut line = format!(
        "ERROR : {folder}: path too long for the destination (encrypted path of {key} bytes, limit 1024)"
    );
    if folder_key(&encoded("base64"), "vault", &folder, str::len) + 2 <= 1024 {
        line += "; a new crypt remote with filename_encoding = base64 would hold it";
    }
    assert_eq!(lines_starting(&err, "ERROR :"), [line], "{err}");
    assert_eq!(rclone_lsf(&s, "c:"), ["ok.txt"]);
    // Nothing of it reached the server.
    let stored = files_below(&server.dir);
    assert_eq!(stored.len(), 1, "{stored:?}");
}

#[test]
fn base32768_holds_a_path_too_long_for_azure_in_base32() {
    let (s, server) = Azurite::scratch();
    s.write_config(&format!(
        "{}{}{}",
        server.section("az"),
        CryptOpts::default().section("c", "az:cont/v32"),
        encoded("base32768").section("w", "az:cont/v32768")
    ));
    let src = s.path("src");
    let deep = deep_path();
    populate(
        &src,
        &[
            ("ok.txt", b"ok".to_vec()),
            (deep.as_str(), b"deep".to_vec()),
        ],
    );
    let out = poof_sync(&s, &src, "c:");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let chars = |key: &str| key.chars().count();
    let (folder, key) = folder_without_room(&CryptOpts::default(), "v32", &deep, 1024, chars);
    assert_eq!(
        lines_starting(&err, "ERROR :"),
        [format!(
            "ERROR : {folder}: path too long for the destination (encrypted path of {key} characters, limit 1024); a new crypt remote with filename_encoding = base32768 would hold it"
        )],
        "{err}"
    );
    assert_eq!(rclone_lsf(&s, "c:"), ["ok.txt"]);
    // As the hint says: in base32768 it fits, and rclone reads it back.
    let out = poof_sync(&s, &src, "w:");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(rclone_lsf(&s, "w:").contains(&deep));
    let got = run_ok(s.rclone().arg("cat").arg(format!("w:{deep}")));
    assert_eq!(got, "deep");
}
