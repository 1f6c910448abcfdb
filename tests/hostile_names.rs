//! Hostile file names: control characters, DEL, U+0085, bytes that are not UTF-8, rclone's
//! quote rune and its substitute characters. poof backs them up under the same encrypted names
//! rclone gives them, restores the same bytes, reads rclone's vaults and lets rclone read its
//! own; a name never reaches the terminal raw; a name that does not decrypt is one error line
//! with its encrypted form, and two stored names for one file are a clash, never a merge.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::process::Output;

use crate::harness::home::Home;
use crate::harness::{byte_tree, run, CryptOpts, Scratch};

/// Names Linux allows and rclone round-trips, with the file content each gets.
const HOSTILE: &[&[u8]] = &[
    b"new\nline",
    b"t\tab",
    b"carriage\r",
    b"esc\x1b[31mred",
    b"del\x7fx",
    "nel\u{85}x".as_bytes(),
    b"\xffbad",
    "q\u{240a}uote".as_bytes(),
    b"plain.txt",
];

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A scratch folder with crypt remotes `c:` over `enc/` and `d:` over `enc2/` (same keys), and
/// `src/` holding `names`, each file's content its own name.
fn scratch_with(names: &[&[u8]]) -> Scratch {
    let s = Scratch::new();
    let opts = CryptOpts::default();
    s.write_config(&format!(
        "{}{}",
        opts.section("c", &s.path("enc").display().to_string()),
        opts.section("d", &s.path("enc2").display().to_string())
    ));
    std::fs::create_dir_all(s.path("src")).expect("mkdir");
    for name in names {
        let path = s.path("src").join(OsStr::from_bytes(name));
        std::fs::write(path, name).expect("write a hostile name");
    }
    s
}

fn poof_ok(s: &Scratch, args: &[&str]) -> Output {
    let out = run(s.poof().args(args));
    assert!(
        out.status.success(),
        "poof {args:?}: {}\n{}",
        out.status,
        stderr(&out)
    );
    out
}

fn sync(s: &Scratch, from: &str, to: &str) -> Output {
    let from = if from.contains(':') {
        from.to_owned()
    } else {
        s.path(from).display().to_string()
    };
    let to = if to.contains(':') {
        to.to_owned()
    } else {
        s.path(to).display().to_string()
    };
    run(s.poof().args(["sync", "--no-progress", &from, &to]))
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        out.status,
        stderr(out)
    );
}

