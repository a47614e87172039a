//! lvm.conf is written in the same language as metadata; the generic tree must read the forms
//! lvm.conf uses (commented sections, multi-line string arrays, top-level settings, octal
//! umasks, quoted and bare strings) and write them back readably.

use metadata_format::text::{emit_config, parse_config, Array, Scalar, Section, Value};

const LVM_CONF: &str = r#"# This is an example configuration file for the LVM2 system.
config {
	# Configuration option config/checks.
	checks = 1
	abort_on_errors = 0
	profile_dir = "/etc/lvm/profile"
}

devices {
	dir = "/dev"
	scan = [ "/dev" ]
	obtain_device_list_from_udev = 1
	# Accept every block device:
	filter = [ "a|^/dev/vd[a-f]$|",
	           "a|.*loop.*|",
	           "r|.*|" ]
	hints = "none"
	md_chunk_alignment = 1
	data_alignment_offset_detection = 1
}

global {
	umask = 077
	test = 0
	units = "r"
	si_unit_consistency = 1
	suffix = 1
	activation = 1
	proc = "/proc"
	etc = "/etc"
	locking_dir = '/run/lock/lvm'
	thin_check_options = [ "-q", "--clear-needs-check-flag" ]
}

activation {
	udev_sync = 0
	mirror_image_fault_policy = remove
	snapshot_autoextend_threshold = 100
	readahead = "auto"
	raid_fault_policy = "warn"
	vdo_pool_autoextend_percent = 20.5
}
backup { backup = 0 archive = 0 }
top_level_setting = "yes"
"#;

fn strings(value: Option<&Value<'_>>) -> Vec<String> {
    match value {
        Some(Value::Array(Array { elements, .. })) => elements
            .iter()
            .map(|e| e.as_str().expect("a string element").to_string())
            .collect(),
        other => panic!("not an array: {other:?}"),
    }
}

#[test]
fn reads_lvm_conf_forms() {
    let config = parse_config(LVM_CONF.as_bytes()).unwrap();
    assert_eq!(config.lookup("config/checks"), Some(&Value::Int(1)));
    assert_eq!(
        config.lookup("config/profile_dir"),
        Some(&Value::String("/etc/lvm/profile".into()))
    );
    assert_eq!(strings(config.lookup("devices/scan")), ["/dev"]);
    assert_eq!(
        strings(config.lookup("devices/filter")),
        ["a|^/dev/vd[a-f]$|", "a|.*loop.*|", "r|.*|"]
    );
    // A leading 0 is octal, as LVM2 reads umask.
    assert_eq!(config.lookup("global/umask"), Some(&Value::Int(0o77)));
    assert_eq!(
        config.lookup("global/locking_dir"),
        Some(&Value::String("/run/lock/lvm".into()))
    );
    assert_eq!(
        config.lookup("activation/mirror_image_fault_policy"),
        Some(&Value::String("remove".into()))
    );
    let percent = config
        .lookup("activation/vdo_pool_autoextend_percent")
        .unwrap();
    assert_eq!(percent, &Value::Float("20.5".into()));
    assert_eq!(percent.as_f64(), Some(20.5));
    assert_eq!(config.lookup("backup/archive"), Some(&Value::Int(0)));
    assert_eq!(config.get_str("top_level_setting"), Some("yes"));
    let devices = config.section("devices").unwrap();
    assert_eq!(
        devices.get("filter").unwrap().leading_comments(),
        [" Accept every block device:"]
    );
    assert_eq!(
        config.items[0].leading_comments(),
        [" This is an example configuration file for the LVM2 system."]
    );
}

#[test]
fn written_config_reads_back() {
    let config = parse_config(LVM_CONF.as_bytes()).unwrap();
    let written = emit_config(&config);
    let text = String::from_utf8(written.clone()).unwrap();
    assert!(text.contains("devices {\n\tdir = \"/dev\"\n"));
    assert!(text.contains("\tumask = 63\n"));
    assert_eq!(parse_config(&written).unwrap(), config);
}

#[test]
fn config_built_in_code_is_written_in_lvm2_style() {
    let mut backup = Section::new();
    backup.push_value("backup", Value::Int(0));
    backup.push_value("archive", Value::Int(0));
    let mut devices = Section::new();
    devices.push_value("hints", Value::String("none".into()));
    devices.push_value(
        "filter",
        Value::Array(Array::new(vec![
            Scalar::String("a|loop|".into()),
            Scalar::String("r|.*|".into()),
        ])),
    );
    let mut config = Section::new();
    config.push_section("backup", backup);
    config.push_section("devices", devices);
    assert_eq!(
        String::from_utf8(emit_config(&config)).unwrap(),
        "backup {\n\tbackup = 0\n\tarchive = 0\n}\ndevices {\n\thints = \"none\"\n\tfilter = [\"a|loop|\", \"r|.*|\"]\n}\n"
    );
}
