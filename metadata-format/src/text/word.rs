//! `Word`: one entry of a `status` or `flags` list. A large VG repeats the same few words
//! (`READ`, `WRITE`, `VISIBLE`, ...) in every LV; those are kept as references to one static
//! copy, so reading 30,000 LVs allocates no string for them. Any other word is owned.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::{Deref, DerefMut};

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

/// The `status` list of an LV. The two lists nearly every LV has (`READ, WRITE, VISIBLE` and
/// `READ, WRITE`) are one shared copy each, so reading 30,000 LVs allocates no list for them
/// (64 bytes and a heap block per LV); any other list is owned. It reads as a slice of words,
/// and has the changing methods of `Vec` (which make the list owned first); `to_mut` gives
/// the `Vec` itself.
#[derive(Clone, Default)]
pub struct Words(Cow<'static, [Word]>);

static READ_WRITE_VISIBLE: [Word; 3] = [
    Word::shared(&"READ"),
    Word::shared(&"WRITE"),
    Word::shared(&"VISIBLE"),
];
static READ_WRITE: [Word; 2] = [Word::shared(&"READ"), Word::shared(&"WRITE")];

impl Words {
    /// An empty list.
    pub const fn new() -> Words {
        Words(Cow::Borrowed(&[]))
    }

    /// `READ, WRITE, VISIBLE`, shared.
    pub fn read_write_visible() -> Words {
        Words(Cow::Borrowed(&READ_WRITE_VISIBLE))
    }

    /// `READ, WRITE`, shared.
    pub fn read_write() -> Words {
        Words(Cow::Borrowed(&READ_WRITE))
    }

    /// The list as a `Vec` to change (copied first if it is shared).
    pub fn to_mut(&mut self) -> &mut Vec<Word> {
        self.0.to_mut()
    }

    pub fn push(&mut self, word: Word) {
        self.to_mut().push(word);
    }

    pub fn insert(&mut self, index: usize, word: Word) {
        self.to_mut().insert(index, word);
    }

    pub fn remove(&mut self, index: usize) -> Word {
        self.to_mut().remove(index)
    }

    /// Keeps the words `keep` accepts; a shared list stays shared when it keeps them all.
    pub fn retain(&mut self, mut keep: impl FnMut(&Word) -> bool) {
        if let Some(first) = self.iter().position(|word| !keep(word)) {
            // `keep` sees each word once: the words before `first` were kept already.
            let list = self.to_mut();
            list.remove(first);
            let mut seen = 0;
            list.retain(|word| {
                seen += 1;
                seen <= first || keep(word)
            });
        }
    }

    pub fn clear(&mut self) {
        *self = Words::new();
    }
}

impl Deref for Words {
    type Target = [Word];

    fn deref(&self) -> &[Word] {
        &self.0
    }
}

impl DerefMut for Words {
    fn deref_mut(&mut self) -> &mut [Word] {
        self.to_mut()
    }
}

impl From<Vec<Word>> for Words {
    fn from(list: Vec<Word>) -> Words {
        Words(Cow::Owned(list))
    }
}

impl From<Words> for Vec<Word> {
    fn from(list: Words) -> Vec<Word> {
        list.0.into_owned()
    }
}

impl FromIterator<Word> for Words {
    fn from_iter<I: IntoIterator<Item = Word>>(iter: I) -> Words {
        Words(Cow::Owned(iter.into_iter().collect()))
    }
}

impl Extend<Word> for Words {
    fn extend<I: IntoIterator<Item = Word>>(&mut self, iter: I) {
        self.to_mut().extend(iter);
    }
}

impl<'l> IntoIterator for &'l Words {
    type Item = &'l Word;
    type IntoIter = std::slice::Iter<'l, Word>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq for Words {
    fn eq(&self, other: &Words) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Words {}

impl<U> PartialEq<Vec<U>> for Words
where
    Word: PartialEq<U>,
{
    fn eq(&self, other: &Vec<U>) -> bool {
        self[..] == other[..]
    }
}

impl<U> PartialEq<[U]> for Words
where
    Word: PartialEq<U>,
{
    fn eq(&self, other: &[U]) -> bool {
        self[..] == *other
    }
}

impl<U, const N: usize> PartialEq<[U; N]> for Words
where
    Word: PartialEq<U>,
{
    fn eq(&self, other: &[U; N]) -> bool {
        self[..] == other[..]
    }
}

impl fmt::Debug for Words {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self[..], f)
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

    #[test]
    fn shared_lists_read_and_change_as_vectors() {
        let mut list = Words::read_write_visible();
        assert!(matches!(list.0, Cow::Borrowed(_)));
        assert_eq!(list, ["READ", "WRITE", "VISIBLE"]);
        list.retain(|w| w != "LOCKED");
        assert!(
            matches!(list.0, Cow::Borrowed(_)),
            "nothing removed: still shared"
        );
        list.retain(|w| w != "WRITE");
        assert_eq!(list, ["READ", "VISIBLE"]);
        let mut odd = Words::from(vec![Word::new("A"), Word::new("B"), Word::new("A")]);
        odd.retain(|w| w != "A");
        assert_eq!(odd, ["B"]);
        let mut list = Words::read_write();
        list.push("VISIBLE".into());
        assert_eq!(list, Words::read_write_visible());
        list.insert(0, "LOCKED".into());
        assert_eq!(list.remove(0), "LOCKED");
        list.clear();
        assert!(list.is_empty());
        assert_eq!(std::mem::size_of::<Words>(), 24);
    }
}
