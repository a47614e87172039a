//! `--select`: LVM2's selection language (libdm-report's grammar) parsed into a tree and
//! evaluated on report rows. Values are compared the way LVM2 compares its sort values: sizes as
//! sectors in floating point, percentages as `dm_percent_t`, string lists sorted, hidden LV
//! names without brackets - so the same selection picks the same rows in both tools.
//!
//! Grammar (LVM2's): `OR := AND (('||'|'#') AND)*`, `AND := EX (('&&'|',') EX)*`,
//! `EX := '!' '(' OR ')' | '(' OR ')' | FIELD OP VALUE`. Errors are LVM2's messages (exit 5),
//! joined on one line; where LVM2 first dumps its whole field list we point at `-S help`.

use super::registry::{lookup, FieldId, FieldType, Lookup};
use super::size::PERCENT_100;
use super::value::FieldValue;
use regex::Regex;

/// A parsed selection, bound to report columns by [`Selection::bind`].
#[derive(Debug, Clone)]
pub struct Selection {
    root: Node,
}

#[derive(Debug, Clone)]
enum Node {
    Item(Cond),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Match,
    NotMatch,
}

/// A comparison operand in LVM2's representation for the field's type. `Num`, `Time` carry an
/// optional range end (time values like `2024-05` stand for the whole month).
#[derive(Debug, Clone)]
enum Operand {
    Num(u64),
    Size(f64),
    Str(String),
    List(ListOperand),
    Regex(Regex),
    Time(i64, Option<i64>),
}

#[derive(Debug, Clone)]
struct ListOperand {
    /// Sorted byte-wise, as LVM2 sorts them.
    items: Vec<String>,
    /// `{...}`: the items are a subset of the value; `[...]`: exactly the value.
    subset: bool,
    /// Items joined by `||`/`#` (or a single unbracketed item): any item matches.
    any: bool,
}

#[derive(Debug, Clone)]
struct Cond {
    field: FieldId,
    /// Index into the spec's columns, set by [`Selection::bind`].
    column: usize,
    op: Op,
    value: Operand,
}

/// What a selection string asked for.
#[derive(Debug)]
pub enum Parsed {
    /// Empty or `all`: every row.
    All,
    /// `help` or `?`: list fields and operators, report nothing.
    Help,
    Select(Selection),
}

impl Selection {
    /// Parses `text` for a report whose field prefix is `prefix` (`lv_` for lvs). The error is
    /// LVM2's messages on one line.
    pub fn parse(text: &str, prefix: &str) -> Result<Parsed, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("all") {
            return Ok(Parsed::All);
        }
        if trimmed.eq_ignore_ascii_case("help") || trimmed == "?" {
            return Ok(Parsed::Help);
        }
        let mut p = Parser {
            src: text,
            prefix,
            errors: Vec::new(),
        };
        match p.parse_or(0) {
            Some((root, next)) => {
                let next = skip_space(text, next);
                if next < text.len() {
                    p.errors.push("Expecting logical operator".to_string());
                    p.syntax_error(next);
                    return Err(p.message());
                }
                Ok(Parsed::Select(Selection { root }))
            }
            None => Err(p.message()),
        }
    }

    /// Every field the selection reads, in order of appearance (duplicates included).
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = Vec::new();
        self.root.visit(&mut |c| out.push(c.field));
        out
    }

    /// Sets each condition's column from `column_of(field)`.
    pub fn bind(&mut self, column_of: &mut dyn FnMut(FieldId) -> usize) {
        self.root.visit_mut(&mut |c| c.column = column_of(c.field));
    }

    /// Whether a row (one value per column) passes.
    pub fn matches(&self, row: &[FieldValue]) -> bool {
        self.root.matches(row)
    }
}

impl Node {
    fn visit(&self, f: &mut dyn FnMut(&Cond)) {
        match self {
            Node::Item(c) => f(c),
            Node::And(v) | Node::Or(v) => v.iter().for_each(|n| n.visit(f)),
            Node::Not(n) => n.visit(f),
        }
    }

    fn visit_mut(&mut self, f: &mut dyn FnMut(&mut Cond)) {
        match self {
            Node::Item(c) => f(c),
            Node::And(v) | Node::Or(v) => v.iter_mut().for_each(|n| n.visit_mut(f)),
            Node::Not(n) => n.visit_mut(f),
        }
    }

    fn matches(&self, row: &[FieldValue]) -> bool {
        match self {
            Node::Item(c) => row.get(c.column).is_some_and(|v| c.matches(v)),
            Node::And(v) => v.iter().all(|n| n.matches(row)),
            Node::Or(v) => v.iter().any(|n| n.matches(row)),
            Node::Not(n) => !n.matches(row),
        }
    }
}

/// LVM2's strictly reserved "undefined" number: never greater or less than anything.
const NUM_UNDEF: u64 = u64::MAX;

impl Cond {
    fn matches(&self, v: &FieldValue) -> bool {
        let ftype = self.field.field_type();
        match &self.value {
            Operand::Regex(re) => {
                let hit = re.is_match(&text_of(v));
                (self.op == Op::NotMatch) != hit
            }
            Operand::Str(s) => {
                let eq = text_of(v) == *s;
                if self.op == Op::Ne {
                    !eq
                } else {
                    eq
                }
            }
            Operand::List(l) => {
                let mut items: Vec<String> = match v {
                    FieldValue::List(items) => items.clone(),
                    other => {
                        let t = text_of(other);
                        if t.is_empty() {
                            Vec::new()
                        } else {
                            vec![t]
                        }
                    }
                };
                items.sort_unstable();
                let r = list_matches(&items, l);
                if self.op == Op::Ne {
                    !r
                } else {
                    r
                }
            }
            Operand::Num(sel) => {
                let val = v.numeric_key();
                if ftype == FieldType::Percent && val > PERCENT_100 as u64 {
                    // Only real percentages (0..=100%) are compared; blank ones never match.
                    return false;
                }
                let strict = val == NUM_UNDEF || *sel == NUM_UNDEF;
                cmp_ord(self.op, val.cmp(sel), strict)
            }
            Operand::Size(sel) => {
                let val = size_of(v);
                // lv_read_ahead's `auto` is strictly reserved like undefined numbers.
                let strict = self.field == FieldId::LV_READ_AHEAD && val == f64::MAX;
                let eq = (val - sel).abs() < f64::EPSILON;
                match self.op {
                    Op::Eq => eq,
                    Op::Ne => !eq,
                    _ if strict => false,
                    Op::Gt => val > *sel && !eq,
                    Op::Ge => val > *sel || eq,
                    Op::Lt => val < *sel && !eq,
                    Op::Le => val < *sel || eq,
                    Op::Match | Op::NotMatch => false,
                }
            }
            Operand::Time(t1, t2) => {
                let val = i64::try_from(v.numeric_key()).unwrap_or(i64::MAX);
                match (self.op, t2) {
                    // LVM2 treats `!=` on a time range as `=` (its comparison repeats the
                    // equality test); kept so both tools select the same LVs.
                    (Op::Eq | Op::Ne, Some(t2)) => val >= *t1 && val <= *t2,
                    (Op::Eq, None) => val == *t1,
                    (Op::Ne, None) => val != *t1,
                    (Op::Gt, Some(t2)) => val > *t2,
                    (Op::Gt, None) => val > *t1,
                    (Op::Ge, _) => val >= *t1,
                    (Op::Lt, _) => val < *t1,
                    (Op::Le, Some(t2)) => val <= *t2,
                    (Op::Le, None) => val <= *t1,
                    (Op::Match | Op::NotMatch, _) => false,
                }
            }
        }
    }
}

