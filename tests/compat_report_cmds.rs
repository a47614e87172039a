//! Compat tier: `pvs`, `vgs`, `lvs` and `fullreport` of oxlvm against real LVM2 2.03.16
//! (`--driverloaded n`) on the same loop devices. LVM2 builds every VG; both tools then report
//! it and stdout must be identical byte for byte, with the same exit code.
//!
//! LVM2 cannot create raid1, mirror, COW snapshot or thin LVs without device-mapper ("Can't
//! create ... without using device-mapper kernel driver"), so those come from the guest fixture
//! `vgdemo` (made by LVM2 with dm, restored here with vgcfgrestore) and from `lvconvert --type
//! mirror` and `pvmove`, which LVM2 does run without dm (the conversion and the move stay
//! pending). vg2 is made by oxlvm (whose lvcreate writes LVM2's text, tests/compat_lv*.rs) with
//! the types left: raid5, raid10, a mirror with a disk log, a COW snapshot and a thin snapshot.

mod common;

use common::{stderr, stdout, LoopDev, Sandbox};

const MIB: u64 = 1 << 20;

struct Fixture {
    sb: Sandbox,
    devs: Vec<LoopDev>,
}

#[track_caller]
fn lvm_ok(sb: &Sandbox, args: &[&str]) {
    let out = sb.lvm(args);
    assert!(
        out.status.success(),
        "lvm {args:?} failed: {}",
        stderr(&out)
    );
}

