//! Writing reports byte for byte as LVM2 2.03.16 does. Every cell is formatted once into one
//! text arena; widths, sorting and output then work on spans of it, and the whole report is
//! appended to one `String`. Quirks are kept on purpose because scripts see them: headings are
//! cut to the column width, the last heading gets a separator when the last field is hidden,
//! `--nameprefixes` with JSON closes values with `'`, JSON only escapes `"`, and every line
//! starts with LVM2's log prefix (two spaces).

use super::registry::ListStyle;
use super::size::{write_percent, write_size};
use super::spec::{Prop, ReportFormat, ReportSpec};
use super::value::{FieldValue, Row};
use std::cmp::Ordering;

/// What LVM2 puts in front of every line it prints (`log/prefix`).
pub const LINE_PREFIX: &str = "  ";

const JSON_INDENT: usize = 4;

/// A cell's sort key. Numbers compare as `hi`; text compares by its first eight bytes in `hi`
/// (big-endian, so integer order is byte order) and only ties of longer texts look at the full
/// span - most comparisons never touch the text.
#[derive(Clone, Copy)]
struct Key {
    hi: u64,
    start: u32,
    len: u32,
}

impl Key {
    fn num(n: u64) -> Key {
        Key {
            hi: n,
            start: 0,
            len: 0,
        }
    }

    fn text(arena: &str, start: usize, end: usize) -> Key {
        let bytes = arena.as_bytes().get(start..end).unwrap_or(&[]);
        Key {
            hi: prefix_word(bytes),
            start: start as u32,
            len: (end - start) as u32,
        }
    }
}

/// The first eight bytes of `b`, zero-padded, as a big-endian integer.
fn prefix_word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    for (d, s) in w.iter_mut().zip(b) {
        *d = *s;
    }
    u64::from_be_bytes(w)
}

/// Appends `n` in decimal without going through `fmt`.
pub(crate) fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// A number LVM2 compares with `strcmp` (percentages, numbers in string columns): its
/// little-endian bytes up to the first zero, as a comparable integer.
fn c_string_word(n: u64) -> u64 {
    let b = n.to_le_bytes();
    let len = b.iter().position(|&c| c == 0).unwrap_or(8);
    prefix_word(&b[..len])
}

/// Formatted cells of one report: `spans[row * ncols + col]` is a byte range of `text`;
/// `keys[row * nkeys + k]` the row's k-th sort key.
struct Cells {
    text: String,
    spans: Vec<(u32, u32)>,
    keys: Vec<Key>,
    ncols: usize,
    nkeys: usize,
}

impl Cells {
    fn cell(&self, row: usize, col: usize) -> &str {
        match self.spans.get(row * self.ncols + col) {
            Some(&(s, e)) => self.text.get(s as usize..e as usize).unwrap_or(""),
            None => "",
        }
    }

    fn width(&self, row: usize, col: usize) -> usize {
        self.spans
            .get(row * self.ncols + col)
            .map_or(0, |&(s, e)| (e - s) as usize)
    }
}

/// What a streaming render hands each full buffer to (it writes the bytes and empties it).
type Spill<'a> = dyn FnMut(&mut Vec<u8>) + 'a;

/// Bytes a streaming render ([`ReportRows::write_to`]) gathers before writing them.
pub const WRITE_CHUNK: usize = 256 * 1024;

/// Items from which [`ReportRows::extend_split`] formats on two threads (starting one costs
/// ~0.1 ms; 2,000 LVs' rows take ~1 ms).
pub const PARALLEL_ROWS: usize = 2048;

/// The rows of one report, each formatted into the cell arena as it is pushed, so a report
/// of 30,000 LVs never holds 30,000 rows of values at once.
pub struct ReportRows<'s, 'v> {
    spec: &'s ReportSpec,
    cells: Cells,
    nrows: usize,
    /// Per column: the field's definition, looked up once.
    defs: Vec<&'static super::registry::FieldDef>,
    /// The row buffer of `push_with`.
    scratch: Row<'v>,
}

impl<'s, 'v> ReportRows<'s, 'v> {
    pub fn new(spec: &'s ReportSpec) -> Self {
        let ncols = spec.columns.len();
        let nkeys = if spec.flags.buffered {
            spec.sort.len()
        } else {
            0
        };
        ReportRows {
            spec,
            cells: Cells {
                text: String::new(),
                spans: Vec::new(),
                keys: Vec::new(),
                ncols,
                nkeys,
            },
            nrows: 0,
            defs: spec.columns.iter().map(|f| f.def()).collect(),
            scratch: Row::new(),
        }
    }

    /// Adds a row, unless the spec's selection drops it (LVM2 sizes columns by the selected
    /// rows only) or the spec only asked for help (no rows are shown then).
    pub fn push(&mut self, row: Row<'_>) {
        self.push_ref(&row);
    }

