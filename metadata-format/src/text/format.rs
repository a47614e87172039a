//! Byte-level output rules shared by both text forms: how LVM2 indents lines, where it puts
//! the tab-aligned `# comment` of a backup line, how it prints sizes (`# 100.003 Megabytes`,
//! C's `%g`) and dates (`ctime` and `%Y-%m-%d %T %z`). All output goes into one `Vec<u8>`
//! without per-value allocation, because metadata of tens of thousands of LVs is rewritten on
//! every command.

/// LVM2 never indents deeper than this many tabs.
const MAX_INDENT: usize = 5;
/// Comments start at this tab stop when the line is short enough.
const COMMENT_TAB: usize = 6;

/// A line writer for either form: the on-disk form has no indentation and drops comments,
/// the backup form indents with tabs and aligns comments.
pub(crate) struct Out {
    pub buf: Vec<u8>,
    pub backup: bool,
    indent: usize,
}

impl Out {
    pub fn new(backup: bool, capacity: usize) -> Self {
        Out {
            buf: Vec::with_capacity(capacity),
            backup,
            indent: 0,
        }
    }

    /// An empty buffer that goes on at `other`'s nesting and style (a part of a text written
    /// elsewhere and appended to it).
    pub fn nested_like(other: &Out, capacity: usize) -> Self {
        Out {
            buf: Vec::with_capacity(capacity),
            backup: other.backup,
            indent: other.indent,
        }
    }

    /// Deeper nesting stays at the cap, and leaving a capped level still steps back one level,
    /// as LVM2's writer does.
    pub fn inc(&mut self) {
        self.indent = (self.indent + 1).min(MAX_INDENT);
    }

    pub fn dec(&mut self) {
        self.indent = self.indent.saturating_sub(1);
    }

    /// Starts a line; returns where its text starts (for comment alignment).
    #[inline]
    pub fn begin(&mut self) -> usize {
        if self.backup {
            for _ in 0..self.indent {
                self.buf.push(b'\t');
            }
        }
        self.buf.len()
    }

    /// Ends a line started at `start`, adding `comment` (which includes its `#`) in the backup
    /// form, aligned on tab stops.
    #[inline]
    pub fn end(&mut self, start: usize, comment: Option<&[u8]>) {
        if let (true, Some(comment)) = (self.backup, comment) {
            let printed = self.buf.len() - start;
            let column = (printed + 8 * self.indent) / 8 + 1;
            let tabs = COMMENT_TAB.saturating_sub(column).max(1);
            for _ in 0..tabs {
                self.buf.push(b'\t');
            }
            self.buf.extend_from_slice(comment);
        }
        self.buf.push(b'\n');
    }

    /// An empty line (never indented).
    #[inline]
    pub fn nl(&mut self) {
        self.buf.push(b'\n');
    }

    #[inline]
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    #[inline]
    pub fn uint(&mut self, value: u64) {
        push_u64(&mut self.buf, value);
    }

    #[inline]
    pub fn int(&mut self, value: i64) {
        if value < 0 {
            self.buf.push(b'-');
        }
        push_u64(&mut self.buf, value.unsigned_abs());
    }

    /// A key or section name; quoted when it could not be read back bare (never the case
    /// for names LVM2 accepts).
    pub fn key(&mut self, key: &str) {
        let bare = !key.is_empty()
            && !key.starts_with(|c: char| c.is_ascii_digit() || "+-.".contains(c))
            && !key.bytes().any(|b| super::parse::WORD_END[usize::from(b)]);
        if bare {
            self.raw(key.as_bytes());
        } else {
            self.quoted(key);
        }
    }

    /// `"text"` with `"` and `\` escaped.
    #[inline]
    pub fn quoted(&mut self, text: &str) {
        self.buf.push(b'"');
        push_escaped(&mut self.buf, text);
        self.buf.push(b'"');
    }

    /// `key = "value"` on its own line.
    pub fn kv_str(&mut self, key: &str, value: &str) {
        let start = self.begin();
        self.raw(key.as_bytes());
        self.raw(b" = ");
        self.quoted(value);
        self.end(start, None);
    }

