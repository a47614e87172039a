//! Writing reports byte for byte as LVM2 2.03.16 does. Every cell is formatted once into one
//! text arena; widths, sorting and output then work on spans of it, and the whole report is
//! appended to one `String`. Quirks are kept on purpose because scripts see them: headings are
//! cut to the column width, the last heading gets a separator when the last field is hidden,
//! `--nameprefixes` with JSON closes values with `'`, JSON only escapes `"`, and every line
//! starts with LVM2's log prefix (two spaces).

use super::registry::{FieldType, ListStyle};
use super::size::{write_percent, write_size};
use super::spec::{Prop, ReportFormat, ReportSpec};
use super::value::{FieldValue, Row};
use std::cmp::Ordering;
use std::fmt::Write;

/// What LVM2 puts in front of every line it prints (`log/prefix`).
pub const LINE_PREFIX: &str = "  ";

const JSON_INDENT: usize = 4;

/// A sort key of one cell.
#[derive(Clone, Copy)]
enum Key {
    Num(u64),
    /// A span of the arena.
    Text(usize, usize),
    /// A number LVM2 compares as a C string (its little-endian bytes up to the first zero).
    Word(u64),
}

/// Formatted cells of one report: `spans[row * ncols + col]` is a range of `text`.
struct Cells {
    text: String,
    spans: Vec<(usize, usize)>,
    keys: Vec<Key>,
    ncols: usize,
    nkeys: usize,
}

impl Cells {
    fn cell(&self, row: usize, col: usize) -> &str {
        match self.spans.get(row * self.ncols + col) {
            Some(&(s, e)) => self.text.get(s..e).unwrap_or(""),
            None => "",
        }
    }

    fn width(&self, row: usize, col: usize) -> usize {
        self.spans
            .get(row * self.ncols + col)
            .map_or(0, |&(s, e)| e - s)
    }
}

fn format_cells(spec: &ReportSpec, rows: &[Row]) -> Cells {
    let ncols = spec.columns.len();
    let nkeys = spec.sort.len();
    let mut cells = Cells {
        text: String::with_capacity(rows.len() * ncols * 8),
        spans: Vec::with_capacity(rows.len() * ncols),
        keys: Vec::with_capacity(if spec.flags.buffered {
            rows.len() * nkeys
        } else {
            0
        }),
        ncols,
        nkeys,
    };
    let empty = FieldValue::Str("".into());
    let mut sorted: Vec<&str> = Vec::new();
    for row in rows {
        for (col, field) in spec.columns.iter().enumerate() {
            let value = row.get(col).unwrap_or(&empty);
            let start = cells.text.len();
            let def = field.def();
            let out = &mut cells.text;
            match value {
                FieldValue::Str(s) | FieldValue::TextNum(s, _) | FieldValue::TextStr(s, _) => {
                    out.push_str(s)
                }
                FieldValue::Num(n) => {
                    let _ = write!(out, "{n}");
                }
                FieldValue::Int(i) => {
                    let _ = write!(out, "{i}");
                }
                FieldValue::Size(s) => write_size(out, *s, spec.units, spec.suffix),
                FieldValue::Percent(p) => write_percent(out, *p),
                FieldValue::Bin(b) => match (spec.binary, *b) {
                    (true, b) => out.push(if b { '1' } else { '0' }),
                    (false, true) => out.push_str(def.word),
                    (false, false) => {}
                },
                FieldValue::BinUndef => out.push_str(if spec.binary { "-1" } else { "unknown" }),
                FieldValue::List(items) => {
                    let sep = match def.list {
                        ListStyle::Comma => ",",
                        ListStyle::Space => " ",
                        ListStyle::Plain | ListStyle::Sorted => spec.list_separator.as_str(),
                    };
                    sorted.clear();
                    sorted.extend(items.iter().map(String::as_str));
                    if def.list == ListStyle::Sorted {
                        sorted.sort_unstable();
                    }
                    for (i, item) in sorted.iter().enumerate() {
                        if i > 0 {
                            out.push_str(sep);
                        }
                        out.push_str(item);
                    }
                }
            }
            cells.spans.push((start, cells.text.len()));
        }
        if !spec.flags.buffered {
            continue;
        }
        // Sort keys, per LVM2's comparison class of the field.
        for key in &spec.sort {
            let value = row.get(key.column).unwrap_or(&empty);
            let ftype = spec
                .columns
                .get(key.column)
                .map_or(FieldType::Str, |f| f.field_type());
            let k = if ftype.sorts_numerically() {
                Key::Num(value.numeric_key())
            } else {
                match value {
                    FieldValue::TextStr(_, sort) => {
                        let start = cells.text.len();
                        cells.text.push_str(sort);
                        Key::Text(start, cells.text.len())
                    }
                    FieldValue::Num(_)
                    | FieldValue::Int(_)
                    | FieldValue::Percent(_)
                    | FieldValue::Size(_)
                    | FieldValue::Bin(_)
                    | FieldValue::BinUndef => Key::Word(value.numeric_key()),
                    _ => {
                        let (s, e) = cells
                            .spans
                            .get(cells.spans.len() - ncols + key.column)
                            .copied()
                            .unwrap_or((0, 0));
                        Key::Text(s, e)
                    }
                }
            };
            cells.keys.push(k);
        }
    }
    cells
}