/// Integer comparison as LVM2's `_cmp_field_int`: ordering operators are false when either
/// side is the reserved undefined value.
fn cmp_ord(op: Op, ord: std::cmp::Ordering, strict: bool) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq => ord == Equal,
        Op::Ne => ord != Equal,
        _ if strict => false,
        Op::Gt => ord == Greater,
        Op::Ge => ord != Less,
        Op::Lt => ord == Less,
        Op::Le => ord != Greater,
        Op::Match | Op::NotMatch => false,
    }
}

/// A size column's value as LVM2's double sort value (sectors; undefined reads as NaN).
fn size_of(v: &FieldValue) -> f64 {
    match v {
        FieldValue::Size(s) => *s as f64,
        other => f64::from_bits(other.numeric_key()),
    }
}

/// A string column's value as LVM2 compares it (its sort value: hidden LV names unbracketed).
fn text_of(v: &FieldValue) -> String {
    match v {
        FieldValue::Str(s) | FieldValue::TextNum(s, _) => s.to_string(),
        FieldValue::TextStr(_, sort) => sort.to_string(),
        FieldValue::Num(n) => n.to_string(),
        FieldValue::Int(i) => i.to_string(),
        FieldValue::List(items) => items.join(","),
        FieldValue::Bin(b) => u8::from(*b).to_string(),
        FieldValue::BinUndef => "-1".to_string(),
        FieldValue::Size(s) => s.to_string(),
        FieldValue::Percent(p) => p.to_string(),
    }
}

