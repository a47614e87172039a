//! Host tier, the bad-input catalogue: bad command lines and damaged disks, one table. Every
//! case must end with exit 3 (the command line is wrong) or 5 (the command failed), exactly one
//! line on stderr naming the problem (the fragment listed) and every device byte-identical
//! afterwards. Damaged-disk cases start from the same VG, damage it (headers, checksums,
//! texts rewritten with a valid checksum but a contradiction inside), then run a command.
//!
//! `CATALOGUE_PRINT=1` prints what each case gave (to write a new case's fragment).

mod common;
use common::*;
use metadata_format::crc::lvm_crc;
use metadata_format::header::{find_pv_label, MdaHeader, RawLocn};
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::FileExt;
use std::process::Command;

/// A damage done to the devices before the command runs.
#[derive(Clone, Copy)]
enum Damage {
    None,
    /// Flip a byte of the label sector of device N at this offset inside the sector.
    LabelByte(usize, usize),
    /// Flip a byte of the first metadata area header of devices 0 and 1 at this offset.
    MdaHeaderByte(usize),
    /// Rewrite the committed slot of devices 0 and 1: (offset delta, size delta, checksum xor).
    Slot(i64, i64, u32),
    /// Replace `from` by `to` in the committed text of devices 0 and 1 (checksums made valid).
    Text(&'static str, &'static str),
    /// Replace the committed text by this one (checksums valid).
    WholeText(&'static [u8]),
    /// Copy the first MiB of device A onto device B (same PV UUID on both).
    CloneHead(usize, usize),
}

struct Case {
    args: &'static [&'static str],
    damage: Damage,
    code: i32,
    /// A piece of the one line on stderr.
    says: &'static str,
}

const fn c(args: &'static [&'static str], code: i32, says: &'static str) -> Case {
    Case {
        args,
        damage: Damage::None,
        code,
        says,
    }
}

const fn d(damage: Damage, args: &'static [&'static str], code: i32, says: &'static str) -> Case {
    Case {
        args,
        damage,
        code,
        says,
    }
}

/// `{N}` is device N; `{bad}` a name that is not UTF-8, `{ctl}` one with a control character,
/// `{long}` a 300-byte name, `{dir}` the sandbox.
fn expand(args: &[&str], devs: &[LoopDev], dir: &str) -> Vec<OsString> {
    args.iter()
        .map(|a| {
            let mut s = a.replace("{dir}", dir).replace("{long}", &"x".repeat(300));
            s = s.replace("{ctl}", "a\u{1}b");
            for (i, dv) in devs.iter().enumerate() {
                s = s.replace(&format!("{{{i}}}"), dv.path_str());
            }
            if s.contains("{bad}") {
                let mut bytes = Vec::new();
                for (i, part) in s.split("{bad}").enumerate() {
                    if i > 0 {
                        bytes.extend_from_slice(b"v\xffg");
                    }
                    bytes.extend_from_slice(part.as_bytes());
                }
                return OsString::from_vec(bytes);
            }
            OsString::from(s)
        })
        .collect()
}

