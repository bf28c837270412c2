//! AEZ v5 (Hoang, Krovetz, Rogaway) in pure Rust, as used by lnd's aezeed.
//!
//! Behaviour follows the Go package `github.com/Yawning/aez` (the one lnd
//! links), itself a port of the AEZ v5 reference code:
//!
//! * the key is "extracted" to 48 bytes `I ‖ J ‖ L`: used as is when it is
//!   already 48 bytes long, otherwise BLAKE2b with a 48-byte digest;
//! * the tweak is a nonce plus a vector of associated-data strings; an empty
//!   nonce (or element) is hashed as one padded block, not skipped;
//! * `tau` (the authenticator length) is given in bytes to [`encrypt`] /
//!   [`decrypt`] and enters the hash in bits;
//! * messages shorter than 32 bytes (after appending `tau` zero bytes) use
//!   AEZ-tiny (a Feistel network), longer ones AEZ-core.
//!
//! The block cipher calls are `AES4` (four AES rounds with round keys
//! `J, I, L, 0`) and `AES10` (ten rounds with `I, J, L, I, J, L, I, J, L, I`),
//! each round being a full AES encryption round (SubBytes, ShiftRows,
//! MixColumns, AddRoundKey), taken from `aes::hazmat::cipher_round`.

use aes::hazmat::cipher_round;
use aes::Block;
use blake2::digest::consts::U48;
use blake2::{Blake2b, Digest};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

const BLOCK: usize = 16;
type B16 = [u8; BLOCK];
const ZERO: B16 = [0u8; BLOCK];

fn xor(a: &B16, b: &B16) -> B16 {
    let mut out = [0u8; BLOCK];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b.iter())) {
        *o = x ^ y;
    }
    out
}

fn xor_in_place(acc: &mut B16, b: &B16) {
    for (a, x) in acc.iter_mut().zip(b.iter()) {
        *a ^= x;
    }
}

/// Multiplication by 2 in GF(2^128) with AEZ's big-endian bit order.
fn double(block: &mut B16) {
    let carry = block[0] >> 7;
    for k in 0..BLOCK - 1 {
        block[k] = (block[k] << 1) | (block[k + 1] >> 7);
    }
    // Branch-free: 0x87 when the top bit was set, 0 otherwise.
    block[BLOCK - 1] = (block[BLOCK - 1] << 1) ^ (0x87 & 0u8.wrapping_sub(carry));
}

/// `factor · block` in GF(2^128) for a small public integer factor.
fn mul_small(factor: u32, block: &B16) -> B16 {
    let mut acc = [0u8; BLOCK];
    let mut t = *block;
    let mut f = factor;
    while f != 0 {
        if f & 1 == 1 {
            xor_in_place(&mut acc, &t);
        }
        double(&mut t);
        f >>= 1;
    }
    t.zeroize();
    acc
}

/// Copies `src` (at most 15 bytes) into a zero block and appends the 0x80
/// padding byte.
fn pad_block(src: &[u8]) -> B16 {
    let mut out = [0u8; BLOCK];
    out[..src.len()].copy_from_slice(src);
    out[src.len()] = 0x80;
    out
}

fn block_at(buf: &[u8], at: usize) -> B16 {
    let mut out = [0u8; BLOCK];
    out.copy_from_slice(&buf[at..at + BLOCK]);
    out
}

/// Expanded AEZ key state (all secret, wiped on drop).
#[derive(Zeroize, ZeroizeOnDrop)]
struct Aez {
    /// `I` and `2I`.
    i: [B16; 2],
    /// `J`, `2J` and `4J`.
    j: [B16; 3],
    /// `0L … 7L`.
    l: [B16; 8],
    /// Raw extracted key parts `I`, `J`, `L` used as AES round keys.
    key_i: B16,
    key_j: B16,
    key_l: B16,
}