    /// `key = value` on its own line.
    pub fn kv_uint(&mut self, key: &str, value: u64) {
        let start = self.begin();
        self.raw(key.as_bytes());
        self.raw(b" = ");
        self.uint(value);
        self.end(start, None);
    }

    /// `key = value` with a `# <size>` comment for `sectors`.
    pub fn kv_size(&mut self, key: &str, value: u64, sectors: u64) {
        let start = self.begin();
        self.raw(key.as_bytes());
        self.raw(b" = ");
        self.uint(value);
        if self.backup {
            let mut comment = [0u8; 64];
            let len = size_comment(sectors, &mut comment);
            self.end(start, Some(&comment[..len]));
        } else {
            self.end(start, None);
        }
    }

    /// `key = ["a", "b"]`.
    pub fn kv_list<S: AsRef<str>>(&mut self, key: &str, values: &[S]) {
        let start = self.begin();
        self.raw(key.as_bytes());
        self.raw(b" = [");
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                self.raw(b", ");
            }
            self.quoted(value.as_ref());
        }
        self.raw(b"]");
        self.end(start, None);
    }

    /// `name {`
    pub fn open(&mut self, name: &str) {
        let start = self.begin();
        self.key(name);
        self.raw(b" {");
        self.end(start, None);
        self.inc();
    }

    /// `}`
    pub fn close(&mut self) {
        self.dec();
        let start = self.begin();
        self.raw(b"}");
        self.end(start, None);
    }
}

pub(crate) fn push_escaped(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if memchr::memchr2(b'"', b'\\', bytes).is_none() {
        buf.extend_from_slice(bytes);
        return;
    }
    for &byte in bytes {
        if byte == b'"' || byte == b'\\' {
            buf.push(b'\\');
        }
        buf.push(byte);
    }
}

pub(crate) fn push_u64(buf: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[at..]);
}

const UNITS: [&str; 6] = [
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Petabytes",
    "Exabytes",
];

/// Writes `# <size> <Unit>` for a size in 512-byte sectors into `out`, returning its length.
/// The size is converted to kilobytes and divided by 1024 while it exceeds 1024, in double
/// precision, then printed with six significant digits like C's `%g`.
pub(crate) fn size_comment(sectors: u64, out: &mut [u8; 64]) -> usize {
    let mut value = sectors as f64 / 2.0;
    let mut unit = 0;
    while value > 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let mut text = Vec::with_capacity(32);
    text.extend_from_slice(b"# ");
    format_g(value, &mut text);
    text.push(b' ');
    text.extend_from_slice(UNITS[unit].as_bytes());
    let len = text.len().min(out.len());
    out[..len].copy_from_slice(&text[..len]);
    len
}

