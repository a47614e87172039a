//! Field metadata and LVM2's name-matching rules. A user's field name is compared with underscores
//! dropped and case ignored, either whole or after the report's prefix (`name` is `pv_name` in
//! `pvs`), and the first field in registry order wins - so lookups walk the table in order instead
//! of using a map.

use super::fields::FIELDS;

/// How LVM2 classifies a field's values: decides alignment (numbers and sizes to the right) and
/// sorting (numeric or byte-wise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Str,
    /// Numbers, including signed ones such as `lv_major`.
    Num,
    /// A flag shown as a word (or 0/1 with `--binary`); a number for sorting and alignment.
    Bin,
    Size,
    Percent,
    StrList,
    Time,
}

impl FieldType {
    /// LVM2 right-aligns numeric and size columns, everything else goes left.
    pub fn right_aligned(self) -> bool {
        matches!(self, FieldType::Num | FieldType::Bin | FieldType::Size)
    }

    /// Numeric, size and time fields sort by a 64-bit key; the rest compare bytes.
    pub fn sorts_numerically(self) -> bool {
        matches!(
            self,
            FieldType::Num | FieldType::Bin | FieldType::Size | FieldType::Time
        )
    }
}

/// How a string-list field joins its items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStyle {
    /// Report order, joined by the configurable list separator (`,` by default).
    Plain,
    /// Sorted byte-wise first (tags, modules), then joined by the list separator.
    Sorted,
    /// Always joined by `,` (devices).
    Comma,
    /// Always joined by a space (`seg_pe_ranges`).
    Space,
}

/// The object a field describes, as a bit so a report can collect the set it needs (LVM2's
/// report types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObjType(pub u32);

impl ObjType {
    pub const VGS: ObjType = ObjType(1);
    pub const LVS: ObjType = ObjType(2);
    pub const LVSINFO: ObjType = ObjType(4);
    pub const LVSSTATUS: ObjType = ObjType(8);
    pub const LVSINFOSTATUS: ObjType = ObjType(16);
    pub const PVS: ObjType = ObjType(32);
    pub const LABEL: ObjType = ObjType(64);
    pub const SEGS: ObjType = ObjType(128);
    pub const PVSEGS: ObjType = ObjType(256);

    /// Every object type with its field-name prefix, as LVM2 lists them.
    pub(crate) const ALL: [(ObjType, &'static str); 9] = [
        (ObjType::VGS, "vg_"),
        (ObjType::LVS, "lv_"),
        (ObjType::LVSINFO, "lv_"),
        (ObjType::LVSSTATUS, "lv_"),
        (ObjType::LVSINFOSTATUS, "lv_"),
        (ObjType::PVS, "pv_"),
        (ObjType::LABEL, "pv_"),
        (ObjType::SEGS, "seg_"),
        (ObjType::PVSEGS, "pvseg_"),
    ];
}

/// A set of [`ObjType`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ObjTypes(pub u32);

impl ObjTypes {
    pub fn contains(self, t: ObjType) -> bool {
        self.0 & t.0 != 0
    }
    pub fn insert(&mut self, t: ObjType) {
        self.0 |= t.0;
    }
    pub fn any_lv(self) -> bool {
        self.0
            & (ObjType::LVS.0
                | ObjType::LVSINFO.0
                | ObjType::LVSSTATUS.0
                | ObjType::LVSINFOSTATUS.0)
            != 0
    }
}

/// One entry of the registry.
#[derive(Debug)]
pub(crate) struct FieldDef {
    pub name: &'static str,
    /// `name` without underscores, lower case: what user input is compared with.
    pub canonical: &'static str,
    pub heading: &'static str,
    /// LVM2's minimum column width (its table's width, or the heading's length when that is 0).
    pub width: usize,
    pub ftype: FieldType,
    pub obj: ObjType,
    /// For binary fields: the word shown when set.
    pub word: &'static str,
    pub list: ListStyle,
}

/// A report field, by its index in LVM2's registry. `FieldId::LV_NAME` etc. name every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub(crate) u16);

impl FieldId {
    pub(crate) fn def(self) -> &'static FieldDef {
        // Ids are only made from indices of FIELDS, so the index is in range.
        &FIELDS[usize::from(self.0) % FIELDS.len()]
    }

    /// The canonical name, e.g. `pv_name` (also the JSON key).
    pub fn name(self) -> &'static str {
        self.def().name
    }

    /// The column heading, e.g. `PV`.
    pub fn heading(self) -> &'static str {
        self.def().heading
    }

    pub fn field_type(self) -> FieldType {
        self.def().ftype
    }

    pub fn obj_type(self) -> ObjType {
        self.def().obj
    }

    /// The field with exactly this canonical name (`pv_name`), without prefix rules.
    pub fn from_name(name: &str) -> Option<FieldId> {
        FIELDS
            .iter()
            .position(|f| f.name == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(FieldId)
    }

    /// Every field in registry order.
    pub fn all() -> impl Iterator<Item = FieldId> {
        (0..FIELDS.len()).filter_map(|i| u16::try_from(i).ok().map(FieldId))
    }
}

/// What a name given to `-o`/`-O` refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    Field(FieldId),
    /// `help` or `?`: list the fields instead of reporting.
    Help,
}

