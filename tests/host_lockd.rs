//! Host tier: oxlvm as an lvmlockd client, against a scripted lvmlockd on a Unix socket
//! (`LVM_LVMLOCKD_SOCKET`, as LVM2 reads it), on loop devices without device-mapper. Each
//! command must send the requests LVM2 2.03.16 sends for it, in LVM2's order (the sequences
//! are those lvmlockd logged for LVM2 in the two-guest VM), write a shared VG's metadata as
//! LVM2 writes it (real LVM2 reads it back), refuse what LVM2 refuses with its words and
//! exit codes; and a VG with another host's system ID is visible but not usable.
//! The real daemons are exercised by the kernel tier (`tests/vm_shared.rs`).

mod common;
use common::*;
use metadata_format::text::{parse_metadata, ReadAhead, VolumeGroup};
use oxlvm::lockd::client::read_message;
use oxlvm::lockd::protocol::Reply;
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// One request as the fake daemon received it: its name and fields (numbers as text).
#[derive(Debug, Clone)]
struct Req {
    name: String,
    fields: BTreeMap<String, String>,
}

impl Req {
    fn get(&self, k: &str) -> &str {
        self.fields.get(k).map_or("", String::as_str)
    }

    /// `name` plus the fields that say what was asked (no pid).
    fn short(&self) -> String {
        let mut s = self.name.clone();
        for k in ["mode", "vg_name", "lv_name", "opts", "vg_lock_type"] {
            if let Some(v) = self.fields.get(k) {
                s.push_str(&format!(" {k}={v}"));
            }
        }
        s
    }
}

#[derive(Default)]
struct State {
    log: Vec<Req>,
    /// Lockspaces joined (vg names).
    started: HashSet<String>,
    /// A VG holds the global lock.
    gl: bool,
    next_lease: u64,
    /// LV uuids whose lock another host holds: lock_lv answers -EAGAIN.
    held_elsewhere: HashSet<String>,
    /// LV uuids this host holds sh (active -asy here): a transient ex lock_lv answers
    /// -EEXIST with SH_EXISTS, as lvmlockd does.
    sh_here: HashSet<String>,
    /// `refresh_lv` fails (a dlm refresh that did not reach every host).
    refresh_fails: bool,
    /// Answer `free_vg` with -EBUSY (another host is in the lockspace).
    others_in_lockspace: bool,
    /// `find_free_lock` answers -EMSGSIZE (the lvmlock LV is full) this many times.
    full: u32,
    /// LV uuids whose next `lock_lv` answers -EMSGSIZE (the lease is past the end of the
    /// lvmlock LV as active here: another host grew it).
    past_end: HashSet<String>,
    /// The lock manager `running_lm` reports (LVM2's numbers: 2 dlm, 3 sanlock, 4 idm);
    /// 0 means sanlock.
    running_lm: i64,
}

/// A scripted lvmlockd: enough of lvmlockd's answers for the client side to be exercised.
struct FakeLockd {
    socket: PathBuf,
    state: Arc<Mutex<State>>,
}

impl FakeLockd {
    fn start(sb: &Sandbox) -> FakeLockd {
        let socket = sb.dir.join("lvmlockd.socket");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).expect("bind fake lvmlockd");
        let state = Arc::new(Mutex::new(State::default()));
        let st = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let st = st.clone();
                std::thread::spawn(move || loop {
                    let Ok(body) = read_message(&mut conn) else {
                        return;
                    };
                    let parsed = Reply::parse(&body).expect("requests parse as config text");
                    let mut fields = BTreeMap::new();
                    for (k, v) in &parsed.fields {
                        let v = match v {
                            oxlvm::lockd::protocol::Value::Str(s) => s.clone(),
                            oxlvm::lockd::protocol::Value::Int(i) => i.to_string(),
                        };
                        fields.insert(k.clone(), v);
                    }
                    let req = Req {
                        name: fields.remove("request").unwrap_or_default(),
                        fields,
                    };
                    let reply = answer(&mut st.lock().unwrap(), req);
                    if conn.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                });
            }
        });
        FakeLockd { socket, state }
    }

    fn log(&self) -> Vec<Req> {
        self.state.lock().unwrap().log.clone()
    }

    /// The requests since the last call, short form.
    fn take(&self) -> Vec<String> {
        let mut st = self.state.lock().unwrap();
        st.log.drain(..).map(|r| r.short()).collect()
    }
}

fn answer(st: &mut State, req: Req) -> String {
    let ok = |result: i64, flags: &str, extra: &str| {
        format!(
            "response = \"OK\"\nop = 1\nlock_type = \"sanlock\"\nop_result = {result}\nlm_result = 0\nresult_flags = \"{}\"\n{extra}\n##\n",
            if flags.is_empty() { "none" } else { flags }
        )
    };
    let reply = match req.name.as_str() {
        "hello" => {
            return "response = \"OK\"\nresult = 0\nprotocol = \"lvmlockd\"\nversion = 1\n\n##\n"
                .to_string()
        }
        "running_lm" => ok(if st.running_lm == 0 { 3 } else { st.running_lm }, "", ""),
        "lock_gl" if req.get("mode") == "un" => ok(0, "", ""),
        "lock_gl" if !st.gl => ok(-210, "NO_LOCKSPACES,NO_GL_LS,", ""),
        "lock_vg" if !st.started.contains(req.get("vg_name")) => ok(
            -210,
            if st.started.is_empty() {
                "NO_LOCKSPACES,"
            } else {
                ""
            },
            "",
        ),
        "lock_lv" if req.get("mode") != "un" && st.held_elsewhere.contains(req.get("lv_uuid")) => {
            ok(-11, "", "")
        }
        "lock_lv"
            if req.get("mode") == "ex"
                && req.get("opts") != "persistent"
                && st.sh_here.contains(req.get("lv_uuid")) =>
        {
            ok(-17, "SH_EXISTS,", "")
        }
        // lvmlockd refreshes through dlm; with sanlock 2.03.16 answers success.
        "refresh_lv" if st.refresh_fails => ok(-111, "", ""),
        "find_free_lock" if st.full > 0 => {
            st.full -= 1;
            ok(-90, "", "")
        }
        "lock_lv" if st.past_end.remove(req.get("lv_uuid")) => ok(-90, "", ""),
        "init_vg" => {
            st.gl = true;
            ok(
                0,
                "",
                "vg_lock_args = \"1.0.0:lvmlock\"\nlv_lock_args = \"none\"\n",
            )
        }
        "init_lv" => {
            let offset = (67 + st.next_lease) << 20;
            st.next_lease += 1;
            ok(
                0,
                "",
                &format!("vg_lock_args = \"1.0.0:lvmlock\"\nlv_lock_args = \"1.0.0:{offset}\"\n"),
            )
        }
        "start_vg" => {
            st.started.insert(req.get("vg_name").to_string());
            ok(0, "", "")
        }
        "stop_vg" => {
            if st.started.remove(req.get("vg_name")) {
                ok(0, "", "")
            } else {
                ok(-210, "", "")
            }
        }
        "free_vg" if st.others_in_lockspace => ok(-16, "", ""),
        "free_vg" => {
            st.started.remove(req.get("vg_name"));
            st.gl = false;
            ok(0, "WARN_GL_REMOVED,", "")
        }
        _ => ok(0, "", ""),
    };
    st.log.push(req);
    reply
}