/// C's `printf("%g", value)` for finite, non-negative values below 10^6 (all a size comment
/// can produce): six significant digits, rounded half to even on the exact binary value,
/// trailing zeros removed.
pub(crate) fn format_g(value: f64, out: &mut Vec<u8>) {
    if value == 0.0 || !value.is_finite() {
        out.push(b'0');
        return;
    }
    // value = mantissa * 2^exponent exactly.
    let bits = value.to_bits();
    let raw_exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mantissa, exponent) = if raw_exponent == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1u64 << 52), raw_exponent - 1075)
    };
    // Exact decimal digits: integer part, then fractional digits.
    let mut digits: Vec<u8> = Vec::with_capacity(80);
    let int_part: u128;
    let mut frac: u128;
    let shift: u32;
    if exponent >= 0 {
        int_part = u128::from(mantissa) << exponent.min(64);
        frac = 0;
        shift = 0;
    } else {
        shift = (-exponent) as u32;
        if shift >= 128 {
            int_part = 0;
            frac = 0;
        } else {
            int_part = u128::from(mantissa) >> shift;
            frac = u128::from(mantissa) & ((1u128 << shift) - 1);
        }
    }
    let int_text = int_part.to_string();
    let int_digits = if int_part == 0 { 0 } else { int_text.len() };
    if int_part != 0 {
        digits.extend(int_text.bytes().map(|b| b - b'0'));
    }
    // Position of the decimal point relative to `digits`; leading fractional zeros are
    // counted so that significant digits start at the first non-zero one.
    let mut leading_zeros = 0usize;
    while frac != 0 && digits.len() < 40 {
        frac *= 10;
        let digit = (frac >> shift) as u8;
        frac &= (1u128 << shift) - 1;
        if digits.is_empty() && digit == 0 {
            leading_zeros += 1;
            continue;
        }
        digits.push(digit);
    }
    let sticky = frac != 0;
    const PRECISION: usize = 6;
    // `point` = number of digits before the decimal point (negative: leading zeros after it).
    let mut point = if int_digits > 0 {
        int_digits as isize
    } else {
        -(leading_zeros as isize)
    };
    if digits.len() > PRECISION {
        let rest = &digits[PRECISION..];
        let first = rest[0];
        let beyond = rest[1..].iter().any(|&d| d != 0) || sticky;
        let round_up = first > 5 || (first == 5 && (beyond || digits[PRECISION - 1] % 2 == 1));
        digits.truncate(PRECISION);
        if round_up {
            let mut at = PRECISION;
            loop {
                if at == 0 {
                    digits.insert(0, 1);
                    digits.truncate(PRECISION);
                    point += 1;
                    break;
                }
                at -= 1;
                if digits[at] == 9 {
                    digits[at] = 0;
                } else {
                    digits[at] += 1;
                    break;
                }
            }
        }
    }
    // Decimal exponent of the leading digit decides between fixed and scientific notation.
    let exp10 = point - 1;
    let scientific = !(-4..PRECISION as isize).contains(&exp10);
    let keep = if scientific { 1 } else { point.max(0) };
    while digits.last() == Some(&0) && digits.len() as isize > keep {
        digits.pop();
    }
    if scientific {
        out.push(b'0' + digits.first().copied().unwrap_or(0));
        if digits.len() > 1 {
            out.push(b'.');
            out.extend(digits[1..].iter().map(|d| b'0' + d));
        }
        out.extend_from_slice(if exp10 < 0 { b"e-" } else { b"e+" });
        let magnitude = exp10.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        push_u64(out, magnitude as u64);
        return;
    }
    if point <= 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-point) {
            out.push(b'0');
        }
        out.extend(digits.iter().map(|d| b'0' + d));
    } else {
        let point = point as usize;
        for n in 0..point {
            out.push(b'0' + digits.get(n).copied().unwrap_or(0));
        }
        if digits.len() > point {
            out.push(b'.');
            out.extend(digits[point..].iter().map(|d| b'0' + d));
        }
    }
}

/// Calendar fields of a moment in some time zone.
pub(crate) struct CivilTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
}

