//! LVM2 identifiers (PV, VG and LV UUIDs): 32 characters from a 64-character alphabet,
//! stored without dashes on disk and shown as 6-4-4-4-4-4-6 groups to people.
//! LVM2 validates nothing but the alphabet, so neither does this type.

use std::fmt;

use thiserror::Error;

/// LVM2's UUID alphabet; new identifiers use only the first 62 (no `!`, `#`), the last two
/// are accepted on read for compatibility with LVM1-era identifiers.
const ALPHABET: &[u8; 64] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#";
/// Characters a freshly generated identifier draws from.
const GENERATED_ALPHABET_LEN: usize = 62;
/// Group lengths of the dashed text form.
const GROUPS: [usize; 7] = [6, 4, 4, 4, 4, 4, 6];
/// Length of an identifier without dashes.
pub const UUID_LEN: usize = 32;

/// Why a string or byte run is not an LVM2 identifier.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UuidError {
    #[error("UUID has {found} characters without dashes, LVM2 needs exactly 32")]
    WrongLength { found: usize },
    #[error("UUID contains invalid character {ch:?} at position {position}: only 0-9, a-z, A-Z, '!' and '#' are allowed")]
    InvalidChar { ch: char, position: usize },
}

/// A 32-character LVM2 identifier as stored on disk (no dashes).
///
/// May hold bytes outside the alphabet when it came from a lenient decode of a damaged
/// header; `is_valid` tells, and every strict constructor refuses such bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PvUuid([u8; UUID_LEN]);

fn is_alphabet(b: u8) -> bool {
    ALPHABET.contains(&b)
}

impl PvUuid {
    /// The 32 on-disk bytes, refusing anything outside LVM2's alphabet.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, UuidError> {
        let arr: [u8; UUID_LEN] = bytes
            .try_into()
            .map_err(|_| UuidError::WrongLength { found: bytes.len() })?;
        let uuid = PvUuid(arr);
        uuid.validate()?;
        Ok(uuid)
    }

    /// Keeps whatever bytes a damaged header holds, for display and diagnosis only.
    pub(crate) fn from_raw(bytes: [u8; UUID_LEN]) -> Self {
        PvUuid(bytes)
    }

    /// Reads the text form the way LVM2 does: every `-` is dropped wherever it is, then exactly
    /// 32 alphabet characters must remain (so both dashed and undashed forms are accepted).
    pub fn parse(text: &str) -> Result<Self, UuidError> {
        let mut out = [0u8; UUID_LEN];
        let mut n = 0usize;
        for ch in text.chars().filter(|&c| c != '-') {
            if n >= UUID_LEN {
                let found = text.chars().filter(|&c| c != '-').count();
                return Err(UuidError::WrongLength { found });
            }
            if !ch.is_ascii() || !is_alphabet(ch as u8) {
                return Err(UuidError::InvalidChar { ch, position: n });
            }
            out[n] = ch as u8;
            n += 1;
        }
        if n != UUID_LEN {
            return Err(UuidError::WrongLength { found: n });
        }
        Ok(PvUuid(out))
    }

    /// Maps 32 random bytes onto the alphabet as LVM2's generator does (byte mod 62), so the
    /// caller chooses the randomness source and tests can be deterministic.
    pub fn from_random_bytes(random: [u8; UUID_LEN]) -> Self {
        PvUuid(random.map(|b| ALPHABET[usize::from(b) % GENERATED_ALPHABET_LEN]))
    }

    /// Checks the alphabet (LVM2's only validity rule).
    pub fn validate(&self) -> Result<(), UuidError> {
        match self.0.iter().position(|&b| !is_alphabet(b)) {
            Some(position) => Err(UuidError::InvalidChar {
                ch: char::from(self.0[position]),
                position,
            }),
            None => Ok(()),
        }
    }

    pub fn is_valid(&self) -> bool {
        self.validate().is_ok()
    }

    /// The on-disk bytes.
    pub fn as_bytes(&self) -> &[u8; UUID_LEN] {
        &self.0
    }

    /// The undashed form, as in the pv_header and in dm UUIDs. Bytes outside printable ASCII
    /// (only possible after a lenient decode) show as `?`.
    pub fn undashed(&self) -> String {
        self.0.iter().map(|&b| printable(b)).collect()
    }

    /// The dashed form LVM2 prints and writes into metadata text (`id = "..."`).
    /// Like LVM2, an identifier starting with `#` is shown as is.
    pub fn dashed(&self) -> String {
        if self.0[0] == b'#' {
            return self.undashed();
        }
        let mut s = String::with_capacity(UUID_LEN + GROUPS.len() - 1);
        let mut at = 0usize;
        for (i, len) in GROUPS.iter().enumerate() {
            if i > 0 {
                s.push('-');
            }
            s.extend(self.0[at..at + len].iter().map(|&b| printable(b)));
            at += len;
        }
        s
    }
}

/// How LVM2's diagnostics print a raw byte: itself if printable ASCII, else `?`.
pub(crate) fn printable(b: u8) -> char {
    if (0x20..0x7f).contains(&b) {
        char::from(b)
    } else {
        '?'
    }
}

impl fmt::Display for PvUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.dashed())
    }
}

impl fmt::Debug for PvUuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PvUuid({})", self.undashed())
    }
}

impl std::str::FromStr for PvUuid {
    type Err = UuidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PvUuid::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashed_form_groups_6_4_4_4_4_4_6() {
        let u = PvUuid::parse("W1IaKTKimtzfvmsZE1fRNYObeXDy8az6").unwrap();
        assert_eq!(u.dashed(), "W1IaKT-Kimt-zfvm-sZE1-fRNY-ObeX-Dy8az6");
        assert_eq!(PvUuid::parse(&u.dashed()).unwrap(), u);
    }

    #[test]
    fn rejects_bad_length_and_chars() {
        assert_eq!(
            PvUuid::parse("abc"),
            Err(UuidError::WrongLength { found: 3 })
        );
        assert!(matches!(
            PvUuid::parse("W1IaKTKimtzfvmsZE1fRNYObeXDy8az_"),
            Err(UuidError::InvalidChar {
                ch: '_',
                position: 31
            })
        ));
        assert!(matches!(
            PvUuid::parse("W1IaKTKimtzfvmsZE1fRNYObeXDy8az6x"),
            Err(UuidError::WrongLength { found: 33 })
        ));
        assert!(PvUuid::from_bytes(&[b'a'; 31]).is_err());
        assert!(PvUuid::from_bytes(&[0u8; 32]).is_err());
    }

    #[test]
    fn generated_ids_avoid_bang_and_hash() {
        let u = PvUuid::from_random_bytes(core::array::from_fn(|i| (i * 8 + 61) as u8));
        assert!(u.is_valid());
        assert!(!u.as_bytes().iter().any(|&b| b == b'!' || b == b'#'));
    }
}
