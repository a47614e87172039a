//! `--select` against real LVM2 2.03.16: LVM2 builds the VGs, then the same report commands run
//! through both tools with a table of selections. Good selections must print the same bytes
//! with the same exit code; bad ones must fail with LVM2's exit code, and oxlvm's one-line
//! message must carry each of LVM2's error lines (LVM2 prints several, sometimes after a dump
//! of every field).

mod common;

use common::{stderr, stdout, LoopDev, Sandbox};

const MIB: u64 = 1 << 20;

struct Fixture {
    sb: Sandbox,
    devs: Vec<LoopDev>,
}

/// vg0 (1 MiB extents, tags vt1 ztag) on two PVs: lv1 (tag t1), data (tags a b), striped
/// (2 stripes), a cache pool (hidden sub-LVs); vg1 on a third PV with `big`; an orphan PV; the
/// second PV not allocatable and tagged.
fn setup(test: &str) -> Fixture {
    let sb = Sandbox::new(test);
    let devs: Vec<LoopDev> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| LoopDev::new(&sb.dir, &format!("{n}.img"), 32 * MIB))
        .collect();
    sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
    let run = |args: &[&str]| {
        let o = sb.lvm(args);
        assert!(o.status.success(), "lvm {args:?}: {}", stderr(&o));
    };
    let paths: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    let mut pvcreate = vec!["pvcreate"];
    pvcreate.extend_from_slice(&paths);
    run(&pvcreate);
    run(&[
        "vgcreate", "-s", "1m", "--addtag", "vt1", "--addtag", "ztag", "vg0", paths[0], paths[1],
    ]);
    run(&["vgcreate", "vg1", paths[2]]);
    for lv in [
        &["-L", "4m", "-n", "lv1", "--addtag", "t1", "vg0"][..],
        &[
            "-L", "10m", "-n", "data", "--addtag", "a", "--addtag", "b", "vg0",
        ],
        &["-i2", "-I64k", "-L", "4m", "-n", "striped", "vg0"],
        &["-L", "8m", "-n", "big", "vg1"],
    ] {
        let mut args = vec!["lvcreate", "-an", "-Zn"];
        args.extend_from_slice(lv);
        run(&args);
    }
    run(&[
        "lvcreate",
        "-an",
        "--type",
        "cache-pool",
        "-L",
        "2m",
        "-n",
        "cpool",
        "vg0",
    ]);
    run(&["pvchange", "-x", "n", "--addtag", "pvt", paths[1]]);
    Fixture { sb, devs }
}

