//! LVM2's daemon protocol as lvmlockd speaks it (libdaemon): a request is a config-format text,
//! `key="string"` or `key=number` one per line, the first line naming the request; a reply is
//! the same format (`response = "OK"`, `op_result = N`, ...). Each message ends with `\n##\n`.
//! Pure encoding and decoding; the socket is in `client`.

use metadata_format::text::{parse_config, Value as ConfigValue};

/// What ends every message in both directions.
pub const TERMINATOR: &[u8] = b"\n##\n";

/// A field value: libdaemon's `%s` (quoted) and `FMTd64` (bare) forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Int(i64),
}

/// A request as LVM2's client builds it (`daemon_request_make` + `daemon_request_extend`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub name: String,
    pub fields: Vec<(String, Value)>,
}

impl Request {
    pub fn new(name: &str) -> Request {
        Request {
            name: name.to_string(),
            fields: Vec::new(),
        }
    }

    pub fn str(mut self, key: &str, value: &str) -> Request {
        self.fields
            .push((key.to_string(), Value::Str(value.to_string())));
        self
    }

    pub fn int(mut self, key: &str, value: i64) -> Request {
        self.fields.push((key.to_string(), Value::Int(value)));
        self
    }

    /// A string field whose absence LVM2 sends as `"none"`.
    pub fn str_or_none(self, key: &str, value: Option<&str>) -> Request {
        self.str(key, value.unwrap_or("none"))
    }

    /// The bytes on the wire, terminator included: libdm writes the tree as `key=value` lines
    /// (no spaces), strings double-quoted with `"` and `\` escaped, then libdaemon adds
    /// `\n##\n`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        push_field(&mut out, "request", &Value::Str(self.name.clone()));
        for (k, v) in &self.fields {
            push_field(&mut out, k, v);
        }
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(TERMINATOR);
        bytes
    }

    /// The opening `hello`, which libdaemon formats by hand (`daemon_send_simple`).
    pub fn hello() -> Vec<u8> {
        let mut bytes = b"request = \"hello\"\n".to_vec();
        bytes.extend_from_slice(TERMINATOR);
        bytes
    }
}

fn push_field(out: &mut String, key: &str, value: &Value) {
    out.push_str(key);
    out.push('=');
    match value {
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Str(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    out.push('\n');
}

/// A decoded reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    pub fields: Vec<(String, Value)>,
}

impl Reply {
    /// Parses one message body (terminator already removed, or still there).
    pub fn parse(bytes: &[u8]) -> Result<Reply, String> {
        let body = bytes.strip_suffix(TERMINATOR).unwrap_or(bytes);
        let section = parse_config(body).map_err(|e| format!("bad reply from lvmlockd: {e}"))?;
        let mut fields = Vec::new();
        for item in &section.items {
            let Some(value) = section.lookup(&item.key) else {
                continue;
            };
            let value = match value {
                ConfigValue::Int(i) => Value::Int(*i),
                ConfigValue::String(s) => Value::Str(s.to_string()),
                _ => continue,
            };
            fields.push((item.key.to_string(), value));
        }
        Ok(Reply { fields })
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Str(s) if k == key => Some(s.as_str()),
            _ => None,
        })
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.fields.iter().find_map(|(k, v)| match v {
            Value::Int(i) if k == key => Some(*i),
            _ => None,
        })
    }

    /// `response = "OK"`.
    pub fn is_ok(&self) -> bool {
        self.str("response") == Some("OK")
    }

    /// The lock operation's result (0 or a negative errno / lvmlockd code), as `_lockd_result`
    /// reads it: None when the reply is not OK or carries none.
    pub fn op_result(&self) -> Option<i32> {
        if !self.is_ok() {
            return None;
        }
        self.int("op_result").and_then(|r| i32::try_from(r).ok())
    }

    pub fn flags(&self) -> ResultFlags {
        ResultFlags::parse(self.str("result_flags").unwrap_or(""))
    }
}

/// The `result_flags` lvmlockd adds to a reply (comma-separated words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResultFlags {
    pub no_lockspaces: bool,
    pub no_gl_ls: bool,
    pub no_lm: bool,
    pub dup_gl_ls: bool,
    pub warn_gl_removed: bool,
    pub sh_exists: bool,
}

impl ResultFlags {
    /// LVM2 looks for each word as a substring, so does this.
    pub fn parse(text: &str) -> ResultFlags {
        ResultFlags {
            no_lockspaces: text.contains("NO_LOCKSPACES"),
            no_gl_ls: text.contains("NO_GL_LS"),
            no_lm: text.contains("NO_LM"),
            dup_gl_ls: text.contains("DUP_GL_LS"),
            warn_gl_removed: text.contains("WARN_GL_REMOVED"),
            sh_exists: text.contains("SH_EXISTS"),
        }
    }
}