/// The sandbox's lvm.conf with `use_lvmlockd = 1` and an lvmlocal.conf with host_id 1.
fn use_lvmlockd(sb: &Sandbox) {
    let conf = sb.system_dir().join("lvm.conf");
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replacen("global {\n", "global {\n\tuse_lvmlockd = 1\n", 1),
    )
    .unwrap();
    std::fs::write(
        sb.system_dir().join("lvmlocal.conf"),
        "local {\n\thost_id = 1\n}\n",
    )
    .unwrap();
}

fn oxlvm(sb: &Sandbox, fake: &FakeLockd, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oxlvm"))
        .args(args)
        .env("LVM_SYSTEM_DIR", sb.system_dir())
        .env("LVM_LVMLOCKD_SOCKET", &fake.socket)
        .env("LVM_SUPPRESS_FD_WARNINGS", "1")
        .output()
        .expect("run oxlvm")
}

fn vg_on(sb: &Sandbox, dev: &LoopDev) -> VolumeGroup {
    let text = ok(sb.oxlvm(&["pvck", "--dump", "metadata", dev.path_str()]));
    parse_metadata(text.as_bytes()).expect("metadata parses").vg
}

#[track_caller]
fn refused(o: Output, lines: &[&str]) {
    assert_eq!(o.status.code(), Some(5), "{o:?}");
    let err = stderr(&o);
    for l in lines {
        assert!(err.contains(l), "stderr lacks {l:?}:\n{err}");
    }
}