impl Aez {
    fn new(key: &[u8]) -> Self {
        let mut extracted = Zeroizing::new([0u8; 48]);
        if key.len() == 48 {
            extracted.copy_from_slice(key);
        } else {
            let mut h = Blake2b::<U48>::new();
            h.update(key);
            let mut digest = h.finalize();
            extracted.copy_from_slice(&digest);
            digest.as_mut_slice().zeroize();
        }

        let mut st = Aez {
            i: [ZERO; 2],
            j: [ZERO; 3],
            l: [ZERO; 8],
            key_i: ZERO,
            key_j: ZERO,
            key_l: ZERO,
        };
        st.key_i.copy_from_slice(&extracted[0..16]);
        st.key_j.copy_from_slice(&extracted[16..32]);
        st.key_l.copy_from_slice(&extracted[32..48]);

        st.i[0] = st.key_i;
        st.i[1] = mul_small(2, &st.i[0]);

        st.j[0] = st.key_j;
        st.j[1] = mul_small(2, &st.j[0]);
        st.j[2] = mul_small(2, &st.j[1]);

        for k in 1..8u32 {
            st.l[k as usize] = mul_small(k, &st.key_l);
        }
        st
    }

    fn rounds(block: &mut B16, keys: &[&B16]) {
        let state = Block::from_mut_slice(&mut block[..]);
        for key in keys {
            cipher_round(state, Block::from_slice(&key[..]));
        }
    }

    /// `AES4(src ⊕ j ⊕ i ⊕ l)` with round keys `J, I, L, 0`.
    fn aes4(&self, j: &B16, i: &B16, l: &B16, src: &B16) -> B16 {
        let mut block = xor(&xor(j, i), &xor(l, src));
        Self::rounds(&mut block, &[&self.key_j, &self.key_i, &self.key_l, &ZERO]);
        block
    }

    /// `AES10(src ⊕ l)` with round keys `I, J, L, I, J, L, I, J, L, I`.
    fn aes10(&self, l: &B16, src: &B16) -> B16 {
        let mut block = xor(src, l);
        let (i, j, k) = (&self.key_i, &self.key_j, &self.key_l);
        Self::rounds(&mut block, &[i, j, k, i, j, k, i, j, k, i]);
        block
    }

    /// `E(0, i)` as used by AEZ-tiny and AEZ-core: AES4 with `2I` and `iL`.
    fn e0(&self, l_index: usize, src: &B16) -> B16 {
        self.aes4(&ZERO, &self.i[1], &self.l[l_index % 8], src)
    }

    /// `E(0, 0)`: AES4 with `I` only.
    fn e00(&self, src: &B16) -> B16 {
        self.aes4(&ZERO, &self.i[0], &ZERO, src)
    }

    /// `E(-1, k)`: AES10 with `kL`.
    fn e_minus1(&self, l_index: usize, src: &B16) -> B16 {
        self.aes10(&self.l[l_index % 8], src)
    }

    /// Hashes one tweak string with the given `J` multiple, accumulating
    /// into `sum` (full blocks use `E(j, i)`, a final partial or empty block
    /// is padded and uses `E(j, 0)`).
    fn hash_string(&self, jm: &B16, data: &[u8], sum: &mut B16) {
        let mut i_cur = self.i[1];
        let mut chunks = data.chunks_exact(BLOCK);
        for (idx, chunk) in (&mut chunks).enumerate() {
            let n = idx + 1;
            let mut blk = block_at(chunk, 0);
            let out = self.aes4(jm, &i_cur, &self.l[n % 8], &blk);
            xor_in_place(sum, &out);
            blk.zeroize();
            if n % 8 == 0 {
                double(&mut i_cur);
            }
        }
        let rest = chunks.remainder();
        if !rest.is_empty() || data.is_empty() {
            let mut blk = pad_block(rest);
            let out = self.aes4(jm, &self.i[0], &ZERO, &blk);
            xor_in_place(sum, &out);
            blk.zeroize();
        }
        i_cur.zeroize();
    }