/// vg1 (1 MiB extents, tag vt1) on five 64 MiB PVs, the last with two metadata areas: linear
/// `lin` with tags turned into a core-log mirror, striped `str`, raid0 `r0`, a cache pool, `mv`
/// under a pending pvmove, read-only contiguous `ro` with a fixed minor; a PV tag and a
/// non-allocatable PV. vgdemo restored from the guest fixture on three 1 GiB PVs (linear,
/// striped, COW snapshot, thin pool, thin, thin snapshot, raid1). An orphan PV and a device
/// that is no PV.
fn setup(test: &str) -> Fixture {
    let sb = Sandbox::new(test);
    let mut devs: Vec<LoopDev> = (0..5)
        .map(|i| LoopDev::new(&sb.dir, &format!("d{i}"), 64 * MIB))
        .collect();
    devs.push(LoopDev::new(&sb.dir, "orphan", 32 * MIB));
    devs.push(LoopDev::new(&sb.dir, "plain", 16 * MIB));
    for i in 0..3 {
        devs.push(LoopDev::new(&sb.dir, &format!("g{i}"), 1024 * MIB));
    }
    for i in 0..4 {
        devs.push(LoopDev::new(&sb.dir, &format!("r{i}"), 32 * MIB));
    }
    sb.write_lvm_conf(&devs.iter().collect::<Vec<_>>());
    let p: Vec<&str> = devs.iter().map(LoopDev::path_str).collect();
    lvm_ok(&sb, &["pvcreate", p[0], p[1], p[2], p[3]]);
    lvm_ok(&sb, &["pvcreate", "--metadatacopies", "2", p[4]]);
    lvm_ok(&sb, &["pvcreate", p[5]]);
    lvm_ok(
        &sb,
        &[
            "vgcreate", "-s", "1m", "--addtag", "vt1", "vg1", p[0], p[1], p[2], p[3], p[4],
        ],
    );
    let lv = |args: &[&str]| {
        let mut all = vec!["lvcreate", "-an", "-Zn"];
        all.extend_from_slice(args);
        lvm_ok(&sb, &all);
    };
    lv(&[
        "-L", "8m", "-n", "lin", "--addtag", "lt1", "--addtag", "a2", "vg1",
    ]);
    lv(&["-i2", "-I64k", "-L", "8m", "-n", "str", "vg1"]);
    lv(&["--type", "raid0", "-i2", "-L", "4m", "-n", "r0", "vg1"]);
    lvm_ok(
        &sb,
        &[
            "lvcreate",
            "-an",
            "--type",
            "cache-pool",
            "-L",
            "4m",
            "-n",
            "cpool",
            "vg1",
        ],
    );
    lvm_ok(
        &sb,
        &[
            "lvconvert",
            "-y",
            "--type",
            "mirror",
            "-m1",
            "--mirrorlog",
            "core",
            "vg1/lin",
        ],
    );
    lv(&["-L", "4m", "-n", "mv", "vg1", p[2]]);
    lvm_ok(&sb, &["pvmove", "-n", "mv", p[2], p[3]]);
    lv(&["-l", "3", "-n", "ro", "--alloc", "contiguous", "vg1"]);
    lvm_ok(&sb, &["lvchange", "-pr", "vg1/ro"]);
    lvm_ok(
        &sb,
        &[
            "lvchange", "-y", "-My", "--major", "253", "--minor", "33", "vg1/ro",
        ],
    );
    lvm_ok(&sb, &["pvchange", "--addtag", "pvtag", p[1]]);
    lvm_ok(&sb, &["pvchange", "-xn", p[3]]);

    // vgdemo from the guest fixture, as compat_pv_vg.rs restores it.
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lvm2-2.03.16/guest/vgdemo.vg"
    );
    let text = std::fs::read_to_string(fixture).expect("fixture");
    let ids: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("\t\t\tid = "))
        .take(3)
        .map(|l| l.split('"').nth(1).unwrap_or_default().to_string())
        .collect();
    for (dev, id) in devs[7..10].iter().zip(&ids) {
        let out = sb.lvm(&[
            "pvcreate",
            "--uuid",
            id,
            "--restorefile",
            fixture,
            dev.path_str(),
        ]);
        assert!(out.status.success(), "{out:?}");
    }
    lvm_ok(&sb, &["vgcfgrestore", "--force", "-f", fixture, "vgdemo"]);

    // vg2 by oxlvm: every RAID level and snapshot kind LVM2 cannot make here.
    let ox_ok = |args: &[&str]| {
        let out = sb.oxlvm(args);
        assert!(
            out.status.success(),
            "oxlvm {args:?} failed: {}",
            stderr(&out)
        );
    };
    ox_ok(&[
        "vgcreate", "-s", "1m", "--addtag", "t2", "vg2", p[10], p[11], p[12], p[13],
    ]);
    for lv in [
        &["--type", "raid5", "-i2", "-L", "4m", "-n", "r5", "vg2"][..],
        &[
            "--type", "raid10", "-i2", "-m1", "-L", "4m", "-n", "r10", "vg2",
        ],
        &[
            "--type", "raid1", "-m1", "-L", "2m", "-n", "r1", "--addtag", "rt", "vg2",
        ],
        &["--type", "mirror", "-m1", "-L", "2m", "-n", "mir", "vg2"],
        &["-L", "4m", "-n", "base", "vg2"],
        &["-s", "-L", "2m", "-n", "cow", "vg2/base"],
        &["-T", "-L", "8m", "vg2/tp"],
        &["-V", "16m", "-T", "vg2/tp", "-n", "thin1"],
        &["-s", "vg2/thin1", "-n", "tsnap"],
    ] {
        let mut args = vec!["lvcreate", "-y", "-an"];
        args.extend_from_slice(lv);
        ox_ok(&args);
    }
    Fixture { sb, devs }
}

/// Runs `CMD ARGS` with LVM2 and oxlvm: stdout and exit code must be the same.
#[track_caller]
fn same(fx: &Fixture, args: &[&str]) {
    let theirs = fx.sb.lvm(args);
    let ours = fx.sb.oxlvm(args);
    let (t, o) = (stdout(&theirs), stdout(&ours));
    assert!(
        t == o,
        "`{}` differs\n--- LVM2:\n{t}--- oxlvm:\n{o}--- oxlvm stderr:\n{}",
        args.join(" "),
        stderr(&ours)
    );
    assert_eq!(
        theirs.status.code(),
        ours.status.code(),
        "`{}` exit codes; LVM2 stderr: {}",
        args.join(" "),
        stderr(&theirs)
    );
}