#[test]
fn shared_vg_lifecycle_speaks_lvm2s_requests_in_lvm2s_order() {
    let (sb, devs) = sandbox_with("lockd-life", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    let dev = &devs[0];

    // vgcreate --shared: the first sanlock VG (no global lock yet), written local first,
    // then with the lvmlock LV, then with the lock type; its lockspace started.
    let out = ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vg", dev.path_str()],
    ));
    assert_eq!(
        out,
        format!(
            "  Enabling sanlock global lock\n  Physical volume \"{0}\" successfully created.\n  \
             Logical volume \"lvmlock\" created.\n  Volume group \"vg\" successfully created\n  \
             VG vg starting sanlock lockspace\n  Starting locking.  Waiting until locks are ready...\n",
            dev.path_str()
        )
    );
    assert_eq!(
        fake.take(),
        [
            "running_lm",
            "lock_gl mode=ex opts=none vg_lock_type=sanlock",
            "init_vg vg_name=vg opts=none vg_lock_type=sanlock",
            "vg_update vg_name=vg",
            "start_vg vg_name=vg opts=start_init vg_lock_type=sanlock",
            "lock_gl mode=un opts=none vg_lock_type=none",
            "start_wait",
        ]
    );
    let log = fake.log();
    let vg = vg_on(&sb, dev);
    // The metadata LVM2 writes for a sanlock VG (tests/fixtures/lvm2-2.03.16/shared/vg1.vg).
    assert_eq!(vg.seqno, 3);
    assert_eq!(vg.status, ["RESIZEABLE", "READ"]);
    assert_eq!(vg.flags, ["WRITE_LOCKED"]);
    assert_eq!(vg.lock_type.as_deref(), Some("sanlock"));
    assert_eq!(vg.lock_args.as_deref(), Some("1.0.0:lvmlock"));
    let lock_lv = vg.lv("lvmlock").expect("the lvmlock LV");
    assert_eq!(lock_lv.status, ["READ"]);
    assert_eq!(lock_lv.flags, ["WRITE_LOCKED"]);
    assert_eq!(lock_lv.rare.read_ahead, Some(ReadAhead::Disabled));
    assert_eq!(lock_lv.rare.lock_args, None);
    assert_eq!(lock_lv.extent_count(), 64);
    drop(log);
    // start_vg carries what lvmlockd needs to join: host_id, uuid, seqno.
    let _ = &fake;

    // Real LVM2 (without lvmlockd, --shared to see lockd VGs) reads the VG oxlvm made.
    let vgs = ok(sb.lvm(&[
        "vgs",
        "--shared",
        "--noheadings",
        "-o",
        "vg_name,vg_attr,vg_lock_type,vg_lock_args",
        "vg",
    ]));
    assert_eq!(
        vgs.split_whitespace().collect::<Vec<_>>(),
        ["vg", "wz--ns", "sanlock", "1.0.0:lvmlock"]
    );

    // lvcreate: VG lock ex, a free lease, the lease, the new seqno, then the new LV's lock
    // ex for its activation (LVM2 activates -aey in a shared VG).
    let out = oxlvm(&sb, &fake, &["lvcreate", "-L", "8M", "-n", "lv1", "vg"]);
    assert!(
        stdout(&out).contains("Logical volume \"lv1\" created."),
        "{out:?}"
    );
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vg opts=none vg_lock_type=none",
            "find_free_lock vg_name=vg",
            "init_lv vg_name=vg lv_name=lv1 vg_lock_type=sanlock",
            "vg_update vg_name=vg",
            "lock_lv mode=ex vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
        ]
    );
    let vg = vg_on(&sb, dev);
    let lv1 = vg.lv("lv1").unwrap();
    assert_eq!(lv1.rare.lock_args.as_deref(), Some("1.0.0:70254592"));
    assert_eq!(lv1.status, ["READ", "VISIBLE"]);
    assert_eq!(lv1.flags, ["WRITE_LOCKED"]);
    let lvs = ok(sb.lvm(&[
        "lvs",
        "--shared",
        "--noheadings",
        "-o",
        "lv_name,lv_lock_args",
        "vg/lv1",
    ]));
    assert_eq!(
        lvs.split_whitespace().collect::<Vec<_>>(),
        ["lv1", "1.0.0:70254592"]
    );
    let lvs = ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvs",
            "--noheadings",
            "-o",
            "lv_name,lv_lock_args",
            "vg/lv1",
        ],
    ));
    assert_eq!(
        lvs.split_whitespace().collect::<Vec<_>>(),
        ["lv1", "1.0.0:70254592"]
    );
    // oxlvm's own reports: the 's' attribute and the lock fields.
    let report = ok(oxlvm(
        &sb,
        &fake,
        &[
            "vgs",
            "--noheadings",
            "-o",
            "vg_attr,vg_lock_type,vg_lock_args",
            "vg",
        ],
    ));
    assert_eq!(
        report.split_whitespace().collect::<Vec<_>>(),
        ["wz--ns", "sanlock", "1.0.0:lvmlock"]
    );
    fake.take();

    // Activation: VG lock sh, the LV lock persistent; another host holding it refuses.
    let uuid = lv1.id.to_string();
    fake.state
        .lock()
        .unwrap()
        .held_elsewhere
        .insert(uuid.clone());
    let out = oxlvm(&sb, &fake, &["lvchange", "-aey", "vg/lv1"]);
    refused(
        out,
        &[
            "LV locked by other host: vg/lv1",
            "Failed to lock logical volume vg/lv1.",
        ],
    );
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=sh vg_name=vg opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
        ]
    );
    let out = oxlvm(&sb, &fake, &["vgchange", "-asy", "vg"]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert!(stderr(&out).contains("LV locked by other host: vg/lv1"));
    fake.take();
    fake.state.lock().unwrap().held_elsewhere.clear();
    ok(oxlvm(&sb, &fake, &["lvchange", "-asy", "vg/lv1"]));
    ok(oxlvm(&sb, &fake, &["lvchange", "-an", "vg/lv1"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=sh vg_name=vg opts=none vg_lock_type=none",
            "lock_lv mode=sh vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
            "lock_vg mode=sh vg_name=vg opts=none vg_lock_type=none",
            "lock_lv mode=un vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
        ]
    );

    // lvremove: the LV lock ex (not active elsewhere), then unlocked and its lease freed.
    ok(oxlvm(&sb, &fake, &["lvremove", "-y", "vg/lv1"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vg opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
            "lock_lv mode=un vg_name=vg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
            "free_lv vg_name=vg lv_name=lv1 vg_lock_type=sanlock",
            "vg_update vg_name=vg",
        ]
    );

    // lockstop / lockstart.
    ok(oxlvm(&sb, &fake, &["vgchange", "--lockstop", "vg"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=sh vg_name=vg opts=none vg_lock_type=none",
            "stop_vg vg_name=vg",
        ]
    );
    // Stopped: changes fail for want of the VG lock.
    refused(
        oxlvm(&sb, &fake, &["lvcreate", "-L", "4M", "-n", "lv2", "vg"]),
        &["Cannot access VG vg due to failed lock."],
    );
    fake.take();
    let out = ok(oxlvm(&sb, &fake, &["vgchange", "--lockstart", "vg"]));
    assert!(out.contains("VG vg starting sanlock lockspace"), "{out}");
    assert_eq!(
        fake.take(),
        [
            "lock_gl mode=sh opts=none vg_lock_type=none",
            "start_vg vg_name=vg opts=none vg_lock_type=sanlock",
            "lock_gl mode=un opts=none vg_lock_type=none",
            "start_wait",
        ]
    );
    let start = fake.log().into_iter().find(|r| r.name == "start_vg");
    drop(start);

    // vgremove: refused while another host is in the lockspace, then done.
    fake.state.lock().unwrap().others_in_lockspace = true;
    refused(
        oxlvm(&sb, &fake, &["vgremove", "-y", "vg"]),
        &["Lockspace for \"vg\" not stopped on other hosts"],
    );
    fake.state.lock().unwrap().others_in_lockspace = false;
    fake.take();
    let out = oxlvm(&sb, &fake, &["vgremove", "-y", "vg"]);
    assert!(out.status.success(), "{out:?}");
    assert!(stderr(&out).contains("VG vg held the sanlock global lock"));
    assert_eq!(
        fake.take(),
        [
            "lock_gl mode=ex opts=none vg_lock_type=none",
            "lock_vg mode=ex vg_name=vg opts=none vg_lock_type=none",
            "free_vg vg_name=vg vg_lock_type=sanlock",
        ]
    );
    assert!(sb.lvm(&["vgs", "--shared", "vg"]).status.code() == Some(5));
}

#[test]
fn start_vg_carries_host_id_uuid_and_seqno() {
    let (sb, devs) = sandbox_with("lockd-start", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgs1", devs[0].path_str()],
    ));
    let vg = vg_on(&sb, &devs[0]);
    let start = fake
        .log()
        .into_iter()
        .find(|r| r.name == "start_vg")
        .expect("start_vg sent");
    assert_eq!(start.get("host_id"), "1");
    assert_eq!(start.get("version"), "3");
    assert_eq!(start.get("vg_uuid"), vg.id.to_string());
    assert_eq!(start.get("vg_lock_args"), "1.0.0:lvmlock");
    let init = fake
        .log()
        .into_iter()
        .find(|r| r.name == "init_vg")
        .unwrap();
    assert_eq!(init.get("vg_lock_args"), "lvmlock");
    // Every request names this command and its pid.
    let gl = fake
        .log()
        .into_iter()
        .find(|r| r.name == "lock_gl")
        .unwrap();
    assert_eq!(gl.get("cmd"), "vgcreate");
    assert!(gl.get("pid").parse::<u32>().is_ok());
}

#[test]
fn shared_vgs_need_lvmlockd_and_lvm2_made_ones_are_read_alike() {
    let (sb, devs) = sandbox_with("lockd-none", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgn", devs[0].path_str()],
    ));
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-L", "8M", "-n", "lv1", "vgn"],
    ));
    let before = devs[0].hash();
    // Without lvmlockd (lvm.conf use_lvmlockd=0): LVM2's refusal, exit 5, nothing written.
    let off = ["--config", "global/use_lvmlockd=0"];
    for args in [
        &["lvcreate", "-L", "4M", "-n", "lv2", "vgn"][..],
        &["lvchange", "-ay", "vgn/lv1"][..],
        &["vgchange", "-ay", "vgn"][..],
        &["lvremove", "-y", "vgn/lv1"][..],
        &["vgchange", "--addtag", "t", "vgn"][..],
    ] {
        let mut a: Vec<&str> = args.to_vec();
        a.extend_from_slice(&off);
        refused(
            oxlvm(&sb, &fake, &a),
            &["Cannot access VG vgn with lock type sanlock that requires lvmlockd."],
        );
    }
    assert_eq!(devs[0].hash(), before);
    // vgcreate --shared without lvmlockd: LVM2's words, an invalid command line (3).
    let out = oxlvm(
        &sb,
        &fake,
        &[
            "vgcreate",
            "--shared",
            "vgx",
            "/dev/null",
            "--config",
            "global/use_lvmlockd=0",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out)
        .contains("Using a shared lock type requires lvmlockd (lvm.conf use_lvmlockd.)"));
    // --lockstart without lvmlockd.
    refused(
        oxlvm(
            &sb,
            &fake,
            &[
                "vgchange",
                "--lockstart",
                "vgn",
                "--config",
                "global/use_lvmlockd=0",
            ],
        ),
        &["Using lock start and lock stop requires lvmlockd."],
    );
}