/// (command and arguments before -S, selection, arguments after)
const GOOD: &[(&str, &str, &str)] = &[
    ("lvs", "lv_size>5m", ""),
    ("lvs", "lv_size>5", ""),
    ("lvs", "size=4", ""),
    ("lvs", "size=4096k", ""),
    ("lvs", "lv_size=4M", ""),
    ("lvs", "lv_size>=0.5g || lv_size<=4m", "-o name,size"),
    ("lvs", "lv_name=nomatch", ""),
    ("lvs", "lv_name=nomatch", "--reportformat json"),
    (
        "lvs",
        "lv_name=lv1",
        "--reportformat json -o name,size --units b",
    ),
    ("lvs", "all", ""),
    ("lvs", "", ""),
    ("lvs", "name=lv1", ""),
    ("lvs", "lv_name='lv1'", "-o name"),
    ("lvs", "lv_name = lv1", "-o name"),
    ("lvs", "lv_name=~^l", ""),
    ("lvs", "lv_name=~(^l|g$)", ""),
    ("lvs", "lv_name!~\"^l\"", ""),
    ("lvs", "lv_name=lv1 ||lv_name=big", ""),
    ("lvs", "lv_name=lv1 # lv_name=data, vg_name=vg0", "-o name"),
    (
        "lvs",
        "vg_name=vg0 && !(lv_name=lv1 || lv_name=data)",
        "-o name",
    ),
    (
        "lvs",
        "(lv_name=lv1 || lv_name=big) && vg_name=vg1",
        "-o name",
    ),
    ("lvs", "lv_tags=t1", ""),
    ("lvs", "tags={a}", "-o name"),
    ("lvs", "tags=[a]", "-o name"),
    ("lvs", "tags=[a,b]", "-o name"),
    ("lvs", "tags={a,b}", "-o name"),
    ("lvs", "tags=[b&&a]", "-o name"),
    ("lvs", "tags={a||t1}", "-o name"),
    ("lvs", "tags=[a#t1]", "-o name"),
    ("lvs", "tags=\"\"", "-o name"),
    ("lvs", "tags=[]", "-o name"),
    ("lvs", "tags!={a}", "-o name"),
    ("lvs", "seg_count=1", "-o name"),
    ("lvs", "stripes=2", "-o name"),
    ("lvs", "lv_kernel_major=-1", "-o name"),
    ("lvs", "lv_kernel_major>=0", "-o name"),
    ("lvs", "lv_kernel_major=undefined", "-o name"),
    ("lvs", "data_percent>=0", "-o name"),
    ("lvs", "lv_attr=~^-w", "-o name,attr"),
    ("lvs", "lv_attr=~^C", "-a -o name,attr"),
    ("lvs", "lv_name=cpool_cdata", "-a -o name"),
    ("lvs", "lv_name=~_c", "-a"),
    ("lvs", "lv_layout={linear}", "-a -o name,layout"),
    (
        "lvs",
        "lv_role=[private,cache,pool,data]",
        "-a -o name,role",
    ),
    ("lvs", "segtype=striped", "--segments"),
    ("lvs", "seg_size<5m", "--segments -o name,seg_size,devices"),
    ("lvs", "devices=~loop", "--segments -o name,devices"),
    ("lvs", "lv_time since 2020-01-01", "-o name"),
    ("lvs", "lv_time before 2020-01", "-o name"),
    ("lvs", "lv_time>@1000", "-o name"),
    ("lvs", "lv_time until 2100", "-o name"),
    ("lvs", "vg_tags={ztag}", "-o name"),
    (
        "lvs",
        "lv_size>5m",
        "--noheadings --nameprefixes -o name,size",
    ),
    ("lvs", "lv_size>5m", "-O -lv_size -o name,size"),
    ("lvs", "lv_size>5m", "--rows"),
    ("lvs", "lv_size>5m", "vg1"),
    ("lvs", "lv_name=lv1", "vg0/lv1 vg0/data"),
    (
        "vgs",
        "vg_name=vg0",
        "-o vg_name,vg_size --reportformat json",
    ),
    ("vgs", "lv_size>0", ""),
    ("vgs", "lv_name=lv1", ""),
    ("vgs", "tags=vt1", "-o name"),
    ("vgs", "vg_free>20m", ""),
    ("vgs", "pv_count=2", ""),
    ("vgs", "vg_permissions=rw", "-o name,permissions"),
    ("vgs", "vg_mda_copies=unmanaged", "-o name"),
    ("vgs", "vg_extent_size=1m", ""),
    ("pvs", "pv_free<20m", ""),
    ("pvs", "lv_size>0", ""),
    ("pvs", "lv_name=lv1", ""),
    ("pvs", "pv_allocatable=allocatable", ""),
    ("pvs", "pv_allocatable=no", ""),
    ("pvs", "pv_allocatable=1", "-o name,allocatable"),
    ("pvs", "pv_tags=pvt", ""),
    ("pvs", "vg_name=\"\"", ""),
    ("pvs", "pv_in_use=used", "-o name"),
    ("pvs", "pv_size>30m && vg_name=~^vg", ""),
    ("pvs", "pvseg_size>3", "--segments"),
    ("pvs", "pv_pe_count>=28", "-o name,pe_count"),
];