/// LVM2's three list comparisons; `value` is sorted.
fn list_matches(value: &[String], sel: &ListOperand) -> bool {
    if value.is_empty() {
        // A blank list matches a selection that names the blank string.
        return if sel.any {
            sel.items.iter().any(String::is_empty)
        } else {
            sel.items.len() == 1 && sel.items[0].is_empty()
        };
    }
    if sel.any {
        return sel.items.iter().any(|s| value.contains(s));
    }
    if !sel.subset {
        return value == sel.items.as_slice();
    }
    // Subset: each selected item found at or after the previous find, as LVM2 walks it.
    let mut last = 0usize;
    let mut r = false;
    for s in &sel.items {
        r = false;
        for (i, v) in value.iter().enumerate().skip(last) {
            if v == s {
                last = i;
                r = true;
            }
        }
        if !r {
            break;
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Logical operator classes, as LVM2's `_op_log` flags.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Log {
    And,
    Or,
    Not,
    Ps,
    Pe,
    ListLs,
    ListLe,
    SubsetLs,
    SubsetLe,
}

const OP_LOG: [(&str, Log); 11] = [
    ("&&", Log::And),
    (",", Log::And),
    ("||", Log::Or),
    ("#", Log::Or),
    ("!", Log::Not),
    ("(", Log::Ps),
    (")", Log::Pe),
    ("[", Log::ListLs),
    ("]", Log::ListLe),
    ("{", Log::SubsetLs),
    ("}", Log::SubsetLe),
];

/// Comparison operators in LVM2's matching order (longer before their prefixes).
const OP_CMP: [(&str, Op, Class); 12] = [
    ("=~", Op::Match, Class::Regex),
    ("!~", Op::NotMatch, Class::Regex),
    ("=", Op::Eq, Class::Any),
    ("!=", Op::Ne, Class::Any),
    (">=", Op::Ge, Class::Number),
    (">", Op::Gt, Class::Number),
    ("<=", Op::Le, Class::Number),
    ("<", Op::Lt, Class::Number),
    ("since", Op::Ge, Class::Time),
    ("after", Op::Gt, Class::Time),
    ("until", Op::Le, Class::Time),
    ("before", Op::Lt, Class::Time),
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Regex,
    Any,
    Number,
    Time,
}

/// Where an unquoted value stops: `&&`, `,`, `||`, `#`, `)` or a space.
const VALUE_END: &[Log] = &[Log::And, Log::Or, Log::Pe];

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn skip_space(s: &str, mut at: usize) -> usize {
    let b = s.as_bytes();
    while at < b.len() && is_c_space(b[at]) {
        at += 1;
    }
    at
}

/// LVM2's `_tok_op_log`: after spaces, the first operator of `expect` that starts there.
fn tok_log(s: &str, at: usize, expect: &[Log]) -> Option<(Log, usize)> {
    let at = skip_space(s, at);
    let rest = s.get(at..).unwrap_or("");
    OP_LOG
        .iter()
        .filter(|(_, l)| expect.contains(l))
        .find(|(t, _)| rest.starts_with(t))
        .map(|(t, l)| (*l, at + t.len()))
}

struct Parser<'a> {
    src: &'a str,
    prefix: &'a str,
    /// LVM2's error lines so far.
    errors: Vec<String>,
}

/// A value token: its text and where parsing goes on.
struct Token {
    text: String,
    next: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self, at: usize) -> &'a str {
        self.src.get(at..).unwrap_or("")
    }

    fn syntax_error(&mut self, at: usize) {
        self.errors
            .push(format!("Selection syntax error at '{}'.", self.rest(at)));
    }

    fn message(&self) -> String {
        let mut lines: Vec<&str> = Vec::new();
        for e in &self.errors {
            if lines.last() != Some(&e.as_str()) {
                lines.push(e);
            }
        }
        // One line: LVM2's lines in order, joined as sentences.
        let mut msg = String::new();
        for l in lines {
            if !msg.is_empty() {
                msg.push_str(if msg.ends_with('.') { " " } else { "; " });
            }
            msg.push_str(l);
        }
        if msg.is_empty() {
            msg = "Invalid selection.".to_string();
        }
        msg.push_str(" ('-S help' lists the fields and operators.)");
        // The selection is quoted back: its control characters (a newline) are escaped so
        // the message stays one line.
        msg.chars()
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_debug().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect()
    }

    fn parse_or(&mut self, at: usize) -> Option<(Node, usize)> {
        let mut items = Vec::new();
        let mut at = at;
        loop {
            let (n, next) = self.parse_and(at)?;
            items.push(n);
            match tok_log(self.src, next, &[Log::Or]) {
                Some((_, after)) => at = after,
                None => {
                    let node = if items.len() == 1 {
                        items.pop()?
                    } else {
                        Node::Or(items)
                    };
                    return Some((node, next));
                }
            }
        }
    }

    fn parse_and(&mut self, at: usize) -> Option<(Node, usize)> {
        let mut items = Vec::new();
        let mut at = at;
        loop {
            let (n, next) = self.parse_ex(at)?;
            items.push(n);
            match tok_log(self.src, next, &[Log::And]) {
                Some((_, after)) => at = after,
                None => {
                    let node = if items.len() == 1 {
                        items.pop()?
                    } else {
                        Node::And(items)
                    };
                    return Some((node, next));
                }
            }
        }
    }

    fn parse_ex(&mut self, at: usize) -> Option<(Node, usize)> {
        match tok_log(self.src, at, &[Log::Not, Log::Ps]) {
            Some((Log::Not, next)) => {
                let Some((_, inner)) = tok_log(self.src, next, &[Log::Ps]) else {
                    let at = skip_space(self.src, next);
                    self.errors.push(format!(
                        "Syntax error: left parenthesis expected at '{}'",
                        self.rest(at)
                    ));
                    return None;
                };
                let (n, next) = self.parse_or(inner)?;
                let Some((_, after)) = tok_log(self.src, next, &[Log::Pe]) else {
                    self.errors.push(format!(
                        "Syntax error: right parenthesis expected at '{}'",
                        self.rest(next)
                    ));
                    return None;
                };
                Some((Node::Not(Box::new(n)), after))
            }
            Some((_, next)) => {
                let (n, next) = self.parse_or(next)?;
                let Some((_, after)) = tok_log(self.src, next, &[Log::Pe]) else {
                    let at = skip_space(self.src, next);
                    self.errors.push(format!(
                        "Syntax error: right parenthesis expected at '{}'",
                        self.rest(at)
                    ));
                    return None;
                };
                Some((n, after))
            }
            None => {
                let at = skip_space(self.src, at);
                self.parse_selection(at)
            }
        }
    }

    /// `FIELD OP VALUE`; on failure LVM2's messages end with the syntax-error line.
    fn parse_selection(&mut self, s: usize) -> Option<(Node, usize)> {
        let r = self.parse_selection_inner(s);
        if let Err(with_syntax) = &r {
            if *with_syntax {
                self.syntax_error(s);
            }
        }
        r.ok()
    }

    /// Err(true): a parse error that LVM2 follows with "Selection syntax error at ...";
    /// Err(false): a value error LVM2 reports alone.
    fn parse_selection_inner(&mut self, s: usize) -> Result<(Node, usize), bool> {
        let b = self.src.as_bytes();
        let mut we = s;
        while we < b.len() && (b[we].is_ascii_alphanumeric() || b[we] == b'_' || b[we] == b'-') {
            we += 1;
        }
        if we == s {
            self.errors.push("Expecting field name".to_string());
            return Err(true);
        }
        let name = &self.src[s..we];
        let field = match lookup(name, self.prefix) {
            Some(Lookup::Field(f)) => f,
            Some(Lookup::Help) => {
                self.errors
                    .push(format!("Selection field is uncomparable: {name}."));
                return Err(true);
            }
            None => {
                self.errors
                    .push(format!("Unrecognised selection field: {name}"));
                return Err(true);
            }
        };
        let ftype = field.field_type();
        let op_at = skip_space(self.src, we);
        let Some(&(op_text, op, class)) = OP_CMP
            .iter()
            .find(|(t, _, _)| self.rest(op_at).starts_with(t))
        else {
            self.errors.push(format!(
                "Unrecognised comparison operator: {}",
                self.rest(we)
            ));
            return Err(true);
        };
        let at = op_at + op_text.len();
        let id = field.name();
        if class == Class::Regex {
            let tok = self.regex_value(at, id)?;
            if ftype != FieldType::Str {
                self.errors.push(format!(
                    "dm_report: incompatible comparison type for selection field {id}"
                ));
                return Err(false);
            }
            let re = match Regex::new(&tok.text) {
                Ok(re) => re,
                Err(_) => {
                    self.errors.push(format!(
                        "dm_report: failed to create regex matcher for selection field {id}"
                    ));
                    return Err(false);
                }
            };
            let cond = Cond {
                field,
                column: 0,
                op,
                value: Operand::Regex(re),
            };
            return Ok((Node::Item(cond), skip_space(self.src, tok.next)));
        }
        let numeric = matches!(
            ftype,
            FieldType::Num
                | FieldType::Bin
                | FieldType::Size
                | FieldType::Percent
                | FieldType::Time
        );
        if class == Class::Number && !numeric {
            self.errors.push(format!(
                "Operator can be used only with number, size, time or percent fields: {}",
                self.rest(s)
            ));
            return Err(true);
        }
        if class == Class::Time && ftype != FieldType::Time {
            self.errors.push(format!(
                "Operator can be used only with time fields: {}",
                self.rest(s)
            ));
            return Err(true);
        }
        let (value, next) = self.value(at, field)?;
        let cond = Cond {
            field,
            column: 0,
            op,
            value,
        };
        Ok((Node::Item(cond), skip_space(self.src, next)))
    }

    /// LVM2's `_tok_value_string`: quoted up to the quote, else up to an operator in `ends` or
    /// a space.
    fn string_token(&mut self, at: usize, quote: Option<u8>, ends: &[Log]) -> Option<Token> {
        let b = self.src.as_bytes();
        let mut i = at;
        match quote {
            Some(q) => {
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                if i >= b.len() {
                    self.errors.push("Missing end quote.".to_string());
                    return None;
                }
                Some(Token {
                    text: self.src[at..i].to_string(),
                    next: i + 1,
                })
            }
            None => {
                while i < b.len() {
                    if b[i] == b' ' {
                        break;
                    }
                    let rest = &self.src[i..];
                    if OP_LOG
                        .iter()
                        .any(|(t, l)| ends.contains(l) && rest.starts_with(t))
                    {
                        break;
                    }
                    i += 1;
                    while i < b.len() && !self.src.is_char_boundary(i) {
                        i += 1;
                    }
                }
                Some(Token {
                    text: self.src[at..i].to_string(),
                    next: i,
                })
            }
        }
    }

    fn quote_at(&self, at: usize) -> (Option<u8>, usize) {
        match self.src.as_bytes().get(at) {
            Some(&q @ (b'"' | b'\'')) => (Some(q), at + 1),
            _ => (None, at),
        }
    }

    fn regex_value(&mut self, at: usize, id: &str) -> Result<Token, bool> {
        let at = skip_space(self.src, at);
        let Some(&c) = self.src.as_bytes().get(at) else {
            self.errors.push(format!(
                "Regular expression expected for selection field {id}"
            ));
            return Err(true);
        };
        let close = match c {
            b'(' => Some(b')'),
            b'{' => Some(b'}'),
            b'[' => Some(b']'),
            b'"' | b'\'' => Some(c),
            _ => None,
        };
        let start = if close.is_some() { at + 1 } else { at };
        match self.string_token(start, close, VALUE_END) {
            Some(t) => Ok(t),
            None => {
                self.errors.push(format!(
                    "Failed to parse regex value for selection field {id}."
                ));
                Err(true)
            }
        }
    }

    /// The value after a comparison operator, reserved names first (LVM2's `_tok_value`).
    fn value(&mut self, at: usize, field: FieldId) -> Result<(Operand, usize), bool> {
        let at = skip_space(self.src, at);
        let id = field.name();
        let ftype = field.field_type();
        // Reserved names (`undefined`, `allocatable`, `rw`, ...) are tried on every value.
        let (q, start) = self.quote_at(at);
        if let Some(tok) = self.string_token(start, q, VALUE_END) {
            if let Some(v) = reserved(field, &tok.text) {
                return Ok((v, tok.next));
            }
        }
        match ftype {
            FieldType::Str => {
                let (q, start) = self.quote_at(at);
                match self.string_token(start, q, VALUE_END) {
                    Some(t) => Ok((Operand::Str(t.text), t.next)),
                    None => {
                        self.errors.push(format!(
                            "Failed to parse string value for selection field {id}."
                        ));
                        Err(true)
                    }
                }
            }
            FieldType::StrList => match self.list_value(at, id) {
                Some((l, next)) => Ok((Operand::List(l), next)),
                None => {
                    self.errors.push(format!(
                        "Failed to parse string list value for selection field {id}."
                    ));
                    Err(true)
                }
            },
            FieldType::Num | FieldType::Bin | FieldType::Size | FieldType::Percent => {
                self.number_value(at, field)
            }
            FieldType::Time => match self.time_value(at) {
                Some((t1, t2, next)) => Ok((Operand::Time(t1, t2), next)),
                None => {
                    self.errors.push(format!(
                        "Failed to parse time value for selection field {id}."
                    ));
                    Err(true)
                }
            },
        }
    }

    fn number_value(&mut self, at: usize, field: FieldId) -> Result<(Operand, usize), bool> {
        let id = field.name();
        let ftype = field.field_type();
        let b = self.src.as_bytes();
        let mut i = at;
        let mut dot = false;
        while i < b.len() && (b[i].is_ascii_digit() || (!dot && b[i] == b'.')) {
            dot |= b[i] == b'.';
            i += 1;
        }
        if i == at {
            self.errors.push(format!(
                "Failed to parse numeric value for selection field {id}."
            ));
            return Err(true);
        }
        let text = &self.src[at..i];
        let kind_name = |t: FieldType| match t {
            FieldType::Size => "size",
            FieldType::Percent => "percent",
            _ => "numeric",
        };
        let mut factor: Option<u64> = None;
        let mut next = i;
        if b.get(i) == Some(&b'%') {
            next += 1;
            if ftype != FieldType::Percent {
                self.errors.push(format!(
                    "Found percent value but {} value expected for selection field {id}.",
                    kind_name(ftype)
                ));
                return Err(true);
            }
        } else if let Some(f) = b.get(i).and_then(|&c| unit_factor(c)) {
            next += 1;
            if ftype != FieldType::Size {
                self.errors.push(format!(
                    "Found size unit specifier but {} value expected for selection field {id}.",
                    kind_name(ftype)
                ));
                return Err(true);
            }
            factor = Some(f);
        }
        let out_of_range = |p: &mut Parser| {
            p.errors.push(format!(
                "Field selection value {text} out of supported range for field {id}."
            ));
            false
        };
        let value = match ftype {
            FieldType::Size => {
                let d = c_strtod(text) * factor.unwrap_or(1 << 20) as f64;
                Operand::Size(d / 512.0)
            }
            FieldType::Percent => {
                let d = c_strtod(text);
                if !(0.0..=100.0).contains(&d) {
                    return Err(out_of_range(self));
                }
                Operand::Num((1_000_000.0 * d) as i32 as u64)
            }
            _ => {
                let digits = text.split('.').next().unwrap_or("");
                let v = if digits.is_empty() {
                    0
                } else {
                    match digits.parse::<u64>() {
                        Ok(v) => v,
                        Err(_) => return Err(out_of_range(self)),
                    }
                };
                if v == NUM_UNDEF {
                    self.errors
                        .push(format!("Numeric value {v} found in selection is reserved."));
                    return Err(false);
                }
                Operand::Num(v)
            }
        };
        Ok((value, next))
    }

    /// LVM2's `_tok_value_string_list`: one item, or `[a,b]` (all, exactly), `{a,b}` (all, as
    /// a subset), `[a||b]`/`{a||b}` (any).
    fn list_value(&mut self, at: usize, id: &str) -> Option<(ListOperand, usize)> {
        let Some((open, after)) = tok_log(self.src, at, &[Log::ListLs, Log::SubsetLs]) else {
            let (q, start) = self.quote_at(at);
            let t = self.string_token(start, q, VALUE_END)?;
            return Some((
                ListOperand {
                    items: vec![t.text],
                    subset: false,
                    any: true,
                },
                t.next,
            ));
        };
        let expected_end = if open == Log::ListLs {
            Log::ListLe
        } else {
            Log::SubsetLe
        };
        let ops = [Log::ListLe, Log::SubsetLe, Log::And, Log::Or];
        let mut items = Vec::new();
        let mut kind: Option<Log> = None;
        let mut s = after;
        let mut ended = false;
        while s < self.src.len() {
            s = skip_space(self.src, s);
            let (q, start) = self.quote_at(s);
            let t = self.string_token(start, q, &ops)?;
            let Some((hit, after_op)) = tok_log(self.src, t.next, &ops) else {
                self.errors
                    .push("Invalid operator in selection list.".to_string());
                return None;
            };
            let list_end = matches!(hit, Log::ListLe | Log::SubsetLe);
            if list_end && hit != expected_end {
                let want = if expected_end == Log::ListLe {
                    "]"
                } else {
                    "}"
                };
                self.errors.push(format!(
                    "List ended with incorrect character, expecting '{want}'."
                ));
                return None;
            }
            match kind {
                Some(k) => {
                    if !list_end && k != hit {
                        self.errors.push(
                            "Only one type of logical operator allowed in selection list at a time."
                                .to_string(),
                        );
                        return None;
                    }
                }
                None => {
                    kind = Some(if list_end {
                        if expected_end == Log::ListLe {
                            Log::And
                        } else {
                            Log::Or
                        }
                    } else {
                        hit
                    });
                }
            }
            items.push(t.text);
            s = after_op;
            if list_end {
                ended = true;
                break;
            }
        }
        if !ended {
            self.errors
                .push(format!("Missing list end for selection field {id}"));
            return None;
        }
        items.sort_unstable();
        Some((
            ListOperand {
                items,
                subset: open == Log::SubsetLs,
                any: kind == Some(Log::Or),
            },
            s,
        ))
    }

    /// `@SECONDS` or LVM2's ISO 8601 forms (`YYYY[-MM[-DD]] [hh[:mm[:ss]]] [+-hh[:mm]]`); a
    /// value with a coarse unit stands for its whole range.
    fn time_value(&mut self, at: usize) -> Option<(i64, Option<i64>, usize)> {
        let b = self.src.as_bytes();
        if b.get(at) == Some(&b'@') {
            let mut i = at + 1;
            let mut dot = false;
            while i < b.len() && (b[i].is_ascii_digit() || (!dot && b[i] == b'.')) {
                dot |= b[i] == b'.';
                i += 1;
            }
            if i == at + 1 {
                return None;
            }
            let digits = self.src[at + 1..i].split('.').next().unwrap_or("");
            let t = if digits.is_empty() {
                0
            } else {
                digits.parse::<i64>().ok()?
            };
            return Some((t, None, i));
        }
        let (q, start) = self.quote_at(at);
        let tok = self.string_token(start, q, VALUE_END)?;
        let (t1, t2) = match parse_date_time(&tok.text) {
            Ok(v) => v,
            Err(Some(msg)) => {
                self.errors.push(msg.to_string());
                return None;
            }
            Err(None) => return None,
        };
        Some((t1, t2, tok.next))
    }
}

