//! Builds the typed model from a parsed tree. Each section is read through `Fields`, which
//! hands out the keys the model knows and keeps the rest, in order, as `Extra`s anchored to
//! the known key they followed. Required keys and value ranges follow what LVM2 itself
//! insists on when it reads metadata, so a text accepted here is one LVM2 accepts.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::HashMap;
use std::thread::ScopedJoinHandle;

use super::error::TextError;
use super::format::offset_from_timestamp_comment;
use super::model::*;
use super::parse::{as_text, fast_section, skip_spaces_only, After, Cursor, Entry, Lex, MAX_DEPTH};
use super::tree::{line_at, Item, Node, Scalar, Section, Value};
use super::word::{Word, Words};

/// Anchor name of the VG section among the top-level keys.
pub(crate) const VG_ANCHOR: &str = "<volume group>";
/// Anchor name of an LV's segment sections.
pub(crate) const SEGMENTS_ANCHOR: &str = "<segments>";
/// Anchor name of a thin pool's message sections.
pub(crate) const MESSAGES_ANCHOR: &str = "<messages>";

/// Parses a metadata text in either form (on-disk or backup file; a trailing NUL and
/// anything after it are ignored).
pub fn parse_metadata(input: &[u8]) -> Result<Metadata, TextError> {
    let text = as_text(input)?;
    let mut importer = Importer {
        src: text.as_bytes(),
        pv_keys: HashMap::default(),
        utc_offset: Cell::new(None),
        fast: true,
        // A second thread only where there is a second CPU (crate::more_than_one_cpu).
        split_min: if text.len() >= SPLIT_MIN && crate::more_than_one_cpu() {
            SPLIT_MIN
        } else {
            usize::MAX
        },
        split_at: None,
        split_used: Cell::new(false),
    };
    importer.metadata(&mut Cursor::new(text))
}

/// [`parse_metadata`] without the fast path for LV sections, for tests that check both agree.
#[doc(hidden)]
pub fn parse_metadata_without_fast_path(input: &[u8]) -> Result<Metadata, TextError> {
    let text = as_text(input)?;
    let mut importer = Importer {
        src: text.as_bytes(),
        pv_keys: HashMap::default(),
        utc_offset: Cell::new(None),
        fast: false,
        split_min: usize::MAX,
        split_at: None,
        split_used: Cell::new(false),
    };
    importer.metadata(&mut Cursor::new(text))
}

/// Reads metadata the way [`parse_metadata`] does, for tests: `split_at` makes the second
/// thread of a `logical_volumes` section start at that byte of the text (`None`: at the
/// guessed LV boundary, whatever the text's size). Also tells whether that thread's LVs
/// were used.
#[doc(hidden)]
pub fn parse_metadata_split(
    input: &[u8],
    split_at: Option<usize>,
) -> (Result<Metadata, TextError>, bool) {
    let text = match as_text(input) {
        Ok(text) => text,
        Err(error) => return (Err(error), false),
    };
    let mut importer = Importer {
        src: text.as_bytes(),
        pv_keys: HashMap::default(),
        utc_offset: Cell::new(None),
        fast: true,
        split_min: 0,
        split_at,
        split_used: Cell::new(false),
    };
    let result = importer.metadata(&mut Cursor::new(text));
    (result, importer.split_used.get())
}

/// The text left at the start of `logical_volumes` from which its second half is read on a
/// second thread: ~2,000 LVs as LVM2 writes them. Below it the thread's start costs more
/// than it saves.
const SPLIT_MIN: usize = 640 * 1024;

/// Where a second thread starts reading `rest` (the text from the start of the
/// `logical_volumes` entries, at least `min` bytes): the first LV after its middle, found
/// as the on-disk form ends an LV (`}` closing the last segment, `}` closing the LV, each on
/// its own line). Only a guess: `Importer::lv_entries` uses that thread's LVs only if its
/// own reading reaches exactly this point.
fn split_point(rest: &str, min: usize) -> Option<&str> {
    if rest.len() < min.max(1) {
        return None;
    }
    let bytes = rest.as_bytes();
    let mut from = bytes.len() / 2;
    while !rest.is_char_boundary(from) {
        from += 1;
    }
    let window = &bytes[from..bytes.len().min(from + 64 * 1024)];
    let end = memchr::memmem::find(window, b"\n}\n}\n")? + 5;
    let second = &rest[from + end..];
    let second = &second[skip_spaces_only(second)..];
    match second.as_bytes().first() {
        None | Some(b'}') => None,
        Some(_) => Some(second),
    }
}

struct Importer<'a> {
    src: &'a [u8],
    /// `pvN` key -> PV id, for resolving segment areas.
    pv_keys: HashMap<Cow<'a, str>, Id, crate::hash::QuickHash>,
    /// Set by the first timestamp with a date comment.
    utc_offset: Cell<Option<i32>>,
    /// Read plain LV sections with `FastReader` (off only in tests comparing the two paths).
    fast: bool,
    /// Read the second half of a `logical_volumes` section on a second thread when the text
    /// left at its start is at least this long (`usize::MAX`: never).
    split_min: usize,
    /// Tests: the second thread starts at this byte of the text instead of a guessed one.
    split_at: Option<usize>,
    /// A second thread's LVs were taken.
    split_used: Cell<bool>,
}

/// The FastReader's lists being read, reused so each list is allocated once at its size.
#[derive(Default)]
struct Scratch {
    strings: Vec<String>,
    words: Vec<Word>,
}