    /// AEZ-hash of `(tau_bits, nonce, ad[0], ad[1], …)`.
    fn hash(&self, nonce: &[u8], ad: &[&[u8]], tau_bits: u32) -> B16 {
        let mut tau_block = [0u8; BLOCK];
        tau_block[12..].copy_from_slice(&tau_bits.to_be_bytes());
        let three_j = xor(&self.j[0], &self.j[1]);
        let mut sum = self.aes4(&three_j, &self.i[1], &self.l[1], &tau_block);

        self.hash_string(&self.j[2], nonce, &mut sum);
        for (k, element) in ad.iter().enumerate() {
            let factor = u32::try_from(5 + k).unwrap_or(u32::MAX);
            let jm = mul_small(factor, &self.j[0]);
            self.hash_string(&jm, element, &mut sum);
        }
        sum
    }

    /// AEZ-prf: `AES10(delta ⊕ ctr)` with `3L`, counter from zero.
    fn prf(&self, delta: &B16, out: &mut [u8]) {
        let mut ctr = 0u128;
        for chunk in out.chunks_mut(BLOCK) {
            let block = self.aes10(&self.l[3], &xor(delta, &ctr.to_be_bytes()));
            chunk.copy_from_slice(&block[..chunk.len()]);
            ctr = ctr.wrapping_add(1);
        }
    }

    fn encipher(&self, delta: &B16, input: &[u8], decrypt: bool) -> Zeroizing<Vec<u8>> {
        if input.is_empty() {
            Zeroizing::new(Vec::new())
        } else if input.len() < 32 {
            self.tiny(delta, input, decrypt)
        } else {
            self.core(delta, input, decrypt)
        }
    }

    /// AEZ-tiny: an unbalanced-by-a-nibble Feistel network for 1…31 bytes.
    fn tiny(&self, delta: &B16, input: &[u8], decrypt: bool) -> Zeroizing<Vec<u8>> {
        let n = input.len();
        let half = n.div_ceil(2);
        let mid = n / 2;
        let odd = n % 2 == 1;
        let (rounds, l_index): (usize, usize) = match n {
            1 => (24, 7),
            2 => (16, 7),
            3..=15 => (10, 7),
            _ => (8, 6),
        };

        let mut left = Zeroizing::new([0u8; BLOCK]);
        let mut right = Zeroizing::new([0u8; BLOCK]);
        left[..half].copy_from_slice(&input[..half]);
        right[..half].copy_from_slice(&input[mid..mid + half]);
        // With an odd length both halves are n*4 bits: the right one starts
        // in the middle of byte `mid`, so shift it left by a nibble.
        let (mask, pad) = if odd {
            for k in 0..mid {
                right[k] = (right[k] << 4) | (right[k + 1] >> 4);
            }
            right[mid] <<= 4;
            (0xf0u8, 0x08u8)
        } else {
            (0x00u8, 0x80u8)
        };

        let mut buf = Zeroizing::new([0u8; 2 * BLOCK]);
        let mut tmp = Zeroizing::new([0u8; BLOCK]);
        let round_input = |side: &B16, counter: usize, tmp: &mut B16| {
            *tmp = [0u8; BLOCK];
            tmp[..half].copy_from_slice(&side[..half]);
            tmp[mid] = (tmp[mid] & mask) | pad;
            xor_in_place(tmp, delta);
            // The round counter is below 24, so it fits the last byte.
            tmp[BLOCK - 1] ^= (counter & 0xff) as u8;
        };

        if decrypt && n < 16 {
            *tmp = [0u8; BLOCK];
            tmp[..n].copy_from_slice(input);
            tmp[0] |= 0x80;
            xor_in_place(&mut tmp, delta);
            let e = self.e0(3, &tmp);
            left[0] ^= e[0] & 0x80;
        }

        for k in 0..rounds / 2 {
            let (c1, c2) = if decrypt {
                (rounds - 1 - 2 * k, rounds - 2 - 2 * k)
            } else {
                (2 * k, 2 * k + 1)
            };
            round_input(&right, c1, &mut tmp);
            let e = self.e0(l_index, &tmp);
            xor_in_place(&mut left, &e);
            round_input(&left, c2, &mut tmp);
            let e = self.e0(l_index, &tmp);
            xor_in_place(&mut right, &e);
        }

        // Output is R ‖ L (each n*4 bits).
        buf[..mid].copy_from_slice(&right[..mid]);
        buf[mid..mid + half].copy_from_slice(&left[..half]);
        if odd {
            for k in (mid + 1..n).rev() {
                buf[k] = (buf[k] >> 4) | (buf[k - 1] << 4);
            }
            buf[mid] = (left[0] >> 4) | (right[mid] & 0xf0);
        }
        let mut out = Zeroizing::new(buf[..n].to_vec());

        if !decrypt && n < 16 {
            *tmp = [0u8; BLOCK];
            tmp[..n].copy_from_slice(&buf[..n]);
            tmp[0] |= 0x80;
            xor_in_place(&mut tmp, delta);
            let e = self.e0(3, &tmp);
            out[0] ^= e[0] & 0x80;
        }
        out
    }