fn cases() -> Vec<Case> {
    use Damage::*;
    vec![
        // ---- unknown commands, options and missing arguments (3)
        c(&["nosuchcommand"], 3, "nosuchcommand"),
        c(&["lvcreate", "--nosuchoption", "vg"], 3, "nosuchoption"),
        c(&["vgcreate"], 3, "VG"),
        c(&["vgcreate", "vgx"], 3, "<PV>"),
        c(&["lvcreate", "vg"], 3, "size"),
        c(&["lvcreate", "-L"], 3, "--size"),
        c(&["lvextend", "vg/lv"], 3, "size"),
        c(&["lvremove"], 3, "logical volume paths or use --select"),
        c(&["vgrename", "vg"], 3, "name"),
        c(&["vgextend", "vg"], 3, "<PV>"),
        c(&["vgreduce"], 3, "volume group name"),
        c(&["pvcreate"], 3, "<PV>"),
        c(&["pvchange", "{2}"], 3, "--addtag"),
        c(&["pvchange", "-a", "{2}", "--addtag", "t"], 3, "exclusive"),
        c(&["lvrename", "vg"], 3, "name"),
        c(&["vgchange", "-a", "maybe", "vg"], 3, "maybe"),
        c(&["lvcreate", "-a", "q", "-L", "4m", "vg"], 3, "-a q"),
        c(
            &["lvcreate", "-Z", "maybe", "-L", "4m", "vg"],
            3,
            "-Z maybe",
        ),
        c(&["lvcreate", "-C", "x", "-L", "4m", "vg"], 3, "-C x"),
        c(&["lvcreate", "-p", "rx", "-L", "4m", "vg"], 3, "-p rx"),
        c(
            &["lvcreate", "--type", "nosuch", "-L", "4m", "vg"],
            3,
            "nosuch",
        ),
        c(
            &["lvcreate", "--alloc", "sideways", "-L", "4m", "vg"],
            3,
            "sideways",
        ),
        c(
            &["vgcreate", "--alloc", "sideways", "vgx", "{2}"],
            3,
            "sideways",
        ),
        c(
            &["lvcreate", "--discards", "some", "-T", "-L", "4m", "vg/p2"],
            3,
            "some",
        ),
        c(&["vgck", "--updatemetadata"], 3, "VG"),
        // ---- sizes and extents (3)
        c(&["lvcreate", "-L", "10x", "-n", "n1", "vg"], 3, "10x"),
        c(
            &["lvcreate", "-L", "", "-n", "n1", "vg"],
            3,
            "needs a number",
        ),
        c(&["lvcreate", "-L", "1e3", "-n", "n1", "vg"], 3, "1e3"),
        c(
            &["lvcreate", "-L", "0", "-n", "n1", "vg"],
            3,
            "larger than 0",
        ),
        c(&["lvcreate", "-L", "-4m", "-n", "n1", "vg"], 3, "sign"),
        c(&["lvcreate", "-L", "+4m", "-n", "n1", "vg"], 3, "sign"),
        c(
            &["lvcreate", "-L", "4m", "-l", "4", "-n", "n1", "vg"],
            3,
            "-L or -l",
        ),
        c(
            &["lvcreate", "-l", "0", "-n", "n1", "vg"],
            3,
            "larger than 0",
        ),
        c(&["lvcreate", "-l", "abc", "-n", "n1", "vg"], 3, "abc"),
        c(&["lvcreate", "-l", "50%XYZ", "-n", "n1", "vg"], 3, "50%XYZ"),
        c(&["lvcreate", "-l", "50%LV", "-n", "n1", "vg"], 3, "%FREE"),
        c(
            &["lvcreate", "-l", "10%ORIGIN", "-n", "n1", "vg"],
            3,
            "%ORIGIN",
        ),
        c(
            &["lvcreate", "-L", "99999999999999999999t", "-n", "n1", "vg"],
            3,
            "99999999999999999999t",
        ),
        c(
            &["lvcreate", "-L", "16777216t", "-n", "n1", "vg"],
            3,
            "16777216t",
        ),
        c(
            &["lvcreate", "-l", "4294967296", "-n", "n1", "vg"],
            3,
            "4294967296",
        ),
        c(
            &["lvcreate", "-L", "4m", "-i", "0", "-n", "n1", "vg"],
            3,
            "stripe",
        ),
        c(
            &["lvcreate", "-L", "4m", "-i", "200", "-n", "n1", "vg"],
            3,
            "128",
        ),
        c(
            &[
                "lvcreate", "-L", "4m", "-i", "2", "-I", "3k", "-n", "n1", "vg",
            ],
            3,
            "power of 2",
        ),
        c(
            &[
                "lvcreate", "-L", "4m", "-i", "2", "-I", "-8k", "-n", "n1", "vg",
            ],
            3,
            "-8",
        ),
        c(
            &[
                "lvcreate", "-s", "-L", "1m", "-c", "3k", "-n", "n1", "vg/lv",
            ],
            3,
            "Chunk size",
        ),
        c(
            &["lvcreate", "-s", "-L", "1m", "-c", "0", "-n", "n1", "vg/lv"],
            3,
            "-c 0",
        ),
        c(
            &["lvcreate", "-V", "0", "-T", "vg/pool", "-n", "n1"],
            3,
            "-V 0",
        ),
        c(
            &["lvcreate", "-V", "-1m", "-T", "vg/pool", "-n", "n1"],
            3,
            "-1",
        ),
        c(&["lvcreate", "-V", "4m", "-n", "n1", "vg"], 3, "pool"),
        c(
            &[
                "lvcreate",
                "-T",
                "-L",
                "4m",
                "--poolmetadatasize",
                "0",
                "vg/p2",
            ],
            3,
            "--poolmetadatasize 0",
        ),
        c(&["lvextend", "-L", "-1m", "vg/lv"], 3, "lvreduce"),
        c(&["lvextend", "-L", "abc", "vg/lv"], 3, "abc"),
        c(&["lvreduce", "-y", "-L", "+1m", "vg/lv"], 3, "lvextend"),
        c(&["lvresize", "-L", "0", "vg/lv"], 3, "0 not permitted"),
        c(&["lvresize", "-l", "+x", "vg/lv"], 3, "+x"),
        c(&["vgcreate", "-s", "0", "vgx", "{2}"], 3, "extent size"),
        c(&["vgcreate", "-s", "3k", "vgx", "{2}"], 3, "extent size"),
        c(&["vgcreate", "-s", "-4m", "vgx", "{2}"], 3, "-4"),
        c(&["vgcreate", "-s", "zz", "vgx", "{2}"], 3, "zz"),
        c(&["pvcreate", "--metadatasize", "bogus", "{3}"], 3, "bogus"),
        c(
            &["pvcreate", "--metadatacopies", "3", "{3}"],
            5,
            "metadatacopies 3",
        ),
        c(
            &["pvresize", "--setphysicalvolumesize", "zz", "{2}"],
            3,
            "zz",
        ),
        c(&["lvs", "--units", "q"], 3, "units"),
        c(&["vgs", "--units", "1x"], 3, "units"),
        // ---- names: VGs (3 on the command line where LVM2 says so, 5 otherwise)
        c(&["vgcreate", "{bad}", "{2}"], 3, "UTF-8"),
        c(&["vgcreate", "{ctl}", "{2}"], 3, "is invalid"),
        c(&["vgcreate", "{long}", "{2}"], 3, "too long"),
        c(&["vgcreate", "-dash", "{2}"], 3, "Unexpected argument"),
        c(&["vgcreate", ".", "{2}"], 3, "reserved"),
        c(&["vgcreate", "..", "{2}"], 3, "reserved"),
        c(&["vgcreate", "a/b", "{2}"], 3, "not allowed"),
        c(&["vgcreate", "a b", "{2}"], 3, "not allowed"),
        c(&["vgcreate", "vg", "{2}"], 5, "already exists"),
        c(&["vgcreate", "vg*", "{2}"], 3, "not allowed"),
        c(&["vgrename", "vg", "{bad}"], 3, "UTF-8"),
        c(&["vgrename", "vg", "{ctl}"], 5, "name"),
        c(&["vgrename", "vg", "{long}"], 5, "maximum length"),
        c(&["vgrename", "vg", "other"], 5, "already exists"),
        c(&["vgrename", "nosuchvg", "vgy"], 5, "nosuchvg"),
        c(&["vgrename", "vg", "vg"], 5, "must differ"),
        c(&["vgextend", "{bad}", "{2}"], 3, "UTF-8"),
        c(&["vgreduce", "{ctl}", "{2}"], 5, "name"),
        c(&["vgchange", "--addtag", "t", "{bad}"], 3, "UTF-8"),
        c(&["vgremove", "{long}"], 5, "name"),
        c(&["vgs", "{bad}"], 3, "UTF-8"),
        c(&["vgremove", "-f", "{long}"], 5, "too long"),
        c(&["vgck", "nosuchvg"], 5, "nosuchvg"),
        c(&["vgcfgbackup", "nosuchvg"], 5, "nosuchvg"),
        // ---- names: LVs
        c(&["lvcreate", "-L", "4m", "-n", "{bad}", "vg"], 3, "UTF-8"),
        c(&["lvcreate", "-L", "4m", "-n", "{ctl}", "vg"], 3, "name"),
        c(&["lvcreate", "-L", "4m", "-n", "{long}", "vg"], 3, "name"),
        c(
            &["lvcreate", "-L", "4m", "-n", "lv", "vg"],
            5,
            "already exists",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "snapshot", "vg"],
            3,
            "snapshot",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "pvmove0", "vg"],
            3,
            "pvmove",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "x_tmeta", "vg"],
            3,
            "_tmeta",
        ),
        c(&["lvcreate", "-L", "4m", "-n", "x_mlog", "vg"], 3, "_mlog"),
        c(
            &["lvcreate", "-L", "4m", "-n", "x_rimage_0", "vg"],
            3,
            "_rimage",
        ),
        c(&["lvcreate", "-L", "4m", "-n", ".", "vg"], 3, "name"),
        c(&["lvcreate", "-L", "4m", "-n", "-x", "vg"], 3, "-x"),
        c(
            &["lvcreate", "-L", "4m", "-n", "a@b", "vg"],
            3,
            "not allowed",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "other/x", "vg"],
            3,
            "Inconsistent",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "n1", "nosuchvg"],
            5,
            "nosuchvg",
        ),
        c(&["lvcreate", "-L", "4m", "-n", "n1", "{bad}"], 3, "UTF-8"),
        c(&["lvrename", "vg", "lv", "{bad}"], 3, "name"),
        c(&["lvrename", "vg", "lv", "{long}"], 3, "name"),
        c(&["lvrename", "vg", "lv", "snap"], 5, "already exists"),
        c(&["lvrename", "vg", "nosuch", "n2"], 5, "nosuch"),
        c(&["lvrename", "vg/lv", "other/lv9"], 3, "other"),
        c(&["lvremove", "-y", "vg/nosuch"], 5, "nosuch"),
        c(&["lvremove", "-y", "nosuchvg/lv"], 5, "nosuchvg"),
        c(&["lvremove", "-y", "vg/{bad}"], 3, "UTF-8"),
        c(&["lvextend", "-L", "+4m", "vg/nosuch"], 5, "nosuch"),
        c(&["lvextend", "-L", "+4m", "vg/{ctl}"], 5, "not found"),
        c(&["lvchange", "--addtag", "t", "vg/nosuch"], 5, "nosuch"),
        c(&["lvs", "vg/nosuch"], 5, "nosuch"),
        // ---- tags
        c(&["vgchange", "--addtag", "{bad}", "vg"], 3, "UTF-8"),
        c(&["vgchange", "--addtag", "{ctl}", "vg"], 3, "Tag"),
        c(&["vgchange", "--addtag", "a b", "vg"], 3, "Tag"),
        c(
            &["vgchange", "--addtag", "{long}{long}{long}{long}", "vg"],
            3,
            "Tag",
        ),
        c(&["lvchange", "--addtag", "a,b", "vg/lv"], 3, "Tag"),
        c(
            &["lvcreate", "--addtag", "{ctl}", "-L", "4m", "vg"],
            3,
            "Tag",
        ),
        c(&["pvchange", "--addtag", "a|b", "{0}"], 3, "Tag"),
        // ---- devices
        c(&["pvcreate", "/dev/nosuchdevice"], 5, "/dev/nosuchdevice"),
        c(&["pvcreate", "{dir}"], 5, "{dir}"),
        c(&["pvcreate", "{0}"], 5, "vg"),
        c(&["pvcreate", "{bad}"], 3, "UTF-8"),
        c(&["pvremove", "{0}"], 5, "vg"),
        c(&["pvremove", "{3}"], 5, "{3}"),
        c(&["pvremove", "/dev/nosuchdevice"], 5, "/dev/nosuchdevice"),
        c(
            &["vgcreate", "vgx", "/dev/nosuchdevice"],
            5,
            "/dev/nosuchdevice",
        ),
        c(&["vgcreate", "vgx", "{0}"], 5, "vg"),
        c(&["vgcreate", "vgx", "{2}", "{2}"], 3, "given twice"),
        c(&["vgextend", "vg", "{0}"], 5, "already"),
        c(&["vgextend", "vg", "{4}"], 5, "other"),
        c(
            &["vgextend", "vg", "/dev/nosuchdevice"],
            5,
            "/dev/nosuchdevice",
        ),
        c(&["vgextend", "nosuchvg", "{2}"], 5, "nosuchvg"),
        c(&["vgreduce", "vg", "{2}"], 5, "{2}"),
        c(&["vgreduce", "vg", "{0}"], 5, "{0}"),
        c(
            &["vgreduce", "vg", "/dev/nosuchdevice"],
            5,
            "/dev/nosuchdevice",
        ),
        c(&["vgreduce", "vg"], 3, "physical volume"),
        c(
            &["pvchange", "--addtag", "t", "/dev/nosuchdevice"],
            5,
            "/dev/nosuchdevice",
        ),
        c(&["pvchange", "--addtag", "t", "{3}"], 5, "{3}"),
        c(&["pvresize", "{3}"], 5, "{3}"),
        c(
            &["pvresize", "--setphysicalvolumesize", "64m", "{2}"],
            5,
            "{2}",
        ),
        c(&["lvcreate", "-L", "4m", "-n", "n1", "vg", "{2}"], 5, "{2}"),
        c(
            &["lvcreate", "-L", "4m", "-n", "n1", "vg", "{0}:999"],
            3,
            "999",
        ),
        c(
            &["lvcreate", "-L", "4m", "-n", "n1", "vg", "{0}:5-2"],
            3,
            "PE range error",
        ),
        c(&["lvcreate", "-L", "4m", "-n", "n1", "vg", "{0}:x"], 3, "x"),
        c(&["pvs", "/dev/nosuchdevice"], 5, "/dev/nosuchdevice"),
        // ---- what the VG cannot give or allow
        c(
            &["lvcreate", "-L", "1g", "-n", "n1", "vg"],
            5,
            "insufficient free space",
        ),
        c(
            &["lvcreate", "-l", "100000", "-n", "n1", "vg"],
            5,
            "insufficient free space",
        ),
        c(
            &["lvcreate", "-L", "4m", "-i", "3", "-n", "n1", "vg"],
            5,
            "number of physical volumes",
        ),
        c(
            &["lvextend", "-L", "1g", "vg/lv"],
            5,
            "insufficient free space",
        ),
        c(
            &["lvextend", "-L", "1m", "vg/lv2"],
            5,
            "not larger than existing size",
        ),
        c(&["lvreduce", "-y", "-L", "-100m", "vg/lv"], 5, "1 extent"),
        // Questions LVM2 asks of inactive LVs too: a pool with thin LVs, the pool spare.
        c(&["lvremove", "vg/pool"], 5, "-y"),
        c(&["lvremove", "vg/lvol0_pmspare"], 5, "-y"),
        c(&["vgremove", "vg"], 5, "-f"),
        c(
            &["lvcreate", "-s", "-L", "1m", "-n", "n1", "vg/snap"],
            5,
            "Snapshots of snapshots",
        ),
        c(
            &["lvcreate", "-s", "-L", "1m", "-n", "n1", "vg/nosuch"],
            5,
            "nosuch",
        ),
        c(&["lvcreate", "-s", "-n", "n1", "vg/lv"], 3, "size"),
        c(
            &["lvcreate", "-V", "4m", "-T", "vg/lv", "-n", "n1"],
            5,
            "not a thin pool",
        ),
        c(
            &["lvcreate", "-V", "4m", "-T", "vg/nosuch", "-n", "n1"],
            5,
            "nosuch",
        ),
        c(&["vgchange", "-p", "rw", "-x", "y", "vg"], 3, "vg"),
        c(
            &["vgcfgrestore", "-f", "{dir}/nosuch.vg", "vg"],
            5,
            "nosuch.vg",
        ),
        c(&["vgcfgrestore", "-f", "{dir}", "vg"], 5, "{dir}"),
        c(
            &["vgcfgrestore", "-f", "/etc/hostname", "vg"],
            5,
            "/etc/hostname",
        ),
        c(&["vgmerge", "vg", "vg"], 5, "vg"),
        c(&["vgsplit", "vg", "other", "{0}"], 5, "other"),
        // ---- damaged disks: labels and headers
        d(LabelByte(2, 16), &["vgextend", "vg", "{2}"], 5, "{2}"),
        d(LabelByte(2, 0), &["pvremove", "{2}"], 5, "{2}"),
        d(
            LabelByte(2, 8),
            &["pvchange", "--addtag", "t", "{2}"],
            5,
            "{2}",
        ),
        d(
            LabelByte(4, 16),
            &["lvcreate", "-L", "4m", "other"],
            5,
            "not found",
        ),
        d(
            LabelByte(4, 40),
            &["vgextend", "other", "{2}"],
            5,
            "not found",
        ),
        d(
            MdaHeaderByte(0),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
        d(
            MdaHeaderByte(6),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
        d(
            MdaHeaderByte(20),
            &["vgextend", "vg", "{2}"],
            5,
            "not found",
        ),
        d(
            MdaHeaderByte(24),
            &["vgrename", "vg", "vgy"],
            5,
            "not found",
        ),
        d(
            Slot(0, 0, 1),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
        d(
            Slot(0, -100, 0),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
        d(
            Slot(512, 0, 0),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "not found",
        ),
        d(
            Slot(1 << 30, 0, 0),
            &["lvextend", "-L", "+1m", "vg/lv"],
            5,
            "not found",
        ),
        d(
            Slot(0, 1 << 30, 0),
            &["lvremove", "-y", "vg/lv2"],
            5,
            "not found",
        ),
        d(
            CloneHead(2, 3),
            &["vgextend", "vg", "{2}"],
            5,
            "duplicate PV",
        ),
        d(
            CloneHead(0, 3),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "duplicate PV",
        ),
        d(
            CloneHead(0, 3),
            &["vgrename", "vg", "vgy"],
            5,
            "duplicate PV",
        ),
        // ---- damaged disks: texts with a valid checksum that contradict themselves
        d(
            Text("seqno = ", "seqno = x"),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
        d(
            Text("extent_size = 2048", "extent_size = 0"),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("stripe_count = 1", "stripe_count = 2"),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("vg {", "vg {\n{"),
            &["lvcreate", "-L", "4m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            WholeText(b"vg {\nid = \"not-an-id\"\nseqno = 99\n}\n"),
            &["lvcreate", "-L", "4m", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            WholeText(b"vg {\nseqno = 99\n"),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            WholeText(b"\xff\xfe{\nseqno = 99\n}\n"),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "not found",
        ),
        d(
            WholeText(b""),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "not found",
        ),
        d(
            Text("\"pv0\", 0\n]", "\"pv0\", 3\n]"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "used by both",
        ),
        d(
            Text("\"pv0\", 0\n]", "\"pv0\", 13\n]"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "which has",
        ),
        d(
            Text("\"pv0\", 0\n]", "\"pv0\", 4294967290\n]"),
            &["lvextend", "-L", "+1m", "vg/lv2"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("\"pv0\", 0\n]", "\"pv9\", 0\n]"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text(
                "start_extent = 0\nextent_count = 4\n",
                "start_extent = 1\nextent_count = 4\n",
            ),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("pe_count = 15", "pe_count = 4000000"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("origin = \"lv\"", "origin = \"snapshot0\""),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "refers to itself",
        ),
        d(
            Text("metadata = \"pool_tmeta\"", "metadata = \"pool\""),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "refers to itself",
        ),
        d(
            Text("thin_pool = \"pool\"", "thin_pool = \"thin\""),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "refers to itself",
        ),
        d(
            Text("metadata = \"pool_tmeta\"", "metadata = \"nosuch\""),
            &["vgchange", "--addtag", "t", "vg"],
            5,
            "does not exist",
        ),
        d(
            Text("lv2 {", "lv {"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "vgcfgrestore",
        ),
        d(
            Text("vg {", "v\u{1}g {"),
            &["lvcreate", "-L", "1m", "-n", "n1", "vg"],
            5,
            "not found",
        ),
    ]
}

/// Opens a loop device for writing and writes `data` at `offset`, synced.
fn poke(dev: &LoopDev, offset: u64, data: &[u8]) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev.path)
        .expect("open device");
    f.write_all_at(data, offset).expect("write device");
    f.sync_all().expect("sync device");
}

/// The first metadata area of a device: (area start, header).
fn first_area(dev: &LoopDev) -> (u64, MdaHeader) {
    let head = dev.read(0, 8192);
    let label = find_pv_label(&head).expect("a PV label");
    let area = label.pv_header.metadata_areas[0];
    let bytes = dev.read(area.offset, 512);
    (
        area.offset,
        MdaHeader::parse(&bytes).expect("a good header"),
    )
}

fn committed_text(dev: &LoopDev) -> Vec<u8> {
    let (start, h) = first_area(dev);
    let locn = *h.committed();
    let bytes = dev.read(start + locn.offset, locn.size as usize);
    bytes.split(|&b| b == 0).next().unwrap_or_default().to_vec()
}

/// Writes `text` as the committed text of the first area of `dev`, with valid checksums.
fn write_committed(dev: &LoopDev, text: &[u8]) {
    let (start, h) = first_area(dev);
    let old = *h.committed();
    let mut bytes = text.to_vec();
    bytes.push(0);
    let locn = RawLocn {
        offset: old.offset,
        size: bytes.len() as u64,
        checksum: lvm_crc(&bytes),
        flags: old.flags,
    };
    poke(dev, start + old.offset, &bytes);
    poke(dev, start, &h.with_committed(&locn, false).to_bytes());
}

fn apply(damage: Damage, devs: &[LoopDev]) {
    match damage {
        Damage::None => {}
        Damage::LabelByte(n, at) => {
            let mut s = devs[n].read(512, 512);
            s[at] ^= 0x5a;
            poke(&devs[n], 512, &s);
        }
        Damage::MdaHeaderByte(at) => {
            for dev in &devs[..2] {
                let (start, _) = first_area(dev);
                let mut s = dev.read(start, 512);
                s[at] ^= 0x5a;
                poke(dev, start, &s);
            }
        }
        Damage::Slot(offset, size, xor) => {
            for dev in &devs[..2] {
                let (start, h) = first_area(dev);
                let old = *h.committed();
                let locn = RawLocn {
                    offset: old.offset.wrapping_add_signed(offset),
                    size: old.size.wrapping_add_signed(size),
                    checksum: old.checksum ^ xor,
                    flags: old.flags,
                };
                poke(dev, start, &h.with_committed(&locn, false).to_bytes());
            }
        }
        Damage::Text(from, to) => {
            for dev in &devs[..2] {
                let text = String::from_utf8(committed_text(dev)).expect("UTF-8 text");
                assert!(text.contains(from), "no {from:?} in the text:\n{text}");
                write_committed(dev, text.replacen(from, to, 1).as_bytes());
            }
        }
        Damage::WholeText(text) => {
            for dev in &devs[..2] {
                write_committed(dev, text);
            }
        }
        Damage::CloneHead(from, to) => {
            let head = devs[from].read(0, 1 << 20);
            poke(&devs[to], 0, &head);
        }
    }
}

#[test]
fn every_bad_input_is_refused_in_one_line_and_changes_no_device() {
    // d0+d1: VG vg (1 MiB extents, 15 each); d2: an orphan PV; d3: blank; d4: VG other.
    let (sb, devs) = sandbox_with("bad-input-catalogue", &[16, 16, 8, 8, 8]);
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    for step in [
        vec!["vgcreate", "-s", "1m", "vg", p[0], p[1]],
        vec!["lvcreate", "-an", "-L", "4m", "-n", "lv", "vg", p[0]],
        vec!["lvcreate", "-an", "-s", "-L", "1m", "-n", "snap", "vg/lv"],
        vec!["lvcreate", "-an", "-L", "2m", "-n", "lv2", "vg", p[0]],
        vec!["lvcreate", "-an", "-T", "-L", "2m", "vg/pool"],
        vec!["lvcreate", "-an", "-V", "8m", "-T", "vg/pool", "-n", "thin"],
        vec!["pvcreate", p[2]],
        vec!["vgcreate", "-s", "1m", "other", p[4]],
    ] {
        ok(sb.oxlvm(&step));
    }
    let clean: Vec<Vec<u8>> = devs
        .iter()
        .map(|dv| std::fs::read(&dv.path).expect("read device"))
        .collect();
    let clean_hashes = hashes(&devs);
    let dir = sb.dir.display().to_string();
    let print = std::env::var("CATALOGUE_PRINT").is_ok();
    let cases = cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (n, case) in cases.iter().enumerate() {
        let damaged = !matches!(case.damage, Damage::None);
        if damaged {
            apply(case.damage, &devs);
        }
        // Undamaged devices are as set up: their hashes are known.
        let before = if damaged {
            hashes(&devs)
        } else {
            clean_hashes.clone()
        };
        let args = expand(case.args, &devs, &dir);
        let out = Command::new(env!("CARGO_BIN_EXE_oxlvm"))
            .args(&args)
            .env("LVM_SYSTEM_DIR", sb.system_dir())
            .env("LVM_SUPPRESS_FD_WARNINGS", "1")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run oxlvm");
        let err = stderr(&out);
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        let says = expand(&[case.says], &devs, &dir)[0]
            .to_string_lossy()
            .into_owned();
        let after = hashes(&devs);
        if print {
            eprintln!("#{n} {:?} -> {:?} {lines:?}", case.args, out.status.code());
        }
        let mut problems = Vec::new();
        if out.status.code() != Some(case.code) {
            problems.push(format!("exit {:?}, not {}", out.status.code(), case.code));
        }
        if lines.len() != 1 {
            problems.push(format!("{} lines", lines.len()));
        }
        if !err.contains(&says) {
            problems.push(format!("no {says:?}"));
        }
        if before != after {
            problems.push("a device changed".to_string());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "#{n} {:?}: {}: {err:?}",
                case.args,
                problems.join(", ")
            ));
        }
        // Back to the clean state for the next case.
        if damaged || before != after {
            for (dv, img) in devs.iter().zip(&clean) {
                let now = std::fs::read(&dv.path).expect("read device");
                if now != *img {
                    poke(dv, 0, img);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