/// Selections LVM2 rejects: (command, selection).
const BAD: &[(&str, &str)] = &[
    ("lvs", "bogus=1"),
    ("lvs", "foo"),
    ("lvs", "=1"),
    ("lvs", "lv_name"),
    ("lvs", "lv_size>>1"),
    ("lvs", "lv_name>1"),
    ("lvs", "lv_name since 2020-01-01"),
    ("lvs", "(lv_name=lv1"),
    ("lvs", "!lv_name=lv1"),
    ("lvs", "lv_name=lv1 xx"),
    ("lvs", "lv_name=lv1 )"),
    ("lvs", "lv_name=\"lv1"),
    ("lvs", "lv_size>1gb"),
    ("lvs", "seg_count>1k"),
    ("lvs", "seg_count>5%"),
    ("lvs", "data_percent>5k"),
    ("lvs", "data_percent>500"),
    ("lvs", "data_percent=\"\""),
    ("lvs", "tags=~a"),
    ("lvs", "seg_count=~1"),
    ("lvs", "tags=[a,t1"),
    ("lvs", "tags=[a,t1}"),
    ("lvs", "tags=[a,t1||b]"),
    ("lvs", "tags=[a,"),
    ("lvs", "lv_time since 2020-13-01"),
    ("lvs", "lv_time since 2020-02-30"),
    ("lvs", "pv_name=/dev/loop0"),
    ("lvs", "lv_name=~"),
    ("vgs", "vg_size<"),
    ("pvs", "pv_size=abc"),
];

fn split_args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

#[test]
fn compat_select_good_selections_print_what_lvm2_prints() {
    let fx = setup("select-good");
    let mut failures = Vec::new();
    for (cmd, sel, rest) in GOOD {
        let mut args: Vec<String> = vec![cmd.to_string(), "-S".into(), sel.to_string()];
        args.extend(split_args(rest));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let theirs = fx.sb.lvm(&args);
        let ours = fx.sb.oxlvm(&args);
        if theirs.status.code() != ours.status.code() || stdout(&theirs) != stdout(&ours) {
            failures.push(format!(
                "{args:?}\n  LVM2 ({:?}):\n{}\n  oxlvm ({:?}):\n{}{}",
                theirs.status.code(),
                stdout(&theirs),
                ours.status.code(),
                stdout(&ours),
                stderr(&ours)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(fx.devs);
}

/// LVM2's own error lines: after any help dump (which ends with a blank line), without the
/// pointer to `help` and without the activation warning.
fn lvm2_error_lines(err: &str) -> Vec<String> {
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| !l.contains("WARNING: Activation disabled"))
        .collect();
    let start = lines
        .iter()
        .rposition(|l| l.trim().is_empty())
        .map_or(0, |i| i + 1);
    lines[start..]
        .iter()
        .filter(|l| !l.contains("Use 'help' for selection"))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn compat_select_bad_selections_fail_as_lvm2_on_one_line() {
    let fx = setup("select-bad");
    let mut failures = Vec::new();
    for (cmd, sel) in BAD {
        let args = [*cmd, "-S", sel, "-o", "name"];
        let theirs = fx.sb.lvm(&args);
        let ours = fx.sb.oxlvm(&args);
        let expected = lvm2_error_lines(&stderr(&theirs));
        let got = stderr(&ours);
        let ok = theirs.status.code() == ours.status.code()
            && !theirs.status.success()
            && got.lines().count() == 1
            && stdout(&ours).is_empty()
            && !expected.is_empty()
            && expected.iter().all(|e| got.contains(e.as_str()));
        if !ok {
            failures.push(format!(
                "{args:?}\n  LVM2 ({:?}): {expected:?}\n  oxlvm ({:?}): {got}",
                theirs.status.code(),
                ours.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn compat_select_fullreport_per_subreport() {
    let fx = setup("select-full");
    let args = [
        "fullreport",
        "--configreport",
        "vg",
        "-o",
        "vg_name",
        "--configreport",
        "pv",
        "-o",
        "pv_name",
        "--configreport",
        "lv",
        "-o",
        "lv_name",
        "-S",
        "lv_size>5m",
        "--configreport",
        "pvseg",
        "-o",
        "pvseg_start",
        "-S",
        "pvseg_size>=10",
        "--configreport",
        "seg",
        "-o",
        "segtype",
        "--reportformat",
        "json",
    ];
    let theirs = fx.sb.lvm(&args);
    let ours = fx.sb.oxlvm(&args);
    assert_eq!(theirs.status.code(), ours.status.code());
    assert_eq!(stdout(&theirs), stdout(&ours));
}