    /// AEZ-core for messages of 32 bytes or more.
    fn core(&self, delta: &B16, input: &[u8], decrypt: bool) -> Zeroizing<Vec<u8>> {
        let len = input.len();
        let frag = len % 32;
        let body = len - frag - 32; // bytes handled by the two passes
        let tail = len - 32; // start of the final two blocks
        let d = usize::from(decrypt);
        let mut out = Zeroizing::new(vec![0u8; len]);

        // Pass 1: W_i and X_i per 32-byte pair, stored in `out`.
        let mut x = Zeroizing::new([0u8; BLOCK]);
        let mut i_cur = self.i[1];
        for (idx, pos) in (0..body).step_by(32).enumerate() {
            let n = idx + 1;
            let m1 = block_at(input, pos);
            let m2 = block_at(input, pos + BLOCK);
            let w = xor(&m1, &self.aes4(&self.j[0], &i_cur, &self.l[n % 8], &m2));
            let xi = xor(&m2, &self.e00(&w));
            xor_in_place(&mut x, &xi);
            out[pos..pos + BLOCK].copy_from_slice(&w);
            out[pos + BLOCK..pos + 32].copy_from_slice(&xi);
            if n % 8 == 0 {
                double(&mut i_cur);
            }
        }

        // The fragment between the pairs and the final two blocks.
        let fragment = &input[body..tail];
        if frag >= BLOCK {
            let e = self.e0(4, &block_at(fragment, 0));
            xor_in_place(&mut x, &e);
            let e = self.e0(5, &pad_block(&fragment[BLOCK..]));
            xor_in_place(&mut x, &e);
        } else if frag > 0 {
            let e = self.e0(4, &pad_block(fragment));
            xor_in_place(&mut x, &e);
        }

        // S from the last two blocks.
        let mx = block_at(input, tail);
        let my = block_at(input, tail + BLOCK);
        let mut sx = xor(&xor(&x, &mx), &xor(delta, &self.e0(1 + d, &my)));
        let mut sy = xor(&my, &self.e_minus1(1 + d, &sx));
        let s = Zeroizing::new(xor(&sx, &sy));

        // Pass 2: final values of the pairs, accumulating Y.
        let mut y = Zeroizing::new([0u8; BLOCK]);
        let mut i_cur = self.i[1];
        for (idx, pos) in (0..body).step_by(32).enumerate() {
            let n = idx + 1;
            let e = self.aes4(&self.j[1], &i_cur, &self.l[n % 8], &s);
            let mut first = xor(&block_at(&out, pos), &e);
            let second = xor(&block_at(&out, pos + BLOCK), &e);
            xor_in_place(&mut y, &first);
            xor_in_place(&mut first, &self.e00(&second));
            let second = xor(
                &second,
                &self.aes4(&self.j[0], &i_cur, &self.l[n % 8], &first),
            );
            out[pos..pos + BLOCK].copy_from_slice(&second);
            out[pos + BLOCK..pos + 32].copy_from_slice(&first);
            if n % 8 == 0 {
                double(&mut i_cur);
            }
        }
        i_cur.zeroize();

        // Fragment output, accumulating Y.
        if frag >= BLOCK {
            let u = xor(&block_at(input, body), &self.e_minus1(4, &s));
            out[body..body + BLOCK].copy_from_slice(&u);
            xor_in_place(&mut y, &self.e0(4, &u));
            let rest = frag - BLOCK;
            let pad = self.e_minus1(5, &s);
            let start = body + BLOCK;
            for k in 0..rest {
                out[start + k] = input[start + k] ^ pad[k];
            }
            xor_in_place(&mut y, &self.e0(5, &pad_block(&out[start..start + rest])));
        } else if frag > 0 {
            let pad = self.e_minus1(4, &s);
            for k in 0..frag {
                out[body + k] = input[body + k] ^ pad[k];
            }
            xor_in_place(&mut y, &self.e0(4, &pad_block(&out[body..body + frag])));
        }

        // Final two blocks (swapped on output).
        let cy = xor(&sx, &self.e_minus1(2 - d, &sy));
        let cx = xor(&xor(&self.e0(2 - d, &cy), &sy), &xor(delta, &y));
        out[tail..tail + BLOCK].copy_from_slice(&cx);
        out[tail + BLOCK..].copy_from_slice(&cy);
        sx.zeroize();
        sy.zeroize();
        out
    }
}