/// Compares two numbers as C's `strcmp` sees their little-endian bytes (LVM2 does this for
/// numbers in string-sorted columns, e.g. percentages).
fn cmp_word(a: u64, b: u64) -> Ordering {
    let (a, b) = (a.to_le_bytes(), b.to_le_bytes());
    let la = a.iter().position(|&c| c == 0).unwrap_or(8);
    let lb = b.iter().position(|&c| c == 0).unwrap_or(8);
    a[..la].cmp(&b[..lb])
}

/// Row order after LVM2's sort (stable, like glibc's merge sort for these sizes).
fn sorted_order(spec: &ReportSpec, cells: &Cells, nrows: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..nrows).collect();
    if !spec.flags.buffered || cells.nkeys == 0 {
        return order;
    }
    let text = cells.text.as_bytes();
    let slice = |s: usize, e: usize| text.get(s..e).unwrap_or(&[]);
    order.sort_by(|&a, &b| {
        for (i, key) in spec.sort.iter().enumerate() {
            let ka = cells.keys.get(a * cells.nkeys + i);
            let kb = cells.keys.get(b * cells.nkeys + i);
            let ord = match (ka, kb) {
                (Some(Key::Num(x)), Some(Key::Num(y))) => x.cmp(y),
                (Some(Key::Word(x)), Some(Key::Word(y))) => cmp_word(*x, *y),
                (Some(Key::Text(s1, e1)), Some(Key::Text(s2, e2))) => {
                    slice(*s1, *e1).cmp(slice(*s2, *e2))
                }
                (Some(Key::Word(x)), Some(Key::Text(s, e))) => word_cmp_text(*x, slice(*s, *e)),
                (Some(Key::Text(s, e)), Some(Key::Word(y))) => {
                    word_cmp_text(*y, slice(*s, *e)).reverse()
                }
                _ => Ordering::Equal,
            };
            if ord != Ordering::Equal {
                return if key.descending { ord.reverse() } else { ord };
            }
        }
        Ordering::Equal
    });
    order
}

fn word_cmp_text(w: u64, t: &[u8]) -> Ordering {
    let b = w.to_le_bytes();
    let l = b.iter().position(|&c| c == 0).unwrap_or(8);
    b[..l].cmp(t)
}

/// Per-column widths: LVM2's minimum width or the longest value among `rows`.
fn widths(
    spec: &ReportSpec,
    cells: &Cells,
    rows: impl Iterator<Item = usize> + Clone,
) -> Vec<usize> {
    spec.columns
        .iter()
        .enumerate()
        .map(|(col, f)| {
            rows.clone()
                .map(|r| cells.width(r, col))
                .fold(f.def().width, usize::max)
        })
        .collect()
}

/// LVM2's `-o#`: compacted fields blank in every row are hidden.
fn compacted_props(spec: &ReportSpec, cells: &Cells, nrows: usize) -> Vec<Prop> {
    let mut props = spec.props.clone();
    if !spec.flags.buffered || nrows == 0 {
        return props;
    }
    for p in props.iter_mut().filter(|p| p.compact && !p.hidden) {
        p.hidden = (0..nrows).all(|r| cells.width(r, p.column) == 0);
    }
    props
}

/// Output state shared by the reports of one document (LVM2's report group).
#[derive(Debug)]
pub struct ReportDocument {
    json: bool,
    out: String,
    indent: usize,
    /// Open containers, innermost last: the root, the `"report"` array, unnamed objects.
    stack: Vec<Container>,
}

#[derive(Debug, Clone, Copy)]
struct Container {
    named: bool,
    root: bool,
    finished: usize,
}