#[test]
fn locktype_converts_a_local_vg_and_back() {
    let (sb, devs) = sandbox_with("lockd-type", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    // A local VG made while the global lock exists elsewhere.
    fake.state.lock().unwrap().gl = true;
    ok(oxlvm(&sb, &fake, &["vgcreate", "vgt", devs[0].path_str()]));
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-L", "8M", "-n", "lv1", "vgt"],
    ));
    assert_eq!(vg_on(&sb, &devs[0]).lv("lv1").unwrap().rare.lock_args, None);
    fake.take();
    let out = ok(oxlvm(
        &sb,
        &fake,
        &["vgchange", "--locktype", "sanlock", "vgt"],
    ));
    assert!(
        out.contains("Volume group \"vgt\" successfully changed"),
        "{out}"
    );
    let vg = vg_on(&sb, &devs[0]);
    assert_eq!(vg.lock_type.as_deref(), Some("sanlock"));
    // 256 MiB + one lease per LV that needs one.
    assert_eq!(
        vg.lv("lvmlock").unwrap().extent_count(),
        (257 * 1024) / 4096
    );
    assert_eq!(
        vg.lv("lv1").unwrap().rare.lock_args.as_deref(),
        Some("1.0.0:70254592")
    );
    assert_eq!(
        fake.take(),
        [
            "lock_gl mode=ex opts=none vg_lock_type=none",
            "lock_vg mode=ex vg_name=vgt opts=none vg_lock_type=none",
            "init_vg vg_name=vgt opts=none vg_lock_type=sanlock",
            "vg_update vg_name=vgt",
            // No find_free_lock: LVM2 looks for space (and grows lvmlock) in lvcreate only.
            "init_lv vg_name=vgt lv_name=lv1 vg_lock_type=sanlock",
            "vg_update vg_name=vgt",
        ]
    );
    // Back to none needs the lockspace (the VG lock ex): start it, then convert.
    ok(oxlvm(&sb, &fake, &["vgchange", "--lockstart", "vgt"]));
    fake.take();
    ok(oxlvm(
        &sb,
        &fake,
        &["vgchange", "--locktype", "none", "vgt"],
    ));
    let vg = vg_on(&sb, &devs[0]);
    assert_eq!(vg.lock_type, None);
    assert_eq!(vg.lock_args, None);
    assert!(vg.lv("lvmlock").is_none());
    assert_eq!(vg.lv("lv1").unwrap().rare.lock_args, None);
    assert_eq!(vg.status, ["RESIZEABLE", "READ", "WRITE"]);
    assert!(vg.flags.is_empty());
    assert_eq!(
        fake.take(),
        [
            "lock_gl mode=ex opts=none vg_lock_type=none",
            "lock_vg mode=ex vg_name=vgt opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgt lv_name=lv1 opts=none vg_lock_type=sanlock",
            "lock_lv mode=un vg_name=vgt lv_name=lv1 opts=none vg_lock_type=sanlock",
            "free_vg vg_name=vgt vg_lock_type=sanlock",
        ]
    );
    // LVM2 agrees it is a plain local VG again.
    let attr = ok(sb.lvm(&["vgs", "--noheadings", "-o", "vg_attr", "vgt"]));
    assert_eq!(attr.trim(), "wz--n-");
}

