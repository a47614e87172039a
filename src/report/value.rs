//! The typed values callers hand the renderer. A value carries what LVM2 shows *and* what it
//! sorts by, since the two differ (hidden LV names show as `[x]` but sort as `x`; an undefined
//! number shows blank but sorts as -1; `auto` read-ahead sorts above every size).

use std::borrow::Cow;

/// One cell of a report row.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// Text, sorted byte-wise.
    Str(Cow<'a, str>),
    /// An unsigned number (`pv_pe_count`, `seg_count`, ...).
    Num(u64),
    /// A signed number (`lv_major` is -1 when unset). LVM2 sorts it as its unsigned 64-bit
    /// two's complement, so -1 sorts last.
    Int(i64),
    /// A size in 512-byte sectors, shown in the report's units.
    Size(u64),
    /// A `dm_percent_t` (see [`crate::report::make_percent`]); [`crate::report::PERCENT_INVALID`]
    /// shows blank.
    Percent(i32),
    /// A flag: the field's word (e.g. `allocatable`) or blank, `1`/`0` with `--binary`.
    Bin(bool),
    /// A flag that cannot be known (e.g. needs a live kernel): `unknown`, `-1` with `--binary`.
    BinUndef,
    /// A string list (tags, devices); the field decides order and separator.
    List(Vec<String>),
    /// Text shown as is but sorted by a number: LVM2's reserved values such as blank for an
    /// undefined number ([`FieldValue::undefined`]), `auto` read-ahead, `unmanaged` metadata
    /// copies, or a formatted time with its epoch seconds.
    TextNum(Cow<'a, str>, u64),
    /// Text shown as is but sorted by other text (hidden LV names: `[x]` sorts as `x`).
    TextStr(Cow<'a, str>, Cow<'a, str>),
}

impl<'a> FieldValue<'a> {
    /// Blank in a numeric column, sorting like LVM2's undefined number (-1 as unsigned).
    pub fn undefined() -> FieldValue<'a> {
        FieldValue::TextNum(Cow::Borrowed(""), u64::MAX)
    }

    /// `auto` read-ahead; LVM2 sorts it as the largest double.
    pub fn read_ahead_auto() -> FieldValue<'a> {
        FieldValue::TextNum(Cow::Borrowed("auto"), f64::MAX.to_bits())
    }

    /// `unmanaged` metadata copies (vg_mda_copies 0).
    pub fn unmanaged() -> FieldValue<'a> {
        FieldValue::TextNum(Cow::Borrowed("unmanaged"), u64::MAX)
    }

    /// An LV name as `lvs` shows it: in brackets when the LV is hidden, sorted without them.
    pub fn lv_name(name: &'a str, hidden: bool) -> FieldValue<'a> {
        if hidden {
            FieldValue::TextStr(Cow::Owned(format!("[{name}]")), Cow::Borrowed(name))
        } else {
            FieldValue::Str(Cow::Borrowed(name))
        }
    }

    /// A string value, borrowed where it can be (static text, names in the model).
    pub fn str(s: impl Into<Cow<'a, str>>) -> FieldValue<'a> {
        FieldValue::Str(s.into())
    }

    /// The value without borrowing (for rows built from data that does not outlive them).
    pub fn into_owned(self) -> FieldValue<'static> {
        fn own(c: Cow<'_, str>) -> Cow<'static, str> {
            Cow::Owned(c.into_owned())
        }
        match self {
            FieldValue::Str(s) => FieldValue::Str(own(s)),
            FieldValue::Num(n) => FieldValue::Num(n),
            FieldValue::Int(i) => FieldValue::Int(i),
            FieldValue::Size(s) => FieldValue::Size(s),
            FieldValue::Percent(p) => FieldValue::Percent(p),
            FieldValue::Bin(b) => FieldValue::Bin(b),
            FieldValue::BinUndef => FieldValue::BinUndef,
            FieldValue::List(l) => FieldValue::List(l),
            FieldValue::TextNum(s, k) => FieldValue::TextNum(own(s), k),
            FieldValue::TextStr(s, k) => FieldValue::TextStr(own(s), own(k)),
        }
    }

    /// The 64-bit key LVM2 compares in numeric columns.
    pub(crate) fn numeric_key(&self) -> u64 {
        match self {
            FieldValue::Num(n) => *n,
            FieldValue::Int(i) => *i as u64,
            // LVM2 stores sizes as doubles and compares their bit patterns as integers, which
            // orders non-negative doubles numerically.
            FieldValue::Size(s) => (*s as f64).to_bits(),
            FieldValue::Percent(p) => i64::from(*p) as u64,
            FieldValue::Bin(b) => u64::from(*b),
            FieldValue::BinUndef => u64::MAX,
            FieldValue::TextNum(_, k) => *k,
            // A string in a numeric column: LVM2 reads the string's first bytes as the key.
            FieldValue::Str(s) | FieldValue::TextStr(_, s) => first_word(s.as_bytes()),
            FieldValue::List(items) => first_word(items.first().map_or(&[][..], |s| s.as_bytes())),
        }
    }
}

/// The first eight bytes of `b` (zero-padded) as a little-endian integer.
fn first_word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_le_bytes(w)
}

impl<'a> From<&'a str> for FieldValue<'a> {
    fn from(s: &'a str) -> Self {
        FieldValue::Str(Cow::Borrowed(s))
    }
}

impl From<String> for FieldValue<'_> {
    fn from(s: String) -> Self {
        FieldValue::Str(Cow::Owned(s))
    }
}

/// One report row: a value per entry of [`crate::report::ReportSpec::columns`], in that order.
pub type Row<'a> = Vec<FieldValue<'a>>;
