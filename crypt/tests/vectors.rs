//! poof-crypt against vectors written by the real rclone.
//!
//! Every expected value comes from `../test-vectors`, written by `test-vectors/generate.sh`
//! (which drives rclone v1.75; `test-vectors/README.md` gives the formats). One test per family
//! reads all files of that family: names (`names/*.tsv` with their `.fail.tsv` and
//! `.decode.tsv`), contents (`files/*/manifest.tsv`), obscured passwords (`obscure.tsv`) and an
//! encrypted config (`config/`). A failure names the vector file and line.
//!
//! `vector_files_are_well_formed` checks the files alone, without calling the crate, so a broken
//! regeneration shows up as such rather than as a crypto mismatch.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use poof_crypt::{
    config_file, content, obscure, obscure_with_iv, reveal, ContentCipher, Error, Keys, NameCipher,
    NameEncoding, NameMode, Nonce,
};
use sha2::{Digest, Sha256};

/// What `rclone cryptdecode` prints for a name it cannot decrypt.
const RCLONE_FAILED: &str = "Failed to decrypt";
/// The length of a content header: magic and nonce.
const HEADER_SIZE: usize = 32;
/// The length of the IV at the front of an obscured password.
const OBSCURE_IV_SIZE: usize = 16;
/// Fields per record of each family.
const NAME_FIELDS: usize = 2;
const MANIFEST_FIELDS: usize = 4;
const OBSCURE_FIELDS: usize = 2;
/// Crypt settings every names case and manifest must carry.
const SETTINGS_KEYS: [&str; 6] = [
    "password",
    "password2",
    "filename_encryption",
    "filename_encoding",
    "directory_name_encryption",
    "suffix",
];

/// The `test-vectors` directory at the workspace root.
fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors")
}

/// One record of a vector file: its fields and where it came from.
struct Record {
    at: String,
    fields: Vec<String>,
}

impl Record {
    fn field(&self, i: usize) -> &str {
        &self.fields[i]
    }

    /// The first field of a manifest line: the plaintext size.
    fn size(&self) -> u64 {
        let at = &self.at;
        self.field(0)
            .parse()
            .unwrap_or_else(|e| panic!("{at}: size: {e}"))
    }
}

/// A parsed vector file: leading `# key: value` headers, then tab-separated records.
struct VectorFile {
    name: String,
    headers: BTreeMap<String, String>,
    records: Vec<Record>,
}

impl VectorFile {
    /// Reads `path` (relative to the vectors directory), requiring `fields` fields per record.
    fn read(path: &Path, fields: usize) -> VectorFile {
        let name = path
            .strip_prefix(vectors_dir())
            .unwrap_or(path)
            .display()
            .to_string();
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut headers = BTreeMap::new();
        let mut records = Vec::new();
        for (i, line) in text.split_terminator('\n').enumerate() {
            let at = format!("{name}:{}", i + 1);
            assert!(!line.ends_with('\r'), "{at}: CR line end");
            if records.is_empty() {
                if let Some(header) = line.strip_prefix('#') {
                    let header = header.strip_prefix(' ').unwrap_or(header);
                    let (key, value) = header
                        .split_once(':')
                        .unwrap_or_else(|| panic!("{at}: header without ':': {line:?}"));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    headers.insert(key.to_string(), value.to_string());
                    continue;
                }
            }
            let row: Vec<String> = line.split('\t').map(str::to_string).collect();
            assert_eq!(
                row.len(),
                fields,
                "{at}: expected {fields} tab-separated fields: {line:?}"
            );
            records.push(Record { at, fields: row });
        }
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{name}: no final newline"
        );
        VectorFile {
            name,
            headers,
            records,
        }
    }

    fn header(&self, key: &str) -> &str {
        self.headers
            .get(key)
            .unwrap_or_else(|| panic!("{}: no `# {key}:` header", self.name))
    }

    /// The keys and the name cipher of a names case or a manifest.
    fn keys_and_names(&self) -> (Keys, NameCipher) {
        let settings = self.settings();
        let keys = settings.keys();
        let names = settings.name_cipher(&keys);
        (keys, names)
    }

    /// The crypt settings of a names case or a manifest.
    fn settings(&self) -> Settings {
        for key in SETTINGS_KEYS {
            self.header(key);
        }
        let dirs = match self.header("directory_name_encryption") {
            "true" => true,
            "false" => false,
            other => panic!("{}: directory_name_encryption {other:?}", self.name),
        };
        Settings {
            file: self.name.clone(),
            password: self.header("password").to_string(),
            password2: self.header("password2").to_string(),
            mode: self.header("filename_encryption").to_string(),
            encoding: self.header("filename_encoding").to_string(),
            dirs,
            suffix: self.header("suffix").to_string(),
        }
    }
}

