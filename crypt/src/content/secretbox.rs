//! NaCl's secretbox (XSalsa20-Poly1305), the AEAD of every content block, with a Salsa20
//! keystream computed eight or four blocks at a time in SIMD lanes.
//!
//! The output is exactly `crypto_secretbox`'s (the unit tests compare both on random keys,
//! nonces and lengths through every width the CPU runs, and the rclone vectors of
//! `tests/vectors.rs` run through it). Why a keystream of our own: the `salsa20` crate
//! computes one 64-byte block at a time in scalar code, which made sealing slower than
//! rclone's assembly on the same core. Here the 16 state words of consecutive blocks sit in
//! vectors, one block per lane, so the 20 rounds run once for several blocks:
//!
//! - four lanes ([`wide::u32x4`], SSE2 on x86-64, safe code) on every CPU: 256 bytes of
//!   keystream per pass, about twice the throughput of the scalar code;
//! - eight lanes (`avx2.rs`, AVX2 registers through `std::arch`) on x86-64 CPUs that have
//!   AVX2: 512 bytes per pass. AVX2 is not in the x86-64 baseline poof is compiled for, so
//!   that code is compiled for AVX2 alone and called only once the CPU has said it runs it
//!   (asked once per process, [`Lanes::best`]): the crate's one `unsafe` function and its one
//!   call. On the 2-core x86-64 VM poof is measured on, a 64 KiB block seals at 965-1042 MiB/s
//!   and opens at 1023-1040 MiB/s with eight lanes, against 677-687 and 674-675 MiB/s with
//!   four (`cargo bench -p poof-crypt`).
//!
//! The first 256 bytes of keystream (the Poly1305 key and the first 224 data bytes) come from
//! four lanes, computed before anything else; the rest from the widest lanes, except a tail of
//! 256 bytes or less, which takes four.
//!
//! The construction, as NaCl defines it: the subkey is HSalsa20(key, nonce[..16]); the
//! Salsa20 keystream under the subkey and nonce[16..] starts at block 0; its first 32 bytes
//! are the one-time Poly1305 key, the next bytes encrypt the message, and the tag is Poly1305
//! of the ciphertext. Opening checks the tag (in constant time) before decrypting anything.

use poly1305::universal_hash::KeyInit;
use poly1305::Poly1305;
use salsa20::cipher::consts::U10;
use subtle::ConstantTimeEq;
use wide::u32x4;
use zeroize::{Zeroize, Zeroizing};

/// One Salsa20 double round: `$quarter!(a, b, c, d)` on the four columns, then the four rows,
/// for a `quarter` macro that updates words `a`, `b`, `c`, `d`. Twenty rounds are ten of these.
/// A macro, not a table of indices looped over, so that every index is a constant and the
/// words stay in registers (with a table the compiler kept them in memory).
macro_rules! double_round {
    ($quarter:ident) => {
        $quarter!(0, 4, 8, 12);
        $quarter!(5, 9, 13, 1);
        $quarter!(10, 14, 2, 6);
        $quarter!(15, 3, 7, 11);
        $quarter!(0, 1, 2, 3);
        $quarter!(5, 6, 7, 4);
        $quarter!(10, 11, 8, 9);
        $quarter!(15, 12, 13, 14);
    };
}

#[cfg(target_arch = "x86_64")]
mod avx2;

/// Size of the key.
pub(crate) const KEY_SIZE: usize = 32;
/// Size of the nonce.
pub(crate) const NONCE_SIZE: usize = 24;
/// Size of the Poly1305 tag.
pub(crate) const TAG_SIZE: usize = 16;

/// Keystream bytes computed per round of the four lanes.
const CHUNK: usize = 4 * 64;
/// Keystream bytes computed per round of the eight lanes (AVX2), and the size of the buffer
/// that receives either.
const WIDE: usize = 8 * 64;
/// Keystream bytes of the first chunk that encrypt data: the first 32 are the Poly1305 key.
const FIRST_DATA: usize = CHUNK - 32;

/// "expand 32-byte k", the Salsa20 constants.
const SIGMA: [u32; 4] = [0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574];

