//! The 24-word form of an enciphered aezeed (keys.md §2.4).

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::wordlist;
use super::{AezeedError, CipherSeed, ScryptParams, ENCIPHERED_LEN, NUM_WORDS};

/// A syntactically valid aezeed mnemonic: 24 words from the list. Whether
/// it deciphers (version, checksum, passphrase) is only known after
/// [`Mnemonic::decipher`].
///
/// Holds the 11-bit word indices, wiped on drop; `Debug` is redacted.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Mnemonic {
    indices: [u16; NUM_WORDS],
}

impl fmt::Debug for Mnemonic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Mnemonic {
    /// Parses a phrase whose words are separated by any whitespace.
    ///
    /// Errors: [`AezeedError::WrongWordCount`] unless there are exactly 24
    /// words, then [`AezeedError::UnknownWord`] for the first word (1-based
    /// position) that is not in the list. Words must match the list exactly
    /// (lower case), as in lnd.
    pub fn parse(phrase: &str) -> Result<Self, AezeedError> {
        Self::from_words(phrase.split_whitespace())
    }

    /// Builds a mnemonic from individual words (e.g. lnd's
    /// `cipher_seed_mnemonic` repeated field). Same checks as [`Self::parse`].
    pub fn from_words<I, S>(words: I) -> Result<Self, AezeedError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let collected: Vec<S> = words.into_iter().collect();
        if collected.len() != NUM_WORDS {
            return Err(AezeedError::WrongWordCount {
                found: collected.len(),
            });
        }
        let mut indices = [0u16; NUM_WORDS];
        for (position, (slot, w)) in indices.iter_mut().zip(collected.iter()).enumerate() {
            let w = w.as_ref();
            match wordlist::index_of(w) {
                Some(index) => *slot = index,
                None => {
                    indices.zeroize();
                    return Err(AezeedError::UnknownWord {
                        position: position + 1,
                        word: w.to_owned(),
                    });
                }
            }
        }
        Ok(Mnemonic { indices })
    }

    /// The mnemonic of 33 enciphered bytes: a 264-bit big-endian string cut
    /// into 24 groups of 11 bits.
    pub fn from_enciphered(bytes: &[u8; ENCIPHERED_LEN]) -> Self {
        let mut indices = [0u16; NUM_WORDS];
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        let mut next = indices.iter_mut();
        for &byte in bytes {
            acc = (acc << 8) | u32::from(byte);
            bits += 8;
            if bits >= 11 {
                bits -= 11;
                if let Some(slot) = next.next() {
                    // Masked to 11 bits, so the value fits in u16.
                    *slot = ((acc >> bits) & 0x7ff) as u16;
                }
                acc &= (1u32 << bits) - 1;
            }
        }
        acc.zeroize();
        Mnemonic { indices }
    }

    /// The 33 bytes this mnemonic encodes (inverse of
    /// [`Self::from_enciphered`]).
    pub fn to_enciphered(&self) -> Zeroizing<[u8; ENCIPHERED_LEN]> {
        let mut out = Zeroizing::new([0u8; ENCIPHERED_LEN]);
        let mut acc: u32 = 0;
        let mut bits = 0u32;
        let mut pos = 0usize;
        for &index in &self.indices {
            acc = (acc << 11) | u32::from(index & 0x7ff);
            bits += 11;
            while bits >= 8 {
                bits -= 8;
                out[pos] = ((acc >> bits) & 0xff) as u8;
                pos += 1;
            }
            acc &= (1u32 << bits) - 1;
        }
        acc.zeroize();
        out
    }

    /// The 24 words in order.
    pub fn words(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.indices.iter().map(|&i| wordlist::word(i))
    }

    /// The 24 words separated by single spaces. The caller owns (and should
    /// wipe) the returned secret.
    pub fn phrase(&self) -> String {
        let mut out = String::with_capacity(NUM_WORDS * 9);
        for (k, w) in self.words().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(w);
        }
        out
    }

    /// Deciphers with the production scrypt parameters (empty passphrase =>
    /// `aezeed`).
    pub fn decipher(&self, passphrase: &[u8]) -> Result<CipherSeed, AezeedError> {
        self.decipher_with(passphrase, ScryptParams::PRODUCTION)
    }

    /// Deciphers with explicit scrypt parameters (checks version, then
    /// CRC32C, then the AEZ authenticator).
    pub fn decipher_with(
        &self,
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<CipherSeed, AezeedError> {
        CipherSeed::decipher(&self.to_enciphered(), passphrase, params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_packing_round_trips() {
        let mut bytes = [0u8; ENCIPHERED_LEN];
        for (k, b) in bytes.iter_mut().enumerate() {
            *b = (k as u8).wrapping_mul(37).wrapping_add(11);
        }
        let m = Mnemonic::from_enciphered(&bytes);
        assert_eq!(*m.to_enciphered(), bytes);
        let reparsed = Mnemonic::parse(&m.phrase()).expect("own phrase parses");
        assert_eq!(reparsed, m);
    }

    #[test]
    fn msb_first_grouping() {
        // First 11 bits of 0xff 0xe0 … are all ones => "zoo"; the next
        // group starts at bit 11.
        let mut bytes = [0u8; ENCIPHERED_LEN];
        bytes[0] = 0xff;
        bytes[1] = 0xe0;
        bytes[32] = 0x01;
        let m = Mnemonic::from_enciphered(&bytes);
        let words: Vec<&str> = m.words().collect();
        assert_eq!(words[0], "zoo");
        assert_eq!(words[1], "abandon");
        // Last group = last 11 bits = 0x001 => index 1 = "ability".
        assert_eq!(words[23], "ability");
    }

    #[test]
    fn debug_is_redacted() {
        let m = Mnemonic::from_enciphered(&[7u8; ENCIPHERED_LEN]);
        assert_eq!(format!("{m:?}"), "[redacted]");
    }

    #[test]
    fn parse_accepts_any_whitespace() {
        let m = Mnemonic::from_enciphered(&[0x5au8; ENCIPHERED_LEN]);
        let messy = m.phrase().replace(' ', " \t\n ");
        let parsed = Mnemonic::parse(&format!("  {messy}\n")).expect("parses");
        assert_eq!(parsed, m);
    }
}