/// LVM2's unit letters after a size in a selection: binary lower case, SI upper case;
/// h/H/r/R and b/B mean bytes, s/S sectors.
fn unit_factor(c: u8) -> Option<u64> {
    const K: u64 = 1024;
    const D: u64 = 1000;
    Some(match c {
        b'h' | b'H' | b'r' | b'R' | b'b' | b'B' => 1,
        b's' | b'S' => 512,
        b'k' => K,
        b'm' => K.pow(2),
        b'g' => K.pow(3),
        b't' => K.pow(4),
        b'p' => K.pow(5),
        b'e' => K.pow(6),
        b'K' => D,
        b'M' => D.pow(2),
        b'G' => D.pow(3),
        b'T' => D.pow(4),
        b'P' => D.pow(5),
        b'E' => D.pow(6),
        _ => return None,
    })
}

/// `strtod` on a token of digits with at most one dot (`.` alone is 0).
fn c_strtod(text: &str) -> f64 {
    if text == "." {
        return 0.0;
    }
    text.parse::<f64>().unwrap_or(0.0)
}

/// Reserved names LVM2 accepts as values (its `values.h`), with their values.
fn reserved(field: FieldId, token: &str) -> Option<Operand> {
    let ftype = field.field_type();
    if matches!(ftype, FieldType::Num | FieldType::Bin)
        && ["-1", "unknown", "undefined", "undef"].contains(&token)
    {
        return Some(Operand::Num(NUM_UNDEF));
    }
    let name = field.name();
    if let Some((_, words)) = BINARY_WORDS.iter().find(|(f, _)| *f == name) {
        if words.contains(&token) || token == "yes" {
            return Some(Operand::Num(1));
        }
        if token == "no" {
            return Some(Operand::Num(0));
        }
    }
    let named = |v: &str| Some(Operand::Str(v.to_string()));
    match name {
        "vg_permissions" | "lv_permissions" => match token {
            "writeable" | "rw" | "read-write" => return named("writeable"),
            "read-only" | "r" | "ro" => return named("read-only"),
            "read-only-override" | "ro-override" | "r-override" | "R"
                if name == "lv_permissions" =>
            {
                return named("read-only-override")
            }
            _ => {}
        },
        "vg_mda_copies" if token == "unmanaged" => return Some(Operand::Num(NUM_UNDEF)),
        "lv_read_ahead" if token == "auto" => return Some(Operand::Size(f64::MAX)),
        "lv_when_full" => match token {
            "error" | "error when full" | "error if no space" => return named("error"),
            "queue" | "queue when full" | "queue if no space" => return named("queue"),
            "" | "undefined" => return named(""),
            _ => {}
        },
        "cache_policy" | "seg_monitor" | "lv_health_status" | "kernel_discards"
        | "vdo_write_policy"
            if token.is_empty() || token == "undefined" =>
        {
            return named("")
        }
        _ => {}
    }
    None
}

