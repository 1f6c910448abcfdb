//! EME wide-block encryption over AES-256, and the PKCS#7 padding around it.
//!
//! rclone encrypts each name segment as one unit with EME ("ECB-Mix-ECB", Halevi and Rogaway,
//! "A Parallelizable Enciphering Mode", 2003), in the variant of github.com/rfjakob/eme: a
//! tweakable, length-preserving cipher over 1 to 128 whole AES blocks in which every output
//! byte depends on every input byte. With the fixed per-remote tweak it is deterministic, so a
//! name always encrypts to the same text, which a remote's listing needs.
//!
//! With E the AES encryption under the name key, T the tweak, P₁..Pₘ the plaintext blocks and
//! L = 2·E(0) (products in GF(2¹²⁸), see [`double`]):
//!
//! ```text
//! PPPⱼ = E(Pⱼ ⊕ 2ʲ⁻¹·L)                      j = 1..m
//! MP   = T ⊕ PPP₁ ⊕ … ⊕ PPPₘ;   MC = E(MP);   M = MP ⊕ MC
//! CCCⱼ = PPPⱼ ⊕ 2ʲ⁻¹·M                       j = 2..m
//! CCC₁ = MC ⊕ T ⊕ CCC₂ ⊕ … ⊕ CCCₘ
//! Cⱼ   = E(CCCⱼ) ⊕ 2ʲ⁻¹·L                    j = 1..m
//! ```
//!
//! Decryption is the same computation with the AES decryption D in place of every E except
//! the one in L = 2·E(0).
//!
//! [`pad`] and [`unpad`] are PKCS#7 to the AES block size, as rclone pads names before EME.

use aes::cipher::{generic_array::GenericArray, BlockDecrypt, BlockEncrypt};
use aes::Aes256;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The AES block size, the unit of EME and of PKCS#7 padding here.
pub(crate) const BLOCK_SIZE: usize = 16;
/// EME is defined for at most as many blocks as there are bits in one (n = 128).
pub(crate) const MAX_BLOCKS: usize = BLOCK_SIZE * 8;
/// The longest input EME accepts: 2048 bytes.
pub(crate) const MAX_LEN: usize = BLOCK_SIZE * MAX_BLOCKS;

type Block = [u8; BLOCK_SIZE];

/// Which way [`transform`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Plaintext to ciphertext.
    Encrypt,
    /// Ciphertext to plaintext.
    Decrypt,
}

/// Multiplication by 2 (the polynomial x) in GF(2¹²⁸) as the EME paper lays blocks out:
/// byte 0 holds the lowest bits, so the shift carries from each byte into the next, and the bit
/// shifted out of byte 15 folds back as x¹²⁸ = x⁷ + x² + x + 1 (0x87) into byte 0.
fn double(block: &mut Block) {
    let mut carry = 0u8;
    for byte in block.iter_mut() {
        let next = *byte >> 7;
        *byte = (*byte << 1) | carry;
        carry = next;
    }
    if carry == 1 {
        block[0] ^= 0x87;
    }
}

fn xor_into(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// Runs AES on one block. `block` is always [`BLOCK_SIZE`] long: a `Block` or a
/// `chunks_exact_mut(BLOCK_SIZE)` item.
fn apply(cipher: &Aes256, direction: Direction, block: &mut [u8]) {
    let block = GenericArray::from_mut_slice(block);
    match direction {
        Direction::Encrypt => cipher.encrypt_block(block),
        Direction::Decrypt => cipher.decrypt_block(block),
    }
}

/// Encrypts or decrypts `data` in place with EME under `cipher` and `tweak`.
///
/// `data` must be a non-empty whole number of blocks. More than [`MAX_BLOCKS`] blocks are
/// processed with the same formulas, but beyond the mode's definition (and beyond what rclone
/// accepts); callers refuse such names before decrypting.
///
/// # Errors
/// [`Error::NotMultipleOfBlockSize`] if `data` is empty or not a multiple of [`BLOCK_SIZE`].
pub(crate) fn transform(
    cipher: &Aes256,
    tweak: &Block,
    data: &mut [u8],
    direction: Direction,
) -> Result<()> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK_SIZE) {
        return Err(Error::NotMultipleOfBlockSize);
    }

    // L = 2·E(0), in both directions.
    let mut l0 = Zeroizing::new([0u8; BLOCK_SIZE]);
    apply(cipher, Direction::Encrypt, &mut l0[..]);
    double(&mut l0);

    // PPPⱼ = E(Pⱼ ⊕ 2ʲ⁻¹·L), in place; MP = T ⊕ ΣPPPⱼ.
    let mut l = Zeroizing::new(*l0);
    let mut mp = Zeroizing::new(*tweak);
    for block in data.chunks_exact_mut(BLOCK_SIZE) {
        xor_into(block, &l[..]);
        apply(cipher, direction, block);
        xor_into(&mut mp[..], block);
        double(&mut l);
    }

    // MC = E(MP); M = MP ⊕ MC.
    let mut mc = Zeroizing::new(*mp);
    apply(cipher, direction, &mut mc[..]);
    let mut m = Zeroizing::new(*mp);
    xor_into(&mut m[..], &mc[..]);

    // CCCⱼ = PPPⱼ ⊕ 2ʲ⁻¹·M for j ≥ 2; CCC₁ = MC ⊕ T ⊕ ΣCCCⱼ.
    let mut ccc1 = Zeroizing::new(*mc);
    xor_into(&mut ccc1[..], tweak);
    for block in data.chunks_exact_mut(BLOCK_SIZE).skip(1) {
        double(&mut m);
        xor_into(block, &m[..]);
        xor_into(&mut ccc1[..], block);
    }
    if let Some(first) = data.chunks_exact_mut(BLOCK_SIZE).next() {
        first.copy_from_slice(&*ccc1);
    }

    // Cⱼ = E(CCCⱼ) ⊕ 2ʲ⁻¹·L.
    let mut l = l0;
    for block in data.chunks_exact_mut(BLOCK_SIZE) {
        apply(cipher, direction, block);
        xor_into(block, &l[..]);
        double(&mut l);
    }
    Ok(())
}