#[test]
fn reports_match_lvm2_byte_for_byte() {
    let fx = setup("report-cmds");
    let forms: &[&[&str]] = &[
        &[],
        &["-a"],
        &["--segments"],
        &["-a", "--segments"],
        &[
            "-o",
            "+devices,seg_type,stripes,stripe_size,origin,pool_lv,lv_attr",
        ],
        &["--units", "b", "--nosuffix"],
        &["--reportformat", "json"],
        &["--reportformat", "json", "--units", "b", "--nosuffix"],
        &["-v"],
        &["--unbuffered"],
        &["--noheadings", "--separator", ":", "--nameprefixes"],
        &["--rows"],
        &["-o", "all", "--binary"],
        &["-a", "-o", "all", "--reportformat", "json"],
    ];
    for cmd in ["pvs", "vgs", "lvs"] {
        for form in forms {
            if cmd != "lvs"
                && form.contains(&"+devices,seg_type,stripes,stripe_size,origin,pool_lv,lv_attr")
            {
                continue;
            }
            if cmd == "vgs" && (form.contains(&"-a") || form.contains(&"--segments")) {
                continue;
            }
            let mut args = vec![cmd];
            args.extend_from_slice(form);
            same(&fx, &args);
        }
    }
    for args in [
        &["lvs", "-o", "lv_attr"][..],
        &["lvs", "-a", "-o", "lv_name,lv_attr", "--noheadings"],
        &["lvs", "-a", "--segments", "-o", "+seg_all"],
        &[
            "lvs",
            "-a",
            "-o",
            "+lv_role,lv_layout,lv_tags,lv_time,lv_host,lv_ancestors,lv_descendants,lv_modules",
        ],
        &[
            "lvs",
            "-a",
            "-o",
            "+data_lv,metadata_lv,move_pv,mirror_log,lv_parent,origin_size,copy_percent",
        ],
        &["lvs", "-a", "-O", "-lv_size,lv_name", "-o", "+lv_size"],
        &["lvs", "vgdemo"],
        &["lvs", "vg1/str", "vgdemo/thinsnap", "vgdemo/pool_tdata"],
        &["pvs", "-o", "+pv_all", "--units", "b"],
        &["pvs", "-o", "+lv_name,seg_size"],
        &[
            "pvs",
            "--segments",
            "-o",
            "+lv_name,seg_start_pe,segtype,seg_pe_ranges",
        ],
        &[
            "pvs",
            "--segments",
            "-o",
            "all,pvseg_all,lv_all,seg_all",
            "--reportformat",
            "json",
        ],
        &[
            "pvs",
            "-a",
            "-o",
            "+dev_size,pv_mda_count,pv_mda_free,pv_mda_size,pe_start",
        ],
        &["vgs", "-o", "+vg_all"],
        &["vgs", "-o", "vg_name,pv_name"],
        &["vgs", "vgdemo", "vg1"],
        &["lvs", "-a", "-o", "all", "vg2"],
        &["lvs", "-a", "--segments", "-o", "all", "vg2"],
        &[
            "lvs",
            "-a",
            "-S",
            "lv_layout=raid5_ls",
            "-o",
            "lv_name,lv_layout",
        ],
        &["lvs", "-a", "--binary", "--rows", "-o", "all", "vg2"],
        &[
            "lvs",
            "-a",
            "--nameprefixes",
            "--unquoted",
            "-o",
            "lv_name,lv_attr,lv_size,lv_tags",
        ],
        &[
            "lvs",
            "-a",
            "--aligned",
            "--separator",
            ":",
            "-O",
            "-seg_type,lv_name",
        ],
        &[
            "pvs",
            "--segments",
            "-a",
            "-o",
            "all",
            "--reportformat",
            "json_std",
        ],
    ] {
        same(&fx, args);
    }
    // Every unit, upper case = SI, on every field.
    for cmd in ["pvs", "vgs", "lvs"] {
        for unit in [
            "b", "s", "k", "m", "g", "t", "p", "e", "h", "r", "B", "S", "K", "M", "G", "T", "P",
            "E", "H", "R",
        ] {
            same(&fx, &[cmd, "--units", unit, "-o", "all"]);
        }
    }
    // lvm fullreport, in the forms TopoLVM and scripts use.
    for args in [
        &["fullreport"][..],
        &["fullreport", "--reportformat", "json"],
        &[
            "fullreport",
            "--reportformat",
            "json",
            "--units",
            "b",
            "--nosuffix",
            "--configreport",
            "vg",
            "-o",
            "vg_name,vg_uuid,vg_size,vg_free",
            "--configreport",
            "lv",
            "-o",
            "lv_uuid,lv_name,lv_full_name,lv_path,lv_size,lv_kernel_major,lv_kernel_minor,origin,origin_size,pool_lv,lv_tags,lv_attr,vg_name,data_percent,metadata_percent,pool_lv",
            "--configreport",
            "pv",
            "-o,",
            "--configreport",
            "pvseg",
            "-o,",
            "--configreport",
            "seg",
            "-o,",
        ],
        &["fullreport", "vg1", "--units", "k"],
        &["fullreport", "-a"],
        &["fullreport", "-a", "--reportformat", "json", "vg2"],
        &["fullreport", "--rows", "vg2"],
        // TopoLVM's call (lvmd), with the pvseg sub-report it asks for.
        &[
            "fullreport",
            "--reportformat",
            "json",
            "--units",
            "b",
            "--nosuffix",
            "--configreport",
            "vg",
            "-o",
            "vg_name,vg_uuid,vg_size,vg_free",
            "--configreport",
            "lv",
            "-o",
            "lv_uuid,lv_name,lv_full_name,lv_path,lv_size,data_percent,metadata_percent,snap_percent,lv_attr,vg_name,origin,pool_lv,lv_tags",
            "--configreport",
            "pv",
            "-o",
            "pv_name,pv_uuid",
            "--configreport",
            "pvseg",
            "-o",
            "pvseg_start",
        ],
    ] {
        same(&fx, args);
    }
}

