//! Security checks: secrets (crypt passwords in clear and obscured, the S3 secret key) never
//! reach stdout or stderr, at any verbosity, for any command, failures included; passwords
//! never need the command line; config files are created private; an rclone config others
//! can write is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::harness::s3::{S3Server, SECRET_KEY};
use crate::harness::{pattern, run, run_ok, spawn, CryptOpts, Scratch};

/// Crypt options with two passwords (the salt too is a secret).
fn opts() -> CryptOpts {
    CryptOpts {
        password: "correct horse battery staple".into(),
        password2: "salty pepper 2nd secret".into(),
        ..CryptOpts::default()
    }
}

/// Every string that must never be printed by the scratch folder's config.
fn secrets(config: &str) -> Vec<String> {
    let mut out = vec![opts().password, opts().password2, SECRET_KEY.to_owned()];
    for line in config.lines() {
        for key in ["password = ", "password2 = ", "secret_access_key = "] {
            if let Some(value) = line.strip_prefix(key) {
                out.push(value.to_owned());
            }
        }
    }
    out
}

fn assert_no_secret(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{what} printed the secret {secret:?}:\n{text}"
        );
    }
}

/// Every command (successful runs and failures) at verbosity none, -v and -vv: no secret in
/// the output.
#[test]
fn secrets_never_printed_at_any_verbosity() {
    let s = Scratch::new();
    let server = S3Server::start(&s.path("served"), &["bucket"]);
    let enc = s.path("enc").display().to_string();
    let config = format!(
        "{}{}{}[bad]\ntype = crypt\nremote = {enc}\npassword = {}\n\n[half]\ntype = s3\nprovider = Rclone\naccess_key_id = x\nsecret_access_key = {SECRET_KEY}\nendpoint = {}\n",
        opts().section("c", &enc),
        server.section("s3"),
        opts().section("cs", "s3:bucket/enc"),
        "hunter2-is-not-obscured",
        server.endpoint(),
    );
    s.write_config(&config);
    let mut secrets = secrets(&config);
    secrets.push("hunter2-is-not-obscured".into());
    std::fs::create_dir_all(s.path("src/dir")).expect("mkdir");
    std::fs::write(s.path("src/dir/file.txt"), pattern(70_000, 1)).expect("write");
    let src = s.path("src").display().to_string();
    let out = s.path("out").display().to_string();
    let encrypted = opts().names().encrypt_file_name("dir/file.txt");
    let commands: Vec<Vec<&str>> = vec![
        vec!["sync", &src, "c:"],
        vec!["sync", &src, "cs:"],
        vec!["copy", "c:", &out],
        vec!["sync", "cs:", &out],
        vec!["cryptcheck", &src, "c:"],
        vec!["cryptcheck", &src, "cs:"],
        vec!["ls", "c:"],
        vec!["ls", "cs:"],
        vec!["lsjson", "-R", "c:"],
        vec!["ls", "s3:bucket"],
        vec!["cat", "c:dir/file.txt"],
        vec!["cryptdecode", "c:", &encrypted],
        vec!["cryptdecode", "--reverse", "cs:", "dir/file.txt"],
        // Failures.
        vec!["ls", "bad:"],
        vec!["sync", &src, "bad:"],
        vec!["ls", "half:bucket"],
        vec!["cat", "c:nope"],
        vec!["ls", "nosuch:"],
        vec!["sync", "/nonexistent/poof", "c:"],
        vec!["cryptdecode", "c:", "not-an-encrypted-name"],
    ];
    let mut runs = 0;
    for args in &commands {
        for verbosity in [None, Some("-v"), Some("-vv")] {
            let mut cmd = s.poof();
            cmd.args(verbosity);
            cmd.args(args);
            let output = run(&mut cmd);
            let what = format!("poof {verbosity:?} {args:?}");
            assert_no_secret(&what, &String::from_utf8_lossy(&output.stdout), &secrets);
            assert_no_secret(&what, &String::from_utf8_lossy(&output.stderr), &secrets);
            runs += 1;
        }
    }
    println!(
        "security: {runs} runs ({} commands x 3 verbosities), {} secrets, none printed",
        commands.len(),
        secrets.len()
    );
}

/// A fresh HOME (poof's setup commands write below it).
fn home_poof(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_poof"));
    cmd.env("HOME", home)
        .env("USER", "tester")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("POOF_CONFDIR")
        .env_remove("RCLONE_CONFIG_PASS");
    cmd
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// `config`, `cconfig`, `econfig`: files 0600, folders 0700; what they print holds no secret
/// of the files they wrote, at any verbosity.
#[test]
fn setup_files_are_private_and_printed_masked() {
    let s = Scratch::new();
    let home: PathBuf = s.path("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    let mut printed = String::new();
    // econfig refuses (cconfig made the crypt remote already): its error is checked too.
    for (args, verbosity, ok) in [
        ("config", "-v", true),
        ("cconfig", "-vv", true),
        ("econfig", "-vv", false),
        ("cryptoggle", "-vv", true),
        ("cconfig", "-v", true),
        ("config", "-vv", true),
    ] {
        let out = run(home_poof(&home).arg(verbosity).arg(args));
        assert_eq!(
            out.status.success(),
            ok,
            "{args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        printed += &String::from_utf8_lossy(&out.stdout);
        printed += &String::from_utf8_lossy(&out.stderr);
    }
    let confdir = home.join(".config/poof");
    let rclone_conf = confdir.join("rclone-poof.conf");
    assert_eq!(mode(&confdir), 0o700, "config folder");
    assert_eq!(mode(&confdir.join("poof.conf")), 0o600, "poof.conf");
    assert_eq!(mode(&rclone_conf), 0o600, "rclone-poof.conf");
    let vault = home.join(".local/share/poof/vault");
    assert_eq!(mode(&vault), 0o700, "vault folder");
    let text = std::fs::read_to_string(&rclone_conf).expect("read");
    let mut secrets = Vec::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(" = ") {
            if key.starts_with("password") {
                secrets.push(value.to_owned());
                secrets.push(poof_crypt::reveal(value).expect("obscured"));
            }
        }
    }
    assert!(
        secrets.len() >= 2,
        "cconfig wrote no crypt passwords:\n{text}"
    );
    assert_no_secret("setup commands", &printed, &secrets);
    println!(
        "security: config folder 0700, poof.conf and rclone-poof.conf 0600, vault 0700; {} \
         secrets never printed",
        secrets.len()
    );
}

/// `poof obscure` reads the password from standard input: it never needs the command line.
#[test]
fn obscure_reads_the_password_from_stdin() {
    for args in [&[][..], &["-"][..]] {
        let mut obscure = Command::new(env!("CARGO_BIN_EXE_poof"));
        obscure.arg("obscure").args(args).stdin(Stdio::piped());
        let mut child = spawn(&mut obscure, Stdio::piped);
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin.write_all(b"from stdin only\n").expect("write");
        }
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success());
        let obscured = String::from_utf8(out.stdout).expect("utf-8");
        assert_eq!(
            poof_crypt::reveal(obscured.trim()).expect("reveals"),
            "from stdin only"
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("from stdin only"));
    }
}

/// An rclone config file every user can write is refused, with one line saying why.
#[test]
fn world_writable_rclone_config_is_refused() {
    let s = Scratch::new();
    s.write_config(&opts().section("c", &s.path("enc").display().to_string()));
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = run(s.poof().args(["ls", "c:"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("writable by every user"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    std::fs::set_permissions(s.config(), std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::create_dir_all(s.path("enc")).expect("mkdir");
    run_ok(s.poof().args(["ls", "c:"]));
}
