//! Parser for LVM2's configuration language (metadata texts, backups and lvm.conf).
//!
//! The accepted syntax follows what LVM2 reads: `key = value` and `key { ... }` at any level,
//! values that are integers (a leading `0` means octal, as LVM2 reads them with base 0),
//! numbers with a decimal point (kept as text), `"strings"` with `\"` and `\\` escapes,
//! `'strings'` without escapes, bare words, and arrays of those with optional commas; `#`
//! starts a comment; a NUL byte ends the text (the on-disk ring stores texts NUL-terminated).
//! Where LVM2 would silently accept something broken (an integer that overflows, a duplicate
//! key, a truncated text) this parser refuses with a typed error instead, and it never panics.

use std::borrow::Cow;

use nom::bytes::complete::take_while;
use nom::character::complete::one_of;
use nom::combinator::{opt, recognize};
use nom::error::{ErrorKind, ParseError};
use nom::sequence::pair;
use nom::IResult;

use super::error::TextError;
use super::tree::{line_at, Array, Comments, Item, Node, Scalar, Section, Value};

/// Deepest section nesting accepted; metadata uses 5 levels, lvm.conf 2. The limit keeps
/// hostile input from exhausting the stack.
pub const MAX_DEPTH: usize = 64;

/// Parses a whole text (metadata, backup file or lvm.conf) into its top-level section.
pub fn parse_config(input: &[u8]) -> Result<Section<'_>, TextError> {
    parse_text(as_text(input)?)
}

/// Parses text already cut at its NUL and checked to be UTF-8.
pub(crate) fn parse_text(text: &str) -> Result<Section<'_>, TextError> {
    let parser = Parser { src: text };
    match parser.document(text) {
        Ok(section) => Ok(section),
        Err(nom::Err::Error(failure)) | Err(nom::Err::Failure(failure)) => {
            Err(parser.to_error(failure))
        }
        Err(nom::Err::Incomplete(_)) => Err(TextError::UnexpectedEnd {
            line: line_at(text.as_bytes(), text.len()),
            context: "the text",
        }),
    }
}

/// The text up to its first NUL, checked to be UTF-8.
pub(crate) fn as_text(input: &[u8]) -> Result<&str, TextError> {
    let end = memchr::memchr(0, input).unwrap_or(input.len());
    let bytes = &input[..end];
    std::str::from_utf8(bytes).map_err(|error| TextError::NotUtf8 {
        line: line_at(bytes, error.valid_up_to()),
    })
}

/// Why the grammar stopped, and where (`at` is the unparsed rest of the input).
#[derive(Debug)]
struct Failure<'a> {
    at: &'a str,
    kind: FailureKind<'a>,
}

#[derive(Debug)]
enum FailureKind<'a> {
    End(&'static str),
    Unexpected(&'static str),
    MissingEquals(String),
    EmptyKey,
    Duplicate(String),
    IntegerOutOfRange(&'a str),
    InvalidNumber(&'a str),
    TooDeep,
    /// A nom primitive failed; `parse_config` reports it as an unexpected character.
    Grammar,
}

impl<'a> ParseError<&'a str> for Failure<'a> {
    fn from_error_kind(input: &'a str, _kind: ErrorKind) -> Self {
        Failure {
            at: input,
            kind: FailureKind::Grammar,
        }
    }

    fn append(_input: &'a str, _kind: ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, Failure<'a>>;

fn fail<'a, T>(at: &'a str, kind: FailureKind<'a>) -> PResult<'a, T> {
    Err(stop(at, kind))
}

fn stop<'a>(at: &'a str, kind: FailureKind<'a>) -> nom::Err<Failure<'a>> {
    nom::Err::Failure(Failure { at, kind })
}

/// Blank lines and comment lines found between two items.
#[derive(Default)]
struct Gap<'a> {
    blank_lines: u32,
    newlines: u32,
    comments: Vec<Cow<'a, str>>,
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// Bytes that end a bare word (identifier or unquoted string); all are ASCII, so any byte
/// of a multi-byte UTF-8 character belongs to the word.
pub(crate) const WORD_END: [bool; 256] = {
    let mut table = [false; 256];
    let ends = b" \t\n\r\x0b\x0c#={}[],\"'";
    let mut n = 0;
    while n < ends.len() {
        table[ends[n] as usize] = true;
        n += 1;
    }
    table
};

fn is_word_char(c: char) -> bool {
    !(c.is_ascii() && WORD_END[c as usize])
}

/// Skips whitespace and comment lines, counting empty lines and keeping comment texts.
/// The line the previous token ended on is not empty, so it never counts as a blank line.
#[inline(always)]
fn gap(input: &str) -> (&str, Gap<'_>) {
    // The usual case in an on-disk text: one newline, then the next key.
    if let [b'\n', next, ..] = input.as_bytes() {
        if !is_space(*next) && *next != b'#' {
            let gap = Gap {
                newlines: 1,
                ..Gap::default()
            };
            return (&input[1..], gap);
        }
    }
    gap_from(input, true)
}

/// `gap` where `line_has_content` tells whether the current line already holds a token
/// (false only at the very start of a text, where a leading newline is a blank line).
fn gap_from(input: &str, mut line_has_content: bool) -> (&str, Gap<'_>) {
    let bytes = input.as_bytes();
    let mut gap = Gap::default();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'\n' => {
                if !line_has_content {
                    gap.blank_lines += 1;
                }
                gap.newlines += 1;
                line_has_content = false;
                at += 1;
            }
            b'#' => {
                let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
                gap.comments.push(Cow::Borrowed(&input[at + 1..end]));
                line_has_content = true;
                at = end;
            }
            byte if is_space(byte) => at += 1,
            _ => break,
        }
    }
    (&input[at..], gap)
}

/// A decimal integer without sign or leading zero that `number` would read as the same
/// `Int`: digits ending at whitespace, `}`, `]`, `,`, `#` or the end. Anything else (a dot, a
/// letter, an overflow) is left to `number`. Returns the value and its length.
#[inline]
fn plain_decimal(bytes: &[u8]) -> Option<(i64, usize)> {
    let mut value: i64 = 0;
    let mut len = 0;
    while let Some(&b) = bytes.get(len) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        len += 1;
    }
    match bytes.get(len) {
        None => Some((value, len)),
        Some(&b) if is_space(b) || matches!(b, b'}' | b']' | b',' | b'#') => Some((value, len)),
        Some(_) => None,
    }
}

/// The length of the whitespace at the start of `input`.
pub(crate) fn skip_spaces_only(input: &str) -> usize {
    input
        .bytes()
        .position(|b| !is_space(b))
        .unwrap_or(input.len())
}

/// Skips whitespace and comments without keeping anything.
fn skip(input: &str) -> &str {
    let bytes = input.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'#' => {
                at = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
            }
            byte if is_space(byte) => at += 1,
            _ => break,
        }
    }
    &input[at..]
}

