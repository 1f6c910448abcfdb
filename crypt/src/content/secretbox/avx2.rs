//! The Salsa20 keystream eight blocks at a time in AVX2 registers, on x86-64 CPUs that have
//! AVX2 (asked once per process). The only `unsafe` code of the crate lives here.
//!
//! [`Avx2`] is a token: a value exists only once `is_x86_feature_detected!("avx2")` said yes,
//! so [`Avx2::chunk`], a safe method, may call [`chunk8`], whose one requirement is that the
//! CPU runs AVX2. Inside, word `i` of block `counter + k` sits in lane `k` of the 256-bit
//! vector `x[i]`, as [`super::chunk`] lays out four blocks in `wide::u32x4`;
//! AVX2 has no 32-bit rotate, so a rotation is a shift left or'ed with a shift right. At the
//! end each half of the 16 words (8 vectors of 8 lanes) is transposed so that a vector holds
//! 8 consecutive words of one block, and stored unaligned: no alignment to reason about.

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_or_si256, _mm256_permute2x128_si256, _mm256_set1_epi32,
    _mm256_setr_epi32, _mm256_slli_epi32, _mm256_srli_epi32, _mm256_storeu_si256,
    _mm256_unpackhi_epi32, _mm256_unpackhi_epi64, _mm256_unpacklo_epi32, _mm256_unpacklo_epi64,
    _mm256_xor_si256,
};
use std::sync::OnceLock;

use super::WIDE;

/// Proof that this CPU runs AVX2: only [`Avx2::detect`] makes one, after asking the CPU.
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

impl Avx2 {
    /// `Some` when this CPU runs AVX2. The answer is computed once and kept.
    pub(super) fn detect() -> Option<Avx2> {
        static HAS_AVX2: OnceLock<bool> = OnceLock::new();
        let has = *HAS_AVX2.get_or_init(|| is_x86_feature_detected!("avx2"));
        has.then_some(Avx2(()))
    }

    /// Writes keystream blocks `counter .. counter + 8` of `state` into `out` (512 bytes).
    #[allow(unsafe_code)]
    pub(super) fn chunk(self, state: &[u32; 16], counter: u64, out: &mut [u8; WIDE]) {
        // SAFETY: `chunk8` requires a CPU that runs AVX2. `self` is an `Avx2`, which only
        // `detect` creates, and only after `is_x86_feature_detected!("avx2")` returned true.
        unsafe { chunk8(state, counter, out) }
    }
}

/// Rotates each 32-bit lane of `$v` left by `$bits`.
macro_rules! rotl {
    ($v:expr, $bits:literal) => {{
        let v = $v;
        _mm256_or_si256(
            _mm256_slli_epi32::<$bits>(v),
            _mm256_srli_epi32::<{ 32 - $bits }>(v),
        )
    }};
}

/// Writes keystream blocks `counter .. counter + 8` of `state` into `out`: lane `k` of every
/// vector computes block `counter + k` (the 64-bit counter is words 8 and 9).
///
/// # Safety
/// The CPU must run AVX2 (the caller holds an [`Avx2`]).
#[allow(unsafe_code)]
#[target_feature(enable = "avx2")]
unsafe fn chunk8(state: &[u32; 16], counter: u64, out: &mut [u8; WIDE]) {
    let mut input = [_mm256_set1_epi32(0); 16];
    for (lane, word) in input.iter_mut().zip(state) {
        *lane = _mm256_set1_epi32(*word as i32);
    }
    let c: [u64; 8] = std::array::from_fn(|k| counter.wrapping_add(k as u64));
    let [low, high] = [
        c.map(|c| c as u32 as i32),
        c.map(|c| (c >> 32) as u32 as i32),
    ];
    input[8] = _mm256_setr_epi32(
        low[0], low[1], low[2], low[3], low[4], low[5], low[6], low[7],
    );
    input[9] = _mm256_setr_epi32(
        high[0], high[1], high[2], high[3], high[4], high[5], high[6], high[7],
    );
    let mut x = input;
    // One Salsa20 quarter round on words `a`, `b`, `c`, `d` of eight blocks at once.
    macro_rules! quarter {
        ($a:literal, $b:literal, $c:literal, $d:literal) => {
            x[$b] = _mm256_xor_si256(x[$b], rotl!(_mm256_add_epi32(x[$a], x[$d]), 7));
            x[$c] = _mm256_xor_si256(x[$c], rotl!(_mm256_add_epi32(x[$b], x[$a]), 9));
            x[$d] = _mm256_xor_si256(x[$d], rotl!(_mm256_add_epi32(x[$c], x[$b]), 13));
            x[$a] = _mm256_xor_si256(x[$a], rotl!(_mm256_add_epi32(x[$d], x[$c]), 18));
        };
    }
    for _ in 0..10 {
        double_round!(quarter);
    }
    for (word, start) in x.iter_mut().zip(input) {
        *word = _mm256_add_epi32(*word, start);
    }
    for (half, w) in x.chunks_exact(8).enumerate() {
        // Transpose 8 words x 8 blocks into 8 blocks x 8 words, in three steps: pairs of
        // words (32-bit unpack), quads (64-bit unpack), then the 128-bit halves, which hold
        // blocks k and k + 4.
        let p = [
            _mm256_unpacklo_epi32(w[0], w[1]), // words 0,1 of blocks 0,1 | 4,5
            _mm256_unpackhi_epi32(w[0], w[1]), // words 0,1 of blocks 2,3 | 6,7
            _mm256_unpacklo_epi32(w[2], w[3]),
            _mm256_unpackhi_epi32(w[2], w[3]),
            _mm256_unpacklo_epi32(w[4], w[5]),
            _mm256_unpackhi_epi32(w[4], w[5]),
            _mm256_unpacklo_epi32(w[6], w[7]),
            _mm256_unpackhi_epi32(w[6], w[7]),
        ];
        let q = [
            _mm256_unpacklo_epi64(p[0], p[2]), // words 0-3 of block 0 | 4
            _mm256_unpackhi_epi64(p[0], p[2]), // words 0-3 of block 1 | 5
            _mm256_unpacklo_epi64(p[1], p[3]), // block 2 | 6
            _mm256_unpackhi_epi64(p[1], p[3]), // block 3 | 7
            _mm256_unpacklo_epi64(p[4], p[6]), // words 4-7 of block 0 | 4
            _mm256_unpackhi_epi64(p[4], p[6]),
            _mm256_unpacklo_epi64(p[5], p[7]),
            _mm256_unpackhi_epi64(p[5], p[7]),
        ];
        for k in 0..4 {
            let low = _mm256_permute2x128_si256::<0x20>(q[k], q[k + 4]); // block k
            let high = _mm256_permute2x128_si256::<0x31>(q[k], q[k + 4]); // block k + 4
            for (block, row) in [(k, low), (k + 4, high)] {
                let at = 64 * block + 32 * half;
                let dst: &mut [u8; 32] = (&mut out[at..at + 32]).try_into().expect("32 bytes");
                // SAFETY: `dst` is a unique borrow of 32 bytes, the size of `row`; the store
                // is unaligned, so any address is fine.
                unsafe { _mm256_storeu_si256(dst.as_mut_ptr().cast::<__m256i>(), row) };
            }
        }
    }
}