/// PKCS#7: appends 1 to [`BLOCK_SIZE`] bytes, each holding the count, so the length becomes a
/// non-zero multiple of the block size.
pub(crate) fn pad(data: &mut Vec<u8>) {
    let fill = BLOCK_SIZE - data.len() % BLOCK_SIZE;
    // fill is in 1..=16, so it fits a byte.
    data.resize(data.len() + fill, fill as u8);
}

/// Removes PKCS#7 padding added by [`pad`].
///
/// # Errors
/// [`Error::NotMultipleOfBlockSize`] if `data` is empty or not whole blocks;
/// [`Error::BadPadding`] if the last byte is not a count in 1..=16 repeated that many times.
pub(crate) fn unpad(data: &mut Vec<u8>) -> Result<()> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK_SIZE) {
        return Err(Error::NotMultipleOfBlockSize);
    }
    let fill = data.last().copied().map_or(0, usize::from);
    if !(1..=BLOCK_SIZE).contains(&fill) {
        return Err(Error::BadPadding);
    }
    let keep = data.len() - fill;
    if data[keep..].iter().any(|&b| usize::from(b) != fill) {
        return Err(Error::BadPadding);
    }
    data.truncate(keep);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::KeyInit;

    fn cipher(seed: u8) -> Aes256 {
        let key: Vec<u8> = (0..32).map(|i| seed.wrapping_add(i)).collect();
        Aes256::new(GenericArray::from_slice(&key))
    }

    fn sample(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn round_trip(blocks: usize) {
        let c = cipher(1);
        let tweak = [9u8; BLOCK_SIZE];
        let plain = sample(blocks * BLOCK_SIZE);
        let mut data = plain.clone();
        transform(&c, &tweak, &mut data, Direction::Encrypt).unwrap();
        assert_ne!(data, plain);
        transform(&c, &tweak, &mut data, Direction::Decrypt).unwrap();
        assert_eq!(data, plain);
    }

    #[test]
    fn round_trip_one_block() {
        round_trip(1);
    }

    #[test]
    fn round_trip_two_blocks() {
        round_trip(2);
    }

    #[test]
    fn round_trip_sixteen_blocks() {
        round_trip(16);
    }

    #[test]
    fn round_trip_max_blocks() {
        round_trip(MAX_BLOCKS);
    }

    #[test]
    fn one_changed_byte_changes_every_block() {
        let c = cipher(2);
        let tweak = [0u8; BLOCK_SIZE];
        let mut a = sample(4 * BLOCK_SIZE);
        let mut b = a.clone();
        b[3 * BLOCK_SIZE + 5] ^= 1;
        transform(&c, &tweak, &mut a, Direction::Encrypt).unwrap();
        transform(&c, &tweak, &mut b, Direction::Encrypt).unwrap();
        for (x, y) in a.chunks(BLOCK_SIZE).zip(b.chunks(BLOCK_SIZE)) {
            assert_ne!(x, y);
        }
    }

    #[test]
    fn tweak_changes_ciphertext() {
        let c = cipher(3);
        let mut a = sample(BLOCK_SIZE);
        let mut b = a.clone();
        transform(&c, &[0; BLOCK_SIZE], &mut a, Direction::Encrypt).unwrap();
        transform(&c, &[1; BLOCK_SIZE], &mut b, Direction::Encrypt).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn empty_and_partial_blocks_are_refused() {
        let c = cipher(4);
        for len in [0, 1, 15, 17, 31] {
            let mut data = vec![0; len];
            assert!(matches!(
                transform(&c, &[0; BLOCK_SIZE], &mut data, Direction::Encrypt),
                Err(Error::NotMultipleOfBlockSize)
            ));
        }
    }

    #[test]
    fn double_carries_across_bytes_and_folds_top_bit() {
        let mut b = [0u8; BLOCK_SIZE];
        b[0] = 0x80;
        double(&mut b);
        assert_eq!(b[..2], [0x00, 0x01]);
        let mut b = [0u8; BLOCK_SIZE];
        b[15] = 0x80;
        double(&mut b);
        let mut want = [0u8; BLOCK_SIZE];
        want[0] = 0x87;
        assert_eq!(b, want);
    }

    #[test]
    fn pad_adds_a_full_block_to_whole_blocks() {
        for (len, padded) in [(0, 16), (1, 16), (15, 16), (16, 32), (17, 32)] {
            let mut data = sample(len);
            pad(&mut data);
            assert_eq!(data.len(), padded);
            unpad(&mut data).unwrap();
            assert_eq!(data, sample(len));
        }
    }

    #[test]
    fn unpad_rejects_zero_oversized_and_inconsistent_fill() {
        let mut zero = vec![0u8; 16];
        assert!(matches!(unpad(&mut zero), Err(Error::BadPadding)));
        let mut big = vec![17u8; 32];
        assert!(matches!(unpad(&mut big), Err(Error::BadPadding)));
        let mut mixed = vec![3u8; 16];
        mixed[14] = 2;
        assert!(matches!(unpad(&mut mixed), Err(Error::BadPadding)));
        let mut short = vec![1u8; 15];
        assert!(matches!(
            unpad(&mut short),
            Err(Error::NotMultipleOfBlockSize)
        ));
        let mut full = vec![16u8; 16];
        unpad(&mut full).unwrap();
        assert!(full.is_empty());
    }
}