/// Drops underscores as LVM2 does before comparing names.
fn canonicalize(name: &str) -> String {
    name.chars().filter(|&c| c != '_').collect()
}

/// LVM2's rule: equal ignoring case, or the field's canonical name is the report prefix (without
/// its `_`) followed by the user's name.
fn same_field(field_canon: &str, user_canon: &str, prefix: &str) -> bool {
    if field_canon.eq_ignore_ascii_case(user_canon) {
        return true;
    }
    let p = prefix.strip_suffix('_').unwrap_or(prefix);
    field_canon.len() >= p.len()
        && field_canon.is_char_boundary(p.len())
        && field_canon[..p.len()].eq_ignore_ascii_case(p)
        && field_canon[p.len()..].eq_ignore_ascii_case(user_canon)
}

/// Resolves one name given to `-o` or `-O` (without sign) in a report whose prefix is `prefix`.
pub(crate) fn lookup(name: &str, prefix: &str) -> Option<Lookup> {
    if name.is_empty() {
        return None;
    }
    let canon = canonicalize(name);
    if ["help", "?"].iter().any(|h| same_field(h, &canon, prefix)) {
        return Some(Lookup::Help);
    }
    FIELDS
        .iter()
        .position(|f| same_field(f.canonical, &canon, prefix))
        .and_then(|i| u16::try_from(i).ok())
        .map(|i| Lookup::Field(FieldId(i)))
}

/// LVM2's `all` names: bare `all` means every type sharing the report's prefix (plus the types
/// already in use), `<prefix>_all` every type with that prefix. Returns the matched types.
pub(crate) fn all_match(name: &str, prefix: &str, in_use: ObjTypes) -> Option<ObjTypes> {
    let mut types = ObjTypes::default();
    let (canon, bare) = if name.eq_ignore_ascii_case("all") {
        types = in_use;
        (canonicalize(prefix), true)
    } else {
        (canonicalize(name), false)
    };
    for (t, tprefix) in ObjType::ALL {
        let p = tprefix.strip_suffix('_').unwrap_or(tprefix);
        if canon.len() < p.len() || !canon.is_char_boundary(p.len()) {
            continue;
        }
        if !canon[..p.len()].eq_ignore_ascii_case(p) {
            continue;
        }
        let rest = &canon[p.len()..];
        if (bare && rest.is_empty()) || rest.eq_ignore_ascii_case("all") {
            types.insert(t);
        }
    }
    (types.0 != 0).then_some(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, prefix: &str) -> Option<&'static str> {
        match lookup(name, prefix)? {
            Lookup::Field(f) => Some(f.name()),
            Lookup::Help => Some("help"),
        }
    }

    #[test]
    fn every_field_resolves_to_itself() {
        for f in FieldId::all() {
            for prefix in ["pv_", "vg_", "lv_", "seg_", "pvseg_"] {
                // Exact names never lose to a prefixed match of an earlier field.
                assert_eq!(field(f.name(), prefix), Some(f.name()), "{prefix}");
            }
        }
    }

    #[test]
    fn prefix_rules_follow_lvm2() {
        // pvs -o name,size,uuid (LVM2 2.03.16: PV, PSize, PV UUID columns)
        assert_eq!(field("name", "pv_"), Some("pv_name"));
        assert_eq!(field("size", "pv_"), Some("pv_size"));
        assert_eq!(field("uuid", "pv_"), Some("pv_uuid"));
        assert_eq!(field("name", "lv_"), Some("lv_name"));
        assert_eq!(field("size", "vg_"), Some("vg_size"));
        // registry order: the VG field lv_count is the only "lvcount"
        assert_eq!(field("count", "lv_"), Some("lv_count"));
        assert_eq!(field("type", "seg_"), Some("segtype"));
        assert_eq!(field("type", "lv_"), None);
        // underscores and case do not matter (pvs -o Pv_Name,PVNAME,p_v_name gives three PV columns)
        assert_eq!(field("Pv_Name", "pv_"), Some("pv_name"));
        assert_eq!(field("PVNAME", "pv_"), Some("pv_name"));
        assert_eq!(field("p_v_name", "pv_"), Some("pv_name"));
        assert_eq!(field("vg_name", "pv_"), Some("vg_name"));
        assert_eq!(field("help", "pv_"), Some("help"));
        assert_eq!(field("?", "lv_"), Some("help"));
        assert_eq!(field("foo", "pv_"), None);
        assert_eq!(field("", "pv_"), None);
    }

    #[test]
    fn all_names() {
        let none = ObjTypes::default();
        let pv = all_match("all", "pv_", ObjTypes(ObjType::LABEL.0)).unwrap();
        assert!(pv.contains(ObjType::PVS) && pv.contains(ObjType::LABEL));
        assert!(!pv.contains(ObjType::VGS));
        let lv = all_match("lv_all", "pv_", none).unwrap();
        assert!(lv.any_lv() && lv.contains(ObjType::LVSINFOSTATUS));
        assert!(all_match("LVALL", "pv_", none).is_some());
        assert!(all_match("pvseg_all", "pv_", none)
            .unwrap()
            .contains(ObjType::PVSEGS));
        assert!(all_match("seg_all", "pv_", none).unwrap() == ObjTypes(ObjType::SEGS.0));
        assert!(all_match("xall", "pv_", none).is_none());
        assert!(all_match("pv", "pv_", none).is_none());
    }
}