#[test]
fn control_and_invalid_names_back_up_restore_and_back_up_again() {
    let s = scratch_with(HOSTILE);
    assert_ok(&sync(&s, "src", "c:"), "first backup");
    assert_ok(&sync(&s, "src", "c:"), "second backup");
    assert_ok(&sync(&s, "c:", "out"), "restore");
    assert_eq!(byte_tree(&s.path("out")), byte_tree(&s.path("src")));
    // The local file gone: the next backup deletes its copy and exits 0.
    std::fs::remove_file(s.path("src").join("new\nline")).expect("rm");
    assert_ok(&sync(&s, "src", "c:"), "backup after a delete");
    assert_eq!(
        std::fs::read_dir(s.path("enc")).expect("vault").count(),
        HOSTILE.len() - 1
    );
    // `ls` of the vault and of the plain folder: names in Standard form, no control byte.
    for target in ["c:".to_owned(), s.path("src").display().to_string()] {
        let out = poof_ok(&s, &["ls", &target]);
        assert!(
            !out.stdout
                .iter()
                .any(|&b| (b < 0x20 && b != b'\n') || b == 0x7f),
            "{target}: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("t\u{2409}ab"), "{text}");
        assert!(text.contains("esc\u{241b}[31mred"), "{text}");
    }
}

#[test]
fn rclone_reads_poofs_names_and_poof_reads_rclones() {
    let s = scratch_with(HOSTILE);
    std::fs::create_dir(s.path("src/dir\tx")).expect("mkdir");
    std::fs::write(s.path("src/dir\tx/f\x01"), b"nested").expect("write");
    assert_ok(&sync(&s, "src", "c:"), "poof backup");
    // rclone backs up the same folder to d:: the same encrypted names, byte for byte.
    let out = run(s.rclone().arg("copy").arg(s.path("src")).arg("d:"));
    assert!(out.status.success(), "{}", stderr(&out));
    let names = |dir: &str| -> Vec<Vec<u8>> {
        let mut v: Vec<_> = byte_tree(&s.path(dir)).into_keys().collect();
        v.sort();
        v
    };
    assert_eq!(names("enc"), names("enc2"));
    // rclone restores poof's vault, poof restores rclone's: the bytes of the source.
    let out = run(s.rclone().arg("copy").arg("c:").arg(s.path("by-rclone")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(byte_tree(&s.path("by-rclone")), byte_tree(&s.path("src")));
    assert_ok(&sync(&s, "d:", "by-poof"), "poof restores rclone's vault");
    assert_eq!(byte_tree(&s.path("by-poof")), byte_tree(&s.path("src")));
}

/// Copies an encrypted object of the vault under `stored_name` at its top.
fn forge(s: &Scratch, stored_name: &str) {
    let object = byte_tree(&s.path("enc"))
        .into_values()
        .next()
        .expect("an object to copy");
    std::fs::write(s.path("enc").join(stored_name), object).expect("forge");
}

#[test]
fn raw_control_character_in_a_stored_name_is_listed_and_restored() {
    let s = scratch_with(&[b"plain.txt"]);
    assert_ok(&sync(&s, "src", "c:"), "backup");
    // An older tool stored the name with a raw line feed (rclone stores `␊`).
    let names = CryptOpts::default().names();
    forge(&s, &names.encrypt_segment("raw\nname"));
    let out = poof_ok(&s, &["ls", "c:"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("raw\u{240a}name"));
    assert_ok(&sync(&s, "c:", "out"), "restore");
    assert_eq!(
        std::fs::read(s.path("out/raw\nname")).expect("restored"),
        b"plain.txt"
    );
    // The next backup (the file not in src) deletes exactly that stored name.
    assert_ok(&sync(&s, "src", "c:"), "backup");
    assert_eq!(std::fs::read_dir(s.path("enc")).expect("vault").count(), 1);
}

#[test]
fn case_variants_of_one_name_are_a_clash_restored_neither() {
    let s = scratch_with(&[b"x", b"other"]);
    assert_ok(&sync(&s, "src", "c:"), "backup");
    let lower = CryptOpts::default().names().encrypt_segment("x");
    let upper = lower.to_ascii_uppercase();
    let other = CryptOpts::default().names().encrypt_segment("other");
    std::fs::copy(s.path("enc").join(other), s.path("enc").join(&upper)).expect("forge");
    std::fs::create_dir_all(s.path("out")).expect("mkdir");
    std::fs::write(s.path("out/x"), b"old x").expect("write");
    let out = sync(&s, "c:", "out");
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("clash"), "{err}");
    assert!(err.contains(&lower) && err.contains(&upper), "{err}");
    assert_eq!(std::fs::read(s.path("out/x")).expect("kept"), b"old x");
    assert_eq!(
        std::fs::read(s.path("out/other")).expect("restored"),
        b"other"
    );
}

/// Seeded names over every byte but `/` and NUL, with the characters rclone's name encoding
/// gives meaning to mixed in: backup, restore, second backup.
#[test]
fn random_byte_names_round_trip_through_a_vault() {
    let pieces: Vec<Vec<u8>> = [
        "\u{201b}", "\u{2409}", "\u{2400}", "\u{2421}", "\u{241f}", "\u{ff0f}", "\u{ff0e}",
        "\u{ffff}", "A", "F", "0", "é",
    ]
    .iter()
    .map(|p| p.as_bytes().to_vec())
    .chain((1u8..=255).filter(|&b| b != b'/').map(|b| vec![b]))
    .collect();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut names: Vec<Vec<u8>> = Vec::new();
    while names.len() < 300 {
        // Up to 40 bytes: a control character is 3 bytes in the name rclone encrypts, and
        // the encrypted name must fit a local vault's 255-byte file names (143 bytes before
        // encryption; longer names are the per-file error checked below).
        let len = (next() % 40 + 1) as usize;
        let mut name = Vec::new();
        while name.len() < len {
            let piece = &pieces[(next() % pieces.len() as u64) as usize];
            if name.len() + piece.len() <= len {
                name.extend_from_slice(piece);
            } else {
                name.push(b'n');
            }
        }
        let temp_like = name.starts_with(b".") && name.ends_with(b".partial");
        if name != b"." && name != b".." && !temp_like && !names.contains(&name) {
            names.push(name);
        }
    }
    let refs: Vec<&[u8]> = names.iter().map(Vec::as_slice).collect();
    let s = scratch_with(&refs);
    assert_ok(&sync(&s, "src", "c:"), "backup of random names");
    assert_ok(&sync(&s, "c:", "out"), "restore of random names");
    assert_eq!(byte_tree(&s.path("out")), byte_tree(&s.path("src")));
    assert_ok(&sync(&s, "src", "c:"), "second backup");
    // A name too long for the vault: one clear per-file error, every other file kept.
    let long = vec![b'L'; 200];
    std::fs::write(s.path("src").join(OsStr::from_bytes(&long)), b"long").expect("write");
    let out = sync(&s, "src", "c:");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("too long"), "{}", stderr(&out));
    std::fs::remove_file(s.path("src").join(std::ffi::OsString::from_vec(long))).expect("rm");
    assert_ok(&sync(&s, "src", "c:"), "backup after the long name is gone");
}

/// A HOME with the crypt vault of `poof econfig` and the folder `docs` holding the [`HOSTILE`]
/// names (each file's bytes are its name), added to poof.conf as `docs`.
fn home_with_hostile_docs() -> (Home, std::path::PathBuf) {
    let h = Home::new();
    crate::harness::run_ok(h.poof().arg("config"));
    crate::harness::run_ok(h.poof().arg("econfig"));
    let docs = h.home().join("docs");
    std::fs::create_dir_all(&docs).expect("mkdir");
    for name in HOSTILE {
        std::fs::write(docs.join(OsStr::from_bytes(name)), name).expect("write");
    }
    h.add_path(&docs, "docs");
    (h, docs)
}

/// `poof backup` and `poof download` on a HOME: hostile names back up twice (exit 0), and a
/// name in the vault that does not decrypt is one error line with its encrypted form, not a
/// wrong password: the rest is restored, nothing deleted.
#[test]
fn backup_and_download_of_hostile_names_on_a_home() {
    let (h, docs) = home_with_hostile_docs();
    for round in ["first", "second"] {
        let out = run(h.poof().arg("backup"));
        assert!(out.status.success(), "{round} backup: {}", stderr(&out));
    }
    // A junk name next to the files in the vault.
    let names = crate::harness::run_ok(h.rclone().args([
        "cryptdecode",
        "--reverse",
        "poof-crypt:",
        "docs",
    ]));
    let enc_docs = names
        .trim_end()
        .split_once(" \t ")
        .expect("decoded")
        .1
        .to_owned();
    let bucket = h.poof_conf()["bucket"].as_str().expect("bucket").to_owned();
    let junk = "not-a-crypt-name";
    std::fs::write(h.vault().join(bucket).join(enc_docs).join(junk), b"junk").expect("junk");
    std::fs::write(docs.join("local only"), b"keep").expect("write");
    let out = run(h.poof().args(["download", "--no-progress"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.matches(junk).count(), 1, "{err}");
    assert!(!err.contains("wrong password"), "{err}");
    assert_eq!(
        std::fs::read(docs.join("local only")).expect("kept"),
        b"keep"
    );
    for name in HOSTILE {
        assert_eq!(
            std::fs::read(docs.join(OsStr::from_bytes(name))).expect("restored"),
            *name
        );
    }
}

/// `ls` of an object whose stored size no encrypted file has: it says so, not that names did
/// not decrypt; the other files are listed.
#[test]
fn ls_of_an_impossible_encrypted_size_says_so() {
    let s = scratch_with(&[b"a.txt"]);
    assert_ok(&sync(&s, "src", "c:"), "backup");
    let name = CryptOpts::default().names().encrypt_segment("short");
    // A header and a bare tag: 48 bytes, which no plaintext encrypts to.
    std::fs::write(s.path("enc").join(&name), [0u8; 48]).expect("forge");
    let out = run(s.poof().args(["ls", "c:"]));
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("not an encrypted file: size 48"), "{err}");
    assert!(err.contains(&name), "{err}");
    assert!(!err.contains("could not be decrypted"), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("a.txt"));
}

/// `poof upload` backs up, verifies and deletes files with hostile names (it kept them, saying
/// "0 kept", before); `download` brings back the same bytes.
#[test]
fn upload_deletes_hostile_names_only_once_verified_and_download_restores_them() {
    let (h, docs) = home_with_hostile_docs();
    let out = run(h.poof().arg("upload"));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("{} local files deleted, 0 kept", HOSTILE.len())),
        "{err}"
    );
    assert_eq!(byte_tree(&docs).len(), 0);
    let out = run(h.poof().args(["download", "--no-progress"]));
    assert!(out.status.success(), "{}", stderr(&out));
    let want: BTreeMap<Vec<u8>, Vec<u8>> =
        HOSTILE.iter().map(|n| (n.to_vec(), n.to_vec())).collect();
    assert_eq!(byte_tree(&docs), want);
}
