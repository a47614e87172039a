//! `-o help` and `--select help`: every report field by object type (LVM2's section order), with
//! its column heading and value type, and the selection operators. Printed on stderr with
//! LVM2's line prefix, as LVM2 prints its own listing; the wording is oxlvm's.

use super::registry::{FieldId, FieldType, ObjType};

/// Section titles in the order LVM2 lists its field groups.
const SECTIONS: [(ObjType, &str); 9] = [
    (ObjType::LVS, "Logical Volume Fields"),
    (ObjType::LVSINFO, "Logical Volume Device Info Fields"),
    (ObjType::LVSSTATUS, "Logical Volume Device Status Fields"),
    (
        ObjType::LVSINFOSTATUS,
        "Logical Volume Device Info and Status Combined Fields",
    ),
    (ObjType::LABEL, "Physical Volume Label Fields"),
    (ObjType::PVS, "Physical Volume Fields"),
    (ObjType::VGS, "Volume Group Fields"),
    (ObjType::SEGS, "Logical Volume Segment Fields"),
    (ObjType::PVSEGS, "Physical Volume Segment Fields"),
];

fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Str => "string",
        FieldType::Num | FieldType::Bin => "number",
        FieldType::Size => "size",
        FieldType::Percent => "percent",
        FieldType::StrList => "string list",
        FieldType::Time => "time",
    }
}

/// The field listing: one section per object type, `name - column "HEADING", type`.
pub fn field_help() -> String {
    let width = FieldId::all().map(|f| f.name().len()).max().unwrap_or(0);
    let mut out = String::new();
    for (t, title) in SECTIONS {
        out.push_str(&format!("  {title}\n  {}\n", "-".repeat(title.len())));
        for f in FieldId::all().filter(|f| f.obj_type() == t) {
            out.push_str(&format!(
                "    {:<width$} - column \"{}\", {}\n",
                f.name(),
                f.heading(),
                type_name(f.field_type())
            ));
        }
        out.push_str("   \n");
    }
    out.push_str(
        "  Names may leave out the report's prefix (lv_, pv_, vg_, seg_, pvseg_); `all` and\n  \
         `<prefix>_all` select every field of a kind; `-o+f` adds, `-o-f` removes, `-O -f` sorts\n  \
         descending.\n",
    );
    out
}

/// The selection operators and value forms, after the field listing.
pub fn selection_help() -> String {
    let mut out = field_help();
    out.push_str(
        "  Selection values\n  ----------------\n\
         \x20   number       digits; -1, unknown, undefined and undef name an unset number\n\
         \x20   size         a number with an optional unit (b s k m g t p e binary, K M G T P E\n\
         \x20                decimal); without a unit, m (MiB)\n\
         \x20   percent      a number from 0 to 100, % optional\n\
         \x20   string       unquoted (ends at a space or an operator) or quoted with ' or \"\n\
         \x20   string list  one item, [a,b] (exactly these), {a,b} (at least these),\n\
         \x20                [a||b] or {a||b} (any of these)\n\
         \x20   time         @SECONDS, or YYYY[-MM[-DD]] [hh[:mm[:ss]]] [+-hh[:mm]]\n\
         \x20   flags        the word shown (e.g. allocatable), yes or no, 1 or 0\n\
         \x20  \n\
         \x20 Selection operators\n  -------------------\n\
         \x20   =  !=            equal, not equal (all types)\n\
         \x20   =~ !~            regular expression matches, does not match (strings)\n\
         \x20   < <= > >=        ordering (numbers, sizes, percentages, times)\n\
         \x20   since after until before   ordering (times)\n\
         \x20   && or ,          both sides must match (binds tighter than ||)\n\
         \x20   || or #          either side must match\n\
         \x20   !( )             negation of a parenthesised expression\n\
         \x20   ( )              grouping\n\
         \x20  \n",
    );
    out
}
