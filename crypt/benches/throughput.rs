//! Content encryption throughput, in bytes per second.
//!
//! - `block`: one 64 KiB block sealed or opened by the raw `crypto_secretbox` primitive (the
//!   baseline) and by [`ContentCipher::seal_block`] / [`ContentCipher::open_block`] (appending
//!   to a `Vec`) and their `_to` forms (into a preallocated slice, as poof's parallel sealer
//!   uses them). The crate's own secretbox computes four keystream blocks at once (eight on
//!   CPUs with AVX2), so ours should beat the primitive, and never fall below 90% of it.
//! - `stream`: 16 MiB through each streaming adapter, source and sink in memory.
//!
//! Run with `cargo bench -p poof-crypt`.

use std::hint::black_box;
use std::io::{self, Read, Write};

use criterion::{criterion_main, Criterion, Throughput};
use crypto_secretbox::{AeadInPlace, KeyInit, XSalsa20Poly1305};
use poof_crypt::content::{BLOCK_DATA_SIZE, BLOCK_TAG_SIZE};
use poof_crypt::{ContentCipher, Keys, Nonce};

const STREAM_SIZE: usize = 16 << 20;

/// The cipher under test. The all-zero key of the empty password is as fast as any other and
/// skips scrypt.
fn cipher() -> ContentCipher {
    ContentCipher::new(&Keys::derive("", "").expect("empty password derives"))
}

fn block(c: &mut Criterion) {
    let mut group = c.benchmark_group("block");
    group.throughput(Throughput::Bytes(BLOCK_DATA_SIZE as u64));
    let nonce = Nonce([7; 24]);
    let plain = vec![0x5au8; BLOCK_DATA_SIZE];

    let raw = XSalsa20Poly1305::new(&[0u8; 32].into());
    let mut buf = plain.clone();
    group.bench_function("raw_secretbox_seal", |b| {
        b.iter(|| {
            raw.encrypt_in_place_detached((&nonce.0).into(), &[], black_box(&mut buf))
                .expect("seal")
        })
    });

    let mut sealed_raw = plain.clone();
    let tag = raw
        .encrypt_in_place_detached((&nonce.0).into(), &[], &mut sealed_raw)
        .expect("seal");
    let mut work = sealed_raw.clone();
    group.bench_function("raw_secretbox_open", |b| {
        b.iter(|| {
            work.copy_from_slice(&sealed_raw);
            raw.decrypt_in_place_detached((&nonce.0).into(), &[], black_box(&mut work), &tag)
                .expect("open")
        })
    });

    let ours = cipher();
    let mut out = Vec::with_capacity(BLOCK_TAG_SIZE + BLOCK_DATA_SIZE);
    group.bench_function("seal_block", |b| {
        b.iter(|| {
            out.clear();
            ours.seal_block(&nonce, black_box(&plain), &mut out);
        })
    });

    let mut sealed = Vec::new();
    ours.seal_block(&nonce, &plain, &mut sealed);
    group.bench_function("open_block", |b| {
        b.iter(|| {
            out.clear();
            ours.open_block(&nonce, black_box(&sealed), &mut out)
                .expect("open");
        })
    });
    let mut slot = vec![0u8; BLOCK_TAG_SIZE + BLOCK_DATA_SIZE];
    group.bench_function("seal_block_to", |b| {
        b.iter(|| ours.seal_block_to(&nonce, black_box(&plain), &mut slot))
    });

    let mut opened = vec![0u8; BLOCK_DATA_SIZE];
    group.bench_function("open_block_to", |b| {
        b.iter(|| {
            ours.open_block_to(&nonce, black_box(&sealed), &mut opened)
                .expect("open")
        })
    });
    group.finish();
}

fn stream(c: &mut Criterion) {
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(STREAM_SIZE as u64));
    group.sample_size(20);
    let ours = cipher();

    group.bench_function("encrypt_reader_16MiB", |b| {
        b.iter(|| {
            let mut r = ours.encrypt_reader(io::repeat(0).take(STREAM_SIZE as u64));
            io::copy(&mut r, &mut io::sink()).expect("copy")
        })
    });

    let mut sealed = Vec::new();
    ours.encrypt_reader(io::repeat(0).take(STREAM_SIZE as u64))
        .read_to_end(&mut sealed)
        .expect("encrypt");
    group.bench_function("decrypt_reader_16MiB", |b| {
        b.iter(|| {
            let mut r = ours.decrypt_reader(&sealed[..]).expect("header");
            io::copy(&mut r, &mut io::sink()).expect("copy")
        })
    });

    group.bench_function("encrypt_writer_16MiB", |b| {
        b.iter(|| {
            let mut w = ours.encrypt_writer(io::sink()).expect("header");
            io::copy(&mut io::repeat(0).take(STREAM_SIZE as u64), &mut w).expect("copy");
            w.finish().expect("finish")
        })
    });

    group.bench_function("decrypt_writer_16MiB", |b| {
        b.iter(|| {
            let mut w = ours.decrypt_writer(io::sink());
            w.write_all(&sealed).expect("write");
            w.finish().expect("finish")
        })
    });
    group.finish();
}

/// `criterion_group!` defines an undocumented `pub fn`.
#[allow(missing_docs)]
mod registered {
    criterion::criterion_group!(benches, super::block, super::stream);
}
criterion_main!(registered::benches);