/// The crypt options of one case, as rclone's config spells them (passwords revealed).
struct Settings {
    file: String,
    password: String,
    password2: String,
    mode: String,
    encoding: String,
    dirs: bool,
    suffix: String,
}

impl Settings {
    fn keys(&self) -> Keys {
        Keys::derive(&self.password, &self.password2)
            .unwrap_or_else(|e| panic!("{}: deriving keys: {e}", self.file))
    }

    fn name_cipher(&self, keys: &Keys) -> NameCipher {
        let mode: NameMode = self
            .mode
            .parse()
            .ok()
            .unwrap_or_else(|| panic!("{}: filename_encryption {:?}", self.file, self.mode));
        let encoding: NameEncoding = self
            .encoding
            .parse()
            .ok()
            .unwrap_or_else(|| panic!("{}: filename_encoding {:?}", self.file, self.encoding));
        // The option value as rclone reads it (`none` means no suffix at all).
        NameCipher::new(keys, mode, encoding, self.dirs, &self.suffix)
    }
}

/// Files of `dir` whose names end with `suffix`, sorted; at least one.
fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(suffix)))
        .collect();
    out.sort();
    assert!(
        !out.is_empty(),
        "no *{suffix} in {}: run test-vectors/generate.sh",
        dir.display()
    );
    out
}

/// The name cases: `names/<case>.tsv`, without the `.fail.tsv` and `.decode.tsv` companions.
fn name_cases() -> Vec<PathBuf> {
    files_ending(&vectors_dir().join("names"), ".tsv")
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            !s.ends_with(".fail.tsv") && !s.ends_with(".decode.tsv")
        })
        .collect()
}

/// A companion of a names case (`.fail.tsv` / `.decode.tsv`), if rclone gave one.
fn companion(case: &Path, suffix: &str) -> Option<VectorFile> {
    let path = case.with_extension(suffix.trim_start_matches('.'));
    path.exists().then(|| VectorFile::read(&path, NAME_FIELDS))
}

/// The content cases: `files/<case>/manifest.tsv`.
fn file_cases() -> Vec<PathBuf> {
    let dir = vectors_dir().join("files");
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path().join("manifest.tsv"))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no content vectors in {}", dir.display());
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names: rclone's encryption reproduced exactly, decryption giving the plain name back,
/// rclone's other decodings matched and its failures failing.
#[test]
fn names_match_rclone() {
    for case in name_cases() {
        let vectors = VectorFile::read(&case, NAME_FIELDS);
        let (_, cipher) = vectors.keys_and_names();
        let fails = companion(&case, ".fail.tsv");
        let decodes = companion(&case, ".decode.tsv");

        // What `cryptdecode` gives for an input, where the companions say (None: it fails).
        let mut forward: HashMap<&str, Option<&str>> = HashMap::new();
        for file in [&fails, &decodes].into_iter().flatten() {
            assert_eq!(
                file.headers, vectors.headers,
                "{}: settings differ",
                file.name
            );
        }
        for record in fails.iter().flat_map(|f| &f.records) {
            forward.insert(record.field(0), None);
        }
        for record in decodes.iter().flat_map(|f| &f.records) {
            forward.insert(record.field(0), Some(record.field(1)));
        }

        for record in &vectors.records {
            let (at, plain, encrypted) = (&record.at, record.field(0), record.field(1));
            assert_eq!(
                cipher.encrypt_file_name(plain),
                encrypted,
                "{at}: encrypting {plain:?}"
            );
            match forward.get(encrypted) {
                Some(_) => {} // checked below with the companion's expectation
                None => assert_eq!(
                    cipher
                        .decrypt_file_name(encrypted)
                        .unwrap_or_else(|e| panic!("{at}: decrypting {encrypted:?}: {e}")),
                    plain,
                    "{at}: decrypting {encrypted:?}"
                ),
            }
            // The directory part of a path is encrypted as a directory name: rclone's file
            // path encryption leaves it as `encrypt_dir_name` would (for `dir/sub/`, the part
            // before the empty last segment).
            if let Some((plain_dir, _)) = plain.rsplit_once('/') {
                let (encrypted_dir, _) = encrypted
                    .rsplit_once('/')
                    .unwrap_or_else(|| panic!("{at}: rclone's {encrypted:?} has no '/'"));
                assert_eq!(
                    cipher.encrypt_dir_name(plain_dir),
                    encrypted_dir,
                    "{at}: encrypting directory {plain_dir:?}"
                );
                assert_eq!(
                    cipher
                        .decrypt_dir_name(encrypted_dir)
                        .unwrap_or_else(|e| panic!(
                            "{at}: decrypting directory {encrypted_dir:?}: {e}"
                        )),
                    plain_dir,
                    "{at}: decrypting directory {encrypted_dir:?}"
                );
            }
        }

        for record in decodes.iter().flat_map(|f| &f.records) {
            let (at, input, plain) = (&record.at, record.field(0), record.field(1));
            if POOF_STRICTER.contains(&input) {
                assert!(
                    cipher.decrypt_file_name(input).is_err(),
                    "{at}: poof refuses {input:?} on purpose, rclone gives {plain:?}"
                );
                continue;
            }
            assert_eq!(
                cipher
                    .decrypt_file_name(input)
                    .unwrap_or_else(|e| panic!("{at}: rclone decrypts {input:?}, we fail: {e}")),
                plain,
                "{at}: decrypting {input:?}"
            );
        }
        for record in fails.iter().flat_map(|f| &f.records) {
            let (at, input) = (&record.at, record.field(0));
            assert_eq!(record.field(1), RCLONE_FAILED, "{at}: rclone's wording");
            if let Ok(got) = cipher.decrypt_file_name(input) {
                panic!("{at}: rclone fails to decrypt {input:?}, we give {got:?}");
            }
        }
    }
}