/// Binary fields and the words LVM2 accepts for "set" (plus `yes`; `no` for unset).
const BINARY_WORDS: &[(&str, &[&str])] = &[
    ("pv_allocatable", &["allocatable"]),
    ("pv_exported", &["exported"]),
    ("pv_missing", &["missing"]),
    ("pv_in_use", &["used", "in use"]),
    ("pv_duplicate", &["duplicate"]),
    ("vg_extendable", &["extendable"]),
    ("vg_exported", &["exported"]),
    ("vg_partial", &["partial"]),
    ("vg_clustered", &["clustered"]),
    ("vg_shared", &["shared"]),
    ("lv_initial_image_sync", &["initial image sync", "sync"]),
    ("lv_image_synced", &["image synced", "synced"]),
    ("lv_merging", &["merging"]),
    ("lv_converting", &["converting"]),
    ("lv_allocation_locked", &["allocation locked", "locked"]),
    ("lv_fixed_minor", &["fixed minor", "fixed"]),
    (
        "lv_active_locally",
        &["active locally", "active", "locally"],
    ),
    (
        "lv_active_remotely",
        &["active remotely", "active", "remotely"],
    ),
    (
        "lv_active_exclusively",
        &["active exclusively", "active", "exclusively"],
    ),
    ("lv_merge_failed", &["merge failed", "failed"]),
    ("lv_snapshot_invalid", &["snapshot invalid", "invalid"]),
    ("lv_suspended", &["suspended"]),
    (
        "lv_live_table",
        &["live table present", "live table", "live"],
    ),
    (
        "lv_inactive_table",
        &["inactive table present", "inactive table", "inactive"],
    ),
    ("lv_device_open", &["open"]),
    ("lv_skip_activation", &["skip activation", "skip"]),
    ("zero", &["zero"]),
    ("lv_check_needed", &["check needed", "needed"]),
    ("vdo_compression", &["enabled"]),
    ("vdo_deduplication", &["enabled"]),
    ("vdo_use_metadata_hints", &["enabled"]),
    ("vdo_use_sparse_index", &["enabled"]),
];