/// How many keystream blocks one pass of the rounds computes: the widest this CPU runs.
#[derive(Clone, Copy, Debug)]
enum Lanes {
    /// Four, in `wide::u32x4` (SSE2 on x86-64): every CPU.
    Four,
    /// Eight, in AVX2 registers; holds the proof that the CPU runs AVX2.
    #[cfg(target_arch = "x86_64")]
    Eight(avx2::Avx2),
}

impl Lanes {
    /// The widest lanes this CPU runs (the CPU is asked once per process).
    fn best() -> Lanes {
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = avx2::Avx2::detect() {
            return Lanes::Eight(cpu);
        }
        Lanes::Four
    }

    /// Writes keystream blocks `counter ..` of `state` into the start of `out` and returns
    /// how many bytes it wrote: 256 with four lanes, 512 with eight.
    fn chunk(self, state: &[u32; 16], counter: u64, out: &mut [u8; WIDE]) -> usize {
        match self {
            Lanes::Four => {
                chunk(state, counter, out.first_chunk_mut().expect("WIDE > CHUNK"));
                CHUNK
            }
            #[cfg(target_arch = "x86_64")]
            Lanes::Eight(cpu) => {
                cpu.chunk(state, counter, out);
                WIDE
            }
        }
    }
}

/// The key of a secretbox; wiped on drop.
#[derive(Clone)]
pub(crate) struct SecretBox {
    key: Zeroizing<[u8; KEY_SIZE]>,
    lanes: Lanes,
}

impl SecretBox {
    /// A secretbox under `key`.
    pub(crate) fn new(key: &[u8; KEY_SIZE]) -> SecretBox {
        SecretBox {
            key: Zeroizing::new(*key),
            lanes: Lanes::best(),
        }
    }

    /// Encrypts `plain` into `out` (the same length) under `nonce` and returns the tag.
    ///
    /// # Panics
    /// Never: a length mismatch encrypts the common prefix only, which callers rule out.
    pub(crate) fn seal_to(
        &self,
        nonce: &[u8; NONCE_SIZE],
        plain: &[u8],
        out: &mut [u8],
    ) -> [u8; TAG_SIZE] {
        let mut stream = Keystream::new(&self.key, nonce, self.lanes);
        let mac_key = stream.apply(Some(plain), out);
        tag(&mac_key, out)
    }

    /// Encrypts `data` in place under `nonce` and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8; NONCE_SIZE],
        data: &mut [u8],
    ) -> [u8; TAG_SIZE] {
        let mut stream = Keystream::new(&self.key, nonce, self.lanes);
        let mac_key = stream.apply(None, data);
        tag(&mac_key, data)
    }

    /// Checks `tag` over `sealed` and, when it matches, decrypts `sealed` into `out` (the same
    /// length). Returns false, with `out` untouched, when the tag does not match.
    pub(crate) fn open_to(
        &self,
        nonce: &[u8; NONCE_SIZE],
        sealed: &[u8],
        tag_given: &[u8; TAG_SIZE],
        out: &mut [u8],
    ) -> bool {
        let mut stream = Keystream::new(&self.key, nonce, self.lanes);
        if !stream.verify(sealed, tag_given) {
            return false;
        }
        stream.apply(Some(sealed), out);
        true
    }

    /// Checks `tag` over `data` and, when it matches, decrypts `data` in place. Returns false,
    /// with `data` untouched, when the tag does not match.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8; NONCE_SIZE],
        data: &mut [u8],
        tag_given: &[u8; TAG_SIZE],
    ) -> bool {
        let mut stream = Keystream::new(&self.key, nonce, self.lanes);
        if !stream.verify(data, tag_given) {
            return false;
        }
        stream.apply(None, data);
        true
    }
}

/// Poly1305 of `data` under the one-time key.
fn tag(mac_key: &[u8; 32], data: &[u8]) -> [u8; TAG_SIZE] {
    Poly1305::new(mac_key.into()).compute_unpadded(data).into()
}

/// The Salsa20 keystream of one secretbox: the input state under the subkey, the first
/// chunk of keystream (Poly1305 key, then the first data bytes) and the lanes that compute
/// the rest. Wiped on drop.
struct Keystream {
    state: [u32; 16],
    first: [u8; CHUNK],
    lanes: Lanes,
}

impl Drop for Keystream {
    fn drop(&mut self) {
        self.state.zeroize();
        self.first.zeroize();
    }
}

