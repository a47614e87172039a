//! `Word`: one entry of a `status` or `flags` list. A large VG repeats the same few words
//! (`READ`, `WRITE`, `VISIBLE`, ...) in every LV; those are kept as references to one static
//! copy, so reading 30,000 LVs allocates no string for them. Any other word is owned.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// A status or flag word. Compares, hashes and orders as its text, whichever way it is held.
#[derive(Clone)]
pub struct Word(Repr);

/// Both variants are one thin pointer, so a `Word` is 16 bytes (24 with the text's length
/// inline): a status list of three words fits a 64-byte heap block instead of an 80-byte one.
/// The other words cost a second block; few lists have any.
#[derive(Clone)]
enum Repr {
    Known(&'static &'static str),
    Owned(Box<Box<str>>),
}

/// The words LVM2 writes in `status` and `flags` lists, shared.
fn known(text: &str) -> Option<&'static &'static str> {
    // By length first: one or two comparisons a word instead of a chain of them.
    Some(match (text.len(), text.as_bytes()) {
        (4, b"READ") => &"READ",
        (5, b"WRITE") => &"WRITE",
        (7, b"VISIBLE") => &"VISIBLE",
        (10, b"RESIZEABLE") => &"RESIZEABLE",
        (11, b"ALLOCATABLE") => &"ALLOCATABLE",
        (8, b"EXPORTED") => &"EXPORTED",
        (7, b"PARTIAL") => &"PARTIAL",
        (6, b"SHARED") => &"SHARED",
        (9, b"CLUSTERED") => &"CLUSTERED",
        (6, b"LOCKED") => &"LOCKED",
        (6, b"PVMOVE") => &"PVMOVE",
        (7, b"MISSING") => &"MISSING",
        (11, b"FIXED_MINOR") => &"FIXED_MINOR",
        (9, b"NOTSYNCED") => &"NOTSYNCED",
        (7, b"REBUILD") => &"REBUILD",
        (11, b"WRITEMOSTLY") => &"WRITEMOSTLY",
        (12, b"WRITE_LOCKED") => &"WRITE_LOCKED",
        (9, b"LV_NOSCAN") => &"LV_NOSCAN",
        (12, b"LV_TEMPORARY") => &"LV_TEMPORARY",
        (23, b"LV_REMOVE_AFTER_RESHAPE") => &"LV_REMOVE_AFTER_RESHAPE",
        (15, b"METADATA_FORMAT") => &"METADATA_FORMAT",
        (15, b"ACTIVATION_SKIP") => &"ACTIVATION_SKIP",
        (19, b"CACHE_USES_CACHEVOL") => &"CACHE_USES_CACHEVOL",
        (7, b"MERGING") => &"MERGING",
        (10, b"CONVERTING") => &"CONVERTING",
        _ => return None,
    })
}

impl Word {
    /// The word `text`, shared if it is one LVM2 writes often.
    pub fn new(text: &str) -> Word {
        match known(text) {
            Some(known) => Word(Repr::Known(known)),
            None => Word(Repr::Owned(Box::new(text.into()))),
        }
    }

    /// A word LVM2 writes often, shared without a lookup (the fast path's whole lists).
    pub(crate) const fn shared(text: &'static &'static str) -> Word {
        Word(Repr::Known(text))
    }

    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Known(text) => text,
            Repr::Owned(text) => text,
        }
    }
}

impl Deref for Word {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Word {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Word {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for Word {
    fn from(text: &str) -> Word {
        Word::new(text)
    }
}

impl From<String> for Word {
    fn from(text: String) -> Word {
        Word::new(&text)
    }
}

impl From<&String> for Word {
    fn from(text: &String) -> Word {
        Word::new(text)
    }
}

impl From<Word> for String {
    fn from(word: Word) -> String {
        word.as_str().to_string()
    }
}

impl PartialEq for Word {
    fn eq(&self, other: &Word) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Word {}

impl PartialEq<str> for Word {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Word {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Word {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<Word> for str {
    fn eq(&self, other: &Word) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Word> for &str {
    fn eq(&self, other: &Word) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<Word> for String {
    fn eq(&self, other: &Word) -> bool {
        self == other.as_str()
    }
}

impl Hash for Word {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

impl PartialOrd for Word {
    fn partial_cmp(&self, other: &Word) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Word {
    fn cmp(&self, other: &Word) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_other_words_behave_as_their_text() {
        let known = Word::new("VISIBLE");
        assert!(matches!(known.0, Repr::Known(_)));
        let other = Word::new("SOMETHING_NEW");
        assert!(matches!(other.0, Repr::Owned(_)));
        assert_eq!(known, "VISIBLE");
        assert_eq!(other, "SOMETHING_NEW");
        assert_eq!(Word::from("VISIBLE".to_string()), known);
        assert!(Word::new("A") < Word::new("READ"));
        assert_eq!(format!("{known} {other:?}"), "VISIBLE \"SOMETHING_NEW\"");
        let words: Vec<Word> = vec!["READ".into(), "WRITE".into()];
        assert_eq!(words, ["READ", "WRITE"]);
        assert_eq!(std::mem::size_of::<Word>(), 16);
    }
}