impl ReportDocument {
    /// Starts a document; for JSON this opens `{"report": [`.
    pub fn new(format: ReportFormat) -> ReportDocument {
        let mut doc = ReportDocument {
            json: format == ReportFormat::Json,
            out: String::new(),
            indent: 0,
            stack: vec![Container {
                named: false,
                root: true,
                finished: 0,
            }],
        };
        if doc.json {
            doc.start();
            doc.array_start("report");
            doc.stack.push(Container {
                named: true,
                root: false,
                finished: 0,
            });
        }
        doc
    }

    fn line(&mut self, indent: usize, text: &str) {
        self.out.push_str(LINE_PREFIX);
        self.out.extend(std::iter::repeat_n(' ', indent));
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// The opening brace, printed once before anything else.
    fn start(&mut self) {
        if self.indent == 0 {
            self.line(0, "{");
            self.indent += JSON_INDENT;
        }
    }

    fn parent(&self) -> Container {
        self.stack.last().copied().unwrap_or(Container {
            named: false,
            root: true,
            finished: 0,
        })
    }

    fn array_start(&mut self, name: &str) {
        let parent = self.parent();
        if parent.finished > 0 {
            self.line(self.indent, ",");
        }
        if !parent.root && parent.named {
            self.line(self.indent, "{");
            self.indent += JSON_INDENT;
        }
        let head = format!("\"{name}\": [");
        self.line(self.indent, &head);
        self.indent += JSON_INDENT;
    }

    /// Closes an item whose parent is now on top of the stack.
    fn close(&mut self, named: bool) {
        if named {
            self.indent = self.indent.saturating_sub(JSON_INDENT);
            self.line(self.indent, "]");
        }
        let parent = self.parent();
        if parent.named && !parent.root {
            self.indent = self.indent.saturating_sub(JSON_INDENT);
            self.line(self.indent, "}");
        }
        if let Some(p) = self.stack.last_mut() {
            p.finished += 1;
        }
    }

    /// Opens an unnamed JSON object in the `"report"` array (`lvm fullreport` puts each VG's
    /// reports in one). No effect on basic output.
    pub fn begin_object(&mut self) {
        if !self.json {
            return;
        }
        self.start();
        if self.parent().finished > 0 {
            self.line(self.indent, ",");
        }
        self.line(self.indent, "{");
        self.indent += JSON_INDENT;
        self.stack.push(Container {
            named: false,
            root: false,
            finished: 0,
        });
    }

    /// Closes the object opened by [`ReportDocument::begin_object`].
    pub fn end_object(&mut self) {
        if !self.json {
            return;
        }
        if self.stack.len() > 2 {
            if let Some(item) = self.stack.pop() {
                self.close(item.named);
            }
        }
    }

    /// Appends one report. With JSON its array is named after the report kind (`"pv": [`); the
    /// spec's own format decides the line layout, so use the same format as the document.
    pub fn add(&mut self, spec: &ReportSpec, rows: &[Row]) {
        let rows = if spec.help { &[][..] } else { rows };
        if self.json {
            self.start();
            self.array_start(spec.kind.name());
        }
        if !rows.is_empty() {
            let indent = if self.json { self.indent } else { 0 };
            render_rows(&mut self.out, indent, spec, rows);
        }
        if self.json {
            self.close(true);
        }
    }

    /// Closes every open container and returns the text.
    pub fn finish(mut self) -> String {
        if self.json {
            while self.stack.len() > 1 {
                if let Some(item) = self.stack.pop() {
                    self.close(item.named);
                }
            }
            self.start();
            self.line(0, "}");
        }
        self.out
    }
}

/// Renders one complete report (with the JSON wrapper when the spec's format is JSON).
pub fn render(spec: &ReportSpec, rows: &[Row]) -> String {
    let format = if spec.flags.json {
        ReportFormat::Json
    } else {
        ReportFormat::Basic
    };
    let mut doc = ReportDocument::new(format);
    doc.add(spec, rows);
    doc.finish()
}

/// Writes the headings and rows of a non-empty report.
fn render_rows(out: &mut String, indent: usize, spec: &ReportSpec, rows: &[Row]) {
    let cells = format_cells(spec, rows);
    let nrows = rows.len();
    let props = compacted_props(spec, &cells, nrows);
    let prefixes: Vec<String> = if spec.flags.name_prefixes && !spec.flags.json {
        spec.columns
            .iter()
            .map(|f| format!("LVM2_{}=", f.name().to_ascii_uppercase()))
            .collect()
    } else {
        Vec::new()
    };
    let r = Renderer {
        spec,
        cells: &cells,
        props: &props,
        prefixes: &prefixes,
    };

    if spec.flags.rows {
        let order = sorted_order(spec, &cells, nrows);
        r.as_rows(out, &order);
        return;
    }
    if spec.flags.buffered {
        let order = sorted_order(spec, &cells, nrows);
        let widths = widths(spec, &cells, 0..nrows);
        if spec.flags.headings {
            r.headings(out, &widths);
        }
        for (i, &row) in order.iter().enumerate() {
            r.row(out, indent, row, &widths, i + 1 == order.len());
        }
    } else {
        // Unbuffered: LVM2 prints each row as it comes, sized by that row alone.
        for row in 0..nrows {
            let widths = widths(spec, &cells, row..row + 1);
            if row == 0 && spec.flags.headings {
                r.headings(out, &widths);
            }
            r.row(out, indent, row, &widths, true);
        }
    }
}

struct Renderer<'a> {
    spec: &'a ReportSpec,
    cells: &'a Cells,
    props: &'a [Prop],
    prefixes: &'a [String],
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

impl Renderer<'_> {
    fn headings(&self, out: &mut String, widths: &[usize]) {
        let flags = &self.spec.flags;
        out.push_str(LINE_PREFIX);
        let last = self.props.len().saturating_sub(1);
        for (i, p) in self.props.iter().enumerate() {
            if p.hidden {
                continue;
            }
            let heading = self.spec.columns.get(p.column).map_or("", |f| f.heading());
            if flags.aligned {
                let w = widths.get(p.column).copied().unwrap_or(0);
                let cut = heading.get(..w.min(heading.len())).unwrap_or(heading);
                out.push_str(cut);
                pad(out, w.saturating_sub(cut.len()));
            } else {
                out.push_str(heading);
            }
            if i != last {
                out.push_str(&self.spec.separator);
            }
        }
        out.push('\n');
    }

