//! The connection to lvmlockd: a Unix stream socket (`/run/lvm/lvmlockd.socket`, or
//! `LVM_LVMLOCKD_SOCKET` as LVM2 reads it), opened with libdaemon's `hello` handshake. One
//! connection per command: lvmlockd drops the transient locks a client holds when it goes.

use super::protocol::{Reply, Request, TERMINATOR};
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

pub const DEFAULT_SOCKET: &str = "/run/lvm/lvmlockd.socket";
/// Where lvmlockd writes its pid; LVM2 warns "lvmlockd process is not running" without it.
pub const PIDFILE: &str = "/run/lvmlockd.pid";
/// libdaemon's limit on one message.
const MAX_MESSAGE: usize = 16 << 20;

/// The socket a command talks to.
pub fn socket_path() -> PathBuf {
    std::env::var_os("LVM_LVMLOCKD_SOCKET")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOCKET))
}

#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
}

impl Client {
    /// Connects and says hello; the daemon must answer protocol "lvmlockd" version 1.
    pub fn connect(path: &Path) -> io::Result<Client> {
        let stream = UnixStream::connect(path)?;
        let mut client = Client { stream };
        let reply = client.exchange(&Request::hello())?;
        if !reply.is_ok() {
            return Err(io::Error::other("lvmlockd did not answer hello"));
        }
        match (reply.str("protocol"), reply.int("version")) {
            (Some("lvmlockd"), Some(1)) => Ok(client),
            (p, v) => Err(io::Error::other(format!(
                "lvmlockd speaks protocol {} version {}, not lvmlockd 1",
                p.unwrap_or(""),
                v.unwrap_or(0)
            ))),
        }
    }

    /// Sends one request and reads its reply.
    pub fn call(&mut self, request: &Request) -> io::Result<Reply> {
        self.exchange(&request.encode())
    }

    fn exchange(&mut self, bytes: &[u8]) -> io::Result<Reply> {
        self.stream.write_all(bytes)?;
        let body = read_message(&mut self.stream)?;
        Reply::parse(&body).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

/// Reads up to and including the terminator; returns the body without it.
pub fn read_message(r: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::ConnectionReset)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        buf.extend_from_slice(&chunk[..n]);
        if buf.ends_with(TERMINATOR) {
            buf.truncate(buf.len() - TERMINATOR.len());
            return Ok(buf);
        }
        if buf.len() > MAX_MESSAGE {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "lvmlockd reply too long",
            ));
        }
    }
}
