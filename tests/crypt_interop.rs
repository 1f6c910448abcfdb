//! poof-crypt against the real rclone, both directions, over crypt remotes on local folders:
//! rclone encrypts and poof decrypts names and contents byte for byte; poof encrypts with its
//! own random nonces and rclone decrypts the same bytes and finds no difference in cryptcheck.

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::harness::{files_below, pattern, run_ok, CryptOpts, Scratch};

/// Sizes around the 64 KiB block boundaries, the empty file and a few blocks.
const SIZES: &[usize] = &[0, 1, 65535, 65536, 65537, 131072 + 5, 3 * 65536 + 17];

/// Crypt option sets that between them take every name mode and encoding.
fn option_sets() -> Vec<CryptOpts> {
    vec![
        CryptOpts::default(),
        CryptOpts {
            password2: "pepper".into(),
            filename_encoding: "base64",
            ..CryptOpts::default()
        },
        CryptOpts {
            filename_encoding: "base32768",
            directory_name_encryption: false,
            ..CryptOpts::default()
        },
        CryptOpts {
            filename_encryption: "obfuscate",
            ..CryptOpts::default()
        },
        CryptOpts {
            filename_encryption: "off",
            suffix: Some(".enc"),
            ..CryptOpts::default()
        },
    ]
}

/// Writes the plain tree: every size, unicode and long names, nested folders.
fn make_plain_tree(root: &Path) -> Vec<String> {
    let long = "l".repeat(120);
    let dirs = ["", "docs", "docs/日本語 folder", "a/b/c"];
    let mut written = Vec::new();
    for (i, size) in SIZES.iter().enumerate() {
        let dir = dirs[i % dirs.len()];
        for name in [format!("file {size}.dat"), format!("é-{long}-{size}")] {
            let rel = if dir.is_empty() {
                name
            } else {
                format!("{dir}/{name}")
            };
            let path = root.join(&rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, pattern(*size, written.len() as u64)).unwrap();
            written.push(rel);
        }
    }
    written.sort();
    written
}

fn setup(opts: &CryptOpts) -> Scratch {
    let s = Scratch::new();
    fs::create_dir_all(s.path("enc")).unwrap();
    s.write_config(&opts.section("c", &s.path("enc").display().to_string()));
    s
}

#[test]
fn rclone_encrypts_poof_decrypts() {
    for opts in option_sets() {
        let s = setup(&opts);
        let plain = make_plain_tree(&s.path("plain"));
        run_ok(s.rclone().arg("copy").arg(s.path("plain")).arg("c:"));

        let names = opts.names();
        let content = poof_crypt::ContentCipher::new(&opts.keys());
        let mut decrypted = Vec::new();
        for enc_rel in files_below(&s.path("enc")) {
            let rel = names
                .decrypt_file_name(&enc_rel)
                .unwrap_or_else(|e| panic!("{opts:?}: {enc_rel}: {e}"));
            assert_eq!(names.encrypt_file_name(&rel), enc_rel, "{opts:?}");
            let sealed = fs::read(s.path("enc").join(&enc_rel)).unwrap();
            let mut out = Vec::new();
            content
                .decrypt_reader(&sealed[..])
                .unwrap()
                .read_to_end(&mut out)
                .unwrap_or_else(|e| panic!("{opts:?}: {rel}: {e}"));
            assert_eq!(
                out,
                fs::read(s.path("plain").join(&rel)).unwrap(),
                "{opts:?}: {rel}"
            );
            assert_eq!(
                poof_crypt::content::decrypted_size(sealed.len() as u64).unwrap(),
                out.len() as u64
            );
            decrypted.push(rel);
        }
        decrypted.sort();
        assert_eq!(decrypted, plain, "{opts:?}");
    }
}

#[test]
fn poof_encrypts_rclone_decrypts() {
    for opts in option_sets() {
        let s = setup(&opts);
        let plain = make_plain_tree(&s.path("plain"));
        let names = opts.names();
        let content = poof_crypt::ContentCipher::new(&opts.keys());
        for rel in &plain {
            let enc = s.path("enc").join(names.encrypt_file_name(rel));
            fs::create_dir_all(enc.parent().unwrap()).unwrap();
            let mut w = content
                .encrypt_writer(fs::File::create(&enc).unwrap())
                .unwrap();
            w.write_all(&fs::read(s.path("plain").join(rel)).unwrap())
                .unwrap();
            w.finish().unwrap().sync_all().unwrap();
        }
        let check = run_ok(
            s.rclone()
                .args(["cryptcheck", "--one-way"])
                .arg(s.path("plain"))
                .arg("c:"),
        );
        drop(check);
        run_ok(s.rclone().arg("copy").arg("c:").arg(s.path("out")));
        assert_eq!(files_below(&s.path("out")), plain, "{opts:?}");
        for rel in &plain {
            assert_eq!(
                fs::read(s.path("out").join(rel)).unwrap(),
                fs::read(s.path("plain").join(rel)).unwrap(),
                "{opts:?}: {rel}"
            );
        }
    }
}

#[test]
fn seeking_reads_rclone_files_at_any_offset() {
    let opts = CryptOpts::default();
    let s = setup(&opts);
    let size = 5 * 65536 + 123;
    let data = pattern(size, 7);
    fs::create_dir_all(s.path("plain")).unwrap();
    fs::write(s.path("plain/big"), &data).unwrap();
    run_ok(s.rclone().arg("copy").arg(s.path("plain")).arg("c:"));
    let enc = s.path("enc").join(opts.names().encrypt_file_name("big"));
    let content = poof_crypt::ContentCipher::new(&opts.keys());
    let mut r = content
        .decrypt_reader(fs::File::open(enc).unwrap())
        .unwrap();
    for &(pos, len) in &[
        (0usize, 10usize),
        (65536, 65536),
        (65535, 2),
        (size - 5, 5),
        (3 * 65536 + 1, 70000),
        (17, 1),
    ] {
        r.seek(SeekFrom::Start(pos as u64)).unwrap();
        let mut buf = vec![0; len];
        r.read_exact(&mut buf).unwrap();
        assert_eq!(buf, data[pos..pos + len], "at {pos}+{len}");
    }
    assert_eq!(r.seek(SeekFrom::End(0)).unwrap(), size as u64);
    let mut rest = Vec::new();
    r.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
}