impl Keystream {
    /// The keystream of `key` and `nonce` (XSalsa20: subkey from HSalsa20 and the first 16
    /// nonce bytes, stream nonce from the last 8). The first chunk is computed now, with four
    /// lanes; `lanes` computes the rest.
    fn new(key: &[u8; KEY_SIZE], nonce: &[u8; NONCE_SIZE], lanes: Lanes) -> Keystream {
        let (head, tail) = nonce.split_at(16);
        let mut subkey = salsa20::hsalsa::<U10>(key.into(), head.into());
        let mut state = [0u32; 16];
        let words = |bytes: &[u8], out: &mut [u32]| {
            for (w, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            }
        };
        state[0] = SIGMA[0];
        words(&subkey[..16], &mut state[1..5]);
        state[5] = SIGMA[1];
        words(tail, &mut state[6..8]);
        // Words 8 and 9 are the block counter, set per chunk.
        state[10] = SIGMA[2];
        words(&subkey[16..], &mut state[11..15]);
        state[15] = SIGMA[3];
        subkey.zeroize();
        let mut first = [0u8; CHUNK];
        chunk(&state, 0, &mut first);
        Keystream {
            state,
            first,
            lanes,
        }
    }

    /// The one-time Poly1305 key: the first 32 bytes of keystream.
    fn mac_key(&self) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&self.first[..32]);
        key
    }

    /// True when `tag_given` is the Poly1305 tag of `sealed` (compared in constant time).
    fn verify(&self, sealed: &[u8], tag_given: &[u8; TAG_SIZE]) -> bool {
        tag(&self.mac_key(), sealed).ct_eq(tag_given).into()
    }

    /// XORs the data keystream (from byte 32 of block 0) with `src` into `dst`, or with
    /// `dst` itself when `src` is `None`, and returns the Poly1305 key. Only the common
    /// length of `src` and `dst` is processed. After the first chunk, the keystream comes
    /// eight blocks at a time when the CPU runs AVX2; a tail of 256 bytes or less takes four.
    fn apply(&mut self, src: Option<&[u8]>, dst: &mut [u8]) -> Zeroizing<[u8; 32]> {
        let len = src.map_or(dst.len(), |s| s.len().min(dst.len()));
        let mut ks = Zeroizing::new([0u8; WIDE]);
        let mut at = 0;
        let mut counter = 4u64;
        while at < len {
            let (stream, n) = if at == 0 {
                (&self.first[32..], FIRST_DATA.min(len))
            } else {
                let lanes = if len - at > CHUNK {
                    self.lanes
                } else {
                    Lanes::Four
                };
                let made = lanes.chunk(&self.state, counter, &mut ks);
                counter = counter.wrapping_add((made / 64) as u64);
                (&ks[..made], made.min(len - at))
            };
            let out = &mut dst[at..at + n];
            match src {
                Some(src) => xor_into(out, &src[at..at + n], &stream[..n]),
                None => xor_in_place(out, &stream[..n]),
            }
            at += n;
        }
        self.mac_key()
    }
}

/// `out = src ^ stream`, all three the same length.
fn xor_into(out: &mut [u8], src: &[u8], stream: &[u8]) {
    for ((o, s), k) in out.iter_mut().zip(src).zip(stream) {
        *o = s ^ k;
    }
}

/// `out ^= stream`, both the same length.
fn xor_in_place(out: &mut [u8], stream: &[u8]) {
    for (o, k) in out.iter_mut().zip(stream) {
        *o ^= k;
    }
}

/// Rotates each lane left by `L` bits (`R` = 32 - `L`).
#[inline(always)]
fn rotl<const L: u32, const R: u32>(v: u32x4) -> u32x4 {
    (v << L) | (v >> R)
}