#[test]
fn not_found_names_fail_like_lvm2() {
    let fx = setup("report-cmds-missing");
    let plain = fx.devs[6].path_str().to_string();
    for args in [
        &["lvs", "vg1/nope", "vgdemo/linear"][..],
        &["lvs", "nope"],
        &["lvs", "nope/x", "vg1"],
        &["vgs", "nope", "vg1"],
        &["pvs", "/dev/nonexistent-oxlvm", fx.devs[5].path_str()],
        &["pvs", plain.as_str()],
        &["fullreport", "nope"],
    ] {
        same(&fx, args);
        let out = fx.sb.oxlvm(args);
        assert_eq!(out.status.code(), Some(5), "{args:?}");
        let lvm = fx.sb.lvm(args);
        // LVM2's own messages, apart from the line --driverloaded n adds.
        let want: Vec<String> = stderr(&lvm)
            .lines()
            .filter(|l| !l.contains("Activation disabled"))
            .map(str::to_string)
            .collect();
        let got: Vec<String> = stderr(&out).lines().map(str::to_string).collect();
        assert_eq!(got, want, "{args:?}");
    }
}

#[test]
fn display_and_scan_commands_match_lvm2() {
    let fx = setup("display-cmds");
    let orphan = fx.devs[5].path_str().to_string();
    let first = fx.devs[0].path_str().to_string();
    for args in [
        &["pvscan"][..],
        &["pvscan", "-s"],
        &["pvscan", "-n"],
        &["pvscan", "-u"],
        &["vgscan"],
        &["lvscan"],
        &["lvscan", "-a"],
        &["pvdisplay"],
        &["pvdisplay", "-c"],
        &["pvdisplay", "-s"],
        &["pvdisplay", "-m"],
        &["pvdisplay", orphan.as_str(), first.as_str()],
        &["vgdisplay"],
        &["vgdisplay", "-c"],
        &["vgdisplay", "-s"],
        &["vgdisplay", "vgdemo", "nope"],
        // -A: only VGs with active LVs (none without device-mapper); not with names.
        &["vgdisplay", "-A"],
        &["vgdisplay", "-A", "-c"],
        &["vgdisplay", "-A", "vgdemo"],
        &["lvdisplay"],
        &["lvdisplay", "-a"],
        &["lvdisplay", "-c"],
        &["lvdisplay", "-a", "-c"],
        &[
            "lvdisplay",
            "-m",
            "vg1/str",
            "vg1/ro",
            "vgdemo/linear",
            "vgdemo/striped",
        ],
        &["lvdisplay", "vg1/nope", "vgdemo/snap"],
        // Maps of every segment type, hidden LVs included.
        &["lvdisplay", "-a", "-m"],
        &["lvdisplay", "-m", "--units", "s", "vg1", "vg2"],
        &["vgdisplay", "-v"],
        &["vgdisplay", "-s", "--units", "b"],
        &["pvdisplay", "-m", "--units", "k"],
        &["pvscan", "--units", "b"],
        &["lvscan", "--units", "b"],
        // --select on the displays.
        &["pvdisplay", "-s", "-S", "vg_name=vg2"],
        &["pvdisplay", "-c", "-S", "pv_free=0"],
        &["pvdisplay", "-s", "-S", "lv_name=lin || pv_attr=~^-"],
        &[
            "pvdisplay",
            "-s",
            "-S",
            "pv_size<40m",
            orphan.as_str(),
            first.as_str(),
        ],
        &["vgdisplay", "-s", "-S", "lv_name=r5"],
        &["vgdisplay", "-S", "vg_tags=vt1"],
        &["lvdisplay", "-c", "-S", "lv_name=~^r"],
        &["lvdisplay", "-c", "-a", "-S", "lv_name=~^r", "vg2"],
        &["lvdisplay", "-S", "seg_type=raid5", "vg2", "vg1"],
        &["lvdisplay", "-c", "-S", "bogus=1"],
    ] {
        same(&fx, args);
    }
    for unit in [
        "b", "B", "s", "S", "k", "K", "m", "M", "g", "h", "H", "r", "R",
    ] {
        for cmd in ["pvdisplay", "vgdisplay", "lvdisplay"] {
            same(&fx, &[cmd, "--units", unit]);
        }
    }
}

#[test]
fn exported_vgs_report_as_lvm2() {
    let fx = setup("report-cmds-exported");
    lvm_ok(&fx.sb, &["vgexport", "vg2"]);
    for args in [
        &["pvs"][..],
        &["vgs", "-o", "+vg_attr"],
        &["lvs", "-a"],
        &["lvscan", "-a"],
        &["lvdisplay", "-c"],
        &["pvscan"],
        &["pvscan", "-e"],
        &["vgdisplay", "-c"],
        &["fullreport", "vg2"],
    ] {
        same(&fx, args);
    }
    // Named: LVM2's message, exit 5.
    for args in [&["lvs", "vg2"][..], &["lvdisplay", "vg2/r5"]] {
        same(&fx, args);
        let out = fx.sb.oxlvm(args);
        assert_eq!(out.status.code(), Some(5), "{args:?}");
        assert_eq!(stderr(&out), "  Volume group vg2 is exported\n", "{args:?}");
    }
}