#[test]
fn a_vg_owned_by_another_host_is_visible_but_not_usable() {
    let (sb, devs) = sandbox_with("sysid", &[16]);
    let dev = &devs[0];
    let as_host = |id: &str| {
        format!("global {{ system_id_source = \"lvmlocal\" }} local {{ system_id = \"{id}\" }}")
    };
    // LVM2 on host B makes the VG (system ID hostB) and an LV in it.
    let b = as_host("hostB");
    ok(sb.lvm(&["vgcreate", "--config", &b, "vgf", dev.path_str()]));
    ok(sb.lvm(&[
        "lvcreate", "--config", &b, "-an", "-Zn", "-L", "4M", "-n", "lv1", "vgf",
    ]));
    let before = dev.hash();
    // oxlvm on host A: visible in reports, refused for changes and activation.
    let a = as_host("hostA");
    let vgs = ok(sb.oxlvm(&[
        "vgs",
        "--config",
        &a,
        "--noheadings",
        "-o",
        "vg_name,vg_systemid",
        "vgf",
    ]));
    assert_eq!(vgs.split_whitespace().collect::<Vec<_>>(), ["vgf", "hostB"]);
    let words = "Cannot access VG vgf with system ID hostB with local system ID hostA.";
    for args in [
        &["lvcreate", "-L", "4M", "-n", "lv2", "vgf"][..],
        &["lvchange", "-ay", "vgf/lv1"][..],
        &["vgchange", "-ay", "vgf"][..],
        &["vgchange", "--addtag", "x", "vgf"][..],
        &["lvremove", "-y", "vgf/lv1"][..],
        &["vgextend", "vgf", "/dev/null"][..],
    ] {
        let mut v: Vec<&str> = args.to_vec();
        v.extend_from_slice(&["--config", &a]);
        let out = sb.oxlvm(&v);
        assert_eq!(out.status.code(), Some(5), "{args:?}: {out:?}");
        assert!(stderr(&out).contains(words), "{args:?}: {}", stderr(&out));
    }
    // Without a system ID of its own a host cannot use it either.
    let out = sb.oxlvm(&["lvcreate", "-L", "4M", "-n", "lv2", "vgf"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(stderr(&out)
        .contains("Cannot access VG vgf with system ID hostB with unknown local system ID."));
    assert_eq!(dev.hash(), before);
    // Host B (and a host listing hostB in extra_system_ids) may; the LV oxlvm adds is
    // written WRITE_LOCKED, as LVM2 writes the one it made.
    let out = sb.oxlvm(&["lvcreate", "--config", &b, "-L", "4M", "-n", "lv2", "vgf"]);
    assert!(out.status.success(), "{out:?}");
    let vg = vg_on(&sb, dev);
    assert_eq!(vg.system_id.as_deref(), Some("hostB"));
    assert_eq!(vg.flags, ["WRITE_LOCKED"]);
    for lv in ["lv1", "lv2"] {
        assert_eq!(vg.lv(lv).unwrap().flags, ["WRITE_LOCKED"], "{lv}");
        assert_eq!(vg.lv(lv).unwrap().status, ["READ", "VISIBLE"], "{lv}");
    }
    let extra = "global { system_id_source = \"lvmlocal\" } local { system_id = \"hostC\" extra_system_ids = [ \"hostB\" ] }";
    ok(sb.oxlvm(&["lvremove", "-y", "--config", extra, "vgf/lv2"]));
    // LVM2 on host B reads what oxlvm wrote.
    let lvs = ok(sb.lvm(&[
        "lvs",
        "--config",
        &b,
        "--noheadings",
        "-o",
        "lv_name",
        "vgf",
    ]));
    assert_eq!(lvs.split_whitespace().collect::<Vec<_>>(), ["lv1"]);
}

#[test]
fn dlm_and_idm_are_refused_before_any_lock_or_write() {
    let (sb, devs) = sandbox_with("lockd-dlm", &[16, 16]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    fake.state.lock().unwrap().gl = true;
    // A local VG for vgchange, an unused device for vgcreate.
    ok(oxlvm(&sb, &fake, &["vgcreate", "vgl", devs[0].path_str()]));
    fake.take();
    let before: Vec<_> = devs.iter().map(|d| d.hash()).collect();
    let one_line = |o: &Output| {
        let err = stderr(o);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    };
    for t in ["dlm", "idm"] {
        // vgcreate --locktype T, with or without --shared.
        for shared in [false, true] {
            let mut a = vec!["vgcreate", "--locktype", t, "vgd", devs[1].path_str()];
            if shared {
                a.insert(1, "--shared");
            }
            let o = oxlvm(&sb, &fake, &a);
            refused(
                o.clone(),
                &[&format!(
                    "VG create failed: lock manager {t} is not supported by oxlvm; use sanlock."
                )],
            );
            one_line(&o);
        }
        // vgcreate --shared while lvmlockd runs dlm or idm: its answer decides the type.
        fake.state.lock().unwrap().running_lm = if t == "dlm" { 2 } else { 4 };
        let o = oxlvm(
            &sb,
            &fake,
            &["vgcreate", "--shared", "vgd", devs[1].path_str()],
        );
        refused(
            o.clone(),
            &[&format!("lock manager {t} is not supported by oxlvm")],
        );
        one_line(&o);
        assert_eq!(fake.take(), ["running_lm"]);
        fake.state.lock().unwrap().running_lm = 0;
        // vgchange --locktype T (also spelt --lock-type).
        for opt in ["--locktype", "--lock-type"] {
            let o = oxlvm(&sb, &fake, &["vgchange", opt, t, "vgl"]);
            refused(
                o.clone(),
                &[&format!(
                    "VG vgl lock type change failed: lock manager {t} is not supported by oxlvm; use sanlock."
                )],
            );
            one_line(&o);
        }
        assert!(fake.take().is_empty(), "no request for {t}");
        let after: Vec<_> = devs.iter().map(|d| d.hash()).collect();
        assert_eq!(after, before, "{t}: the devices changed");
    }
    // LVM2's argument checks stay syntax errors (exit 3).
    for (args, words) in [
        (
            &["vgcreate", "--locktype", "foo", "vgd", devs[1].path_str()][..],
            "Invalid argument for --locktype: foo",
        ),
        (
            &[
                "vgcreate",
                "--shared",
                "--locktype",
                "none",
                "vgd",
                devs[1].path_str(),
            ][..],
            "The --shared option requires lock type sanlock, dlm or idm.",
        ),
        (
            &["vgchange", "--locktype", "foo", "vgl"][..],
            "Invalid argument for --locktype: foo",
        ),
    ] {
        let o = oxlvm(&sb, &fake, args);
        assert_eq!(o.status.code(), Some(3), "{args:?}: {o:?}");
        assert!(stderr(&o).contains(words), "{args:?}: {}", stderr(&o));
    }
    let o = oxlvm(
        &sb,
        &fake,
        &[
            "vgcreate",
            "--locktype",
            "dlm",
            "vgd",
            devs[1].path_str(),
            "--config",
            "global/use_lvmlockd=0",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{o:?}");
    assert!(stderr(&o).contains("Using a shared lock type requires lvmlockd."));
    let after: Vec<_> = devs.iter().map(|d| d.hash()).collect();
    assert_eq!(after, before);
    // --locktype none is a local VG; --locktype sanlock is --shared.
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--locktype", "none", "vgd", devs[1].path_str()],
    ));
    assert_eq!(vg_on(&sb, &devs[1]).lock_type, None);
}

#[test]
fn a_full_lvmlock_lv_grows_by_sanlock_lv_extend_zeroed() {
    let (sb, devs) = sandbox_with("lockd-grow", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    let dev = &devs[0];
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgg", dev.path_str()],
    ));
    let vg = vg_on(&sb, dev);
    let pe_start = vg.pvs[0].pe_start * 512;
    let extent = u64::from(vg.extent_size) * 512;
    // The free extents after the lvmlock LV (PE 0-63) hold old bytes the extension must not
    // show to sanlock.
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(dev.path_str())
            .unwrap();
        f.write_all_at(&vec![0x5a; 4 * extent as usize], pe_start + 64 * extent)
            .unwrap();
        f.sync_all().unwrap();
    }
    fake.take();
    // lvmlockd finds no free lease: the lvmlock LV grows by global/sanlock_lv_extend MiB
    // (here 8: two extents) in a write of its own, then the new LV gets its lease there.
    fake.state.lock().unwrap().full = 1;
    let out = ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvcreate",
            "--config",
            "global/sanlock_lv_extend=8",
            "-L",
            "4M",
            "-n",
            "lv1",
            "vgg",
        ],
    ));
    assert!(
        out.contains("Zeroing 8 MiB on extended internal lvmlock LV..."),
        "{out}"
    );
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgg opts=none vg_lock_type=none",
            "find_free_lock vg_name=vgg",
            "vg_update vg_name=vgg",
            "init_lv vg_name=vgg lv_name=lv1 vg_lock_type=sanlock",
            "vg_update vg_name=vgg",
            "lock_lv mode=ex vg_name=vgg lv_name=lv1 opts=persistent vg_lock_type=sanlock",
        ]
    );
    let grown = vg_on(&sb, dev);
    assert_eq!(
        grown.seqno,
        vg.seqno + 2,
        "the extension is a write of its own"
    );
    let lock_lv = grown.lv("lvmlock").unwrap();
    assert_eq!(lock_lv.extent_count(), 66);
    assert_eq!(lock_lv.status, ["READ"]);
    // The new extents (PE 64, 65) were zeroed; lv1 (PE 66) was not touched by it.
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(dev.path_str()).unwrap();
        let mut buf = vec![0u8; 3 * extent as usize];
        f.read_exact_at(&mut buf, pe_start + 64 * extent).unwrap();
        let (new, after) = buf.split_at(2 * extent as usize);
        assert!(new.iter().all(|b| *b == 0), "the extension was not zeroed");
        assert!(
            after.iter().all(|b| *b == 0x5a),
            "zeroing went past the extension"
        );
    }
    // LVM2 reads the grown VG.
    let lvs = ok(sb.lvm(&[
        "lvs",
        "--shared",
        "-a",
        "--noheadings",
        "--units",
        "m",
        "-o",
        "lv_name,lv_size",
        "vgg/lvmlock",
    ]));
    assert_eq!(
        lvs.split_whitespace().collect::<Vec<_>>(),
        ["[lvmlock]", "264.00m"]
    );

    // With room, no growth; with sanlock_lv_extend=0 no question at all (LVM2 leaves the
    // lvmlock LV to be extended by hand then).
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-an", "-L", "4M", "-n", "lv2", "vgg"],
    ));
    ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvcreate",
            "--config",
            "global/sanlock_lv_extend=0",
            "-an",
            "-L",
            "4M",
            "-n",
            "lv3",
            "vgg",
        ],
    ));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgg opts=none vg_lock_type=none",
            "find_free_lock vg_name=vgg",
            "init_lv vg_name=vgg lv_name=lv2 vg_lock_type=sanlock",
            "vg_update vg_name=vgg",
            "lock_vg mode=ex vg_name=vgg opts=none vg_lock_type=none",
            "init_lv vg_name=vgg lv_name=lv3 vg_lock_type=sanlock",
            "vg_update vg_name=vgg",
        ]
    );
    assert_eq!(vg_on(&sb, dev).lv("lvmlock").unwrap().extent_count(), 66);

    // Another host grew the lvmlock LV and gave lv2 a lease in the new space: the lock
    // request answers -EMSGSIZE until the lvmlock LV is reloaded here, then it is asked again.
    let uuid = vg_on(&sb, dev).lv("lv2").unwrap().id.to_string();
    fake.state.lock().unwrap().past_end.insert(uuid);
    ok(oxlvm(&sb, &fake, &["lvchange", "-aey", "vgg/lv2"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=sh vg_name=vgg opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgg lv_name=lv2 opts=persistent vg_lock_type=sanlock",
            "lock_lv mode=ex vg_name=vgg lv_name=lv2 opts=persistent vg_lock_type=sanlock",
        ]
    );

    // No free space for the extension: refused with LVM2's words, nothing written.
    let before = dev.hash();
    fake.state.lock().unwrap().full = 1;
    let o = oxlvm(
        &sb,
        &fake,
        &[
            "lvcreate",
            "--config",
            "global/sanlock_lv_extend=4096",
            "-L",
            "4M",
            "-n",
            "lv4",
            "vgg",
        ],
    );
    refused(
        o,
        &["No space for sanlock lock, extend the internal lvmlock LV."],
    );
    assert_eq!(dev.hash(), before);
}

