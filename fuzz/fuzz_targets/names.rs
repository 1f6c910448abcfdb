//! Names between a disk and rclone's Standard form (`poof::remote::encoding`) from arbitrary
//! bytes. Every name a disk can hold (the input split at `/` and NUL) comes back byte for byte
//! through Standard and through what the crypt layer encrypts (the wire form), and its
//! Standard form holds no control character (names are printed in it). Arbitrary decrypted
//! bytes are either refused with a reason or give a Standard name whose disk form is a valid
//! file name. Panics are failures; nothing is read or written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use poof::remote::encoding::{check_disk_name, from_wire, to_disk, to_standard, to_wire};

fuzz_target!(|data: &[u8]| {
    for disk in data.split(|&b| b == b'/' || b == 0) {
        let standard = to_standard(disk);
        assert!(
            !standard.bytes().any(|b| b < 0x20 || b == 0x7f),
            "{standard:?} holds a control character"
        );
        assert_eq!(&*to_disk(standard.as_bytes()), disk, "{standard:?}");
        let wire = to_wire(&standard);
        assert_eq!(&*to_disk(&wire), disk, "{standard:?}");
        if check_disk_name(disk).is_ok() {
            assert_eq!(from_wire(&wire).expect("a disk name decrypts"), standard);
        }
    }
    if let Ok(standard) = from_wire(data) {
        assert!(check_disk_name(&to_disk(standard.as_bytes())).is_ok(), "{standard:?}");
    }
});