enum Slot<'a> {
    Free(Item<'a>),
    Used(&'static str),
}

/// The items of one section, handed out by key.
struct Fields<'a, 'l> {
    src: &'a [u8],
    slots: Vec<Slot<'a>>,
    /// Offset of the section's key, for "missing key" errors.
    offset: usize,
    label: &'l dyn Fn() -> String,
}

impl<'a, 'l> Fields<'a, 'l> {
    fn new(
        src: &'a [u8],
        section: Section<'a>,
        offset: usize,
        label: &'l dyn Fn() -> String,
    ) -> Self {
        Fields::from_slots(
            src,
            section.items.into_iter().map(Slot::Free).collect(),
            offset,
            label,
        )
    }

    fn from_slots(
        src: &'a [u8],
        slots: Vec<Slot<'a>>,
        offset: usize,
        label: &'l dyn Fn() -> String,
    ) -> Self {
        Fields {
            src,
            slots,
            offset,
            label,
        }
    }

    fn line(&self, offset: usize) -> usize {
        line_at(self.src, offset)
    }

    fn take(&mut self, key: &'static str) -> Option<Item<'a>> {
        let slot = self
            .slots
            .iter_mut()
            .find(|slot| matches!(slot, Slot::Free(item) if item.key == key))?;
        match std::mem::replace(slot, Slot::Used(key)) {
            Slot::Free(item) => Some(item),
            Slot::Used(_) => None,
        }
    }

    /// Every remaining subsection, in order, marked as `anchor`.
    fn take_sections(
        &mut self,
        anchor: &'static str,
        filter: impl Fn(&str) -> bool,
    ) -> Vec<(Cow<'a, str>, Section<'a>, usize)> {
        let mut sections = Vec::new();
        for slot in &mut self.slots {
            let wanted = matches!(slot, Slot::Free(item)
                if matches!(item.node, Node::Section(_)) && filter(&item.key));
            if !wanted {
                continue;
            }
            if let Slot::Free(item) = std::mem::replace(slot, Slot::Used(anchor)) {
                if let Node::Section(section) = item.node {
                    sections.push((item.key, section, item.offset as usize));
                }
            }
        }
        sections
    }

    /// The remaining items, for a section whose content is kept verbatim.
    fn take_rest(&mut self) -> Vec<Item<'static>> {
        let mut items = Vec::new();
        for slot in &mut self.slots {
            if matches!(slot, Slot::Free(_)) {
                if let Slot::Free(item) = std::mem::replace(slot, Slot::Used("")) {
                    items.push(item.into_owned());
                }
            }
        }
        items
    }

    /// Sections named `<prefix>N` are numbered anew on output; a value with such a name
    /// would collide with them.
    fn refuse_numbered_value(&self, prefix: &str) -> Result<(), TextError> {
        for slot in &self.slots {
            if let Slot::Free(item) = slot {
                let numbered = item
                    .key
                    .strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if numbered {
                    return Err(self.wrong_type(item, "a section"));
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Vec<Extra> {
        let mut extras = Vec::new();
        let mut after = None;
        for slot in self.slots {
            match slot {
                Slot::Used(key) => after = Some(key),
                Slot::Free(item) => extras.push(Extra {
                    after,
                    item: item.into_owned(),
                }),
            }
        }
        extras
    }

    fn missing(&self, key: &'static str) -> TextError {
        TextError::MissingKey {
            line: self.line(self.offset),
            section: (self.label)(),
            key,
        }
    }

    fn wrong_type(&self, item: &Item<'_>, expected: &'static str) -> TextError {
        TextError::WrongType {
            line: self.line(item.offset as usize),
            section: (self.label)(),
            key: item.key.to_string(),
            expected,
        }
    }

    fn invalid(&self, item: &Item<'_>, reason: String) -> TextError {
        TextError::InvalidValue {
            line: self.line(item.offset as usize),
            section: (self.label)(),
            key: item.key.to_string(),
            reason,
        }
    }

    fn int_of(&self, item: &Item<'_>) -> Result<i64, TextError> {
        match item.node {
            Node::Value(Value::Int(value)) => Ok(value),
            _ => Err(self.wrong_type(item, "an integer")),
        }
    }

    fn ranged<T: TryFrom<i64>>(
        &self,
        item: &Item<'_>,
        min: i128,
        max: i128,
    ) -> Result<T, TextError> {
        let value = self.int_of(item)?;
        T::try_from(value).map_err(|_| {
            self.invalid(
                item,
                format!("must be between {min} and {max}, not {value}"),
            )
        })
    }

    fn u32(&mut self, key: &'static str) -> Result<Option<u32>, TextError> {
        match self.take(key) {
            Some(item) => self.ranged(&item, 0, i128::from(u32::MAX)).map(Some),
            None => Ok(None),
        }
    }

    fn u64(&mut self, key: &'static str) -> Result<Option<u64>, TextError> {
        match self.take(key) {
            Some(item) => self.ranged(&item, 0, i128::from(i64::MAX)).map(Some),
            None => Ok(None),
        }
    }

    fn i32(&mut self, key: &'static str) -> Result<Option<i32>, TextError> {
        match self.take(key) {
            Some(item) => self
                .ranged(&item, i128::from(i32::MIN), i128::from(i32::MAX))
                .map(Some),
            None => Ok(None),
        }
    }

    /// `key = 0` or `key = 1`.
    fn bool(&mut self, key: &'static str) -> Result<Option<bool>, TextError> {
        match self.take(key) {
            Some(item) => match self.int_of(&item)? {
                0 => Ok(Some(false)),
                1 => Ok(Some(true)),
                other => Err(self.invalid(&item, format!("must be 0 or 1, not {other}"))),
            },
            None => Ok(None),
        }
    }

    fn string_of(&self, item: Item<'a>) -> Result<String, TextError> {
        match item.node {
            Node::Value(Value::String(text)) => Ok(text.into_owned()),
            _ => Err(self.wrong_type(&item, "a string")),
        }
    }

    fn string(&mut self, key: &'static str) -> Result<Option<String>, TextError> {
        match self.take(key) {
            Some(item) => self.string_of(item).map(Some),
            None => Ok(None),
        }
    }

    fn strings<T: for<'x> From<&'x str>>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<Vec<T>>, TextError> {
        let Some(item) = self.take(key) else {
            return Ok(None);
        };
        let Node::Value(Value::Array(array)) = &item.node else {
            return Err(self.wrong_type(&item, "an array of strings"));
        };
        let mut strings = Vec::with_capacity(array.elements.len());
        for element in &array.elements {
            match element {
                Scalar::String(text) => strings.push(T::from(text)),
                _ => return Err(self.wrong_type(&item, "an array of strings")),
            }
        }
        Ok(Some(strings))
    }

    fn id(&mut self, key: &'static str) -> Result<Option<Id>, TextError> {
        let Some(item) = self.take(key) else {
            return Ok(None);
        };
        match &item.node {
            Node::Value(Value::String(text)) => match Id::parse(text) {
                Some(id) => Ok(Some(id)),
                None => Err(self.invalid(
                    &item,
                    format!("is not a valid identifier: {text:?} (32 characters 0-9, A-Z, a-z)"),
                )),
            },
            _ => Err(self.wrong_type(&item, "a string")),
        }
    }

    fn required<T>(&self, value: Option<T>, key: &'static str) -> Result<T, TextError> {
        value.ok_or_else(|| self.missing(key))
    }

    fn req_u32(&mut self, key: &'static str) -> Result<u32, TextError> {
        let value = self.u32(key)?;
        self.required(value, key)
    }

    fn req_u64(&mut self, key: &'static str) -> Result<u64, TextError> {
        let value = self.u64(key)?;
        self.required(value, key)
    }

    fn req_string(&mut self, key: &'static str) -> Result<String, TextError> {
        let value = self.string(key)?;
        self.required(value, key)
    }

    fn req_id(&mut self, key: &'static str) -> Result<Id, TextError> {
        let value = self.id(key)?;
        self.required(value, key)
    }

    fn list<T: for<'x> From<&'x str>>(&mut self, key: &'static str) -> Result<Vec<T>, TextError> {
        Ok(self.strings(key)?.unwrap_or_default())
    }

    fn policy(&mut self, key: &'static str) -> Result<Option<AllocationPolicy>, TextError> {
        Ok(self
            .string(key)?
            .map(|name| AllocationPolicy::from_name(&name)))
    }
}

impl<'a> Importer<'a> {
    fn metadata(&mut self, cursor: &mut Cursor<'a>) -> Result<Metadata, TextError> {
        let mut slots = Vec::new();
        let mut vg = None;
        loop {
            let vg_read = vg.is_some();
            // The first section is the volume group.
            let Some(entry) = cursor.next(|_| !vg_read)? else {
                break;
            };
            match entry {
                Entry::Entered { key, offset } => {
                    vg = Some(self.volume_group(key.into_owned(), cursor, offset)?);
                    slots.push(Slot::Used(VG_ANCHOR));
                }
                Entry::Item(item) => slots.push(Slot::Free(item)),
            }
        }
        let Some(vg) = vg else {
            return Err(TextError::NoVolumeGroup {
                line: line_at(self.src, self.src.len()),
            });
        };
        let label = || "the top level".to_string();
        let mut fields = Fields::from_slots(self.src, slots, 0, &label);

        let contents_item = fields
            .take("contents")
            .ok_or_else(|| fields.missing("contents"))?;
        let generated_by = contents_item
            .leading_comments()
            .first()
            .map(|comment| strip_comment(comment));
        let contents = fields.string_of(contents_item)?;
        if contents != CONTENTS {
            return Err(TextError::InvalidValue {
                line: 1,
                section: label(),
                key: "contents".into(),
                reason: format!("must be {CONTENTS:?}, not {contents:?}"),
            });
        }
        let version_item = fields
            .take("version")
            .ok_or_else(|| fields.missing("version"))?;
        let version = fields.int_of(&version_item)?;
        if version != 1 {
            return Err(fields.invalid(&version_item, format!("must be 1, not {version}")));
        }
        let description = fields.string("description")?;
        let (creation_host, creation_host_uname) = match fields.take("creation_host") {
            Some(item) => {
                let comment = item.comment().map(strip_comment);
                (Some(fields.string_of(item)?), comment)
            }
            None => (None, None),
        };
        let creation_host_system_id = fields.string("creation_host_system_id")?;
        let (creation_time, creation_time_date) = match fields.take("creation_time") {
            Some(item) => {
                let comment = item.comment().map(strip_comment);
                let time = fields.ranged(&item, 0, i128::from(i64::MAX))?;
                (Some(time), comment)
            }
            None => (None, None),
        };
        let extra = fields.finish();
        Ok(Metadata {
            vg,
            header: Header {
                generated_by,
                contents,
                version,
                description,
                creation_host,
                creation_host_uname,
                creation_host_system_id,
                creation_time,
                creation_time_date,
            },
            utc_offset: self.utc_offset.get().unwrap_or(0),
            extra,
        })
    }

    /// Reads the VG section the cursor has just entered. Its `logical_volumes` are converted
    /// one LV at a time as they are parsed (once the PVs they refer to are known).
    fn volume_group(
        &mut self,
        name: String,
        cursor: &mut Cursor<'a>,
        offset: usize,
    ) -> Result<VolumeGroup, TextError> {
        let label = || format!("volume group {name}");
        let mut slots = Vec::new();
        let mut pvs = None;
        let mut streamed_lvs = None;
        loop {
            let stream = pvs.is_some() && streamed_lvs.is_none();
            let Some(entry) = cursor.next(|key| stream && key == "logical_volumes")? else {
                break;
            };
            match entry {
                Entry::Entered { .. } => {
                    streamed_lvs = Some(self.streamed_lvs(cursor, &label)?);
                    slots.push(Slot::Used("logical_volumes"));
                }
                Entry::Item(item) if item.key == "physical_volumes" => match item.node {
                    Node::Section(section) => {
                        pvs = Some(self.physical_volumes(section, &label)?);
                        slots.push(Slot::Used("physical_volumes"));
                    }
                    Node::Value(_) => {
                        return Err(TextError::WrongType {
                            line: line_at(self.src, item.offset as usize),
                            section: label(),
                            key: item.key.into_owned(),
                            expected: "a section",
                        })
                    }
                },
                Entry::Item(item) => slots.push(Slot::Free(item)),
            }
        }
        let mut f = Fields::from_slots(self.src, slots, offset, &label);
        let id = f.req_id("id")?;
        let seqno = f.req_u32("seqno")?;
        let format = f.string("format")?;
        let status = f.strings("status")?;
        let status = f.required(status, "status")?;
        let flags = f.list("flags")?;
        let tags = f.list("tags")?;
        let system_id = f.string("system_id")?;
        let lock_type = f.string("lock_type")?;
        let lock_args = f.string("lock_args")?;
        let extent_size = f.req_u32("extent_size")?;
        let max_lv = f.req_u32("max_lv")?;
        let max_pv = f.req_u32("max_pv")?;
        let allocation_policy = f.policy("allocation_policy")?;
        let profile = f.string("profile")?;
        let metadata_copies = f.u32("metadata_copies")?;

        let pvs = f.required(pvs, "physical_volumes")?;
        let lvs = match streamed_lvs {
            Some(lvs) => lvs,
            None => match f.take("logical_volumes") {
                Some(Item {
                    node: Node::Section(section),
                    ..
                }) => self.logical_volumes(section, &label)?,
                Some(item) => return Err(f.wrong_type(&item, "a section")),
                None => Vec::new(),
            },
        };
        let historical_lvs = match f.take("historical_logical_volumes") {
            Some(Item {
                node: Node::Section(section),
                ..
            }) => self.historical_lvs(section, &label)?,
            Some(item) => return Err(f.wrong_type(&item, "a section")),
            None => Vec::new(),
        };
        let extra = f.finish();
        Ok(VolumeGroup {
            name,
            id,
            seqno,
            format,
            status,
            flags,
            tags,
            system_id,
            lock_type,
            lock_args,
            extent_size,
            max_lv,
            max_pv,
            allocation_policy,
            profile,
            metadata_copies,
            pvs,
            lvs,
            historical_lvs,
            extra,
        })
    }

    /// The entries of a container section (`physical_volumes`, ...), all of which must be
    /// sections.
    fn entries(
        &self,
        section: Section<'a>,
        container: &str,
        label: &dyn Fn() -> String,
    ) -> Result<Vec<(Cow<'a, str>, Section<'a>, usize)>, TextError> {
        let mut entries = Vec::with_capacity(section.items.len());
        for item in section.items {
            match item.node {
                Node::Section(body) => entries.push((item.key, body, item.offset as usize)),
                Node::Value(_) => {
                    return Err(TextError::WrongType {
                        line: line_at(self.src, item.offset as usize),
                        section: format!("{} {container}", label()),
                        key: item.key.into_owned(),
                        expected: "a section",
                    })
                }
            }
        }
        Ok(entries)
    }

    fn physical_volumes(
        &mut self,
        section: Section<'a>,
        label: &dyn Fn() -> String,
    ) -> Result<Vec<PhysicalVolume>, TextError> {
        let entries = self.entries(section, "physical_volumes", label)?;
        let mut pvs = Vec::with_capacity(entries.len());
        for (key, body, offset) in entries {
            let pv_label = || format!("physical volume {key}");
            let mut f = Fields::new(self.src, body, offset, &pv_label);
            let id = f.req_id("id")?;
            let device = f.string("device")?;
            let device_id_type = f.string("device_id_type")?;
            let device_id = f.string("device_id")?;
            let status = f.strings("status")?;
            let status = f.required(status, "status")?;
            let flags = f.list("flags")?;
            let tags = f.list("tags")?;
            let dev_size = f.u64("dev_size")?;
            let pe_start = f.req_u64("pe_start")?;
            let pe_count = f.req_u32("pe_count")?;
            let ba_start = f.u64("ba_start")?;
            let ba_size = f.u64("ba_size")?;
            let extra = f.finish();
            self.pv_keys.insert(key, id);
            pvs.push(PhysicalVolume {
                id,
                device,
                device_id_type,
                device_id,
                status,
                flags,
                tags,
                dev_size,
                pe_start,
                pe_count,
                ba_start,
                ba_size,
                extra,
            });
        }
        Ok(pvs)
    }

    /// The LVs of the `logical_volumes` section the cursor has just entered. A large one is
    /// read on two threads: a second thread reads plain LV sections with the fast path from a
    /// guessed LV boundary in the second half, while this one reads from the start; if this
    /// one reaches exactly that boundary, it takes the second thread's LVs and goes on where
    /// that one stopped, otherwise it reads on alone and the guess costs only time.
    fn streamed_lvs(
        &self,
        cursor: &mut Cursor<'a>,
        label: &dyn Fn() -> String,
    ) -> Result<Vec<LogicalVolume>, TextError> {
        let second = match self.split_at {
            _ if !self.fast || cursor.depth() + 2 >= MAX_DEPTH => None,
            Some(at) => {
                let rest = cursor.rest();
                let start = self.src.len() - rest.len();
                at.checked_sub(start)
                    .and_then(|at| rest.get(at..))
                    .filter(|second| !second.is_empty())
            }
            None => split_point(cursor.rest(), self.split_min),
        };
        let Some(second) = second else {
            return self.lv_entries(cursor, label, None);
        };
        std::thread::scope(|scope| {
            let pv_keys = &self.pv_keys;
            let ahead = std::thread::Builder::new()
                .name("parse".into())
                .spawn_scoped(scope, move || FastReader::new(pv_keys).run(second))
                .ok();
            self.lv_entries(cursor, label, ahead.map(|handle| (second, handle)))
        })
    }

    /// The entries of `logical_volumes` from the cursor on; `ahead` is a second thread's run
    /// of LVs from its start text.
    fn lv_entries(
        &self,
        cursor: &mut Cursor<'a>,
        label: &dyn Fn() -> String,
        mut ahead: Option<(&'a str, ScopedJoinHandle<'_, Run<'a>>)>,
    ) -> Result<Vec<LogicalVolume>, TextError> {
        let mut lvs = Vec::new();
        let mut fast = FastReader::new(&self.pv_keys);
        loop {
            if let Some((second, handle)) = ahead.take() {
                let rest = cursor.rest();
                let left = rest.len() - skip_spaces_only(rest);
                if left > second.len() {
                    ahead = Some((second, handle));
                } else if left == second.len() {
                    // This thread has reached the LV the second one started at.
                    if let Ok(run) = handle.join() {
                        self.split_used.set(true);
                        lvs.reserve(run.lvs.iter().map(Vec::len).sum());
                        // Each piece is freed as soon as it is moved: the second thread's
                        // LVs are not all held twice.
                        for piece in run.lvs {
                            lvs.extend(piece);
                        }
                        cursor.adopt(&run.keys, run.rest);
                        continue;
                    }
                }
                // Otherwise it passed that point: the guess was no LV boundary (the scope
                // joins the thread).
            }
            if self.fast {
                let read = cursor
                    .try_section(|name, body| fast.lv(name, body, &mut lvs).map(|rest| ((), rest)));
                if read.is_some() {
                    continue;
                }
            }
            let Some(entry) = cursor.next(|_| false)? else {
                break;
            };
            let item = match entry {
                Entry::Item(item) => item,
                // Never asked for; a cursor only enters sections the caller accepts.
                Entry::Entered { .. } => continue,
            };
            match item.node {
                Node::Section(body) => lvs.push(self.logical_volume(
                    item.key.into_owned(),
                    body,
                    item.offset as usize,
                )?),
                Node::Value(_) => {
                    return Err(TextError::WrongType {
                        line: line_at(self.src, item.offset as usize),
                        section: format!("{} logical_volumes", label()),
                        key: item.key.into_owned(),
                        expected: "a section",
                    })
                }
            }
        }
        Ok(lvs)
    }

    fn logical_volumes(
        &self,
        section: Section<'a>,
        label: &dyn Fn() -> String,
    ) -> Result<Vec<LogicalVolume>, TextError> {
        let entries = self.entries(section, "logical_volumes", label)?;
        let mut lvs = Vec::with_capacity(entries.len());
        for (key, body, offset) in entries {
            lvs.push(self.logical_volume(key.into_owned(), body, offset)?);
        }
        Ok(lvs)
    }

    fn logical_volume(
        &self,
        name: String,
        section: Section<'a>,
        offset: usize,
    ) -> Result<LogicalVolume, TextError> {
        let label = || format!("logical volume {name}");
        let mut f = Fields::new(self.src, section, offset, &label);
        let id = f.req_id("id")?;
        let status = f.strings("status")?;
        let status = f.required(status, "status")?;
        let flags = f.list("flags")?;
        let tags = f.list("tags")?;
        let creation_time = self.timestamp(&mut f, "creation_time")?;
        let creation_host = f.string("creation_host")?;
        let lock_args = f.string("lock_args")?;
        let allocation_policy = f.policy("allocation_policy")?;
        let profile = f.string("profile")?;
        let read_ahead = match f.take("read_ahead") {
            Some(item) => match f.int_of(&item)? {
                -1 => Some(ReadAhead::Disabled),
                value => match u32::try_from(value) {
                    Ok(sectors) => Some(ReadAhead::Sectors(sectors)),
                    Err(_) => {
                        return Err(f.invalid(
                            &item,
                            format!("must be -1 or between 0 and {}, not {value}", u32::MAX),
                        ))
                    }
                },
            },
            None => None,
        };
        let major = f.i32("major")?;
        let minor = f.i32("minor")?;
        let count_item = f
            .take("segment_count")
            .ok_or_else(|| f.missing("segment_count"))?;
        let segment_count: u32 = f.ranged(&count_item, 0, i128::from(u32::MAX))?;
        let sections = f.take_sections(SEGMENTS_ANCHOR, |_| true);
        f.refuse_numbered_value("segment")?;
        if sections.len() != segment_count as usize {
            return Err(f.invalid(
                &count_item,
                format!(
                    "is {segment_count} but the LV has {} segment sections",
                    sections.len()
                ),
            ));
        }
        let mut segments = Vec::with_capacity(sections.len());
        for (key, body, offset) in sections {
            segments.push(self.segment(&name, &key, body, offset)?);
        }
        let extra = f.finish();
        Ok(LogicalVolume {
            name,
            id,
            status: status.into(),
            flags,
            tags,
            creation_time,
            creation_host,
            segments,
            rare: Rare::new(LvRare {
                lock_args,
                allocation_policy,
                profile,
                read_ahead,
                major,
                minor,
                extra,
            }),
        })
    }

    /// A timestamp; the first one commented with a date also tells the writer's time zone.
    fn timestamp(
        &self,
        f: &mut Fields<'a, '_>,
        key: &'static str,
    ) -> Result<Option<u64>, TextError> {
        let Some(item) = f.take(key) else {
            return Ok(None);
        };
        if self.utc_offset.get().is_none() {
            if let Some(comment) = item.comment() {
                self.utc_offset.set(offset_from_timestamp_comment(comment));
            }
        }
        f.ranged(&item, 0, i128::from(i64::MAX)).map(Some)
    }

    fn segment(
        &self,
        lv_name: &str,
        key: &str,
        section: Section<'a>,
        offset: usize,
    ) -> Result<Segment, TextError> {
        let label = || format!("{key} of logical volume {lv_name}");
        let mut f = Fields::new(self.src, section, offset, &label);
        let start_extent = f.req_u32("start_extent")?;
        let extent_count = f.req_u32("extent_count")?;
        let reshape_count = f.u32("reshape_count")?;
        let type_string = f.req_string("type")?;
        let mut parts = type_string.split('+');
        let type_name = parts.next().unwrap_or_default().to_string();
        let type_flags = parts.map(str::to_string).collect();
        let tags = f.list("tags")?;
        let kind = if let Some(level) = RaidLevel::from_name(&type_name) {
            SegmentKind::Raid(Box::new(self.raid(&mut f, level)?))
        } else {
            match type_name.as_str() {
                "striped" => {
                    let count = f
                        .take("stripe_count")
                        .ok_or_else(|| f.missing("stripe_count"))?;
                    let stripe_size = f.u32("stripe_size")?;
                    let stripes = self.areas(&mut f, "stripes", &count)?;
                    SegmentKind::Striped(Striped {
                        stripe_size,
                        stripes,
                    })
                }
                "mirror" => {
                    let count = f
                        .take("mirror_count")
                        .ok_or_else(|| f.missing("mirror_count"))?;
                    let extents_moved = f.u32("extents_moved")?;
                    let mirror_log = f.string("mirror_log")?;
                    let region_size = f.u32("region_size")?;
                    let mirrors = self.areas(&mut f, "mirrors", &count)?;
                    SegmentKind::Mirror(Mirror {
                        extents_moved,
                        mirror_log,
                        region_size,
                        mirrors,
                    })
                }
                "snapshot" => {
                    let chunk_size = f.req_u32("chunk_size")?;
                    let origin = f.req_string("origin")?;
                    let (cow, merging) = match f.string("cow_store")? {
                        Some(cow) => (cow, false),
                        None => (f.req_string("merging_store")?, true),
                    };
                    SegmentKind::Snapshot(Snapshot {
                        chunk_size,
                        origin,
                        cow,
                        merging,
                    })
                }
                "thin-pool" => SegmentKind::ThinPool(Box::new(self.thin_pool(&mut f)?)),
                "thin" => SegmentKind::Thin(Box::new(Thin {
                    thin_pool: f.req_string("thin_pool")?,
                    transaction_id: f.req_u64("transaction_id")?,
                    device_id: f.req_u32("device_id")?,
                    external_origin: f.string("external_origin")?,
                    origin: f.string("origin")?,
                    merge: f.string("merge")?,
                })),
                "cache-pool" => SegmentKind::CachePool(Box::new(CachePool {
                    data: f.req_string("data")?,
                    metadata: f.req_string("metadata")?,
                    metadata_format: f.u32("metadata_format")?,
                    settings: self.cache_settings(&mut f)?,
                })),
                "cache" => SegmentKind::Cache(Box::new(Cache {
                    cache_pool: f.req_string("cache_pool")?,
                    origin: f.req_string("origin")?,
                    cleaner: f.bool("cleaner")?.unwrap_or(false),
                    metadata_format: f.u32("metadata_format")?,
                    settings: self.cache_settings(&mut f)?,
                    metadata_start: f.u64("metadata_start")?,
                    metadata_len: f.u64("metadata_len")?,
                    data_start: f.u64("data_start")?,
                    data_len: f.u64("data_len")?,
                    metadata_id: f.id("metadata_id")?,
                    data_id: f.id("data_id")?,
                })),
                _ => SegmentKind::Other(OtherSegment {
                    type_name,
                    items: f.take_rest(),
                }),
            }
        };
        let extra = f.finish();
        Ok(Segment {
            start_extent,
            extent_count,
            reshape_count,
            type_flags,
            tags,
            kind,
            extra,
        })
    }

    /// `"pvN", pe, "lv", le, ...`; the count item (e.g. `stripe_count`) must agree.
    fn areas(
        &self,
        f: &mut Fields<'a, '_>,
        key: &'static str,
        count_item: &Item<'_>,
    ) -> Result<Vec<Area>, TextError> {
        let count: u32 = f.ranged(count_item, 0, i128::from(u32::MAX))?;
        let item = f.take(key).ok_or_else(|| f.missing(key))?;
        let Node::Value(Value::Array(array)) = &item.node else {
            return Err(f.wrong_type(&item, "an array of \"name\", offset pairs"));
        };
        if array.elements.len() % 2 != 0 {
            return Err(f.invalid(&item, "must hold \"name\", offset pairs".to_string()));
        }
        let mut areas = Vec::with_capacity(array.elements.len() / 2);
        for pair in array.elements.chunks_exact(2) {
            let (Scalar::String(name), Scalar::Int(start)) = (&pair[0], &pair[1]) else {
                return Err(f.wrong_type(&item, "an array of \"name\", offset pairs"));
            };
            let Ok(start) = u32::try_from(*start) else {
                return Err(f.invalid(&item, format!("has an offset out of range: {start}")));
            };
            areas.push(match self.pv_keys.get(name.as_ref()) {
                Some(&pv) => Area::Pv { pv, start },
                None => Area::Lv {
                    name: name.to_string(),
                    start,
                },
            });
        }
        if areas.len() != count as usize {
            return Err(f.invalid(
                count_item,
                format!("is {count} but {key} lists {} areas", areas.len()),
            ));
        }
        Ok(areas)
    }

    fn raid(&self, f: &mut Fields<'a, '_>, level: RaidLevel) -> Result<Raid, TextError> {
        let (count_key, list_key) = match level {
            RaidLevel::Raid0 => ("stripe_count", "raid0_lvs"),
            RaidLevel::Raid0Meta => ("stripe_count", "raids"),
            _ => ("device_count", "raids"),
        };
        let count_item = f.take(count_key).ok_or_else(|| f.missing(count_key))?;
        let count: u32 = f.ranged(&count_item, 0, i128::from(u32::MAX))?;
        let mut raid = Raid {
            level,
            data_copies: None,
            region_size: None,
            stripe_size: None,
            writebehind: None,
            min_recovery_rate: None,
            max_recovery_rate: None,
            data_offset: None,
            images: Vec::new(),
        };
        if level.is_raid0() {
            raid.stripe_size = f.u32("stripe_size")?;
        } else {
            raid.data_copies = f.u32("data_copies")?;
            raid.region_size = f.u32("region_size")?;
            raid.stripe_size = f.u32("stripe_size")?;
            raid.writebehind = f.u32("writebehind")?;
            raid.min_recovery_rate = f.u32("min_recovery_rate")?;
            raid.max_recovery_rate = f.u32("max_recovery_rate")?;
            raid.data_offset = f.u32("data_offset")?;
        }
        let item = f.take(list_key).ok_or_else(|| f.missing(list_key))?;
        let Node::Value(Value::Array(array)) = &item.node else {
            return Err(f.wrong_type(&item, "an array of LV names"));
        };
        let mut names = Vec::with_capacity(array.elements.len());
        for element in &array.elements {
            match element {
                Scalar::String(name) => names.push(name.as_ref()),
                _ => return Err(f.wrong_type(&item, "an array of LV names")),
            }
        }
        // A metadata sub-LV (named *_rmeta_*) precedes its data sub-LV, as LVM2 pairs them.
        let mut names = names.into_iter();
        while let Some(name) = names.next() {
            if name.contains("_rmeta_") {
                let Some(data) = names.next() else {
                    return Err(f.invalid(&item, format!("has no data LV after {name}")));
                };
                raid.images.push(RaidImage {
                    meta: Some(name.to_string()),
                    data: data.to_string(),
                });
            } else {
                raid.images.push(RaidImage {
                    meta: None,
                    data: name.to_string(),
                });
            }
        }
        if raid.images.len() != count as usize {
            return Err(f.invalid(
                &count_item,
                format!(
                    "is {count} but {list_key} lists {} devices",
                    raid.images.len()
                ),
            ));
        }
        Ok(raid)
    }

    fn thin_pool(&self, f: &mut Fields<'a, '_>) -> Result<ThinPool, TextError> {
        let metadata = f.req_string("metadata")?;
        let pool = f.req_string("pool")?;
        let transaction_id = f.req_u64("transaction_id")?;
        let chunk_size = f.req_u32("chunk_size")?;
        let discards = f.string("discards")?;
        let zero_new_blocks = f.bool("zero_new_blocks")?.unwrap_or(false);
        let crop_metadata = f.bool("crop_metadata")?;
        let mut messages = Vec::new();
        let sections = f.take_sections(MESSAGES_ANCHOR, |key| key.starts_with("message"));
        f.refuse_numbered_value("message")?;
        for (key, body, offset) in sections {
            let label = || format!("thin pool {key}");
            let mut m = Fields::new(self.src, body, offset, &label);
            let message = if let Some(name) = m.string("create")? {
                ThinMessage::Create(name)
            } else if let Some(id) = m.u32("delete")? {
                ThinMessage::Delete(id)
            } else {
                return Err(m.missing("create"));
            };
            if let Some(Extra { item, .. }) = m.finish().into_iter().next() {
                return Err(TextError::InvalidValue {
                    line: line_at(self.src, item.offset as usize),
                    section: label(),
                    key: item.key.into_owned(),
                    reason: "is not part of a thin pool message".into(),
                });
            }
            messages.push(message);
        }
        Ok(ThinPool {
            metadata,
            pool,
            transaction_id,
            chunk_size,
            discards,
            zero_new_blocks,
            crop_metadata,
            messages,
        })
    }

    fn cache_settings(&self, f: &mut Fields<'a, '_>) -> Result<CacheSettings, TextError> {
        let chunk_size = f.u32("chunk_size")?;
        let cache_mode = f.string("cache_mode")?;
        let policy = f.string("policy")?;
        let policy_settings = match f.take("policy_settings") {
            Some(Item {
                node: Node::Section(section),
                ..
            }) => Some(section.into_owned()),
            Some(item) => return Err(f.wrong_type(&item, "a section")),
            None => None,
        };
        Ok(CacheSettings {
            chunk_size,
            cache_mode,
            policy,
            policy_settings,
        })
    }

    fn historical_lvs(
        &self,
        section: Section<'a>,
        label: &dyn Fn() -> String,
    ) -> Result<Vec<HistoricalLogicalVolume>, TextError> {
        let entries = self.entries(section, "historical_logical_volumes", label)?;
        let mut lvs = Vec::with_capacity(entries.len());
        for (key, body, offset) in entries {
            let name = key.into_owned();
            let lv_label = || format!("historical logical volume {name}");
            let mut f = Fields::new(self.src, body, offset, &lv_label);
            let id = f.req_id("id")?;
            let creation_time = self.timestamp(&mut f, "creation_time")?;
            let removal_time = self.timestamp(&mut f, "removal_time")?;
            let origin = f.string("origin")?;
            let descendants = f.list("descendants")?;
            let extra = f.finish();
            lvs.push(HistoricalLogicalVolume {
                name,
                id,
                creation_time,
                removal_time,
                origin,
                descendants,
                extra,
            });
        }
        Ok(lvs)
    }
}

/// The fast path for the LV sections of a large VG: a linear, striped or thin LV written
/// the way LVM2 writes it (any key order, no comments, no unknown keys) is read straight into
/// the model, without building the generic tree first. It reads values with the full
/// grammar's own scalar reader and accepts a subset of what `logical_volume` accepts,
/// producing the same model; anything else returns `None` and the section goes through
/// `logical_volume`, which also reports errors.
struct FastReader<'a, 'k> {
    pv_keys: &'k HashMap<Cow<'a, str>, Id, crate::hash::QuickHash>,
    scratch: Scratch,
}

/// How many LVs a second thread's reading holds in one vector (~400 kB: above the binary's
/// fixed `mmap` threshold, so each goes back to the system once its LVs are moved on).
const RUN_PIECE: usize = 2048;

/// What a second thread read: LVs (in pieces of [`RUN_PIECE`]), their keys (slices of the
/// text) and the text after them.
struct Run<'a> {
    lvs: Vec<Vec<LogicalVolume>>,
    keys: Vec<&'a str>,
    rest: &'a str,
}

impl<'a, 'k> FastReader<'a, 'k> {
    fn new(pv_keys: &'k HashMap<Cow<'a, str>, Id, crate::hash::QuickHash>) -> Self {
        FastReader {
            pv_keys,
            scratch: Scratch::default(),
        }
    }

    /// LV sections from `text` on, as long as the fast path reads them.
    fn run(mut self, mut text: &'a str) -> Run<'a> {
        let mut pieces = Vec::new();
        let mut lvs = Vec::with_capacity(RUN_PIECE);
        let mut keys = Vec::new();
        loop {
            if lvs.len() == RUN_PIECE {
                pieces.push(std::mem::replace(&mut lvs, Vec::with_capacity(RUN_PIECE)));
            }
            let Some((key, (), after)) = fast_section(text, |name, body| {
                self.lv(name, body, &mut lvs).map(|rest| ((), rest))
            }) else {
                break;
            };
            keys.push(key);
            text = after;
        }
        pieces.push(lvs);
        Run {
            lvs: pieces,
            keys,
            rest: text,
        }
    }

    /// Reads the LV section `name` (its body after `{`) onto the end of `lvs`, built in
    /// place, and returns the text after its closing `}`; `None` (and `lvs` as it was) for
    /// anything the fast path does not read.
    fn lv(
        &mut self,
        name: &'a str,
        body: &'a str,
        lvs: &mut Vec<LogicalVolume>,
    ) -> Option<&'a str> {
        lvs.push(LogicalVolume {
            name: String::new(),
            id: Id::from_bytes([b'0'; 32])?,
            status: Words::new(),
            flags: Vec::new(),
            tags: Vec::new(),
            creation_time: None,
            creation_host: None,
            segments: Vec::new(),
            rare: Rare::default(),
        });
        let read = match lvs.last_mut() {
            Some(lv) => self.lv_fields(lv, body),
            None => None,
        };
        match read {
            Some(rest) => {
                if let Some(lv) = lvs.last_mut() {
                    lv.name = name.to_string();
                }
                Some(rest)
            }
            None => {
                lvs.pop();
                None
            }
        }
    }

    /// The keys of an LV section into `lv`. Each key is matched at the current byte against
    /// the keys LVM2 writes there (`eat`), its value read as the kind that key takes; any
    /// other key goes through `Lex::key` and a table, so any key order is read alike.
    fn lv_fields(&mut self, lv: &mut LogicalVolume, body: &'a str) -> Option<&'a str> {
        let mut lex = Lex::new(body);
        let mut seen = 0u32;
        let mut segment_count = None;
        loop {
            let bit = match lex.peek()? {
                b'}' => {
                    lex.bump();
                    break;
                }
                b'i' if lex.eat(b"id = ") => 0,
                b's' if lex.eat(b"status = ") => 1,
                b'f' if lex.eat(b"flags = ") => 2,
                b't' if lex.eat(b"tags = ") => 3,
                b'c' if lex.eat(b"creation_time = ") => 4,
                b'c' if lex.eat(b"creation_host = ") => 5,
                b's' if lex.eat(b"segment_count = ") => 12,
                b's' if lex.eat(b"segment") => {
                    // `segmentN {`, N the next number.
                    let digits = lex.digits()?;
                    if digits != lv.segments.len() + 1 || !lex.eat(b" {") {
                        return None;
                    }
                    if lv.segments.capacity() == 0 {
                        lv.segments.reserve_exact(1);
                    }
                    lv.segments.push(self.segment(&mut lex)?);
                    continue;
                }
                _ => {
                    let mut end = false;
                    let Some((key, after)) = lex.key(&mut end) else {
                        if end {
                            break;
                        }
                        return None;
                    };
                    if let After::Section = after {
                        if fast_number_suffix(key, "segment")? != lv.segments.len() + 1 {
                            return None;
                        }
                        lv.segments.push(self.segment(&mut lex)?);
                        continue;
                    }
                    // By length first: one or two comparisons a key instead of a chain.
                    match (key.len(), key.as_bytes()) {
                        (2, b"id") => 0,
                        (6, b"status") => 1,
                        (5, b"flags") => 2,
                        (4, b"tags") => 3,
                        (13, b"creation_time") => 4,
                        (13, b"creation_host") => 5,
                        (9, b"lock_args") => 6,
                        (17, b"allocation_policy") => 7,
                        (7, b"profile") => 8,
                        (10, b"read_ahead") => 9,
                        (5, b"major") => 10,
                        (5, b"minor") => 11,
                        (13, b"segment_count") => 12,
                        _ => return None,
                    }
                }
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            lex.value_start()?;
            match bit {
                0 => lv.id = fast_id(&mut lex)?,
                // The lists nearly every LV has, matched whole.
                1 if lex.eat(b"[\"READ\", \"WRITE\", \"VISIBLE\"]") => {
                    lv.status = Words::read_write_visible()
                }
                1 if lex.eat(b"[\"READ\", \"WRITE\"]") => lv.status = Words::read_write(),
                1 => lv.status = fast_words(&mut lex, &mut self.scratch.words)?.into(),
                2 if lex.eat(b"[]") => {}
                2 => lv.flags = fast_words(&mut lex, &mut self.scratch.words)?,
                3 => lv.tags = fast_strings(&mut lex, &mut self.scratch.strings)?,
                4 => lv.creation_time = Some(fast_uint(&mut lex)?),
                5 => lv.creation_host = Some(fast_owned(&mut lex)?),
                6 => lv.rare.lock_args = Some(fast_owned(&mut lex)?),
                7 => {
                    let name = fast_owned(&mut lex)?;
                    lv.rare.allocation_policy = Some(AllocationPolicy::from_name(&name));
                }
                8 => lv.rare.profile = Some(fast_owned(&mut lex)?),
                9 => {
                    lv.rare.read_ahead = Some(match fast_int(lex.scalar()?)? {
                        -1 => ReadAhead::Disabled,
                        value => ReadAhead::Sectors(u32::try_from(value).ok()?),
                    })
                }
                10 => lv.rare.major = Some(i32::try_from(fast_int(lex.scalar()?)?).ok()?),
                11 => lv.rare.minor = Some(i32::try_from(fast_int(lex.scalar()?)?).ok()?),
                _ => segment_count = Some(u32::try_from(fast_uint(&mut lex)?).ok()?),
            }
        }
        // Required: id, status, segment_count (matching the segment sections).
        let required = (1 << 0) | (1 << 1) | (1 << 12);
        if seen & required != required || segment_count? as usize != lv.segments.len() {
            return None;
        }
        lv.segments.shrink_to_fit();
        Some(lex.rest())
    }

    /// A `segmentN` body (after its `{`) of type striped or thin, through its `}`.
    fn segment(&mut self, lex: &mut Lex<'a>) -> Option<Segment> {
        let mut seen = 0u32;
        let (mut start_extent, mut extent_count, mut reshape_count) = (None, None, None);
        let mut type_string = None;
        let mut tags = Vec::new();
        let (mut stripe_count, mut stripe_size, mut stripes) = (None, None, None);
        let (mut thin_pool, mut transaction_id, mut device_id) = (None, None, None);
        let (mut external_origin, mut origin, mut merge) = (None, None, None);
        loop {
            let bit = match lex.peek()? {
                b'}' => {
                    lex.bump();
                    break;
                }
                b's' if lex.eat(b"start_extent = ") => 0,
                b'e' if lex.eat(b"extent_count = ") => 1,
                b't' if lex.eat(b"type = ") => 3,
                b's' if lex.eat(b"stripe_count = ") => 5,
                b's' if lex.eat(b"stripes = ") => 7,
                _ => {
                    let mut end = false;
                    let Some((key, after)) = lex.key(&mut end) else {
                        if end {
                            break;
                        }
                        return None;
                    };
                    if let After::Section = after {
                        return None;
                    }
                    match (key.len(), key.as_bytes()) {
                        (12, b"start_extent") => 0,
                        (12, b"extent_count") => 1,
                        (13, b"reshape_count") => 2,
                        (4, b"type") => 3,
                        (4, b"tags") => 4,
                        (12, b"stripe_count") => 5,
                        (11, b"stripe_size") => 6,
                        (7, b"stripes") => 7,
                        (9, b"thin_pool") => 8,
                        (14, b"transaction_id") => 9,
                        (9, b"device_id") => 10,
                        (15, b"external_origin") => 11,
                        (6, b"origin") => 12,
                        (5, b"merge") => 13,
                        _ => return None,
                    }
                }
            };
            if seen & (1 << bit) != 0 {
                return None;
            }
            seen |= 1 << bit;
            lex.value_start()?;
            match bit {
                0 => start_extent = Some(fast_u32(lex)?),
                1 => extent_count = Some(fast_u32(lex)?),
                2 => reshape_count = Some(fast_u32(lex)?),
                3 if lex.eat(b"\"striped\"") => type_string = Some("striped"),
                3 => type_string = Some(lex.plain_string()?),
                4 => tags = fast_strings(lex, &mut self.scratch.strings)?,
                5 => stripe_count = Some(fast_u32(lex)?),
                6 => stripe_size = Some(fast_u32(lex)?),
                7 => stripes = Some(self.areas(lex)?),
                8 => thin_pool = Some(fast_owned(lex)?),
                9 => transaction_id = Some(fast_uint(lex)?),
                10 => device_id = Some(fast_u32(lex)?),
                11 => external_origin = Some(fast_owned(lex)?),
                12 => origin = Some(fast_owned(lex)?),
                _ => merge = Some(fast_owned(lex)?),
            }
        }
        let type_string = type_string?;
        let (type_name, type_flags) = match type_string.split_once('+') {
            None => (type_string, Vec::new()),
            Some((name, flags)) => (name, flags.split('+').map(str::to_string).collect()),
        };
        const STRIPED_KEYS: u32 = (1 << 5) | (1 << 6) | (1 << 7);
        const THIN_KEYS: u32 = 0b11_1111 << 8;
        let kind = match type_name {
            "striped" if seen & THIN_KEYS == 0 => {
                let stripes = stripes?;
                if stripes.len() != stripe_count? as usize {
                    return None;
                }
                SegmentKind::Striped(Striped {
                    stripe_size,
                    stripes,
                })
            }
            "thin" if seen & STRIPED_KEYS == 0 => SegmentKind::Thin(Box::new(Thin {
                thin_pool: thin_pool?,
                transaction_id: transaction_id?,
                device_id: device_id?,
                external_origin,
                origin,
                merge,
            })),
            _ => return None,
        };
        Some(Segment {
            start_extent: start_extent?,
            extent_count: extent_count?,
            reshape_count,
            type_flags,
            tags,
            kind,
            extra: Vec::new(),
        })
    }

    /// `["pvN", pe, "lv", le, ...]` as `areas` reads it.
    fn areas(&self, lex: &mut Lex<'a>) -> Option<Vec<Area>> {
        if !lex.array_start() {
            return None;
        }
        let mut areas = Vec::with_capacity(1);
        while let Some(name) = lex.string_element()? {
            let start = u32::try_from(lex.uint_element()?).ok()?;
            areas.push(match self.pv_keys.get(name) {
                Some(&pv) => Area::Pv { pv, start },
                None => Area::Lv {
                    name: name.to_string(),
                    start,
                },
            });
        }
        areas.shrink_to_fit();
        Some(areas)
    }
}

/// `N` of `<prefix>N` (digits only, no sign).
fn fast_number_suffix(key: &str, prefix: &str) -> Option<usize> {
    let digits = key.strip_prefix(prefix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn fast_int(value: Scalar<'_>) -> Option<i64> {
    match value {
        Scalar::Int(value) => Some(value),
        _ => None,
    }
}

/// 0 to i64::MAX, as `Fields::u64`.
fn fast_uint(lex: &mut Lex<'_>) -> Option<u64> {
    lex.uint()
}

fn fast_u32(lex: &mut Lex<'_>) -> Option<u32> {
    u32::try_from(lex.uint()?).ok()
}

fn fast_owned(lex: &mut Lex<'_>) -> Option<String> {
    lex.plain_string().map(str::to_string)
}

fn fast_id(lex: &mut Lex<'_>) -> Option<Id> {
    Id::parse(lex.plain_string()?)
}

/// A list of strings, allocated at its exact size as the full path's lists are (30,000 LVs
/// would keep every spare slot).
fn fast_strings(lex: &mut Lex<'_>, scratch: &mut Vec<String>) -> Option<Vec<String>> {
    if !lex.array_start() {
        return None;
    }
    // No string or one (the usual `tags`): no scratch.
    let Some(first) = lex.string_element()? else {
        return Some(Vec::new());
    };
    let Some(second) = lex.string_element()? else {
        return Some(vec![first.to_string()]);
    };
    scratch.clear();
    scratch.push(first.to_string());
    scratch.push(second.to_string());
    while let Some(element) = lex.string_element()? {
        scratch.push(element.to_string());
    }
    let mut strings = Vec::with_capacity(scratch.len());
    strings.append(scratch);
    Some(strings)
}

/// A list of status or flag words, as `fast_strings`.
fn fast_words(lex: &mut Lex<'_>, scratch: &mut Vec<Word>) -> Option<Vec<Word>> {
    if !lex.array_start() {
        return None;
    }
    scratch.clear();
    while let Some(element) = lex.string_element()? {
        scratch.push(Word::from(element));
    }
    if scratch.is_empty() {
        return Some(Vec::new());
    }
    let mut words = Vec::with_capacity(scratch.len());
    words.append(scratch);
    Some(words)
}

/// A comment's text without the `#` and one following space.
fn strip_comment(comment: &str) -> String {
    comment.strip_prefix(' ').unwrap_or(comment).to_string()
}