#[test]
fn thin_lvs_lock_their_pool_and_creating_one_needs_the_pool_lock() {
    let (sb, devs) = sandbox_with("lockd-thin", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    let dev = &devs[0];
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgt", dev.path_str()],
    ));
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-an", "-T", "-L", "8M", "vgt/pool"],
    ));
    let vg = vg_on(&sb, dev);
    // The pool owns a lease; its hidden sub-LVs do not.
    let pool = vg.lv("pool").unwrap();
    assert!(pool
        .rare
        .lock_args
        .as_deref()
        .is_some_and(|a| a.starts_with("1.0.0:")));
    for sub in ["pool_tdata", "pool_tmeta"] {
        assert_eq!(vg.lv(sub).unwrap().rare.lock_args, None, "{sub}");
    }
    let pool_uuid = pool.id.to_string();
    fake.take();

    // The pool is active on another host: a thin LV cannot be made in it.
    fake.state
        .lock()
        .unwrap()
        .held_elsewhere
        .insert(pool_uuid.clone());
    let before = dev.hash();
    refused(
        oxlvm(
            &sb,
            &fake,
            &[
                "lvcreate", "-an", "-V", "8M", "-T", "vgt/pool", "-n", "thin1",
            ],
        ),
        &[
            "LV locked by other host: vgt/pool",
            "Failed to lock thin pool vgt/pool.",
        ],
    );
    assert_eq!(dev.hash(), before);
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgt opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgt lv_name=pool opts=persistent vg_lock_type=sanlock",
        ]
    );
    fake.state.lock().unwrap().held_elsewhere.clear();

    // Free: the pool's lock is taken, the thin LV made without a lease of its own, and the
    // lock dropped again (the pool is not active here).
    ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvcreate", "-an", "-V", "8M", "-T", "vgt/pool", "-n", "thin1",
        ],
    ));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgt opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgt lv_name=pool opts=persistent vg_lock_type=sanlock",
            "vg_update vg_name=vgt",
            "lock_lv mode=un vg_name=vgt lv_name=pool opts=persistent vg_lock_type=sanlock",
        ]
    );
    let vg = vg_on(&sb, dev);
    assert_eq!(vg.lv("thin1").unwrap().rare.lock_args, None);
    // LVM2 reads it as a thin LV without lock args in a sanlock VG.
    let lvs = ok(sb.lvm(&[
        "lvs",
        "--shared",
        "--noheadings",
        "-o",
        "lv_name,pool_lv,lv_lock_args",
        "vgt/thin1",
    ]));
    assert_eq!(
        lvs.split_whitespace().collect::<Vec<_>>(),
        ["thin1", "pool"]
    );

    // Activating a thin LV locks its pool, exclusively: shared activation is refused, and
    // the pool held elsewhere refuses it naming the pool.
    ok(oxlvm(&sb, &fake, &["lvchange", "-aey", "vgt/thin1"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=sh vg_name=vgt opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgt lv_name=pool opts=persistent vg_lock_type=sanlock",
        ]
    );
    refused(
        oxlvm(&sb, &fake, &["lvchange", "-asy", "vgt/thin1"]),
        &["Shared activation not compatible with LV type thin of vgt/thin1"],
    );
    fake.state.lock().unwrap().held_elsewhere.insert(pool_uuid);
    refused(
        oxlvm(&sb, &fake, &["lvchange", "-aey", "vgt/thin1"]),
        &["LV locked by other host: vgt/pool"],
    );
}