// ---------------------------------------------------------------------------------------------
// Time values

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Range {
    None,
    Second,
    Minute,
    Hour,
    Day,
    Month,
    Year,
}

/// Broken-down time as C's `struct tm` fields (year since 1900, month 0-11).
#[derive(Clone, Copy)]
struct Tm {
    year: i64,
    mon: i64,
    mday: i64,
    hour: i64,
    min: i64,
    sec: i64,
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const DAYS_IN_MONTH: [i64; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// LVM2's `_get_days_in_month` (month 1-12).
fn days_in_month(month: i64, year: i64) -> i64 {
    let idx = usize::try_from(month - 1).unwrap_or(0).min(11);
    if month == 2 && is_leap(year) {
        29
    } else {
        DAYS_IN_MONTH[idx]
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12; day may overflow, as
/// `mktime` normalises it).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let (y, m) = (y + (m - 1).div_euclid(12), (m - 1).rem_euclid(12) + 1);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The fields as seconds since the epoch, read as UTC.
fn utc_seconds(tm: &Tm) -> i64 {
    days_from_civil(tm.year + 1900, tm.mon + 1, tm.mday) * 86400
        + tm.hour * 3600
        + tm.min * 60
        + tm.sec
}

/// `mktime`: the fields as local time.
fn local_seconds(tm: &Tm) -> i64 {
    let utc = utc_seconds(tm);
    let guess = u64::try_from(utc).unwrap_or(0);
    let off = i64::from(crate::host::local_utc_offset(guess));
    let t = utc - off;
    let off2 = i64::from(crate::host::local_utc_offset(u64::try_from(t).unwrap_or(0)));
    utc - off2
}

/// Reads a run of digits as C's `strtol` would; returns (value, digits).
fn number_at(s: &[u8], at: usize) -> (i64, usize) {
    let mut i = at;
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(s[i] - b'0'));
        i += 1;
    }
    (v, i - at)
}

/// LVM2's `_parse_formatted_date_time`: Err(Some(msg)) where LVM2 logs a message, Err(None)
/// where it fails silently.
fn parse_date_time(text: &str) -> Result<(i64, Option<i64>), Option<&'static str>> {
    let s = text.as_bytes();
    let skip = |mut i: usize| {
        while i < s.len() && is_c_space(s[i]) {
            i += 1;
        }
        i
    };
    // Date.
    if !s.first().is_some_and(u8::is_ascii_digit) {
        return Err(None);
    }
    let (mut n1, l1) = number_at(s, 0);
    let mut end = l1;
    let (mut n2, mut n3) = (-1i64, -1i64);
    let mut len: i64 = 0;
    if s.get(end) == Some(&b'-') {
        len += 4 - l1 as i64;
        let at = end + 1;
        if s.get(at).is_some_and(u8::is_ascii_digit) {
            let (v, l) = number_at(s, at);
            n2 = v;
            len += 2 - l as i64;
            end = at + l;
            if s.get(end) == Some(&b'-') {
                let at = end + 1;
                let (v, l) = number_at(s, at);
                n3 = v;
                len += 2 - l as i64;
                end = at + l;
            }
        } else {
            end = at;
        }
    }
    len += end as i64;
    let mut range = Range::None;
    if n3 == -1 {
        if n2 == -1 {
            match len {
                4 => {
                    range = Range::Year;
                    n2 = 1;
                    n3 = 1;
                }
                6 => {
                    range = Range::Month;
                    n3 = 1;
                    n2 = n1 % 100;
                    n1 /= 100;
                }
                8 => {
                    range = Range::Day;
                    n3 = n1 % 100;
                    n2 = (n1 / 100) % 100;
                    n1 /= 10000;
                }
                _ => return Err(Some("Incorrect date format.")),
            }
        } else if len == 7 {
            range = Range::Month;
            n3 = 1;
        } else {
            return Err(Some("Incorrect date format."));
        }
    }
    if !(1..=12).contains(&n2) {
        return Err(Some("Specified month out of range."));
    }
    if n3 < 1 || n3 > days_in_month(n2, n1) {
        return Err(Some("Specified day out of range."));
    }
    if range == Range::None {
        range = Range::Day;
    }
    let mut tm = Tm {
        year: n1 - 1900,
        mon: n2 - 1,
        mday: n3,
        hour: 0,
        min: 0,
        sec: 0,
    };
    let mut i = skip(end);

    // Time.
    if s.get(i).is_some_and(u8::is_ascii_digit) {
        let start = i;
        let (mut h, l1) = number_at(s, i);
        let mut end = i + l1;
        let (mut m, mut sec) = (-1i64, -1i64);
        let mut len: i64 = 0;
        if s.get(end) == Some(&b':') {
            len += 2 - l1 as i64;
            let at = end + 1;
            if s.get(at).is_some_and(u8::is_ascii_digit) {
                let (v, l) = number_at(s, at);
                m = v;
                len += 2 - l as i64;
                end = at + l;
                if s.get(end) == Some(&b':') {
                    let at = end + 1;
                    let (v, l) = number_at(s, at);
                    sec = v;
                    len += 2 - l as i64;
                    end = at + l;
                }
            } else {
                end = at;
            }
        }
        len += (end - start) as i64;
        let trange;
        if sec == -1 {
            if m == -1 {
                match len {
                    2 => {
                        trange = Range::Hour;
                        m = 0;
                        sec = 0;
                    }
                    4 => {
                        trange = Range::Minute;
                        sec = 0;
                        m = h % 100;
                        h /= 100;
                    }
                    6 => {
                        trange = Range::Second;
                        sec = h % 100;
                        m = (h / 100) % 100;
                        h /= 10000;
                    }
                    _ => return Err(Some("Incorrect time format.")),
                }
            } else if len == 5 {
                trange = Range::Minute;
                sec = 0;
            } else {
                return Err(Some("Incorrect time format."));
            }
        } else {
            trange = Range::None;
        }
        if !(0..=23).contains(&h) {
            return Err(Some("Specified hours out of range."));
        }
        if !(0..=60).contains(&m) {
            return Err(Some("Specified minutes out of range."));
        }
        if !(0..=60).contains(&sec) {
            return Err(Some("Specified seconds out of range."));
        }
        if range != Range::Day {
            return Err(Some("Full date specification needed."));
        }
        tm.hour = h;
        tm.min = m;
        tm.sec = sec;
        range = trange;
        i = skip(end);
    }

    // Zone.
    let mut tz: Option<i64> = None;
    if i < s.len() {
        let mut sign = 1;
        let mut at = i;
        if !s[at].is_ascii_digit() {
            match s[at] {
                b'+' => at += 1,
                b'-' => {
                    sign = -1;
                    at += 1
                }
                _ => return Err(None),
            }
        }
        let (mut h, l1) = number_at(s, at);
        let mut end = at + l1;
        let mut m = -1i64;
        // Lengths are differences from the standard "HH" / "MM"; positions are signed because a
        // ':' with no minutes after it leaves the end one byte before the minutes' start.
        let mut len: i64 = 0;
        if s.get(end) == Some(&b':') {
            len = 2 - l1 as i64;
            let at2 = end + 1;
            if s.get(at2).is_some_and(u8::is_ascii_digit) {
                let (v, l) = number_at(s, at2);
                m = v;
                len = 2 - l as i64;
                end = at2 + l;
            }
            len += end as i64 - at2 as i64;
        } else {
            len += (end - at) as i64;
        }
        if m == -1 {
            match len {
                2 => m = 0,
                4 => {
                    m = h % 100;
                    h /= 100;
                }
                _ => return Err(None),
            }
        }
        if !(0..=60).contains(&m) || !(0..=14).contains(&h) {
            return Err(None);
        }
        tz = Some(sign * (h * 3600 + m * 60));
        i = skip(end);
    }
    if i < s.len() {
        return Err(None);
    }

    // The end of the range: one unit up, carrying as LVM2 does.
    let mut up = tm;
    let mut carry = range;
    loop {
        match carry {
            Range::Second if up.sec < 59 => up.sec += 1,
            Range::Minute if up.min < 59 => up.min += 1,
            Range::Hour if up.hour < 23 => up.hour += 1,
            Range::Day if up.mday < days_in_month(up.mon, up.year) => up.mday += 1,
            Range::Month if up.mon < 11 => up.mon += 1,
            Range::Year => up.year += 1,
            Range::None => {}
            _ => {
                carry = match carry {
                    Range::Second => Range::Minute,
                    Range::Minute => Range::Hour,
                    Range::Hour => Range::Day,
                    Range::Day => Range::Month,
                    _ => Range::Year,
                };
                continue;
            }
        }
        break;
    }
    let (t1, t2) = match tz {
        Some(off) => (utc_seconds(&tm) - off, utc_seconds(&up) - 1 - off),
        None => (local_seconds(&tm), local_seconds(&up) - 1),
    };
    Ok((t1, (range != Range::None).then_some(t2)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(text: &str) -> Selection {
        match Selection::parse(text, "lv_") {
            Ok(Parsed::Select(s)) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    fn err(text: &str) -> String {
        match Selection::parse(text, "lv_") {
            Err(e) => e,
            Ok(p) => panic!("{text}: parsed {p:?}"),
        }
    }

    /// Binds the selection to columns in order of first appearance.
    fn bound(text: &str) -> (Selection, Vec<FieldId>) {
        let mut s = sel(text);
        let mut cols: Vec<FieldId> = Vec::new();
        s.bind(&mut |f| match cols.iter().position(|&c| c == f) {
            Some(i) => i,
            None => {
                cols.push(f);
                cols.len() - 1
            }
        });
        (s, cols)
    }

    #[test]
    fn precedence_and_grouping() {
        // `,` binds tighter than `#`: lv1 OR (data AND vg0)
        let (s, cols) = bound("lv_name=lv1 # lv_name=data, vg_name=vg0");
        assert_eq!(cols, [FieldId::LV_NAME, FieldId::VG_NAME]);
        let row =
            |lv: &'static str, vg: &'static str| vec![FieldValue::str(lv), FieldValue::str(vg)];
        assert!(s.matches(&row("lv1", "vgx")));
        assert!(s.matches(&row("data", "vg0")));
        assert!(!s.matches(&row("data", "vg1")));
        let (s, _) = bound("vg_name=vg0 && !(lv_name=lv1 || lv_name=data)");
        assert!(s.matches(&[FieldValue::str("vg0"), FieldValue::str("striped")]));
        assert!(!s.matches(&[FieldValue::str("vg0"), FieldValue::str("lv1")]));
    }

    #[test]
    fn sizes_units_and_strict_values() {
        let (s, _) = bound("lv_size>5m");
        assert!(s.matches(&[FieldValue::Size(10 * 2048)]));
        assert!(!s.matches(&[FieldValue::Size(4 * 2048)]));
        let (s, _) = bound("size=4096k");
        assert!(s.matches(&[FieldValue::Size(4 * 2048)]));
        // SI: 4M is 4,000,000 bytes
        let (s, _) = bound("lv_size=4M");
        assert!(!s.matches(&[FieldValue::Size(4 * 2048)]));
        // undefined numbers never compare as greater or smaller
        let (s, _) = bound("lv_kernel_major>=0");
        assert!(!s.matches(&[FieldValue::Int(-1)]));
        let (s, _) = bound("lv_kernel_major=undefined");
        assert!(s.matches(&[FieldValue::Int(-1)]));
        // blank percentages never match
        let (s, _) = bound("data_percent>=0");
        assert!(!s.matches(&[FieldValue::Percent(crate::report::PERCENT_INVALID)]));
        assert!(s.matches(&[FieldValue::Percent(0)]));
        let (s, _) = bound("data_percent<50%");
        assert!(s.matches(&[FieldValue::Percent(49_000_000)]));
    }

    #[test]
    fn lists() {
        let tags = |t: &[&str]| vec![FieldValue::List(t.iter().map(|s| s.to_string()).collect())];
        let (s, _) = bound("tags=[a]");
        assert!(!s.matches(&tags(&["b", "a"])));
        assert!(s.matches(&tags(&["a"])));
        let (s, _) = bound("tags={a}");
        assert!(s.matches(&tags(&["b", "a"])));
        let (s, _) = bound("tags=[b,a]");
        assert!(s.matches(&tags(&["a", "b"])));
        let (s, _) = bound("tags=[a||t1]");
        assert!(s.matches(&tags(&["t1"])));
        let (s, _) = bound("tags=[]");
        assert!(s.matches(&tags(&[])));
        assert!(!s.matches(&tags(&["a"])));
        let (s, _) = bound("tags!={a}");
        assert!(s.matches(&tags(&["t1"])));
    }

    #[test]
    fn regex_and_hidden_names() {
        let (s, _) = bound("lv_name=~(^l|g$)");
        assert!(s.matches(&[FieldValue::str("big")]));
        assert!(!s.matches(&[FieldValue::str("data")]));
        let (s, _) = bound("lv_name=pool_tmeta");
        assert!(s.matches(&[FieldValue::lv_name("pool_tmeta", true)]));
    }

    #[test]
    fn errors_are_lvm2_lines() {
        assert!(err("bogus=1").starts_with(
            "Unrecognised selection field: bogus; Selection syntax error at 'bogus=1'."
        ));
        assert!(err("lv_size>>1").starts_with(
            "Failed to parse numeric value for selection field lv_size. Selection syntax error at 'lv_size>>1'."
        ));
        assert!(err("(lv_name=lv1").starts_with("Syntax error: right parenthesis expected at ''"));
        assert!(err("!lv_name=lv1")
            .starts_with("Syntax error: left parenthesis expected at 'lv_name=lv1'"));
        // Fuzz finding: a newline in the quoted selection made the message two lines.
        assert_eq!(
            err("!(vg_ta\ngs={a<b})").lines().count(),
            1,
            "{}",
            err("!(vg_ta\ngs={a<b})")
        );
        assert!(err("lv_name=lv1 xx")
            .starts_with("Expecting logical operator; Selection syntax error at 'xx'."));
        assert!(err("tags=~a")
            .starts_with("dm_report: incompatible comparison type for selection field lv_tags"));
        assert!(err("data_percent>500").starts_with(
            "Field selection value 500 out of supported range for field data_percent."
        ));
        assert!(
            err("tags=[a,t1}").starts_with("List ended with incorrect character, expecting ']'.")
        );
        assert!(err("lv_name=\"lv1").starts_with("Missing end quote. Failed to parse string"));
        assert!(err("lv_name>1").starts_with(
            "Operator can be used only with number, size, time or percent fields: lv_name>1"
        ));
        assert!(!err("lv_name").contains('\n'));
    }

    #[test]
    fn times() {
        assert_eq!(
            parse_date_time("2024-05-06 10:20:30 +02:00"),
            Ok((1714983630, None))
        );
        let (t1, t2) = parse_date_time("2024-05 +00").unwrap();
        assert_eq!(t1, 1714521600);
        assert_eq!(t2, Some(1714521600 + 31 * 86400 - 1));
        assert_eq!(
            parse_date_time("2024-13-01"),
            Err(Some("Specified month out of range."))
        );
        assert_eq!(
            parse_date_time("10:00"),
            Err(Some("Incorrect date format."))
        );
        let (s, _) = bound("lv_time since @1000");
        assert!(s.matches(&[FieldValue::TextNum("x".into(), 1000)]));
        assert!(!s.matches(&[FieldValue::TextNum("x".into(), 999)]));
    }

    #[test]
    fn zone_with_colon_and_no_minutes_is_not_a_zone() {
        // Found by the select fuzz target: "+01:" once underflowed a length.
        for text in [
            "2024-05-06 10:20 +01:",
            "2024-05-06 +:",
            "2024-05-06 -0130:",
        ] {
            assert_eq!(parse_date_time(text), Err(None), "{text}");
        }
        assert!(parse_date_time("2024-05-06 10:20 +0130").is_ok());
        assert!(parse_date_time("2024-05-06 10:20 -01:30").is_ok());
    }

    #[test]
    fn special_selections() {
        assert!(matches!(Selection::parse("", "lv_"), Ok(Parsed::All)));
        assert!(matches!(Selection::parse("ALL", "lv_"), Ok(Parsed::All)));
        assert!(matches!(Selection::parse("help", "lv_"), Ok(Parsed::Help)));
    }
}