/// Obfuscated names rclone decodes leniently and poof refuses on purpose: a signed rotation
/// (`-1.a`) and an empty result (`12.`), which rclone never writes.
const POOF_STRICTER: &[&str] = &["-1.a", "12."];

/// One encrypted file of the content vectors and what its manifest line records.
struct ContentFile<'a> {
    /// Where the manifest line is, for messages.
    at: &'a str,
    size: u64,
    plain_name: &'a str,
    encrypted_name: &'a str,
    /// The SHA-256 of the plaintext, in hex.
    digest: &'a str,
    /// rclone's encrypted file (`<size>.bin` beside the manifest).
    sealed: Vec<u8>,
}

impl ContentFile<'_> {
    /// The plaintext as the sequential reader decrypts it, checked against the manifest's
    /// size and digest: the expectation every other way of reading the file is compared with.
    fn plain(&self, cipher: &ContentCipher) -> Vec<u8> {
        let at = self.at;
        let mut plain = Vec::new();
        cipher
            .decrypt_reader(&self.sealed[..])
            .unwrap_or_else(|e| panic!("{at}: opening: {e}"))
            .read_to_end(&mut plain)
            .unwrap_or_else(|e| panic!("{at}: decrypting: {e}"));
        assert_eq!(plain.len() as u64, self.size, "{at}: decrypted length");
        assert_eq!(
            hex(&Sha256::digest(&plain)),
            self.digest,
            "{at}: plaintext digest"
        );
        plain
    }
}

/// Calls `check` on every file of every content case, with the case's keys and name cipher.
fn each_content_file(mut check: impl FnMut(&Keys, &NameCipher, &ContentFile)) {
    for manifest_path in file_cases() {
        let manifest = VectorFile::read(&manifest_path, MANIFEST_FIELDS);
        let (keys, names) = manifest.keys_and_names();
        assert!(!manifest.records.is_empty(), "{}: empty", manifest.name);
        for record in &manifest.records {
            let (at, size) = (&record.at, record.size());
            let path = manifest_path.with_file_name(format!("{size}.bin"));
            let sealed =
                fs::read(&path).unwrap_or_else(|e| panic!("{at}: {}: {e}", path.display()));
            let file = ContentFile {
                at,
                size,
                plain_name: record.field(1),
                encrypted_name: record.field(2),
                digest: record.field(3),
                sealed,
            };
            check(&keys, &names, &file);
        }
    }
}