/// Writes keystream blocks `counter .. counter + 4` of `state` into `out` (256 bytes).
fn chunk(state: &[u32; 16], counter: u64, out: &mut [u8; CHUNK]) {
    let mut input = [u32x4::ZERO; 16];
    for (lane, word) in input.iter_mut().zip(state) {
        *lane = u32x4::splat(*word);
    }
    let c = [0u64, 1, 2, 3].map(|k| counter.wrapping_add(k));
    input[8] = u32x4::new(c.map(|c| c as u32));
    input[9] = u32x4::new(c.map(|c| (c >> 32) as u32));
    let mut x = input;
    // One Salsa20 quarter round on words `a`, `b`, `c`, `d` of four blocks at once.
    macro_rules! quarter {
        ($a:literal, $b:literal, $c:literal, $d:literal) => {
            x[$b] ^= rotl::<7, 25>(x[$a] + x[$d]);
            x[$c] ^= rotl::<9, 23>(x[$b] + x[$a]);
            x[$d] ^= rotl::<13, 19>(x[$c] + x[$b]);
            x[$a] ^= rotl::<18, 14>(x[$d] + x[$c]);
        };
    }
    for _ in 0..10 {
        double_round!(quarter);
    }
    for (word, start) in x.iter_mut().zip(input) {
        *word += start;
    }
    // Lane j of word i is word i of block j: transpose four words at a time.
    for group in 0..4 {
        let w = 4 * group;
        let rows = u32x4::transpose([x[w], x[w + 1], x[w + 2], x[w + 3]]);
        for (block, row) in rows.iter().enumerate() {
            let at = 64 * block + 16 * group;
            for (k, word) in row.to_array().iter().enumerate() {
                out[at + 4 * k..at + 4 * k + 4].copy_from_slice(&word.to_le_bytes());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crypto_secretbox::aead::AeadInPlace;
    use crypto_secretbox::XSalsa20Poly1305;

    /// A small deterministic generator (splitmix64): the same inputs on every run.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }

        fn fill(&mut self, out: &mut [u8]) {
            for b in out {
                *b = self.next() as u8;
            }
        }
    }

    fn reference_seal(key: &[u8; 32], nonce: &[u8; 24], plain: &[u8]) -> (Vec<u8>, [u8; 16]) {
        let aead = XSalsa20Poly1305::new(key.into());
        let mut data = plain.to_vec();
        let tag = aead
            .encrypt_in_place_detached(nonce.into(), &[], &mut data)
            .unwrap();
        (data, tag.into())
    }

    /// Every width this CPU runs: four lanes always, eight where it has AVX2.
    fn all_lanes() -> Vec<Lanes> {
        #[cfg(target_arch = "x86_64")]
        if let Some(cpu) = avx2::Avx2::detect() {
            return vec![Lanes::Four, Lanes::Eight(cpu)];
        }
        vec![Lanes::Four]
    }

    /// The XSalsa20 keystream from block `counter` on, from the salsa20 crate that
    /// `crypto_secretbox` is built on.
    fn reference_keystream(key: &[u8; 32], nonce: &[u8; 24], counter: u64, out: &mut [u8]) {
        use salsa20::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
        let mut reference = salsa20::XSalsa20::new(key.into(), nonce.into());
        reference.seek(counter * 64);
        out.fill(0);
        reference.apply_keystream(out);
    }

    #[test]
    fn matches_crypto_secretbox_on_random_inputs() {
        let mut rng = Gen(7);
        // Around the first chunk (224 data bytes), the four-lane tail (256) and the
        // eight-lane chunk (512): 224 + 256 = 480, 224 + 512 = 736, 224 + 768 = 992.
        let mut lengths: Vec<usize> = vec![0, 1, 31, 32, 33, 223, 224, 225, 255, 256, 257, 480];
        lengths.extend([479, 481, 735, 736, 737, 991, 992, 993, 1248, 1249]);
        lengths.extend([65535, 65536, 65537].iter());
        lengths.extend((0..40).map(|_| (rng.next() % 3000) as usize));
        for (len, lanes) in lengths
            .into_iter()
            .flat_map(|len| all_lanes().into_iter().map(move |lanes| (len, lanes)))
        {
            let mut key = [0u8; 32];
            let mut nonce = [0u8; 24];
            rng.fill(&mut key);
            rng.fill(&mut nonce);
            let mut plain = vec![0u8; len];
            rng.fill(&mut plain);
            let (want, want_tag) = reference_seal(&key, &nonce, &plain);
            let mut sb = SecretBox::new(&key);
            sb.lanes = lanes;

            let mut out = vec![0u8; len];
            assert_eq!(
                sb.seal_to(&nonce, &plain, &mut out),
                want_tag,
                "tag, len {len}, {lanes:?}"
            );
            assert!(out == want, "ciphertext, len {len}, {lanes:?}");
            let mut inplace = plain.clone();
            assert_eq!(sb.seal_in_place(&nonce, &mut inplace), want_tag);
            assert!(inplace == want);

            let mut opened = vec![0u8; len];
            assert!(sb.open_to(&nonce, &want, &want_tag, &mut opened));
            assert!(opened == plain, "open, len {len}, {lanes:?}");
            assert!(sb.open_in_place(&nonce, &mut inplace, &want_tag));
            assert!(inplace == plain);
        }
    }

    #[test]
    fn every_width_matches_the_reference_keystream_at_many_counters() {
        // Each width's chunk function on its own, against the salsa20 crate seeking to the
        // same block, for counters at and away from the multiples of 4 and 8 that `apply`
        // uses, and straddling 2^32, where the 64-bit block counter (words 8 and 9 of the
        // state) carries from its low word into its high one.
        let mut rng = Gen(11);
        let mut counters: Vec<u64> = (0..20).collect();
        counters.extend([1 << 20, 1 << 31, (1 << 33) + 5, 1 << 40]);
        counters.extend((1..=9).map(|k| (1u64 << 32) - k));
        counters.extend((0..20).map(|_| rng.next() >> 24));
        for lanes in all_lanes() {
            for &counter in &counters {
                let mut key = [0u8; 32];
                let mut nonce = [0u8; 24];
                rng.fill(&mut key);
                rng.fill(&mut nonce);
                let stream = Keystream::new(&key, &nonce, lanes);
                let mut ours = [0u8; WIDE];
                let made = lanes.chunk(&stream.state, counter, &mut ours);
                let mut theirs = vec![0u8; made];
                reference_keystream(&key, &nonce, counter, &mut theirs);
                assert!(ours[..made] == theirs[..], "{lanes:?}, counter {counter}");
            }
        }
    }

    #[test]
    fn counter_carries_past_32_bits() {
        // A chunk straddling the 2^32 boundary in its middle, in every width.
        let key = [9u8; 32];
        let nonce = [5u8; 24];
        for lanes in all_lanes() {
            let stream = Keystream::new(&key, &nonce, lanes);
            let mut ours = [0u8; WIDE];
            let made = lanes.chunk(&stream.state, (1u64 << 32) - 2, &mut ours);
            let mut theirs = [0u8; WIDE];
            reference_keystream(&key, &nonce, (1u64 << 32) - 2, &mut theirs[..made]);
            assert_eq!(ours, theirs, "{lanes:?}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn eight_lanes_are_chosen_where_the_cpu_runs_avx2() {
        let chosen = matches!(Lanes::best(), Lanes::Eight(_));
        assert_eq!(chosen, std::arch::is_x86_feature_detected!("avx2"));
        assert_eq!(
            matches!(SecretBox::new(&[0; 32]).lanes, Lanes::Eight(_)),
            chosen
        );
    }

    #[test]
    fn any_flipped_bit_or_wrong_nonce_is_refused_and_leaves_data_alone() {
        let key = [3u8; 32];
        let nonce = [4u8; 24];
        let plain: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        let (sealed, tag) = reference_seal(&key, &nonce, &plain);
        let sb = SecretBox::new(&key);
        for at in [0, 1, 500, 999] {
            let mut bad = sealed.clone();
            bad[at] ^= 0x10;
            let mut out = vec![0xaa; bad.len()];
            assert!(!sb.open_to(&nonce, &bad, &tag, &mut out));
            assert!(out.iter().all(|b| *b == 0xaa), "out untouched");
            let copy = bad.clone();
            assert!(!sb.open_in_place(&nonce, &mut bad, &tag));
            assert_eq!(bad, copy, "data untouched");
        }
        let mut bad_tag = tag;
        bad_tag[15] ^= 1;
        let mut out = vec![0u8; sealed.len()];
        assert!(!sb.open_to(&nonce, &sealed, &bad_tag, &mut out));
        let mut other = nonce;
        other[23] ^= 1;
        assert!(!sb.open_to(&other, &sealed, &tag, &mut out));
        assert!(sb.open_to(&nonce, &sealed, &tag, &mut out));
        assert_eq!(out, plain);
    }
}