/// Splits seconds since the epoch (already shifted into the wanted zone) into calendar fields.
pub(crate) fn civil_time(seconds: i64) -> CivilTime {
    let days = seconds.div_euclid(86_400);
    let of_day = seconds.rem_euclid(86_400);
    // Days to civil date (proleptic Gregorian), after H. Hinnant's public-domain algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    CivilTime {
        year,
        month,
        day,
        hour: (of_day / 3600) as u32,
        minute: (of_day / 60 % 60) as u32,
        second: (of_day % 60) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// C's `ctime` text without its newline: `Sun Nov 29 05:18:24 2026`.
pub fn ctime_text(epoch: i64, utc_offset: i32) -> String {
    let t = civil_time(epoch.saturating_add(i64::from(utc_offset)));
    format!(
        "{} {} {:2} {:02}:{:02}:{:02} {}",
        WEEKDAYS[t.weekday as usize % 7],
        MONTHS[(t.month as usize + 11) % 12],
        t.day,
        t.hour,
        t.minute,
        t.second,
        t.year
    )
}

/// `%Y-%m-%d %T %z`: `2026-11-29 05:18:21 +0000`, as LVM2 comments LV timestamps.
pub(crate) fn push_timestamp_comment(buf: &mut Vec<u8>, epoch: u64, utc_offset: i32) {
    let local = i64::try_from(epoch)
        .unwrap_or(i64::MAX)
        .saturating_add(i64::from(utc_offset));
    let t = civil_time(local);
    let sign = if utc_offset < 0 { '-' } else { '+' };
    let offset = utc_offset.unsigned_abs();
    let text = format!(
        "# {:04}-{:02}-{:02} {:02}:{:02}:{:02} {}{:02}{:02}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        sign,
        offset / 3600,
        offset / 60 % 60
    );
    buf.extend_from_slice(text.as_bytes());
}

/// Reads the UTC offset (seconds) from a comment written as `%Y-%m-%d %T %z`.
pub(crate) fn offset_from_timestamp_comment(comment: &str) -> Option<i32> {
    let zone = comment.trim().rsplit(' ').next()?;
    let bytes = zone.as_bytes();
    if bytes.len() != 5 || !bytes[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sign = match bytes[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let hours = i32::from(bytes[1] - b'0') * 10 + i32::from(bytes[2] - b'0');
    let minutes = i32::from(bytes[3] - b'0') * 10 + i32::from(bytes[4] - b'0');
    Some(sign * (hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(sectors: u64) -> String {
        let mut buf = [0u8; 64];
        let len = size_comment(sectors, &mut buf);
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    fn g(value: f64) -> String {
        let mut out = Vec::new();
        format_g(value, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn size_comments_match_lvm2() {
        assert_eq!(comment(8192), "# 4 Megabytes");
        assert_eq!(comment(204806), "# 100.003 Megabytes");
        assert_eq!(comment(2048), "# 1024 Kilobytes");
        assert_eq!(comment(2097152), "# 1024 Megabytes");
        assert_eq!(comment(0), "# 0 Kilobytes");
        assert_eq!(comment(1), "# 0.5 Kilobytes");
        assert_eq!(comment(u64::MAX), "# 8192 Exabytes");
    }

    #[test]
    fn g_matches_c_printf() {
        // Reference values printed by C's printf("%g") (glibc).
        for (value, text) in [
            (100.0029296875, "100.003"),
            (512.0625, "512.062"),
            (512.1875, "512.188"),
            (1.00048828125, "1.00049"),
            (999.9999, "1000"),
            (999999.5, "1e+06"),
            (0.5, "0.5"),
            (0.00048828125, "0.000488281"),
            (1023.9990234375, "1024"),
            (1023.5, "1023.5"),
            (0.0078125, "0.0078125"),
            (0.00001, "1e-05"),
            (1023.99951171875, "1024"),
            (123456.5, "123456"),
            (123457.5, "123458"),
            (3.0, "3"),
        ] {
            assert_eq!(g(value), text, "{value}");
        }
    }

    #[test]
    fn comment_alignment_follows_tab_stops() {
        let mut out = Out::new(true, 0);
        out.inc();
        let start = out.begin();
        out.raw(b"format = \"lvm2\"");
        out.end(start, Some(b"# informational"));
        let start = out.begin();
        out.raw(b"extent_size = 8192");
        out.end(start, Some(b"# 4 Megabytes"));
        assert_eq!(
            out.buf,
            b"\tformat = \"lvm2\"\t\t\t# informational\n\textent_size = 8192\t\t# 4 Megabytes\n"
        );
    }

    #[test]
    fn dates_match_c_library() {
        assert_eq!(ctime_text(1795929504, 0), "Sun Nov 29 05:18:24 2026");
        assert_eq!(ctime_text(0, 0), "Thu Jan  1 00:00:00 1970");
        let mut buf = Vec::new();
        push_timestamp_comment(&mut buf, 1795929501, 0);
        assert_eq!(buf, b"# 2026-11-29 05:18:21 +0000");
        buf.clear();
        push_timestamp_comment(&mut buf, 1795929501, -(5 * 3600 + 1800));
        assert_eq!(buf, b"# 2026-11-28 23:48:21 -0530");
        assert_eq!(
            offset_from_timestamp_comment(" 2026-11-28 23:48:21 -0530"),
            Some(-19800)
        );
        assert_eq!(offset_from_timestamp_comment(" nonsense"), None);
    }
}