    /// One value with its name prefix or JSON key and quotes.
    fn field(&self, out: &mut String, p: &Prop, row: usize, width: Option<usize>) {
        let flags = &self.spec.flags;
        let text = self.cells.cell(row, p.column);
        if flags.json {
            let name = self.spec.columns.get(p.column).map_or("", |f| f.name());
            out.push('"');
            out.push_str(name);
            out.push_str("\":\"");
        } else if flags.name_prefixes {
            out.push_str(self.prefixes.get(p.column).map_or("", String::as_str));
            if flags.quoted {
                out.push('\'');
            }
        }
        match width {
            Some(w) => {
                let right = self
                    .spec
                    .columns
                    .get(p.column)
                    .is_some_and(|f| f.field_type().right_aligned());
                let fill = w.saturating_sub(text.len());
                if right {
                    pad(out, fill);
                    out.push_str(text);
                } else {
                    out.push_str(text);
                    pad(out, fill);
                }
            }
            None if flags.json => {
                let mut rest = text;
                while let Some(i) = rest.find('"') {
                    out.push_str(&rest[..i]);
                    out.push_str("\\\"");
                    rest = &rest[i + 1..];
                }
                out.push_str(rest);
            }
            None => out.push_str(text),
        }
        if flags.name_prefixes {
            if flags.quoted {
                out.push('\'');
            }
        } else if flags.json {
            out.push('"');
        }
    }

    fn row(&self, out: &mut String, indent: usize, row: usize, widths: &[usize], last: bool) {
        let flags = &self.spec.flags;
        out.push_str(LINE_PREFIX);
        pad(out, indent);
        if flags.json {
            out.push('{');
        }
        let mut first = true;
        for p in self.props.iter().filter(|p| !p.hidden) {
            if !first {
                if flags.json {
                    out.push_str(", ");
                } else {
                    out.push_str(&self.spec.separator);
                }
            }
            first = false;
            let width = flags
                .aligned
                .then(|| widths.get(p.column).copied().unwrap_or(0));
            self.field(out, p, row, width);
        }
        if flags.json {
            out.push('}');
            if !last {
                out.push(',');
            }
        }
        out.push('\n');
    }

    /// `--rows`: one line per field, values of every row side by side, never aligned.
    fn as_rows(&self, out: &mut String, order: &[usize]) {
        for p in self.props.iter().filter(|p| !p.hidden) {
            out.push_str(LINE_PREFIX);
            if self.spec.flags.headings {
                let heading = self.spec.columns.get(p.column).map_or("", |f| f.heading());
                out.push_str(heading);
                out.push_str(&self.spec.separator);
            }
            for (i, &row) in order.iter().enumerate() {
                self.field(out, p, row, None);
                if i + 1 != order.len() {
                    out.push_str(&self.spec.separator);
                }
            }
            out.push('\n');
        }
    }
}