/// Every command that changes an LV takes LVM2's LV lock first: lvextend/lvreduce/lvresize,
/// lvrename, lvconvert, lvcreate -s (the origin's), vgexport (all) ex and transient, lvremove
/// and pvmove ex persistent. An LV active on another host is refused with LVM2's words, exit
/// 5, nothing written; one active here shared is "already locked with incompatible mode",
/// unless an extend is told `--lockopt shupdate`. lvchange of properties takes no LV lock
/// (LVM2: a VG metadata change that does not conflict with the LV active elsewhere).
#[test]
fn lv_changes_take_lvm2s_lv_locks() {
    let (sb, devs) = sandbox_with("lockd-change", &[400, 64]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    let dev = &devs[0];
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgc", dev.path_str()],
    ));
    for lv in ["lv1", "data", "meta"] {
        ok(oxlvm(
            &sb,
            &fake,
            &["lvcreate", "-an", "-L", "8M", "-n", lv, "vgc"],
        ));
    }
    let vg = vg_on(&sb, dev);
    let uuid = |n: &str| vg.lv(n).unwrap().id.to_string();
    let lv1 = uuid("lv1");
    fake.take();

    // lv1 active on another host: each change refused, nothing written.
    fake.state
        .lock()
        .unwrap()
        .held_elsewhere
        .insert(lv1.clone());
    let before = dev.hash();
    let transient = "lock_lv mode=ex vg_name=vgc lv_name=lv1 opts=none vg_lock_type=sanlock";
    let persistent = "lock_lv mode=ex vg_name=vgc lv_name=lv1 opts=persistent vg_lock_type=sanlock";
    for (args, lines, lock) in [
        (
            &["lvextend", "-L", "+4M", "vgc/lv1"][..],
            &[][..],
            transient,
        ),
        (
            &["lvreduce", "-y", "-L", "-4M", "vgc/lv1"][..],
            &[][..],
            transient,
        ),
        (
            &["lvresize", "-L", "12M", "vgc/lv1"][..],
            &[][..],
            transient,
        ),
        (&["lvrename", "vgc", "lv1", "lvx"][..], &[][..], transient),
        (&["lvremove", "-y", "vgc/lv1"][..], &[][..], persistent),
        (
            &["lvcreate", "-s", "-L", "4M", "-n", "snap", "vgc/lv1"][..],
            &["Failed to lock origin LV vgc/lv1"][..],
            transient,
        ),
        (
            &["lvconvert", "-y", "-m", "1", "vgc/lv1"][..],
            &[][..],
            transient,
        ),
        (
            &[
                "lvconvert",
                "-y",
                "--type",
                "thin-pool",
                "--poolmetadata",
                "vgc/meta",
                "vgc/lv1",
            ][..],
            &[][..],
            transient,
        ),
        (
            &["vgexport", "vgc"][..],
            &["LV vgc/vgc/lv1 must be inactive on all hosts before vgexport."][..],
            transient,
        ),
        (
            &["pvmove", "-n", "lv1", dev.path_str()][..],
            &["pvmove in a shared VG requires exclusive lock on named LV."][..],
            persistent,
        ),
    ] {
        let out = oxlvm(&sb, &fake, args);
        let mut want = vec!["LV locked by other host: vgc/lv1"];
        want.extend_from_slice(lines);
        refused(out, &want);
        let sent = fake.take();
        assert!(sent.iter().any(|r| r == lock), "{args:?}: {sent:?}");
        assert!(
            !sent
                .iter()
                .any(|r| r.starts_with("init_lv") || r.starts_with("vg_update")),
            "{args:?} wrote: {sent:?}"
        );
        assert_eq!(dev.hash(), before, "{args:?} changed the disk");
    }
    // LVM2 moves nothing with lvmlockd but without lvmpolld.
    refused(
        oxlvm(
            &sb,
            &fake,
            &[
                "pvmove",
                "--config",
                "global/use_lvmpolld=0",
                "-n",
                "lv1",
                dev.path_str(),
            ],
        ),
        &["Enable lvmpolld when using lvmlockd."],
    );
    // pvmove needs a named LV in a shared VG.
    refused(
        oxlvm(&sb, &fake, &["pvmove", dev.path_str()]),
        &["pvmove in a shared VG requires a named LV."],
    );
    // LVM2 refuses these outright in a shared VG.
    ok(oxlvm(&sb, &fake, &["vgcreate", "vgm", devs[1].path_str()]));
    refused(
        oxlvm(&sb, &fake, &["vgmerge", "vgm", "vgc"]),
        &["vgmerge not allowed for lock_type sanlock"],
    );
    fake.take();
    // lvchange of properties takes no LV lock (LVM2's choice), even with lv1 active elsewhere.
    ok(oxlvm(
        &sb,
        &fake,
        &["lvchange", "--addtag", "t1", "vgc/lv1"],
    ));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgc opts=none vg_lock_type=none",
            "vg_update vg_name=vgc"
        ]
    );

    // Active here shared: an ex change is refused; an extend with --lockopt shupdate goes on
    // with LVM2's warning, then asks lvmlockd to refresh the other hosts (dlm only: with
    // sanlock the answer is a failure, and LVM2 says to refresh by hand, exit 5).
    {
        let mut st = fake.state.lock().unwrap();
        st.held_elsewhere.clear();
        st.sh_here.insert(lv1.clone());
    }
    let before = dev.hash();
    refused(
        oxlvm(&sb, &fake, &["lvextend", "-L", "+4M", "vgc/lv1"]),
        &["LV is already locked with incompatible mode: vgc/lv1"],
    );
    assert_eq!(dev.hash(), before);
    fake.take();
    let out = ok(oxlvm(
        &sb,
        &fake,
        &["lvextend", "--lockopt", "shupdate", "-L", "+4M", "vgc/lv1"],
    ));
    assert!(out.contains("Logical volume vgc/lv1 successfully resized."));
    let sent = fake.take();
    assert!(sent.iter().any(|r| r == "refresh_lv opts=none"), "{sent:?}");
    assert_eq!(vg_on(&sb, dev).lv("lv1").unwrap().extent_count(), 3);
    // A refresh lvmlockd could not do: LVM2's two lines, exit 5, the resize stays.
    fake.state.lock().unwrap().refresh_fails = true;
    let out = oxlvm(
        &sb,
        &fake,
        &["lvextend", "--lockopt", "shupdate", "-L", "+4M", "vgc/lv1"],
    );
    refused(
        out.clone(),
        &[
            "WARNING: extending LV with a shared lock, other hosts may require LV refresh.",
            // LVM2's dev_dir "/dev/" joined with "/vgc/lv1".
            "Refreshing LV /dev//vgc/lv1 on other hosts...",
            "Failed to refresh LV on all hosts.",
            "Manual lvchange --refresh required on all hosts for /dev//vgc/lv1.",
        ],
    );
    assert!(stdout(&out).contains("Logical volume vgc/lv1 successfully resized."));
    assert_eq!(vg_on(&sb, dev).lv("lv1").unwrap().extent_count(), 4);
    let refresh = fake
        .log()
        .into_iter()
        .rev()
        .find(|r| r.name == "refresh_lv")
        .expect("refresh_lv sent");
    assert_eq!(refresh.get("path"), "/dev//vgc/lv1");
    assert_eq!(refresh.get("lv_uuid"), lv1);
    fake.state.lock().unwrap().refresh_fails = false;
    fake.take();
    // norefresh: no refresh asked for, success.
    ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvextend",
            "--lockopt",
            "shupdate,norefresh",
            "-L",
            "+4M",
            "vgc/lv1",
        ],
    ));
    assert!(!fake.take().iter().any(|r| r.starts_with("refresh_lv")));
    fake.state.lock().unwrap().sh_here.clear();

    // Free everywhere: each change takes its lock and goes on.
    ok(oxlvm(&sb, &fake, &["lvextend", "-L", "+4M", "vgc/lv1"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgc opts=none vg_lock_type=none",
            transient,
            "vg_update vg_name=vgc",
        ]
    );
    ok(oxlvm(&sb, &fake, &["lvrename", "vgc", "lv1", "lvr"]));
    assert_eq!(
        fake.take(),
        [
            "lock_vg mode=ex vg_name=vgc opts=none vg_lock_type=none",
            transient,
            "vg_update vg_name=vgc",
        ]
    );
    // A COW snapshot: the origin's lock; the snapshot gets no lease of its own.
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-an", "-s", "-L", "4M", "-n", "snap", "vgc/lvr"],
    ));
    let sent = fake.take();
    assert!(
        sent.contains(
            &"lock_lv mode=ex vg_name=vgc lv_name=lvr opts=none vg_lock_type=sanlock".to_string()
        ),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|r| r.starts_with("init_lv")), "{sent:?}");
    // Resizing the snapshot locks its origin (LVM2's lv_lock_holder).
    ok(oxlvm(&sb, &fake, &["lvextend", "-L", "+4M", "vgc/snap"]));
    let sent = fake.take();
    assert!(
        sent.contains(
            &"lock_lv mode=ex vg_name=vgc lv_name=lvr opts=none vg_lock_type=sanlock".to_string()
        ),
        "{sent:?}"
    );
    // --splitsnapshot and -s ORIGIN COW: LVM2 refuses them in a shared VG.
    let before = dev.hash();
    refused(
        oxlvm(&sb, &fake, &["lvconvert", "--splitsnapshot", "vgc/snap"]),
        &["Unable to split snapshots in VG with lock_type sanlock."],
    );
    refused(
        oxlvm(
            &sb,
            &fake,
            &["lvconvert", "-y", "-s", "vgc/lvr", "vgc/data"],
        ),
        &["Unable to combine split snapshots in VG with lock_type sanlock"],
    );
    assert_eq!(dev.hash(), before);
    ok(oxlvm(&sb, &fake, &["lvremove", "-y", "vgc/snap"]));
    fake.take();

    // lvconvert to a thin pool: both LVs locked, the pool gets a new lease, the two LVs lose
    // theirs (unlocked and freed after the write), as LVM2 does.
    let (data_args, meta_args) = {
        let vg = vg_on(&sb, dev);
        (
            vg.lv("data").unwrap().rare.lock_args.clone().unwrap(),
            vg.lv("meta").unwrap().rare.lock_args.clone().unwrap(),
        )
    };
    ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvconvert",
            "-y",
            "--type",
            "thin-pool",
            "--poolmetadata",
            "vgc/meta",
            "vgc/data",
        ],
    ));
    let sent = fake.take();
    assert_eq!(
        sent,
        [
            "lock_vg mode=ex vg_name=vgc opts=none vg_lock_type=none",
            "lock_lv mode=ex vg_name=vgc lv_name=data opts=none vg_lock_type=sanlock",
            "lock_lv mode=ex vg_name=vgc lv_name=meta opts=none vg_lock_type=sanlock",
            "init_lv vg_name=vgc lv_name=data vg_lock_type=sanlock",
            "lock_lv mode=un vg_name=vgc lv_name=data opts=persistent vg_lock_type=sanlock",
            "free_lv vg_name=vgc lv_name=data vg_lock_type=sanlock",
            "lock_lv mode=un vg_name=vgc lv_name=meta opts=persistent vg_lock_type=sanlock",
            "free_lv vg_name=vgc lv_name=meta vg_lock_type=sanlock",
            "vg_update vg_name=vgc",
        ]
    );
    let freed: Vec<String> = fake
        .log()
        .iter()
        .filter(|r| r.name == "free_lv")
        .map(|r| r.get("lv_lock_args").to_string())
        .collect();
    drop(freed);
    let vg = vg_on(&sb, dev);
    assert!(vg
        .lv("data")
        .unwrap()
        .rare
        .lock_args
        .as_deref()
        .is_some_and(|a| a.starts_with("1.0.0:")));
    assert_eq!(vg.lv("data_tdata").unwrap().rare.lock_args, None);
    assert_eq!(vg.lv("data_tmeta").unwrap().rare.lock_args, None);
    let _ = (data_args, meta_args);

    // vgexport of a shared VG: every LV with a lock ex and back (transient), then exported.
    fake.take();
    ok(oxlvm(&sb, &fake, &["vgexport", "vgc"]));
    let sent = fake.take();
    for lv in ["lvr", "data"] {
        for m in ["ex", "un"] {
            let r =
                format!("lock_lv mode={m} vg_name=vgc lv_name={lv} opts=none vg_lock_type=sanlock");
            assert!(sent.contains(&r), "{r}: {sent:?}");
        }
    }
}