/// A comment on the rest of the current line, if any (the newline itself is left).
fn trailing_comment(input: &str) -> (&str, Option<Cow<'_, str>>) {
    let bytes = input.as_bytes();
    let mut at = 0;
    while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
        at += 1;
    }
    if bytes.get(at) == Some(&b'#') {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n);
        (&input[end..], Some(Cow::Borrowed(&input[at + 1..end])))
    } else {
        (input, None)
    }
}

fn first_char(input: &str) -> Option<char> {
    input.chars().next()
}

/// A bare word; scanned byte-wise because it is the most frequent token.
fn word(input: &str) -> PResult<'_, &str> {
    let len = input
        .bytes()
        .position(|b| WORD_END[b as usize])
        .unwrap_or(input.len());
    if len == 0 {
        return Err(nom::Err::Error(Failure::from_error_kind(
            input,
            ErrorKind::TakeWhile1,
        )));
    }
    Ok((&input[len..], &input[..len]))
}

/// `"..."`: a backslash protects the next character; only `\"` and `\\` are unescaped, any
/// other backslash stays, as in LVM2.
fn double_quoted(input: &str) -> PResult<'_, Cow<'_, str>> {
    let body = &input[1..];
    let bytes = body.as_bytes();
    let mut at = 0;
    let mut escaped = false;
    loop {
        match memchr::memchr2(b'"', b'\\', &bytes[at..]) {
            None => return fail(input, FailureKind::End("a quoted string")),
            Some(n) if bytes[at + n] == b'"' => {
                let raw = &body[..at + n];
                let rest = &body[at + n + 1..];
                let text = if escaped {
                    Cow::Owned(unescape(raw))
                } else {
                    Cow::Borrowed(raw)
                };
                return Ok((rest, text));
            }
            Some(n) => {
                escaped = true;
                at += n + 1;
                match body[at..].chars().next() {
                    Some(c) => at += c.len_utf8(),
                    None => return fail(input, FailureKind::End("a quoted string")),
                }
            }
        }
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\')) => out.push(next),
                Some(next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `'...'`: no escapes at all.
fn single_quoted(input: &str) -> PResult<'_, Cow<'_, str>> {
    let body = &input[1..];
    match memchr::memchr(b'\'', body.as_bytes()) {
        Some(end) => Ok((&body[end + 1..], Cow::Borrowed(&body[..end]))),
        None => fail(input, FailureKind::End("a quoted string")),
    }
}

/// A number: optional sign, digits, at most one decimal point.
fn number(input: &str) -> PResult<'_, Scalar<'_>> {
    let (rest, text) = recognize(pair(
        opt(one_of("+-")),
        take_while(|c: char| c.is_ascii_digit() || c == '.'),
    ))(input)?;
    if let Some(c) = first_char(rest) {
        if is_word_char(c) || c == '"' || c == '\'' || c == '=' || c == '{' || c == '[' {
            let end = input
                .find(|c: char| !is_word_char(c))
                .unwrap_or(input.len());
            return fail(input, FailureKind::InvalidNumber(&input[..end]));
        }
    }
    let digits = text.trim_start_matches(['+', '-']);
    let dots = digits.bytes().filter(|&b| b == b'.').count();
    if dots > 0 {
        if dots > 1 || digits.len() == dots {
            return fail(input, FailureKind::InvalidNumber(text));
        }
        return Ok((rest, Scalar::Float(Cow::Borrowed(text))));
    }
    if digits.is_empty() {
        return fail(input, FailureKind::InvalidNumber(text));
    }
    let negative = text.starts_with('-');
    let (radix, digits) = if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    let mut value: i64 = 0;
    for byte in digits.bytes() {
        let digit = i64::from(byte - b'0');
        if digit >= radix {
            return fail(input, FailureKind::InvalidNumber(text));
        }
        let next = value.checked_mul(radix).and_then(|v| {
            if negative {
                v.checked_sub(digit)
            } else {
                v.checked_add(digit)
            }
        });
        match next {
            Some(next) => value = next,
            None => return fail(input, FailureKind::IntegerOutOfRange(text)),
        }
    }
    Ok((rest, Scalar::Int(value)))
}

fn scalar_to_value(scalar: Scalar<'_>) -> Value<'_> {
    match scalar {
        Scalar::Int(value) => Value::Int(value),
        Scalar::Float(text) => Value::Float(text),
        Scalar::String(text) => Value::String(text),
    }
}

/// One non-array value.
fn scalar<'a>(input: &'a str, context: &'static str) -> PResult<'a, Scalar<'a>> {
    match input.as_bytes().first() {
        None => fail(input, FailureKind::End(context)),
        Some(b'"') => double_quoted(input).map(|(rest, text)| (rest, Scalar::String(text))),
        Some(b'\'') => single_quoted(input).map(|(rest, text)| (rest, Scalar::String(text))),
        Some(b'0'..=b'9' | b'+' | b'-' | b'.') => number(input),
        Some(b'{' | b'}' | b'[' | b']' | b',' | b'=') => {
            fail(input, FailureKind::Unexpected("a value"))
        }
        Some(_) => word(input).map(|(rest, text)| (rest, Scalar::String(Cow::Borrowed(text)))),
    }
}

/// `[ ... ]`, remembering how many elements the first line of a multi-line array held.
fn array(input: &str) -> PResult<'_, Array<'_>> {
    let (mut rest, opening) = gap(&input[1..]);
    let multiline = opening.newlines > 0;
    let mut elements = Vec::new();
    let mut first_line = 0u32;
    let mut first_line_done = false;
    loop {
        match rest.as_bytes().first() {
            None => return fail(input, FailureKind::End("an array")),
            Some(b']') => {
                rest = &rest[1..];
                break;
            }
            Some(b'[' | b'{' | b'}' | b'=' | b',') => {
                return fail(rest, FailureKind::Unexpected("an array element or ']'"))
            }
            Some(_) => {}
        }
        let (after, element) = scalar(rest, "an array")?;
        elements.push(element);
        if !first_line_done {
            first_line += 1;
        }
        let (after, between) = gap(after);
        first_line_done |= between.newlines > 0;
        rest = after;
        if rest.as_bytes().first() == Some(&b',') {
            let (after, between) = gap(&rest[1..]);
            first_line_done |= between.newlines > 0;
            rest = after;
        }
    }
    let per_line = if multiline { first_line.max(1) } else { 0 };
    Ok((rest, Array { elements, per_line }))
}

fn value(input: &str) -> PResult<'_, Value<'_>> {
    if input.as_bytes().first() == Some(&b'[') {
        array(input).map(|(rest, array)| (rest, Value::Array(array)))
    } else {
        scalar(input, "a value").map(|(rest, scalar)| (rest, scalar_to_value(scalar)))
    }
}

struct Parser<'a> {
    src: &'a str,
}

impl<'a> Parser<'a> {
    fn offset(&self, at: &str) -> usize {
        self.src.len() - at.len()
    }

    fn to_error(&self, failure: Failure<'a>) -> TextError {
        let line = line_at(self.src.as_bytes(), self.offset(failure.at));
        match failure.kind {
            FailureKind::End(context) => TextError::UnexpectedEnd { line, context },
            FailureKind::Unexpected(expected) => match first_char(failure.at) {
                Some(found) => TextError::Unexpected {
                    line,
                    expected,
                    found,
                },
                None => TextError::UnexpectedEnd {
                    line,
                    context: expected,
                },
            },
            FailureKind::MissingEquals(key) => TextError::MissingEquals { line, key },
            FailureKind::EmptyKey => TextError::EmptyKey { line },
            FailureKind::Duplicate(key) => TextError::DuplicateKey { line, key },
            FailureKind::IntegerOutOfRange(text) => TextError::IntegerOutOfRange {
                line,
                text: text.to_string(),
            },
            FailureKind::InvalidNumber(text) => TextError::InvalidNumber {
                line,
                text: text.to_string(),
            },
            FailureKind::TooDeep => TextError::TooDeep {
                line,
                limit: MAX_DEPTH,
            },
            FailureKind::Grammar => match first_char(failure.at) {
                Some(found) => TextError::Unexpected {
                    line,
                    expected: "a key, value or section",
                    found,
                },
                None => TextError::UnexpectedEnd {
                    line,
                    context: "the text",
                },
            },
        }
    }

    fn document(&self, input: &'a str) -> Result<Section<'a>, nom::Err<Failure<'a>>> {
        let (rest, section) = self.items(input, 0)?;
        if !rest.is_empty() {
            // Only a closing brace stops the item loop early at the top level.
            return Err(nom::Err::Failure(Failure {
                at: rest,
                kind: FailureKind::Unexpected("a key or the end of the text"),
            }));
        }
        Ok(section)
    }

    /// Items up to a `}` (left in the input) or the end of the text.
    fn items(&self, input: &'a str, depth: usize) -> PResult<'a, Section<'a>> {
        // Most sections (LVs, segments, PVs) hold fewer than 10 items.
        let mut items = Vec::with_capacity(8);
        let at_start = input.len() == self.src.len();
        let (mut rest, mut before) = gap_from(input, !at_start);
        while let Some(&byte) = rest.as_bytes().first() {
            if byte == b'}' {
                break;
            }
            let (after, item) = self.item(rest, before, depth)?;
            items.push(item);
            (rest, before) = gap(after);
        }
        self.check_duplicates(&items)?;
        Ok((rest, Section { items }))
    }

    fn check_duplicates(&self, items: &[Item<'a>]) -> Result<(), nom::Err<Failure<'a>>> {
        let duplicate = if items.len() <= 16 {
            items
                .iter()
                .enumerate()
                .find(|(n, item)| items[..*n].iter().any(|other| other.key == item.key))
                .map(|(_, item)| item)
        } else {
            let pair = |n: usize| (items[n].key.as_ref(), items[n].offset as usize);
            return match first_duplicate(items.len(), pair) {
                Some((key, offset)) => Err(self.duplicate(key, offset)),
                None => Ok(()),
            };
        };
        match duplicate {
            Some(item) => Err(self.duplicate(&item.key, item.offset as usize)),
            None => Ok(()),
        }
    }

    fn duplicate(&self, key: &str, offset: usize) -> nom::Err<Failure<'a>> {
        stop(
            self.src.get(offset..).unwrap_or(""),
            FailureKind::Duplicate(key.to_string()),
        )
    }

    fn key(&self, input: &'a str) -> PResult<'a, Cow<'a, str>> {
        match input.as_bytes().first() {
            Some(b'"') => double_quoted(input),
            Some(b'\'') => single_quoted(input),
            Some(b'=' | b'{') => fail(input, FailureKind::EmptyKey),
            Some(b'[' | b']' | b',' | b'}') => fail(input, FailureKind::Unexpected("a key")),
            _ => word(input).map(|(rest, key)| (rest, Cow::Borrowed(key))),
        }
    }

    fn item(&self, input: &'a str, before: Gap<'a>, depth: usize) -> PResult<'a, Item<'a>> {
        let (rest, key) = self.key(input)?;
        if key.is_empty() {
            return fail(input, FailureKind::EmptyKey);
        }
        let rest = skip(rest);
        let (rest, node, comment) = match rest.as_bytes().first() {
            Some(b'{') => {
                if depth + 1 >= MAX_DEPTH {
                    return fail(rest, FailureKind::TooDeep);
                }
                let (body, comment) = trailing_comment(&rest[1..]);
                let (after, section) = self.items(body, depth + 1)?;
                if after.is_empty() {
                    return fail(after, FailureKind::End("a section (missing '}')"));
                }
                (&after[1..], Node::Section(section), comment)
            }
            Some(b'=') => {
                let (after, value) = value(skip(&rest[1..]))?;
                let (after, comment) = trailing_comment(after);
                (after, Node::Value(value), comment)
            }
            None => return fail(rest, FailureKind::End("a key's value")),
            Some(_) => return fail(input, FailureKind::MissingEquals(key.into_owned())),
        };
        Ok((
            rest,
            Item {
                key,
                node,
                comments: if comment.is_none() && before.comments.is_empty() {
                    None
                } else {
                    Some(Box::new(Comments {
                        trailing: comment,
                        leading: before.comments,
                    }))
                },
                blank_lines_before: before.blank_lines,
                offset: u32::try_from(self.offset(input)).unwrap_or(u32::MAX),
            },
        ))
    }
}

/// The earliest second occurrence of a key among `(key, offset)` pairs. Sorting keeps this
/// O(n log n) whatever the keys are (a hash set could be driven quadratic by crafted names);
/// the stable sort merges runs already in order in linear time, and LVM2 writes LVs in name
/// order with the newest appended.
/// The pairs are `pair(0..n)`; what is sorted is their indices (4 bytes each, where a sorted
/// copy of the pairs and the sort's scratch space took 48 bytes per key: at the end of the
/// `logical_volumes` section of a large VG this is the peak of the whole read).
fn first_duplicate<'k>(
    n: usize,
    pair: impl Fn(usize) -> (&'k str, usize),
) -> Option<(&'k str, usize)> {
    // A section of 4G keys cannot be held in memory anyway.
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    let mut order: Vec<u32> = (0..n).collect();
    order.sort_by(|&a, &b| pair(a as usize).cmp(&pair(b as usize)));
    order
        .windows(2)
        .map(|two| (pair(two[0] as usize), pair(two[1] as usize)))
        .filter(|(first, second)| first.0 == second.0)
        .map(|(_, second)| second)
        .min_by_key(|(_, offset)| *offset)
}

/// Reads a text item by item, entering only the sections the caller asks for, so a large
/// container (`logical_volumes`) can be converted entry by entry instead of being held as a
/// whole tree. Entries not entered come back fully parsed.
pub(crate) struct Cursor<'a> {
    parser: Parser<'a>,
    rest: &'a str,
    /// Keys and offsets seen so far in each entered section, outermost first; checked for
    /// duplicates when the section ends.
    levels: Vec<Vec<(Cow<'a, str>, usize)>>,
}

/// What a cursor found next.
pub(crate) enum Entry<'a> {
    /// A complete item.
    Item(Item<'a>),
    /// A section the cursor has entered: its items follow, then `None` for its end.
    Entered { key: Cow<'a, str>, offset: usize },
}

impl<'a> Cursor<'a> {
    pub fn new(text: &'a str) -> Self {
        Cursor {
            parser: Parser { src: text },
            rest: text,
            levels: vec![Vec::new()],
        }
    }

    /// The next entry of the current section, or `None` at its end. A section whose key
    /// `enter` accepts is entered rather than parsed.
    pub fn next(
        &mut self,
        enter: impl FnOnce(&str) -> bool,
    ) -> Result<Option<Entry<'a>>, TextError> {
        self.step(enter).map_err(|error| match error {
            nom::Err::Error(failure) | nom::Err::Failure(failure) => self.parser.to_error(failure),
            nom::Err::Incomplete(_) => TextError::UnexpectedEnd {
                line: line_at(self.parser.src.as_bytes(), self.parser.src.len()),
                context: "the text",
            },
        })
    }

    fn step(
        &mut self,
        enter: impl FnOnce(&str) -> bool,
    ) -> Result<Option<Entry<'a>>, nom::Err<Failure<'a>>> {
        if self.levels.is_empty() {
            // The whole text has been read.
            return Ok(None);
        }
        let depth = self.levels.len() - 1;
        let at_start = self.rest.len() == self.parser.src.len();
        let (rest, before) = gap_from(self.rest, !at_start);
        match rest.as_bytes().first() {
            None if depth > 0 => {
                return Err(stop(rest, FailureKind::End("a section (missing '}')")))
            }
            None => {
                self.close_level()?;
                self.rest = rest;
                return Ok(None);
            }
            Some(b'}') if depth == 0 => {
                return Err(stop(
                    rest,
                    FailureKind::Unexpected("a key or the end of the text"),
                ))
            }
            Some(b'}') => {
                self.close_level()?;
                self.rest = &rest[1..];
                return Ok(None);
            }
            Some(_) => {}
        }
        let (after_key, key) = self.parser.key(rest)?;
        let after = skip(after_key);
        if after.as_bytes().first() == Some(&b'{') && !key.is_empty() && enter(&key) {
            if depth + 1 >= MAX_DEPTH {
                return Err(stop(after, FailureKind::TooDeep));
            }
            self.note_key(key.clone(), rest);
            self.levels.push(Vec::new());
            self.rest = trailing_comment(&after[1..]).0;
            let offset = self.parser.offset(rest);
            return Ok(Some(Entry::Entered { key, offset }));
        }
        let (after, item) = self.parser.item(rest, before, depth)?;
        self.note_key(item.key.clone(), rest);
        self.rest = after;
        Ok(Some(Entry::Item(item)))
    }

    /// The fast path for an entry of the current section that is `KEY { ... }` with a bare
    /// word key and no comment before it: `read` gets the key and the text after `{`, and
    /// returns the value with the text after the section's closing `}`, or `None` for
    /// anything it does not read. On `None` nothing is consumed and `next` reads the entry.
    pub fn try_section<T>(
        &mut self,
        read: impl FnOnce(&'a str, &'a str) -> Option<(T, &'a str)>,
    ) -> Option<T> {
        if self.levels.len() + 1 >= MAX_DEPTH {
            return None;
        }
        let (key, value, after) = fast_section(self.rest, read)?;
        self.note_key_slice(key);
        self.rest = after;
        Some(value)
    }

    /// The text not yet read.
    pub fn rest(&self) -> &'a str {
        self.rest
    }

    /// Depth of the current section (0: the top level).
    pub fn depth(&self) -> usize {
        self.levels.len().saturating_sub(1)
    }

    /// Takes entries of the current section read elsewhere with `fast_section` (their keys,
    /// slices of this text, in order) and continues after them at `rest`.
    pub fn adopt(&mut self, keys: &[&'a str], rest: &'a str) {
        if let Some(level) = self.levels.last_mut() {
            level.reserve(keys.len());
        }
        for &key in keys {
            self.note_key_slice(key);
        }
        self.rest = rest;
    }

    /// Notes a key that is a slice of the text, at its own position.
    #[inline]
    fn note_key_slice(&mut self, key: &'a str) {
        let offset = key.as_ptr() as usize - self.parser.src.as_ptr() as usize;
        if let Some(level) = self.levels.last_mut() {
            level.push((Cow::Borrowed(key), offset));
        }
    }

    fn note_key(&mut self, key: Cow<'a, str>, at: &'a str) {
        let offset = self.parser.offset(at);
        if let Some(level) = self.levels.last_mut() {
            level.push((key, offset));
        }
    }

    /// Leaves the current section, refusing it if a key appeared twice.
    fn close_level(&mut self) -> Result<(), nom::Err<Failure<'a>>> {
        let Some(keys) = self.levels.pop() else {
            return Ok(());
        };
        let pair = |n: usize| (keys[n].0.as_ref(), keys[n].1);
        match first_duplicate(keys.len(), pair) {
            Some((key, offset)) => Err(self.parser.duplicate(key, offset)),
            None => Ok(()),
        }
    }
}

/// `Cursor::try_section` on the text `rest` (the start of an entry in a section): the
/// entry's key (a slice of `rest`, so its offset is its position), `read`'s value and the
/// text after the entry, or `None` if `rest` does not start with `KEY {` (a bare word, no
/// comment before it) or `read` refuses it. Reads nothing else, so it can run ahead of the
/// cursor on another part of the same text.
pub(crate) fn fast_section<'a, T>(
    rest: &'a str,
    read: impl FnOnce(&'a str, &'a str) -> Option<(T, &'a str)>,
) -> Option<(&'a str, T, &'a str)> {
    let mut lex = Lex::new(rest);
    let mut end = false;
    let (key, After::Section) = lex.key(&mut end)? else {
        return None;
    };
    let (value, after) = read(key, lex.rest())?;
    Some((key, value, after))
}

/// A token reader for the importer's fast path: plain `key = value` lines and `key {`
/// sections without comments, the shape of every text LVM2 writes on disk. Values go through
/// the same `scalar` as the full grammar, so they read identically. Anything else (a comment,
/// a quoted key, a nested array, the end of the text) returns `None` and the caller hands the
/// whole section to the full parser instead, which then also reports any error.
pub(crate) struct Lex<'a> {
    text: &'a str,
    at: usize,
}

/// What follows a key.
pub(crate) enum After {
    /// `=`: a value follows.
    Value,
    /// `{`: a section body follows.
    Section,
}

impl<'a> Lex<'a> {
    pub fn new(text: &'a str) -> Self {
        Lex { text, at: 0 }
    }

    /// The text not yet read.
    pub fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    /// Skips whitespace; `None` at a comment.
    #[inline]
    fn space(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            if is_space(b) {
                self.at += 1;
            } else if b == b'#' {
                return None;
            } else {
                break;
            }
        }
        Some(())
    }

    /// The next key of a section, or `None` at its closing `}` (consumed; `end` is then set)
    /// or at anything the fast path does not read.
    #[inline]
    pub fn key(&mut self, end: &mut bool) -> Option<(&'a str, After)> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        let first = loop {
            let b = *bytes.get(at)?;
            if !is_space(b) {
                break b;
            }
            at += 1;
        };
        match first {
            b'}' => {
                self.at = at + 1;
                *end = true;
                return None;
            }
            b'#' | b'"' | b'\'' | b'=' | b'{' | b'[' | b']' | b',' => return None,
            _ => {}
        }
        let start = at;
        at += 1;
        while let Some(&b) = bytes.get(at) {
            if WORD_END[b as usize] {
                break;
            }
            at += 1;
        }
        let key = self.text.get(start..at)?;
        // LVM2 writes `key = value` and `key {`.
        let after = match bytes.get(at..at + 2)? {
            b" =" => {
                at += 2;
                After::Value
            }
            b" {" => {
                at += 2;
                After::Section
            }
            _ => {
                while is_space(*bytes.get(at)?) {
                    at += 1;
                }
                let after = match bytes[at] {
                    b'=' => After::Value,
                    b'{' => After::Section,
                    _ => return None,
                };
                at += 1;
                after
            }
        };
        self.at = at;
        if let After::Value = after {
            self.space()?;
        }
        Some((key, after))
    }

    /// The first byte after whitespace (consumed), without reading it; `None` at the end of
    /// the text. Used to pick the keys to try at that byte with `eat`.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.at)?;
            if !is_space(b) {
                return Some(b);
            }
            self.at += 1;
        }
    }

    /// Consumes `pattern` (a `key = ` as LVM2 writes it, ending in a byte that ends a word)
    /// if the text continues with it at the current byte. After it, `space` must run before
    /// the value, as after `key`.
    #[inline]
    pub fn eat(&mut self, pattern: &[u8]) -> bool {
        match self.text.as_bytes().get(self.at..self.at + pattern.len()) {
            Some(bytes) if bytes == pattern => {
                self.at += pattern.len();
                true
            }
            _ => false,
        }
    }

    /// Consumes one byte (after `peek` saw it).
    #[inline]
    pub fn bump(&mut self) {
        self.at += 1;
    }

    /// Skips whitespace before a value; `None` at a comment.
    #[inline]
    pub fn value_start(&mut self) -> Option<()> {
        self.space()
    }

    /// A non-negative decimal integer value as `scalar` reads it (`None` for anything else,
    /// including what `scalar` would read as another kind of value).
    #[inline]
    pub fn uint(&mut self) -> Option<u64> {
        let bytes = &self.text.as_bytes()[self.at..];
        match bytes.first()? {
            b'1'..=b'9' => {
                let (value, len) = plain_decimal(bytes)?;
                self.at += len;
                u64::try_from(value).ok()
            }
            b'0' => match bytes.get(1) {
                None => {
                    self.at += 1;
                    Some(0)
                }
                Some(&b) if is_space(b) || matches!(b, b'}' | b']' | b',' | b'#') => {
                    self.at += 1;
                    Some(0)
                }
                Some(_) => None,
            },
            _ => None,
        }
    }

    /// A double-quoted string value without a backslash, as `scalar` reads it (`None` for
    /// anything else).
    #[inline]
    pub fn plain_string(&mut self) -> Option<&'a str> {
        let rest = &self.text[self.at..];
        let bytes = rest.as_bytes();
        if bytes.first() != Some(&b'"') {
            return None;
        }
        let n = memchr::memchr2(b'"', b'\\', &bytes[1..])?;
        if bytes[n + 1] != b'"' {
            return None;
        }
        self.at += n + 2;
        rest.get(1..n + 1)
    }

    /// The next element of an array opened by `array_start` that is a plain string
    /// (`plain_string`); `Some(None)` at the array's `]` (consumed). Separators are whitespace
    /// with at most one comma after each element.
    #[inline]
    pub fn string_element(&mut self) -> Option<Option<&'a str>> {
        self.space()?;
        let bytes = self.text.as_bytes();
        if *bytes.get(self.at)? == b']' {
            self.at += 1;
            return Some(None);
        }
        let value = self.plain_string()?;
        self.space()?;
        if self.text.as_bytes().get(self.at) == Some(&b',') {
            self.at += 1;
        }
        Some(Some(value))
    }

    /// A run of decimal digits at the current byte as a number (`None` if there is none or
    /// it does not fit).
    #[inline]
    pub fn digits(&mut self) -> Option<usize> {
        let bytes = &self.text.as_bytes()[self.at..];
        let len = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut value: usize = 0;
        for &b in bytes.get(..len).filter(|digits| !digits.is_empty())? {
            value = value.checked_mul(10)?.checked_add(usize::from(b - b'0'))?;
        }
        self.at += len;
        Some(value)
    }

    /// The next element of an array that is a number as `uint` reads it, followed by the same
    /// separators as `string_element` (`None` for anything else, including the array's end).
    #[inline]
    pub fn uint_element(&mut self) -> Option<u64> {
        self.space()?;
        let value = self.uint()?;
        self.space()?;
        if self.text.as_bytes().get(self.at) == Some(&b',') {
            self.at += 1;
        }
        Some(value)
    }

    /// One non-array value.
    #[inline]
    pub fn scalar(&mut self) -> Option<Scalar<'a>> {
        let rest = self.rest();
        match rest.as_bytes().first()? {
            b'[' | b'{' | b'}' | b']' | b',' | b'=' => return None,
            b'1'..=b'9' => {
                if let Some((value, len)) = plain_decimal(rest.as_bytes()) {
                    self.at += len;
                    return Some(Scalar::Int(value));
                }
            }
            // A lone zero (a longer number starting with 0 is octal: the full reader).
            b'0' => match rest.as_bytes().get(1) {
                None => {
                    self.at += 1;
                    return Some(Scalar::Int(0));
                }
                Some(&b) if is_space(b) || matches!(b, b'}' | b']' | b',' | b'#') => {
                    self.at += 1;
                    return Some(Scalar::Int(0));
                }
                Some(_) => {}
            },
            b'"' => {
                // The usual string: no backslash before its closing quote. Anything else
                // takes the full reader.
                let bytes = &rest.as_bytes()[1..];
                if let Some(n) = memchr::memchr2(b'"', b'\\', bytes) {
                    if bytes[n] == b'"' {
                        self.at += n + 2;
                        return Some(Scalar::String(Cow::Borrowed(&rest[1..n + 1])));
                    }
                }
            }
            _ => {}
        }
        let (after, value) = scalar(rest, "a value").ok()?;
        self.at = self.text.len() - after.len();
        Some(value)
    }

    /// Opens an array value: `true` if the value is one (`[` consumed).
    #[inline]
    pub fn array_start(&mut self) -> bool {
        if self.text.as_bytes().get(self.at) == Some(&b'[') {
            self.at += 1;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Section<'_>, TextError> {
        parse_config(text.as_bytes())
    }

    #[test]
    fn values_of_every_kind() {
        let section = parse(
            "a = 1\nb = -17\nc = \"x\\\"y\\\\z\\n\"\nd = 'q\\'\ne = [1, \"two\", 3.5]\nf = []\ng = bare\nh = 010\ni = .5\n",
        )
        .unwrap();
        assert_eq!(section.get_int("a"), Some(1));
        assert_eq!(section.get_int("b"), Some(-17));
        assert_eq!(section.get_str("c"), Some("x\"y\\z\\n"));
        assert_eq!(section.get_str("d"), Some("q\\"));
        assert_eq!(
            section.value("e"),
            Some(&Value::Array(Array::new(vec![
                Scalar::Int(1),
                Scalar::String("two".into()),
                Scalar::Float("3.5".into()),
            ])))
        );
        assert_eq!(section.value("f"), Some(&Value::Array(Array::new(vec![]))));
        assert_eq!(section.get_str("g"), Some("bare"));
        assert_eq!(section.get_int("h"), Some(8));
        assert_eq!(section.value("i"), Some(&Value::Float(".5".into())));
    }

    #[test]
    fn integer_extremes() {
        let section = parse("a = 9223372036854775807\nb = -9223372036854775808\n").unwrap();
        assert_eq!(section.get_int("a"), Some(i64::MAX));
        assert_eq!(section.get_int("b"), Some(i64::MIN));
    }

    #[test]
    fn nested_sections_comments_and_layout() {
        let text = "# top\nouter {\n\tinner { x = 1 } # c1\n\n\n\ty = [\n\t\t\"pv0\", 1,\n\t\t\"pv1\", 2\n\t]\n}\n";
        let section = parse(text).unwrap();
        let outer = &section.items[0];
        assert_eq!(outer.leading_comments(), [Cow::Borrowed(" top")]);
        let Node::Section(body) = &outer.node else {
            panic!("outer is a section")
        };
        assert_eq!(body.items[0].key, "inner");
        assert_eq!(body.items[1].blank_lines_before, 2);
        let Some(Value::Array(array)) = body.value("y") else {
            panic!("y is an array")
        };
        assert_eq!(array.per_line, 2);
        assert_eq!(array.elements.len(), 4);
        assert_eq!(section.lookup("outer/inner/x"), Some(&Value::Int(1)));
    }

    #[test]
    fn commas_are_optional_and_may_trail() {
        let section = parse("a = [1 2, 3,]").unwrap();
        let Some(Value::Array(array)) = section.value("a") else {
            panic!("a is an array")
        };
        assert_eq!(array.elements.len(), 3);
    }

    #[test]
    fn keys_with_any_separator_are_written_quoted() {
        for key in ["\u{b}", "a b", "x#y", "\u{c}", "q\"", "s'"] {
            let mut section = Section::new();
            section.push_value(key, Value::Int(1));
            let text = crate::text::emit_config(&section);
            assert_eq!(parse_config(&text).unwrap(), section, "{key:?}");
        }
    }

    #[test]
    fn blank_lines_at_the_start_of_a_text_count() {
        let section = parse("\n\na = 1\n").unwrap();
        assert_eq!(section.items[0].blank_lines_before, 2);
        let section = parse("a = 1\n").unwrap();
        assert_eq!(section.items[0].blank_lines_before, 0);
    }

    #[test]
    fn nul_ends_the_text() {
        let section = parse_config(b"a = 1\n\0garbage {{{").unwrap();
        assert_eq!(section.get_int("a"), Some(1));
    }

    #[test]
    fn errors_carry_lines() {
        let error = parse("a = 1\nb = 2\nc 3\n").unwrap_err();
        assert_eq!(
            error,
            TextError::MissingEquals {
                line: 3,
                key: "c".into()
            }
        );
    }
}
