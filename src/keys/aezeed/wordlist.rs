//! The aezeed word list: the BIP-39 English list (2048 words, `abandon` = 0
//! … `zoo` = 2047), taken from the `bip39` crate.

use bip39::Language;

/// Number of words in the list (11 bits per word).
pub const WORD_COUNT: usize = 2048;

/// The word for an 11-bit index (the index is masked to 11 bits).
pub fn word(index: u16) -> &'static str {
    Language::English.word_list()[usize::from(index) & (WORD_COUNT - 1)]
}

/// The index of an exact (lower-case) word, or `None` if it is not in the
/// list. Like lnd, no normalisation or prefix matching is done.
pub fn index_of(word: &str) -> Option<u16> {
    Language::English.find_word(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_bounds_and_lookup() {
        assert_eq!(Language::English.word_list().len(), WORD_COUNT);
        assert_eq!(word(0), "abandon");
        assert_eq!(word(2047), "zoo");
        assert_eq!(index_of("abandon"), Some(0));
        assert_eq!(index_of("zoo"), Some(2047));
        assert_eq!(index_of("Abandon"), None);
        assert_eq!(index_of("abandn"), None);
        for k in 0..WORD_COUNT as u16 {
            assert_eq!(index_of(word(k)), Some(k));
        }
    }
}