/// Snapshots and resizes of thin LVs lock the pool, as LVM2: a thin snapshot (persistent, the
/// pool's lock as for any thin lvcreate), a COW snapshot of a thin origin and lvextend of a
/// thin LV (transient, through the thin LV to its pool). With the pool active on another
/// host each is refused naming the pool, nothing written.
#[test]
fn thin_snapshots_and_resizes_lock_the_pool() {
    let (sb, devs) = sandbox_with("lockd-thinsnap", &[300]);
    use_lvmlockd(&sb);
    let fake = FakeLockd::start(&sb);
    let dev = &devs[0];
    ok(oxlvm(
        &sb,
        &fake,
        &["vgcreate", "--shared", "vgs", dev.path_str()],
    ));
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-an", "-T", "-L", "8M", "vgs/pool"],
    ));
    ok(oxlvm(
        &sb,
        &fake,
        &[
            "lvcreate", "-an", "-V", "8M", "-T", "vgs/pool", "-n", "thin1",
        ],
    ));
    let pool_uuid = vg_on(&sb, dev).lv("pool").unwrap().id.to_string();
    fake.take();
    fake.state.lock().unwrap().held_elsewhere.insert(pool_uuid);
    let before = dev.hash();
    let persistent =
        "lock_lv mode=ex vg_name=vgs lv_name=pool opts=persistent vg_lock_type=sanlock";
    let transient = "lock_lv mode=ex vg_name=vgs lv_name=pool opts=none vg_lock_type=sanlock";
    for (args, extra, lock) in [
        (
            &["lvcreate", "-s", "-n", "tsnap", "vgs/thin1"][..],
            "Failed to lock thin pool vgs/pool.",
            persistent,
        ),
        (
            &["lvcreate", "-s", "-L", "4M", "-n", "cow", "vgs/thin1"][..],
            "Failed to lock origin LV vgs/thin1",
            transient,
        ),
        (&["lvextend", "-L", "+4M", "vgs/thin1"][..], "", transient),
        (&["lvextend", "-L", "+4M", "vgs/pool"][..], "", transient),
    ] {
        let out = oxlvm(&sb, &fake, args);
        refused(out, &["LV locked by other host: vgs/pool", extra]);
        let sent = fake.take();
        assert!(sent.iter().any(|r| r == lock), "{args:?}: {sent:?}");
        assert_eq!(dev.hash(), before, "{args:?} changed the disk");
    }
    // Free: the thin snapshot and the extend go through.
    fake.state.lock().unwrap().held_elsewhere.clear();
    ok(oxlvm(
        &sb,
        &fake,
        &["lvcreate", "-s", "-n", "tsnap", "vgs/thin1"],
    ));
    ok(oxlvm(&sb, &fake, &["lvextend", "-L", "+4M", "vgs/thin1"]));
    let vg = vg_on(&sb, dev);
    assert_eq!(vg.lv("tsnap").unwrap().rare.lock_args, None);
    assert_eq!(vg.lv("thin1").unwrap().extent_count(), 3);
}
