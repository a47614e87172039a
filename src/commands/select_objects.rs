//! `--select` for the processing commands (lvchange, lvremove, vgchange, vgremove, pvchange,
//! vgexport, vgimport): the reports' selection language, evaluated on the same field values
//! `lvs`/`vgs`/`pvs` compute, so `lvremove -S X` removes exactly the LVs `lvs -S X` lists.

use super::context::Context;
use super::report_cmds::device_facts;
use crate::error::{CmdError, CmdResult};
use crate::report::values::{DeviceFacts, KernelView, RowRef, VgFacts};
use crate::report::{ReportKind, ReportOptions, ReportSpec};
use crate::store::scan::{FoundVg, Scan};

/// A parsed `--select` for one kind of object.
pub struct ObjectSelection {
    spec: ReportSpec,
    /// What each row stands for once the fields are known (`-S seg_size>1m` on LVs looks at
    /// each segment; an LV matches when one of them does).
    per: ReportKind,
}

/// What `--select` asked for.
pub enum Select {
    /// No `--select`, an empty one or `all`.
    Everything,
    /// `--select help`: the fields and operators were listed; do nothing else.
    Help,
    Some(Box<ObjectSelection>),
}

impl Select {
    /// Parses `text` for objects of `kind` (Lv, Vg or Pv). A bad selection is LVM2's error
    /// on one line, exit 5, before anything is read or written.
    pub fn parse(kind: ReportKind, text: Option<&str>) -> CmdResult<Select> {
        let Some(text) = text else {
            return Ok(Select::Everything);
        };
        let name = match kind {
            ReportKind::Vg => "vg_name",
            ReportKind::Pv | ReportKind::PvSeg => "pv_name",
            _ => "lv_name",
        };
        let mut spec = ReportSpec::parse(kind, &[name.to_string()], &[], &ReportOptions::default())
            .map_err(CmdError::failed)?;
        spec.set_selection(text).map_err(CmdError::failed)?;
        if spec.selection_help_requested() {
            eprint!("{}", crate::report::selection_help());
            return Ok(Select::Help);
        }
        if spec.selection.is_none() {
            return Ok(Select::Everything);
        }
        let per = spec
            .row_objects(kind == ReportKind::Pv)
            .map_or(kind, |r| r.per);
        Ok(Select::Some(Box::new(ObjectSelection { spec, per })))
    }

    pub fn is_help(&self) -> bool {
        matches!(self, Select::Help)
    }

    /// Whether an object passes: always without a selection, else as `test` says.
    pub fn picks(&self, test: impl FnOnce(&ObjectSelection) -> bool) -> bool {
        match self {
            Select::Some(sel) => test(sel),
            _ => true,
        }
    }

    /// Whether selection narrows anything (the commands then may run without names).
    pub fn is_given(&self) -> bool {
        !matches!(self, Select::Everything)
    }
}

/// The report facts of one VG: device facts of its PVs and the kernel's view of its LVs.
pub struct VgView {
    devices: Vec<Option<DeviceFacts>>,
    kernel: Option<KernelView>,
}

impl VgView {
    pub fn new(ctx: &Context, scan: &Scan, found: &FoundVg) -> VgView {
        let devices = found
            .pv_devices
            .iter()
            .map(|d| d.and_then(|i| scan.pvs.get(i)).map(device_facts))
            .collect();
        let kernel = super::lv_activate::Activation::new(ctx).kernel_view(&found.metadata.vg);
        VgView { devices, kernel }
    }

    pub fn facts<'a>(&'a self, found: &'a FoundVg) -> VgFacts<'a> {
        VgFacts::new(
            &found.metadata.vg,
            self.devices.iter().map(Option::as_ref).collect(),
        )
        .with_kernel(self.kernel.as_ref())
    }
}

impl ObjectSelection {
    fn row_matches(&self, facts: &VgFacts, r: RowRef) -> bool {
        let row: Vec<_> = self
            .spec
            .columns()
            .iter()
            .map(|&f| facts.value(r, f))
            .collect();
        self.spec.selects(&row)
    }

    fn lv_rows_match(&self, facts: &VgFacts, i: usize) -> bool {
        if self.per == ReportKind::Seg {
            (0..facts.vg.lvs[i].segments.len()).any(|s| self.row_matches(facts, RowRef::Seg(i, s)))
        } else {
            self.row_matches(facts, RowRef::Lv(i))
        }
    }

    /// Whether the LV named `name` passes.
    pub fn lv_matches(&self, facts: &VgFacts, name: &str) -> bool {
        facts
            .lv_index(name)
            .is_some_and(|i| self.lv_rows_match(facts, i))
    }

    /// Whether the VG passes (with LV or PV fields: when one of its visible LVs or PVs does,
    /// as `vgs -S` then lists it).
    pub fn vg_matches(&self, facts: &VgFacts) -> bool {
        match self.per {
            ReportKind::Lv | ReportKind::Seg => (0..facts.vg.lvs.len())
                .filter(|&i| facts.is_visible(i))
                .any(|i| self.lv_rows_match(facts, i)),
            ReportKind::Pv | ReportKind::PvSeg => {
                (0..facts.vg.pvs.len()).any(|p| self.row_matches(facts, RowRef::Pv(p)))
            }
            ReportKind::Vg => self.row_matches(facts, RowRef::Vg),
        }
    }

    /// Whether a PV in no VG passes (on the values `pvs` shows for it). A selection that
    /// looks at PV segments (LV or segment fields) passes none, as in LVM2's pvchange and
    /// pvdisplay.
    pub fn orphan_pv_matches(&self, d: &DeviceFacts) -> bool {
        self.per != ReportKind::PvSeg
            && self
                .spec
                .selects(&super::report_cmds::orphan_row(&self.spec, d, false))
    }

    /// Whether the PV at index `p` of the VG passes (with LV or segment fields: when one of
    /// its PV segments does, as `pvs -S` then looks at each).
    pub fn pv_matches(&self, facts: &VgFacts, p: usize) -> bool {
        if self.per == ReportKind::PvSeg {
            facts
                .pv_segments(p)
                .into_iter()
                .any(|seg| self.row_matches(facts, RowRef::PvSeg(p, seg)))
        } else {
            self.row_matches(facts, RowRef::Pv(p))
        }
    }
}