    /// [`ReportRows::push`] of a row that `fill` writes into a buffer kept between rows, so
    /// a report of 30,000 LVs does not allocate (and free) a row vector per LV.
    pub fn push_with(&mut self, fill: impl FnOnce(&mut Row<'v>)) {
        let mut row = std::mem::take(&mut self.scratch);
        row.clear();
        fill(&mut row);
        self.push_ref(&row);
        row.clear();
        self.scratch = row;
    }

    fn push_ref(&mut self, row: &[FieldValue]) {
        let spec = self.spec;
        if spec.help || spec.selection_help {
            return;
        }
        if spec.selection.is_some() && !spec.selects(row) {
            return;
        }
        self.format(row);
        self.nrows += 1;
    }

    /// Room for `rows` more rows' spans and sort keys (a report of 30,000 LVs would otherwise
    /// grow them by doubling, up to ~1.4 MB more than it needs).
    pub fn reserve(&mut self, rows: usize) {
        let cells = &mut self.cells;
        cells.spans.reserve_exact(rows * cells.ncols);
        cells.keys.reserve_exact(rows * cells.nkeys);
    }

    pub fn len(&self) -> usize {
        self.nrows
    }

    /// Pushes the rows of items `0..n` in that order, `fill(i, rows)` pushing item i's rows.
    /// From [`PARALLEL_ROWS`] items on, with more than one CPU, the second half is formatted
    /// on a second thread into rows of its own and appended after the first: a report of
    /// 30,000 LVs spends as long formatting its rows as parsing the text.
    pub fn extend_split<F>(&mut self, n: usize, fill: F)
    where
        F: Fn(usize, &mut ReportRows<'s, 'v>) + Sync,
        'v: 's,
    {
        if n < PARALLEL_ROWS || !metadata_format::more_than_one_cpu() {
            for i in 0..n {
                fill(i, self);
            }
            return;
        }
        let mid = n / 2;
        let spec = self.spec;
        let fill = &fill;
        let second = std::thread::scope(|s| {
            let other = s.spawn(move || {
                let mut part = ReportRows::new(spec);
                part.reserve(n - mid);
                for i in mid..n {
                    fill(i, &mut part);
                }
                (part.cells, part.nrows)
            });
            for i in 0..mid {
                fill(i, self);
            }
            other.join()
        });
        match second {
            Ok((cells, nrows)) => self.append(cells, nrows),
            // A bug: the command stops as it would have on one thread.
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }

    /// Appends rows formatted elsewhere with the same spec.
    fn append(&mut self, other: Cells, nrows: usize) {
        let cells = &mut self.cells;
        let shift = cells.text.len() as u32;
        cells.text.push_str(&other.text);
        cells
            .spans
            .extend(other.spans.iter().map(|&(s, e)| (s + shift, e + shift)));
        cells.keys.extend(other.keys.iter().map(|k| Key {
            start: k.start + shift,
            ..*k
        }));
        self.nrows += nrows;
    }

    pub fn is_empty(&self) -> bool {
        self.nrows == 0
    }

    /// Writes the report to `w`, byte for byte as [`ReportRows::render`] makes it; the common
    /// aligned table goes out [`WRITE_CHUNK`] bytes at a time instead of being built whole
    /// first (at 30,000 LVs ~3 MB of memory, each page of it new to the process). A write
    /// error stops the output and is returned.
    pub fn write_to(self, w: &mut dyn std::io::Write) -> std::io::Result<()> {
        let mut failed = None;
        let mut write = |buf: &mut Vec<u8>| {
            if failed.is_none() {
                failed = w.write_all(buf).err();
            }
            buf.clear();
        };
        let rest = self.render_spilling(Some(&mut write));
        match failed {
            Some(e) => Err(e),
            None => w.write_all(rest.as_bytes()),
        }
    }

    /// The whole report (with the JSON wrapper when the spec's format is JSON).
    pub fn render(self) -> String {
        self.render_spilling(None)
    }

    /// [`ReportRows::render`]; an aligned table hands what is made so far to `spill` every
    /// [`WRITE_CHUNK`] bytes, and what is left is returned.
    fn render_spilling(self, spill: Option<&mut Spill>) -> String {
        let format = if self.spec.flags.json {
            ReportFormat::Json
        } else {
            ReportFormat::Basic
        };
        let mut doc = ReportDocument::new(format);
        doc.add_rows_spilling(self, spill);
        doc.finish()
    }

    fn format(&mut self, row: &[FieldValue]) {
        let spec = self.spec;
        let cells = &mut self.cells;
        let empty = FieldValue::Str("".into());
        let row_start = cells.spans.len();
        for (col, def) in self.defs.iter().enumerate() {
            let value = row.get(col).unwrap_or(&empty);
            let start = cells.text.len();
            let out = &mut cells.text;
            match value {
                FieldValue::Str(s) | FieldValue::TextNum(s, _) | FieldValue::TextStr(s, _) => {
                    out.push_str(s)
                }
                FieldValue::Num(n) => push_u64(out, *n),
                FieldValue::Int(i) => {
                    if *i < 0 {
                        out.push('-');
                    }
                    push_u64(out, i.unsigned_abs());
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
                    let mut sorted: Vec<&str> = items.iter().map(String::as_str).collect();
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
            cells.spans.push((start as u32, cells.text.len() as u32));
        }
        // Sort keys, per LVM2's comparison class of the field.
        for key in spec.sort.iter().take(cells.nkeys) {
            let value = row.get(key.column).unwrap_or(&empty);
            let numeric = self
                .defs
                .get(key.column)
                .is_some_and(|d| d.ftype.sorts_numerically());
            let k = if numeric {
                Key::num(value.numeric_key())
            } else {
                match value {
                    FieldValue::TextStr(_, sort) => {
                        let start = cells.text.len();
                        cells.text.push_str(sort);
                        Key::text(&cells.text, start, cells.text.len())
                    }
                    FieldValue::Num(_)
                    | FieldValue::Int(_)
                    | FieldValue::Percent(_)
                    | FieldValue::Size(_)
                    | FieldValue::Bin(_)
                    | FieldValue::BinUndef => Key::num(c_string_word(value.numeric_key())),
                    _ => {
                        let (s, e) = cells
                            .spans
                            .get(row_start + key.column)
                            .copied()
                            .unwrap_or((0, 0));
                        Key::text(&cells.text, s as usize, e as usize)
                    }
                }
            };
            cells.keys.push(k);
        }
    }
}

/// Row order after LVM2's sort (stable, like glibc's merge sort for these sizes).
fn sorted_order(spec: &ReportSpec, cells: &Cells, nrows: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..nrows).collect();
    let nkeys = cells.nkeys;
    if nkeys == 0 {
        return order;
    }
    let descending: Vec<bool> = spec.sort.iter().map(|k| k.descending).collect();
    if nkeys <= 3 && cells.keys.iter().all(|k| k.len <= 8) {
        // Every key fits in a word: sort the words themselves (descending ones inverted).
        let mut keyed: Vec<([u64; 3], usize)> = (0..nrows)
            .map(|r| {
                let mut words = [0u64; 3];
                let keys = cells.keys.get(r * nkeys..(r + 1) * nkeys).unwrap_or(&[]);
                for ((w, k), &desc) in words.iter_mut().zip(keys).zip(&descending) {
                    *w = if desc { !k.hi } else { k.hi };
                }
                (words, r)
            })
            .collect();
        keyed.sort_by_key(|k| k.0);
        return keyed.into_iter().map(|(_, r)| r).collect();
    }
    let text = cells.text.as_bytes();
    let full = |k: &Key| {
        text.get(k.start as usize..(k.start + k.len) as usize)
            .unwrap_or(&[])
    };
    order.sort_by(|&a, &b| {
        let ka = cells.keys.get(a * nkeys..(a + 1) * nkeys).unwrap_or(&[]);
        let kb = cells.keys.get(b * nkeys..(b + 1) * nkeys).unwrap_or(&[]);
        for ((x, y), &desc) in ka.iter().zip(kb).zip(&descending) {
            let mut ord = x.hi.cmp(&y.hi);
            if ord == Ordering::Equal && (x.len > 8 || y.len > 8) {
                ord = full(x).cmp(full(y));
            }
            if ord != Ordering::Equal {
                return if desc { ord.reverse() } else { ord };
            }
        }
        Ordering::Equal
    });
    order
}

/// Per-column widths: LVM2's minimum width or the longest value among `rows`.
fn widths(spec: &ReportSpec, cells: &Cells, rows: std::ops::Range<usize>) -> Vec<usize> {
    let mut w: Vec<usize> = spec.columns.iter().map(|f| f.def().width).collect();
    for r in rows {
        for (col, width) in w.iter_mut().enumerate() {
            *width = (*width).max(cells.width(r, col));
        }
    }
    w
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
        pad(&mut self.out, indent);
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
    pub fn add(&mut self, spec: &ReportSpec, rows: &[Row<'_>]) {
        let mut built = ReportRows::new(spec);
        for row in rows {
            built.push(row.clone());
        }
        self.add_rows(built);
    }

    /// [`ReportDocument::add`] for rows already pushed into a [`ReportRows`].
    pub fn add_rows(&mut self, rows: ReportRows<'_, '_>) {
        self.add_rows_spilling(rows, None);
    }

    fn add_rows_spilling(&mut self, rows: ReportRows<'_, '_>, spill: Option<&mut Spill>) {
        let spec = rows.spec;
        if self.json {
            self.start();
            self.array_start(spec.kind.name());
        }
        if !rows.is_empty() {
            let indent = if self.json { self.indent } else { 0 };
            render_rows(&mut self.out, indent, spec, &rows.cells, rows.nrows, spill);
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
pub fn render(spec: &ReportSpec, rows: &[Row<'_>]) -> String {
    let mut built = ReportRows::new(spec);
    for row in rows {
        built.push(row.clone());
    }
    built.render()
}

/// Writes the headings and rows of a non-empty report.
fn render_rows(
    out: &mut String,
    indent: usize,
    spec: &ReportSpec,
    cells: &Cells,
    nrows: usize,
    spill: Option<&mut Spill>,
) {
    let props = compacted_props(spec, cells, nrows);
    let r = Renderer::new(spec, cells, &props);

    if spec.flags.rows {
        let order = sorted_order(spec, cells, nrows);
        r.as_rows(out, &order);
        return;
    }
    if spec.flags.buffered {
        let order = sorted_order(spec, cells, nrows);
        let widths = widths(spec, cells, 0..nrows);
        if !spec.flags.aligned {
            let line = cells.text.len() / nrows.max(1) + r.shown.len() * 4;
            out.reserve((line + LINE_PREFIX.len() + indent + 4) * (nrows + 1));
        }
        if spec.flags.headings {
            r.headings(out, &widths);
        }
        if spec.flags.aligned {
            r.aligned_rows(out, &order, &widths, spill);
        } else {
            for (i, &row) in order.iter().enumerate() {
                r.row(out, indent, row, &widths, i + 1 == order.len());
            }
        }
    } else {
        // Unbuffered: LVM2 prints each row as it comes, sized by that row alone.
        for row in 0..nrows {
            let widths = widths(spec, cells, row..row + 1);
            if row == 0 && spec.flags.headings {
                r.headings(out, &widths);
            }
            r.row(out, indent, row, &widths, true);
        }
    }
}

/// What the row loop needs of each displayed field, looked up once.
struct Shown {
    column: usize,
    right: bool,
    /// `LVM2_NAME=` with `--nameprefixes`, `"name":"` with JSON.
    lead: String,
}

struct Renderer<'a> {
    spec: &'a ReportSpec,
    cells: &'a Cells,
    props: &'a [Prop],
    shown: Vec<Shown>,
}

fn pad(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    if n <= SPACES.len() {
        out.push_str(&SPACES[..n]);
        return;
    }
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

impl<'a> Renderer<'a> {
    fn new(spec: &'a ReportSpec, cells: &'a Cells, props: &'a [Prop]) -> Renderer<'a> {
        let flags = &spec.flags;
        let shown = props
            .iter()
            .filter(|p| !p.hidden)
            .map(|p| {
                let field = spec.columns.get(p.column);
                let name = field.map_or("", |f| f.name());
                let lead = if flags.json {
                    format!("\"{name}\":\"")
                } else if flags.name_prefixes {
                    let quote = if flags.quoted { "'" } else { "" };
                    format!("LVM2_{}={quote}", name.to_ascii_uppercase())
                } else {
                    String::new()
                };
                Shown {
                    column: p.column,
                    right: field.is_some_and(|f| f.field_type().right_aligned()),
                    lead,
                }
            })
            .collect();
        Renderer {
            spec,
            cells,
            props,
            shown,
        }
    }

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

    /// Aligned rows: every line has the same layout, so each starts as a copy of a blank
    /// template (prefix, padding, separators) and only the texts are copied in.
    fn aligned_rows(
        &self,
        out: &mut String,
        order: &[usize],
        widths: &[usize],
        spill: Option<&mut Spill>,
    ) {
        // The rows go straight after what `out` holds (the headings): one buffer, no copy.
        let buf = std::mem::take(out).into_bytes();
        let buf = self.aligned_rows_with(buf, order, widths, spill);
        // A string followed by whole str slices and ASCII padding only: valid UTF-8.
        *out = match String::from_utf8(buf) {
            Ok(text) => text,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        };
    }

    /// [`Renderer::aligned_rows`] appended to `buf`. With a `spill`, it is handed the buffer
    /// whenever that holds [`WRITE_CHUNK`] bytes or more, and empties it; without one, the
    /// whole table is built in `buf`.
    fn aligned_rows_with(
        &self,
        mut buf: Vec<u8>,
        order: &[usize],
        widths: &[usize],
        mut spill: Option<&mut Spill>,
    ) -> Vec<u8> {
        let sep = self.spec.separator.as_bytes();
        let mut template: Vec<u8> = LINE_PREFIX.as_bytes().to_vec();
        let mut layout = Vec::with_capacity(self.shown.len());
        for (i, c) in self.shown.iter().enumerate() {
            if i > 0 {
                template.extend_from_slice(sep);
            }
            let width = widths.get(c.column).copied().unwrap_or(0);
            layout.push((template.len(), width, c));
            template.resize(template.len() + width, b' ');
        }
        template.push(b'\n');
        let text = self.cells.text.as_bytes();
        let ncols = self.cells.ncols;
        match &spill {
            Some(_) => buf.reserve_exact(WRITE_CHUNK + template.len()),
            None => buf.reserve_exact(template.len() * order.len()),
        }
        for &row in order {
            if buf.len() >= WRITE_CHUNK {
                if let Some(spill) = spill.as_mut() {
                    spill(&mut buf);
                }
            }
            let base = buf.len();
            buf.extend_from_slice(&template);
            let spans = self
                .cells
                .spans
                .get(row * ncols..(row + 1) * ncols)
                .unwrap_or(&[]);
            for &(offset, width, c) in &layout {
                let Some(&(s, e)) = spans.get(c.column) else {
                    continue;
                };
                let value = text.get(s as usize..e as usize).unwrap_or(&[]);
                let start = base
                    + offset
                    + if c.right {
                        width.saturating_sub(value.len())
                    } else {
                        0
                    };
                if let Some(dst) = buf.get_mut(start..start + value.len()) {
                    dst.copy_from_slice(value);
                }
            }
        }
        buf
    }

    /// One unaligned value with its name prefix or JSON key and quotes.
    fn field(&self, out: &mut String, c: &Shown, row: usize) {
        let flags = &self.spec.flags;
        let text = self.cells.cell(row, c.column);
        out.push_str(&c.lead);
        if flags.json {
            let mut rest = text;
            while let Some(i) = rest.find('"') {
                out.push_str(&rest[..i]);
                out.push_str("\\\"");
                rest = &rest[i + 1..];
            }
            out.push_str(rest);
        } else {
            out.push_str(text);
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
        if flags.aligned {
            // The common case (plain `lvs`), kept tight: pad and copy, nothing else.
            let ncols = self.cells.ncols;
            let spans = self
                .cells
                .spans
                .get(row * ncols..(row + 1) * ncols)
                .unwrap_or(&[]);
            for (i, c) in self.shown.iter().enumerate() {
                if i > 0 {
                    out.push_str(&self.spec.separator);
                }
                let text = spans
                    .get(c.column)
                    .and_then(|&(s, e)| self.cells.text.get(s as usize..e as usize))
                    .unwrap_or("");
                let fill = widths
                    .get(c.column)
                    .copied()
                    .unwrap_or(0)
                    .saturating_sub(text.len());
                if c.right {
                    pad(out, fill);
                    out.push_str(text);
                } else {
                    out.push_str(text);
                    pad(out, fill);
                }
            }
            out.push('\n');
            return;
        }
        pad(out, indent);
        if flags.json {
            out.push('{');
        }
        for (i, c) in self.shown.iter().enumerate() {
            if i > 0 {
                if flags.json {
                    out.push_str(", ");
                } else {
                    out.push_str(&self.spec.separator);
                }
            }
            self.field(out, c, row);
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
        for c in &self.shown {
            out.push_str(LINE_PREFIX);
            if self.spec.flags.headings {
                let heading = self.spec.columns.get(c.column).map_or("", |f| f.heading());
                out.push_str(heading);
                out.push_str(&self.spec.separator);
            }
            for (i, &row) in order.iter().enumerate() {
                self.field(out, c, row);
                if i + 1 != order.len() {
                    out.push_str(&self.spec.separator);
                }
            }
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{FieldId, ReportKind, ReportOptions, Units};

    fn spec(kind: ReportKind, o: &[&str], sort: &[&str], opts: &ReportOptions) -> ReportSpec {
        let o: Vec<String> = o.iter().map(|s| s.to_string()).collect();
        let sort: Vec<String> = sort.iter().map(|s| s.to_string()).collect();
        ReportSpec::parse(kind, &o, &sort, opts).unwrap()
    }

    fn s(v: &'static str) -> FieldValue<'static> {
        FieldValue::from(v)
    }

    /// The orphan/full/partly used PVs of the compat fixture, as rows of the default pvs columns.
    fn pv_rows() -> Vec<Row<'static>> {
        let row = |name, vg, attr, size, free| {
            vec![
                s(name),
                s(vg),
                s("lvm2"),
                s(attr),
                FieldValue::Size(size),
                FieldValue::Size(free),
            ]
        };
        vec![
            row("/dev/loop1", "vg0", "a--", 23 * 2048, 20 * 2048),
            row("/dev/loop0", "vg0", "a--", 15 * 2048, 0),
            row("/dev/loop2", "", "---", 8 * 2048, 8 * 2048),
        ]
    }

    #[test]
    fn default_pvs() {
        // `lvm pvs` (2.03.16) on the compat fixture
        let out = render(
            &spec(ReportKind::Pv, &[], &[], &Default::default()),
            &pv_rows(),
        );
        assert_eq!(
            out,
            "  PV         VG  Fmt  Attr PSize  PFree \n\
             \x20 /dev/loop0 vg0 lvm2 a--  15.00m     0 \n\
             \x20 /dev/loop1 vg0 lvm2 a--  23.00m 20.00m\n\
             \x20 /dev/loop2     lvm2 ---   8.00m  8.00m\n"
        );
    }

    #[test]
    fn rows_formatted_on_two_threads_render_as_on_one() {
        // More rows than PARALLEL_ROWS, in no order, sorted by a size and by names longer
        // than a sort key's word (so the second half's text spans and sort keys must follow
        // its cells when appended).
        let n = PARALLEL_ROWS * 2 + 3;
        let names: Vec<String> = (0..n)
            .map(|i| format!("/dev/disk/by-id/d{:05}", (i * 7919) % n))
            .collect();
        let row = |i: usize| -> Row<'_> {
            vec![
                FieldValue::from(names[i].as_str()),
                s("vg0"),
                s("lvm2"),
                s(if i.is_multiple_of(3) { "a--" } else { "---" }),
                FieldValue::Size(((i % 5) as u64 + 1) * 2048),
                FieldValue::Size((i % 2) as u64 * 2048),
            ]
        };
        for sort in [&["-pv_size", "pv_name"][..], &[][..]] {
            let sp = spec(ReportKind::Pv, &[], sort, &Default::default());
            let mut one = ReportRows::new(&sp);
            for i in 0..n {
                one.push(row(i));
            }
            let mut split = ReportRows::new(&sp);
            split.extend_split(n, |i, rows| rows.push(row(i)));
            assert_eq!(split.len(), n);
            let (one, split) = (one.render(), split.render());
            assert_eq!(one.lines().count(), n + 1);
            assert!(one == split, "{sort:?}: the two-thread report differs");
        }
    }

    #[test]
    fn written_reports_are_the_rendered_ones() {
        // More than two WRITE_CHUNKs of aligned rows (so the table goes out in pieces), and the
        // forms that are rendered whole first: JSON, unaligned, rows, unbuffered, no rows.
        let n = 8_000;
        let names: Vec<String> = (0..n).map(|i| format!("/dev/mapper/pv{i:05}")).collect();
        let row = |i: usize| -> Row<'_> {
            vec![
                FieldValue::from(names[(i * 7919) % n].as_str()),
                s("vg0"),
                s("lvm2"),
                s("a--"),
                FieldValue::Size((i as u64 % 7 + 1) * 2048),
                FieldValue::Size(0),
            ]
        };
        let forms = [
            ReportOptions::default(),
            ReportOptions {
                headings: false,
                ..Default::default()
            },
            ReportOptions {
                format: ReportFormat::Json,
                ..Default::default()
            },
            ReportOptions {
                separator: Some(":".into()),
                ..Default::default()
            },
            ReportOptions {
                rows: true,
                ..Default::default()
            },
            ReportOptions {
                unbuffered: true,
                ..Default::default()
            },
        ];
        for opts in &forms {
            for count in [n, 0] {
                let sp = spec(ReportKind::Pv, &[], &[], opts);
                let fill = |rows: &mut ReportRows| (0..count).for_each(|i| rows.push(row(i)));
                let mut a = ReportRows::new(&sp);
                fill(&mut a);
                let mut b = ReportRows::new(&sp);
                fill(&mut b);
                let mut written = Vec::new();
                b.write_to(&mut written).unwrap();
                let rendered = a.render();
                assert!(written == rendered.as_bytes(), "{opts:?} {count}");
            }
        }
        assert!(render(&spec(ReportKind::Pv, &[], &[], &forms[0]), &[]).is_empty());
        // A writer that fails: the error comes back, nothing more is written after it.
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if self.0 > 0 {
                    return Err(std::io::Error::other("full"));
                }
                self.0 += 1;
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sp = spec(ReportKind::Pv, &[], &[], &forms[0]);
        let mut rows = ReportRows::new(&sp);
        (0..n).for_each(|i| rows.push(row(i)));
        let mut full = Full(0);
        assert!(rows.write_to(&mut full).is_err());
        assert_eq!(full.0, 1);
    }

    #[test]
    fn unbuffered_sizes_each_row_alone() {
        // `lvm pvs --unbuffered`: no sorting, each row padded to its own widths
        let opts = ReportOptions {
            unbuffered: true,
            ..Default::default()
        };
        let mut rows = pv_rows();
        rows.swap(0, 1);
        let out = render(&spec(ReportKind::Pv, &[], &[], &opts), &rows);
        assert_eq!(
            out,
            "  PV         VG  Fmt  Attr PSize  PFree\n\
             \x20 /dev/loop0 vg0 lvm2 a--  15.00m    0 \n\
             \x20 /dev/loop1 vg0 lvm2 a--  23.00m 20.00m\n\
             \x20 /dev/loop2    lvm2 ---  8.00m 8.00m\n"
        );
        // -O turns buffering back on
        let sorted = render(&spec(ReportKind::Pv, &[], &["pv_name"], &opts), &rows);
        assert_eq!(
            sorted,
            render(&spec(ReportKind::Pv, &[], &[], &Default::default()), &rows)
        );
    }

    #[test]
    fn rows_and_prefixes() {
        // `lvm pvs --rows -O -pv_free,pv_name -o name,vg_name`
        let opts = ReportOptions {
            rows: true,
            ..Default::default()
        };
        let sp = spec(
            ReportKind::Pv,
            &["name,vg_name"],
            &["-pv_free,pv_name"],
            &opts,
        );
        let rows: Vec<Row> = pv_rows()
            .into_iter()
            .map(|r| {
                sp.columns()
                    .iter()
                    .map(|&f| match f {
                        FieldId::PV_NAME => r[0].clone(),
                        FieldId::VG_NAME => r[1].clone(),
                        _ => r[5].clone(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            render(&sp, &rows),
            "  PV /dev/loop1 /dev/loop2 /dev/loop0\n  VG vg0  vg0\n"
        );
        // `lvm pvs --rows --nameprefixes -o pv_name`
        let opts = ReportOptions {
            rows: true,
            name_prefixes: true,
            ..Default::default()
        };
        let sp = spec(ReportKind::Pv, &["pv_name"], &[], &opts);
        let rows = vec![vec![s("/dev/loop0")], vec![s("/dev/loop1")]];
        assert_eq!(
            render(&sp, &rows),
            "  PV LVM2_PV_NAME='/dev/loop0' LVM2_PV_NAME='/dev/loop1'\n"
        );
    }

    #[test]
    fn json_quotes() {
        // LVM2 escapes only '"' in JSON values (libdm-report.c _output_field); backslashes pass.
        let opts = ReportOptions {
            format: ReportFormat::Json,
            ..Default::default()
        };
        let sp = spec(ReportKind::Lv, &["lv_name,lv_host"], &[], &opts);
        let rows = vec![vec![s("lv"), s("a\"b\\c")]];
        assert_eq!(
            render(&sp, &rows),
            "  {\n      \"report\": [\n          {\n              \"lv\": [\n                  \
             {\"lv_name\":\"lv\", \"lv_host\":\"a\\\"b\\c\"}\n              ]\n          }\n      ]\n  }\n"
        );
        // `lvm pvs --reportformat json --nameprefixes -o name,size`: values close with '
        let opts = ReportOptions {
            format: ReportFormat::Json,
            name_prefixes: true,
            ..Default::default()
        };
        let sp = spec(ReportKind::Pv, &["name,size"], &[], &opts);
        let rows = vec![vec![s("/dev/loop0"), FieldValue::Size(15 * 2048)]];
        let out = render(&sp, &rows);
        assert!(out.contains("{\"pv_name\":\"/dev/loop0', \"pv_size\":\"15.00m'}\n"));
        // `lvm pvs --reportformat json -o help`: an empty array
        let sp = spec(ReportKind::Pv, &["help"], &[], &opts);
        assert_eq!(
            render(&sp, &rows),
            "  {\n      \"report\": [\n          {\n              \"pv\": [\n              ]\n          }\n      ]\n  }\n"
        );
    }

    #[test]
    fn empty_basic_report_prints_nothing() {
        assert_eq!(
            render(&spec(ReportKind::Pv, &[], &[], &Default::default()), &[]),
            ""
        );
    }

    #[test]
    fn compacted_last_column_leaves_a_separator_on_the_heading() {
        // `lvm lvs -o '#pool_lv,origin,lv_name' -o lv_name,pool_lv`: "  LV     " then "  cpool "
        let sp = spec(
            ReportKind::Lv,
            &["#pool_lv,origin,lv_name", "lv_name,pool_lv"],
            &[],
            &Default::default(),
        );
        let rows: Vec<Row> = ["cpool", "l1000k"]
            .iter()
            .map(|n| {
                sp.columns()
                    .iter()
                    .map(|&f| if f == FieldId::LV_NAME { s(n) } else { s("") })
                    .collect()
            })
            .collect();
        assert_eq!(render(&sp, &rows), "  LV     \n  cpool \n  l1000k\n");
    }

    #[test]
    fn lists_binary_and_undefined() {
        let opts = ReportOptions::default();
        let sp = spec(
            ReportKind::Seg,
            &["lv_tags,devices,seg_pe_ranges,lv_role,lv_device_open,lv_merge_failed,transaction_id"],
            &[],
            &opts,
        );
        let row: Row = sp
            .columns()
            .iter()
            .map(|&f| match f {
                FieldId::LV_TAGS => FieldValue::List(vec!["b".into(), "a".into()]),
                FieldId::DEVICES => FieldValue::List(vec!["/dev/x(0)".into(), "/dev/y(0)".into()]),
                FieldId::SEG_PE_RANGES => {
                    FieldValue::List(vec!["/dev/x:0-1".into(), "/dev/y:0-1".into()])
                }
                FieldId::LV_ROLE => FieldValue::List(vec!["private".into(), "cache".into()]),
                FieldId::LV_DEVICE_OPEN => FieldValue::Bin(true),
                FieldId::LV_MERGE_FAILED => FieldValue::BinUndef,
                _ => FieldValue::undefined(),
            })
            .collect();
        let out = render(&sp, std::slice::from_ref(&row));
        assert!(out.ends_with(
            "  a,b     /dev/x(0),/dev/y(0) /dev/x:0-1 /dev/y:0-1 private,cache       open         unknown        \n"
        ), "{out:?}");
        let opts = ReportOptions {
            binary: true,
            list_separator: ";".into(),
            separator: Some("|".into()),
            ..Default::default()
        };
        let sp2 = ReportSpec::parse(
            ReportKind::Seg,
            &["lv_tags,devices,seg_pe_ranges,lv_role,lv_device_open,lv_merge_failed,transaction_id".into()],
            &[],
            &opts,
        )
        .unwrap();
        let out = render(&sp2, &[row]);
        assert!(
            out.ends_with("  a;b|/dev/x(0),/dev/y(0)|/dev/x:0-1 /dev/y:0-1|private;cache|1|-1|\n"),
            "{out:?}"
        );
    }

    #[test]
    fn sorting() {
        let opts = ReportOptions {
            separator: Some(",".into()),
            headings: false,
            ..Default::default()
        };
        let sp = spec(
            ReportKind::Lv,
            &["lv_name,lv_size"],
            &["-lv_size,lv_name"],
            &opts,
        );
        let rows = vec![
            vec![FieldValue::lv_name("b", false), FieldValue::Size(8)],
            vec![FieldValue::lv_name("a_pmspare", true), FieldValue::Size(8)],
            vec![FieldValue::lv_name("Z", false), FieldValue::Size(1)],
            vec![
                FieldValue::lv_name("c", false),
                FieldValue::read_ahead_auto(),
            ],
        ];
        assert_eq!(
            render(&sp, &rows),
            "  c,auto\n  [a_pmspare],4.00k\n  b,4.00k\n  Z,512b\n"
        );
        // numbers sort numerically, unsigned: -1 sorts last
        let sp = spec(ReportKind::Lv, &["lv_major"], &["lv_major"], &opts);
        let rows = vec![
            vec![FieldValue::Int(-1)],
            vec![FieldValue::Int(10)],
            vec![FieldValue::Int(9)],
        ];
        assert_eq!(render(&sp, &rows), "  9\n  10\n  -1\n");
        // strings byte-wise; equal keys keep their input order
        let sp = spec(ReportKind::Pv, &["pv_name,vg_name"], &["vg_name"], &opts);
        let rows = vec![
            vec![s("p1"), s("vgb")],
            vec![s("p2"), s("vgB")],
            vec![s("p3"), s("vgb")],
            vec![s("p4"), s("")],
        ];
        assert_eq!(render(&sp, &rows), "  p4,\n  p2,vgB\n  p1,vgb\n  p3,vgb\n");
    }

    #[test]
    fn percent_columns_compare_like_lvm2() {
        // LVM2 compares dm_percent_t sort values with strcmp (libdm-report.c _row_compare).
        let cmp = |a: u64, b: u64| c_string_word(a).cmp(&c_string_word(b));
        assert_eq!(cmp(0, 1), Ordering::Less);
        // 0x100 is "\0..." to strcmp, i.e. empty
        assert_eq!(cmp(0x100, 0x2), Ordering::Less);
        assert_eq!(cmp(0x0201, 0x01), Ordering::Greater);
        assert_eq!(cmp(u64::MAX, 5), Ordering::Greater);
        let opts = ReportOptions {
            units: Units::parse("b").unwrap(),
            ..Default::default()
        };
        let sp = spec(ReportKind::Lv, &["data_percent"], &[], &opts);
        let rows = vec![
            vec![FieldValue::Percent(crate::report::PERCENT_INVALID)],
            vec![FieldValue::Percent(50_000_000)],
        ];
        assert_eq!(render(&sp, &rows), "  Data% \n        \n  50.00 \n");
    }

    #[test]
    fn fullreport_document_shape() {
        // `lvm fullreport --reportformat json` with one VG and the orphans (layout checked
        // against LVM2 by tests/compat_report.rs)
        let opts = ReportOptions {
            format: ReportFormat::Json,
            ..Default::default()
        };
        let vg = ReportSpec::parse_full(ReportKind::Vg, &["vg_name".into()], &[], &opts).unwrap();
        let pv = ReportSpec::parse_full(ReportKind::Pv, &["pv_name".into()], &[], &opts).unwrap();
        let mut doc = ReportDocument::new(ReportFormat::Json);
        doc.begin_object();
        doc.add(&vg, &[vec![s("vg0")]]);
        doc.add(&pv, &[vec![s("/dev/a")], vec![s("/dev/b")]]);
        doc.end_object();
        doc.begin_object();
        doc.add(&pv, &[]);
        doc.end_object();
        assert_eq!(
            doc.finish(),
            "  {\n      \"report\": [\n          {\n              \"vg\": [\n                  {\"vg_name\":\"vg0\"}\n              ]\n              ,\n              \"pv\": [\n                  {\"pv_name\":\"/dev/a\"},\n                  {\"pv_name\":\"/dev/b\"}\n              ]\n          }\n          ,\n          {\n              \"pv\": [\n              ]\n          }\n      ]\n  }\n"
        );
    }
}