/// AEZ encryption: returns `|plaintext| + tau` bytes.
pub(crate) fn encrypt(
    key: &[u8],
    nonce: &[u8],
    ad: &[&[u8]],
    tau: usize,
    plaintext: &[u8],
) -> Zeroizing<Vec<u8>> {
    let aez = Aez::new(key);
    let tau_bits = u32::try_from(tau.saturating_mul(8)).unwrap_or(u32::MAX);
    let delta = Zeroizing::new(aez.hash(nonce, ad, tau_bits));
    if plaintext.is_empty() {
        let mut out = Zeroizing::new(vec![0u8; tau]);
        aez.prf(&delta, &mut out);
        return out;
    }
    let mut padded = Zeroizing::new(vec![0u8; plaintext.len() + tau]);
    padded[..plaintext.len()].copy_from_slice(plaintext);
    aez.encipher(&delta, &padded, false)
}

/// AEZ decryption: `None` when the authenticator does not verify.
pub(crate) fn decrypt(
    key: &[u8],
    nonce: &[u8],
    ad: &[&[u8]],
    tau: usize,
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    if ciphertext.len() < tau {
        return None;
    }
    let aez = Aez::new(key);
    let tau_bits = u32::try_from(tau.saturating_mul(8)).unwrap_or(u32::MAX);
    let delta = Zeroizing::new(aez.hash(nonce, ad, tau_bits));
    if ciphertext.len() == tau {
        let mut expect = Zeroizing::new(vec![0u8; tau]);
        aez.prf(&delta, &mut expect);
        let diff = expect
            .iter()
            .zip(ciphertext.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        return (diff == 0).then(|| Zeroizing::new(Vec::new()));
    }
    let mut plain = aez.encipher(&delta, ciphertext, true);
    let body = ciphertext.len() - tau;
    let diff = plain[body..].iter().fold(0u8, |acc, b| acc | b);
    if diff != 0 {
        return None;
    }
    plain.truncate(body);
    Some(plain)
}

#[cfg(test)]
mod tests {
    //! A few of N. Mathewson's AEZ v5 test vectors (as shipped in
    //! `Yawning/aez` `testdata/`), transcribed as literals. In the encrypt
    //! cases the tweak is `nonce, data[0], data[1], data[2]`.
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s).expect("literal hex")
    }

    #[test]
    fn extract_uses_blake2b_384_for_short_keys() {
        // extract.json: a = 0x00.
        let aez = Aez::new(&h("00"));
        let mut got = aez.key_i.to_vec();
        got.extend_from_slice(&aez.key_j);
        got.extend_from_slice(&aez.key_l);
        assert_eq!(
            hex::encode(got),
            "cc01088536f784f0bb769e41c4957b6d0cde1fcc8cf1d91fc477d4dd6e3fbfcd\
             43d1698d146f348b2c36a339682bec3f"
        );
    }

    #[test]
    fn hash_of_empty_nonce_and_elements() {
        let key = h(
            "6cae8dfe1f2092d2953023c416d6abf23f1354e57d1b220856da4860a51f426a\
             9956412f795635aca607cf78ed649fd7",
        );
        let aez = Aez::new(&key);
        assert_eq!(
            hex::encode(aez.hash(&[], &[], 0)),
            "cb65b6c7a24fcd7e275bb0dcbff497c1"
        );
        assert_eq!(
            hex::encode(aez.hash(&[], &[&[]], 0)),
            "7cd3ab88360ce7ab0b7a30ca7302ccd4"
        );
        assert_eq!(
            hex::encode(aez.hash(&h("ad5b3b4c5b5d29"), &[], 0)),
            "c3e6359867e3696e36d5224ddc56ad77"
        );
    }

    #[test]
    fn prf_vector() {
        let aez = Aez::new(&h(
            "7497dcc7f88c4fe80e7c6872b56c7fa63b822f560c711c78762b246462c93023\
             76aff0a8a4eb43c39e8b03aa7f70d255",
        ));
        let mut delta = [0u8; 16];
        delta.copy_from_slice(&h("7c5adb92e7da20b1e0b7b858c1cf07db"));
        let mut out = [0u8; 31];
        aez.prf(&delta, &mut out);
        assert_eq!(
            hex::encode(out),
            "c38eda88131d204627828ab60516aa5328113b8f17daf7f9d348f2377c6034"
        );
    }

    struct Case {
        k: &'static str,
        nonce: &'static str,
        data: [&'static str; 3],
        tau: usize,
        m: &'static str,
        c: &'static str,
    }

    const CASES: &[Case] = &[
        // Empty message: the PRF path.
        Case {
            k: "bca303d3e03bc59a7bfea4b82594ffb8aaada3587695d3511701ca682d697fcf\
                6a31aadce27bcf5af3c0116f9c6e0074",
            nonce: "23e61b1c45414be99cff481871b7bb02",
            data: ["e0b6dcb20178e0c00a3e", "", "c4e211e8f4f43f2f25e4a05add78b7"],
            tau: 16,
            m: "",
            c: "e78dfde6449ae4016a19cf4b25289b55",
        },
        // AEZ-tiny, odd length (nibble split), no authenticator.
        Case {
            k: "bf93b0b28d554ec44e4cd805ff36358965a290ddd7981161bf716902c241de6a\
                c194a9b592a12bebff3427030692d4d6",
            nonce: "d7136281e933ac0c67fae9b465b6df8c",
            data: ["cc97def9e074b5270908", "", "345d34fdc62f0a0ca9dd12d65a6025"],
            tau: 0,
            m: "76d7f6",
            c: "971bdc",
        },
        // AEZ-tiny, 17 bytes total (odd, >= 16).
        Case {
            k: "fd4bbedf38d1f2fc046abfb9425096a2af60d0b537493f57cfdf99a8ec48337e\
                967528f0868f159565c09ec6a5df2e86",
            nonce: "a69df05bf5bb61d2e649aa180af8ae00",
            data: ["55ce9a9516ccc45e428f", "", "2d21278f95fe9fa1ecdaa98d379ebf"],
            tau: 16,
            m: "0c",
            c: "452c1df04ff289cc7d413b4846c0e86ac4",
        },
        // AEZ-tiny, 19 bytes (the aezeed plaintext size), no authenticator.
        Case {
            k: "2ea19966ae1fba4773a3d8aa0f12c2ded2c57d34dd2d70c2161b10ed5ff7f203\
                b7946245da235c574558cbb7be69f8fc",
            nonce: "669ef29504bb17d26bf0e406c171a708",
            data: ["bf2743f5948f779a3e8f", "", "2c5bcd1ff521927a341c181f5186a7"],
            tau: 0,
            m: "2455ca7082cbfb90a919236b856880728c9ee6",
            c: "f557cd14a94ed862cb7245e3891fe652b2a1a0",
        },
        // AEZ-core, 40 bytes: one 8-byte fragment, no full pairs.
        Case {
            k: "b14c8295d2a146a13275b6bb60b647126626458604327d88509361fe719a07ef\
                31cd14a82551b3667948f8886a0e0502",
            nonce: "4cc8d1bfaf0c267e27630475c3b7213f",
            data: ["4e685953983b899c52be", "", "749c5a9defc5acdb3821ec82176fa0"],
            tau: 0,
            m: "8f6d0b40b8c8b2b8d1279e60178c6760c16c8436e43bf559911b919289d60ea2\
                1f21e8c74da06214",
            c: "d18a532c08d281a9ce0f5a6302b53f1bea978e9bf9f80c776c7ae7b6358eab1c\
                7bdf94ff81cf22bd",
        },
        // AEZ-core, 81 bytes: one full pair and a 17-byte fragment.
        Case {
            k: "6fc14cdf088bf1c5b62bdc5a993337aa99650794dd66b77a390c6d06391bc8a7\
                1a2f7dfe09d7a4b6da5299da36a23b36",
            nonce: "a02b623a7b59d2cc417e86675dbfeea3",
            data: ["0b100ef3e3d0c6fb736d", "", "622403d24d7756853f650ece104a50"],
            tau: 16,
            m: "1d1e64a2e079cfbcfd9ddc9204698272f58d49febe89f15b0f84b80d477b5d25\
                7716cc0de97a8036e293c7bdf10144aee3a84c924487fd03f80f3e3eac88d136d3",
            c: "0b56adf3aa6e5563b600cc50969c1d23456850762b6576feeeb3bb58aea29412\
                65d1e25a87dcc982d4b0fd39d1647016fd886b1a25832167cdc8aab8d6847f9d\
                c27941bfead24e91d3973bff7e13330808",
        },
    ];

    #[test]
    fn encrypt_and_decrypt_vectors() {
        for (n, case) in CASES.iter().enumerate() {
            let data: Vec<Vec<u8>> = case.data.iter().map(|d| h(d)).collect();
            let ad: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let (k, nonce, m, c) = (h(case.k), h(case.nonce), h(case.m), h(case.c));
            let got = encrypt(&k, &nonce, &ad, case.tau, &m);
            assert_eq!(hex::encode(&*got), case.c, "encrypt case {n}");
            let back = decrypt(&k, &nonce, &ad, case.tau, &c).expect("authentic");
            assert_eq!(*back, m, "decrypt case {n}");
        }
    }

    #[test]
    fn tampering_is_detected() {
        for (n, case) in CASES.iter().filter(|c| c.tau > 0).enumerate() {
            let data: Vec<Vec<u8>> = case.data.iter().map(|d| h(d)).collect();
            let ad: Vec<&[u8]> = data.iter().map(Vec::as_slice).collect();
            let (k, nonce, c) = (h(case.k), h(case.nonce), h(case.c));
            for byte in 0..c.len() {
                let mut bad = c.clone();
                bad[byte] ^= 0x01;
                assert!(
                    decrypt(&k, &nonce, &ad, case.tau, &bad).is_none(),
                    "case {n}: flipped byte {byte} accepted"
                );
            }
            assert!(decrypt(&k, &nonce, &ad[..2], case.tau, &c).is_none());
            assert!(decrypt(&k, &nonce, &ad, case.tau, &c[..c.len() - 1]).is_none());
        }
    }

    #[test]
    fn tau_4_round_trip_all_tiny_and_short_core_lengths() {
        let key = [0x42u8; 32];
        let ad = [0u8, 1, 2, 3, 4, 5];
        for len in 0..80usize {
            let m: Vec<u8> = (0..len).map(|b| (b * 7 + len) as u8).collect();
            let c = encrypt(&key, &[], &[&ad], 4, &m);
            assert_eq!(c.len(), len + 4);
            let back = decrypt(&key, &[], &[&ad], 4, &c).expect("authentic");
            assert_eq!(*back, m, "length {len}");
        }
    }
}