/// The result codes lvmlockd returns besides negative errnos (lvmlockd-client.h).
pub mod code {
    pub const ENOLS: i32 = 210;
    pub const ESTARTING: i32 = 211;
    pub const EARGS: i32 = 212;
    pub const EHOSTID: i32 = 213;
    pub const EMANAGER: i32 = 214;
    pub const EPREPARE: i32 = 215;
    pub const ELOCKD: i32 = 216;
    pub const EVGKILLED: i32 = 217;
    pub const ELOCKIO: i32 = 218;
    pub const EREMOVED: i32 = 219;
    pub const EDEVOPEN: i32 = 220;
    pub const ELMERR: i32 = 221;
    pub const EORPHAN: i32 = 222;
    pub const EIOTIMEOUT: i32 = 225;
    // The Linux errnos lvmlockd returns.
    pub const ENOENT: i32 = 2;
    pub const EAGAIN: i32 = 11;
    pub const EBUSY: i32 = 16;
    pub const EEXIST: i32 = 17;
    pub const ENOLCK: i32 = 37;
    pub const EXFULL: i32 = 54;
    pub const EMSGSIZE: i32 = 90;
    pub const EPROTONOSUPPORT: i32 = 93;
    pub const EALREADY: i32 = 114;
}

/// `running_lm` results: LVM2's lock type numbers.
pub const LOCK_TYPE_DLM: i32 = 2;
pub const LOCK_TYPE_SANLOCK: i32 = 3;
pub const LOCK_TYPE_IDM: i32 = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_written_as_lvm2_writes_them() {
        let r = Request::new("lock_lv")
            .str("cmd", "lvchange")
            .int("pid", 313)
            .str("mode", "ex")
            .str_or_none("opts", Some("persistent"))
            .str("vg_name", "vg1")
            .str("lv_name", "lv1")
            .str("lv_uuid", "ckbolv-tI2r-iaXn-Tzn5-1yro-b1tc-czhgji")
            .str("vg_lock_type", "sanlock")
            .str("vg_lock_args", "1.0.0:lvmlock")
            .str_or_none("lv_lock_args", Some("1.0.0:70254592"));
        assert_eq!(
            String::from_utf8(r.encode()).unwrap(),
            "request=\"lock_lv\"\ncmd=\"lvchange\"\npid=313\nmode=\"ex\"\nopts=\"persistent\"\n\
             vg_name=\"vg1\"\nlv_name=\"lv1\"\nlv_uuid=\"ckbolv-tI2r-iaXn-Tzn5-1yro-b1tc-czhgji\"\n\
             vg_lock_type=\"sanlock\"\nvg_lock_args=\"1.0.0:lvmlock\"\nlv_lock_args=\"1.0.0:70254592\"\n\n##\n"
        );
        assert_eq!(Request::hello(), b"request = \"hello\"\n\n##\n");
        let quoted = Request::new("x").str("s", "a\"b\\c").encode();
        assert_eq!(quoted, b"request=\"x\"\ns=\"a\\\"b\\\\c\"\n\n##\n");
        assert_eq!(
            Request::new("x").str_or_none("opts", None).encode(),
            b"request=\"x\"\nopts=\"none\"\n\n##\n"
        );
    }

    #[test]
    fn replies_decode_as_lvm2_reads_them() {
        // The reply of lvmlockd 2.03.16 to a lock_vg on a VG whose lockspace is not started.
        let text = b"response = \"OK\"\nop = 1\nlock_type = \"none\"\nop_result = -210\n\
                     lm_result = 0\nresult_flags = \"NO_LOCKSPACES,NO_GL_LS,\"\n##\n";
        let r = Reply::parse(text).unwrap();
        assert!(r.is_ok());
        assert_eq!(r.op_result(), Some(-code::ENOLS));
        assert_eq!(r.str("lock_type"), Some("none"));
        let f = r.flags();
        assert!(f.no_lockspaces && f.no_gl_ls && !f.no_lm && !f.sh_exists);
        // init_vg returns the lock args.
        let init = Reply::parse(
            b"response = \"OK\"\nop = 3\nop_result = 0\nlm_result = 0\n\
              vg_lock_args = \"1.0.0:lvmlock\"\nlv_lock_args = \"none\"\nresult_flags = \"none\"",
        )
        .unwrap();
        assert_eq!(init.op_result(), Some(0));
        assert_eq!(init.str("vg_lock_args"), Some("1.0.0:lvmlock"));
        // hello answers with the protocol name and version.
        let hello =
            Reply::parse(b"response = \"OK\"\nresult = 0\nprotocol = \"lvmlockd\"\nversion = 1")
                .unwrap();
        assert_eq!(hello.str("protocol"), Some("lvmlockd"));
        assert_eq!(hello.int("version"), Some(1));
        assert_eq!(hello.op_result(), None);
        // A failed response has no result.
        let bad = Reply::parse(b"response = \"failed\"\nop_result = 0").unwrap();
        assert_eq!(bad.op_result(), None);
        assert!(Reply::parse(b"response = \"OK\n").is_err());
    }

    #[test]
    fn flags_are_substrings() {
        let f = ResultFlags::parse("NO_GL_LS,NO_LM");
        assert!(f.no_gl_ls && f.no_lm && !f.no_lockspaces);
        assert_eq!(ResultFlags::parse("none"), ResultFlags::default());
        assert!(ResultFlags::parse("DUP_GL_LS,WARN_GL_REMOVED,SH_EXISTS,").sh_exists);
    }
}