/// Contents: rclone's files decrypt to the recorded digest and size, their names decrypt, and
/// re-encrypting with the file's own nonce reproduces rclone's bytes.
#[test]
fn files_match_rclone() {
    each_content_file(|keys, names, file| {
        let (at, sealed) = (file.at, &file.sealed);
        let (plain_name, encrypted_name) = (file.plain_name, file.encrypted_name);
        let cipher = ContentCipher::new(keys);
        let plain = file.plain(&cipher);
        assert_eq!(
            content::decrypted_size(sealed.len() as u64)
                .unwrap_or_else(|e| panic!("{at}: decrypted_size: {e}")),
            file.size,
            "{at}: decrypted_size({})",
            sealed.len()
        );

        assert_eq!(
            names
                .decrypt_file_name(encrypted_name)
                .unwrap_or_else(|e| panic!("{at}: decrypting {encrypted_name:?}: {e}")),
            plain_name,
            "{at}: file name"
        );
        assert_eq!(
            names.encrypt_file_name(plain_name),
            encrypted_name,
            "{at}: encrypting {plain_name:?}"
        );

        let header = sealed
            .get(..HEADER_SIZE)
            .unwrap_or_else(|| panic!("{at}: rclone's file is shorter than a header"));
        let nonce =
            Nonce::from_header(header).unwrap_or_else(|e| panic!("{at}: reading the header: {e}"));
        let mut again = Vec::new();
        cipher
            .encrypt_reader_with_nonce(&plain[..], nonce)
            .read_to_end(&mut again)
            .unwrap_or_else(|e| panic!("{at}: re-encrypting: {e}"));
        assert_eq!(again.len(), sealed.len(), "{at}: re-encrypted length");
        if let Some(offset) = again.iter().zip(sealed).position(|(a, b)| a != b) {
            panic!("{at}: re-encryption differs from rclone's file at byte {offset}");
        }
    });
}

/// Contents through the async ways in: rclone's files read by plaintext range (the header,
/// then only the stored blocks holding the range, as a store's ranged reads give them) from
/// block edges, mid-block and the end, and opened whole in parallel, give the plaintext the
/// manifest's digest vouches for.
#[cfg(feature = "tokio")]
#[test]
fn ranged_and_parallel_reads_match_rclone() {
    use tokio::io::AsyncReadExt;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    each_content_file(|keys, _, file| {
        let (at, sealed) = (file.at, &file.sealed[..]);
        let cipher = ContentCipher::new(keys);
        let plain = file.plain(&cipher);
        let (n, b) = (plain.len() as u64, content::BLOCK_DATA_SIZE as u64);
        let ranges = [
            0..n,
            0..1,
            n.saturating_sub(1)..n,
            n / 2..n / 2 + 3,
            b - 1..b + 1,
            b..2 * b,
            b + 7..n,
            n..n + 10,
        ];
        runtime.block_on(async {
            for range in ranges {
                let stored = content::block_range(range.clone()).stored;
                let clip = |x: u64| (x as usize).min(sealed.len());
                let body = &sealed[clip(stored.start)..clip(stored.end)];
                let mut got = Vec::new();
                cipher
                    .decrypt_async_range(
                        AsyncReadExt::chain(&sealed[..HEADER_SIZE], body),
                        range.clone(),
                    )
                    .read_to_end(&mut got)
                    .await
                    .unwrap_or_else(|e| panic!("{at}: range {range:?}: {e}"));
                let want = plain
                    .get(range.start.min(n) as usize..range.end.min(n) as usize)
                    .unwrap_or_default();
                assert!(got == want, "{at}: range {range:?} differs");
            }
            let mut whole = Vec::new();
            let bad = content::BadBlocks::new();
            cipher
                .decrypt_parallel(std::io::Cursor::new(sealed.to_vec()), bad.clone())
                .read_to_end(&mut whole)
                .await
                .unwrap_or_else(|e| panic!("{at}: parallel open: {e}"));
            assert!(whole == plain, "{at}: parallel open differs");
            assert!(bad.take().is_empty(), "{at}: bad blocks in rclone's file");
        });
    });
}

