//! The keys kit: `poof keys export` writes the crypt remote and the storage under it as an
//! rclone config from which the real rclone alone restores the vault.

use std::os::unix::fs::PermissionsExt;

use crate::harness::home::{populate, Home};
use crate::harness::{byte_tree, run, run_ok};

/// The crypt password of the HOME's rclone-poof.conf, revealed.
fn crypt_password(h: &Home) -> String {
    let text = std::fs::read_to_string(h.confdir().join("rclone-poof.conf")).unwrap();
    let crypt = text
        .split("[poof-crypt]")
        .nth(1)
        .expect("a poof-crypt section");
    let obscured = crypt
        .lines()
        .find_map(|l| l.strip_prefix("password = "))
        .expect("a password");
    poof_crypt::reveal(obscured).unwrap().to_string()
}

#[test]
fn an_exported_kit_restores_the_vault_with_rclone_alone() {
    let h = Home::configured();
    let docs = h.home().join("docs");
    populate(
        &docs,
        &[("a.txt", b"alpha".to_vec()), ("sub/b.bin", vec![7; 70_000])],
    );
    h.add_path(&docs, "docs");
    run_ok(h.poof().arg("backup"));

    let said = run_ok(h.poof().arg("verify"));
    assert!(
        said.contains("crypt keys exported? - NO: their only other copy is inside the vault"),
        "{said}"
    );
    let kit = h.scratch.path("kit.conf");
    let out = run(h.poof().args(["keys", "export"]).arg(&kit));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        out.stdout.is_empty(),
        "nothing but the path is said, on stderr"
    );
    let mode = std::fs::metadata(&kit).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let text = std::fs::read_to_string(&kit).unwrap();
    assert!(
        text.contains("[poof-crypt]") && text.contains("[poof-backup]"),
        "{text}"
    );
    assert!(
        text.contains("rclone --config THIS_FILE copy poof-crypt:FOLDER"),
        "{text}"
    );
    let password = crypt_password(&h);
    assert!(
        !text.contains(&password),
        "a password in the clear without --reveal"
    );

    let said = run_ok(h.poof().arg("verify"));
    assert!(
        said.contains("crypt keys exported? - OK (exported "),
        "{said}"
    );

    // The machine is gone: rclone and the kit alone bring the files back.
    let restored = h.scratch.path("restored");
    run_ok(
        std::process::Command::new(crate::harness::rclone_bin())
            .arg("--config")
            .arg(&kit)
            .args(["copy", "poof-crypt:docs"])
            .arg(&restored),
    );
    assert_eq!(byte_tree(&restored), byte_tree(&docs));

    // Never overwritten; --reveal for paper.
    let again = run(h.poof().args(["keys", "export"]).arg(&kit));
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwritten"));
    assert_eq!(std::fs::read_to_string(&kit).unwrap(), text);
    let paper = h.scratch.path("paper.conf");
    run_ok(h.poof().args(["keys", "export", "--reveal"]).arg(&paper));
    let paper = std::fs::read_to_string(&paper).unwrap();
    assert!(
        paper.contains(&format!("# password, revealed: {password}\n")),
        "{paper}"
    );

    // A plain remote has no keys.
    run_ok(h.poof().arg("cryptoggle"));
    let plain = run(h
        .poof()
        .args(["keys", "export"])
        .arg(h.scratch.path("none.conf")));
    assert!(!plain.status.success());
    assert!(
        String::from_utf8_lossy(&plain.stderr).contains("is not encrypted"),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    assert!(!h.scratch.path("none.conf").exists());
}