/// obscure / reveal: rclone's strings reveal, ours reveal, and with rclone's IV ours equal
/// rclone's.
#[test]
fn obscure_matches_rclone() {
    let file = VectorFile::read(&vectors_dir().join("obscure.tsv"), OBSCURE_FIELDS);
    assert!(!file.records.is_empty(), "{}: empty", file.name);
    for record in &file.records {
        let (at, plain, obscured) = (&record.at, record.field(0), record.field(1));
        assert_eq!(
            reveal(obscured).unwrap_or_else(|e| panic!("{at}: revealing {obscured:?}: {e}")),
            plain,
            "{at}: reveal"
        );
        let ours = obscure(plain);
        assert_eq!(
            reveal(&ours).unwrap_or_else(|e| panic!("{at}: revealing our {ours:?}: {e}")),
            plain,
            "{at}: reveal(obscure(plain))"
        );
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(obscured)
            .unwrap_or_else(|e| panic!("{at}: rclone's string is not base64url: {e}"));
        let iv: [u8; OBSCURE_IV_SIZE] = raw
            .get(..OBSCURE_IV_SIZE)
            .and_then(|iv| iv.try_into().ok())
            .unwrap_or_else(|| panic!("{at}: rclone's string is shorter than an IV"));
        assert_eq!(
            obscure_with_iv(plain, iv),
            obscured,
            "{at}: obscure with rclone's IV"
        );
    }
}

/// Encrypted config: rclone's file decrypts to exactly the text it holds; a wrong password is
/// `Error::ConfigPassword`.
#[test]
fn config_matches_rclone() {
    let dir = vectors_dir().join("config");
    let read = |name: &str| {
        fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("config/{name}: {e}"))
    };
    let encrypted = read("encrypted.conf");
    let password_line = read("password.txt");
    let password = password_line
        .strip_suffix('\n')
        .expect("config/password.txt: one line ending in a newline");
    let plain = read("plain.conf");

    let decrypted = config_file::decrypt(&encrypted, password)
        .unwrap_or_else(|e| panic!("config/encrypted.conf: decrypting: {e}"));
    assert_eq!(
        decrypted.as_str(),
        plain,
        "config/encrypted.conf vs config/plain.conf"
    );

    let wrong = format!("{password}!");
    match config_file::decrypt(&encrypted, &wrong) {
        Err(Error::ConfigPassword) => {}
        Err(e) => panic!("config/encrypted.conf: wrong password gives {e:?}, not ConfigPassword"),
        Ok(_) => panic!("config/encrypted.conf: decrypts with a wrong password"),
    }
}

/// The vector files alone: every family present, well-formed, internally consistent.
#[test]
fn vector_files_are_well_formed() {
    let cases = name_cases();
    for case in &cases {
        let vectors = VectorFile::read(case, NAME_FIELDS);
        let settings = vectors.settings();
        assert!(!vectors.records.is_empty(), "{}: no names", vectors.name);
        assert!(
            ["standard", "obfuscate", "off"].contains(&settings.mode.as_str()),
            "{}: mode {:?}",
            vectors.name,
            settings.mode
        );
        for suffix in [".fail.tsv", ".decode.tsv"] {
            if let Some(file) = companion(case, suffix) {
                assert_eq!(
                    file.headers, vectors.headers,
                    "{}: settings differ",
                    file.name
                );
            }
        }
    }
    for mode in ["standard", "obfuscate", "off"] {
        assert!(
            cases.iter().any(|c| c
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(mode))),
            "no {mode} name case"
        );
    }

    for manifest_path in file_cases() {
        let manifest = VectorFile::read(&manifest_path, MANIFEST_FIELDS);
        manifest.settings();
        for record in &manifest.records {
            let (at, size) = (&record.at, record.size());
            let digest = record.field(3);
            assert!(
                digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()),
                "{at}: digest {digest:?}"
            );
            let path = manifest_path.with_file_name(format!("{size}.bin"));
            let sealed =
                fs::read(&path).unwrap_or_else(|e| panic!("{at}: {}: {e}", path.display()));
            assert!(
                sealed.starts_with(b"RCLONE\0\0") && sealed.len() as u64 > size,
                "{at}: {} is no rclone crypt file of {size} bytes",
                path.display()
            );
        }
    }

    let obscure = VectorFile::read(&vectors_dir().join("obscure.tsv"), OBSCURE_FIELDS);
    assert!(!obscure.records.is_empty(), "obscure.tsv: empty");

    let encrypted = fs::read_to_string(vectors_dir().join("config/encrypted.conf"))
        .expect("config/encrypted.conf");
    assert!(
        encrypted.lines().any(|l| l == "RCLONE_ENCRYPT_V0:"),
        "config/encrypted.conf: not an encrypted rclone config"
    );
}
