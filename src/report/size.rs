//! Sizes and percentages as LVM2 prints them. `--units` letters: lower case powers of 1024, upper
//! case powers of 1000, `b`/`s` bytes/sectors (no decimals), `h`/`H` human-readable, `r`/`R`
//! human-readable with a `<` in front of values that were rounded up to two decimals (LVM2's
//! default since 2.03 is `r`), and an optional number in front (`4k`) for a custom unit.
//! The arithmetic repeats LVM2's floating-point steps so rounding and `<` marks match exactly.

use std::fmt::Write;

/// A parsed `--units` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Units {
    /// `h H r R b B s S k..e K..E`, or `U` for a custom multiple (`--units 4k`).
    unit_type: u8,
    /// Bytes per unit (1 for the human-readable kinds, which pick their own unit per value).
    factor: u64,
}

impl Default for Units {
    /// LVM2's default `global/units = "r"`.
    fn default() -> Self {
        Units {
            unit_type: b'r',
            factor: 1,
        }
    }
}

impl Units {
    /// Parses a `--units` argument the way LVM2 does in strict mode: an optional number, then
    /// exactly one unit letter. The error is LVM2's message (exit code 3, invalid command line).
    pub fn parse(arg: &str) -> Result<Units, String> {
        const INVALID: &str = "Invalid units specification";
        let bytes = arg.as_bytes();
        let (number, rest): (Option<(f64, u64)>, &[u8]) =
            if bytes.first().is_some_and(u8::is_ascii_digit) {
                let (value, used) = leading_float(arg).ok_or_else(|| INVALID.to_string())?;
                // LVM2 also reads the integer prefix on its own and uses integer arithmetic
                // when both agree.
                let int_end = bytes
                    .iter()
                    .position(|c| !c.is_ascii_digit())
                    .unwrap_or(bytes.len());
                let int: u64 = arg[..int_end].parse().unwrap_or(u64::MAX);
                (Some((value, int)), &bytes[used..])
            } else {
                (None, bytes)
            };
        if rest.len() != 1 {
            return Err(INVALID.to_string());
        }
        let letter = rest[0];
        let (custom, mut v) = match number {
            Some((value, int)) => {
                let custom = if ((int as f64) - value).abs() < f64::EPSILON {
                    0.0
                } else {
                    value
                };
                (custom, int)
            }
            None => (0.0, 1),
        };
        let mut unit_type = if v == 1 { letter } else { b'U' };
        const K: u64 = 1024;
        const T: u64 = 1000;
        let multiplier = match letter {
            b'h' | b'H' | b'r' | b'R' => {
                v = 1;
                unit_type = letter;
                1
            }
            b'b' | b'B' => 1,
            b's' | b'S' => K / 2,
            b'k' => K,
            b'm' => K.pow(2),
            b'g' => K.pow(3),
            b't' => K.pow(4),
            b'p' => K.pow(5),
            b'e' => K.pow(6),
            b'K' => T,
            b'M' => T.pow(2),
            b'G' => T.pow(3),
            b'T' => T.pow(4),
            b'P' => T.pow(5),
            b'E' => T.pow(6),
            _ => return Err(INVALID.to_string()),
        };
        let factor = if custom.abs() < f64::EPSILON {
            v.wrapping_mul(multiplier)
        } else {
            (custom * multiplier as f64) as u64
        };
        if factor == 0 {
            return Err(INVALID.to_string());
        }
        Ok(Units { unit_type, factor })
    }

    /// The unit letter (`U` for a custom multiple).
    pub fn letter(self) -> char {
        char::from(self.unit_type)
    }
}

/// strtod's decimal subset: digits, optional fraction, optional exponent. Returns the value and
/// the number of bytes used.
fn leading_float(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    s[..i].parse::<f64>().ok().map(|v| (v, i))
}

/// Unit letters LVM2 prints, by base and power: 1024-based `e p t g m k b`, 1000-based
/// `E P T G M K` then the specials `B U S`.
const BINARY: [&str; 7] = ["e", "p", "t", "g", "m", "k", "b"];
const DECIMAL: [&str; 9] = ["E", "P", "T", "G", "M", "K", "B", "U", "S"];

/// Where a unit letter's suffix comes from.
#[derive(Clone, Copy)]
enum Base {
    /// Human-readable: the power is chosen per value.
    Human,
    Binary,
    Decimal,
    /// `b`, `U` (custom) and `s`: indices 6, 7, 8 of [`DECIMAL`].
    Special,
}

fn suffix_of(base: Base, s: usize) -> &'static str {
    match base {
        Base::Human => " ",
        Base::Binary => BINARY.get(s).copied().unwrap_or(""),
        Base::Decimal => DECIMAL.get(s).copied().unwrap_or(""),
        Base::Special => DECIMAL.get(6 + s).copied().unwrap_or(""),
    }
}

/// Appends `sectors` (512-byte units) formatted as LVM2 reports sizes (`display_size_units` with
/// `si_unit_consistency = 1`).
pub fn write_size(out: &mut String, sectors: u64, units: Units, suffix: bool) {
    let t = units.unit_type;
    let (mut base, mut s) = if let Some(i) = b"EPTGMK".iter().position(|&c| c == t) {
        (Base::Decimal, i)
    } else if let Some(i) = b"eptgmk".iter().position(|&c| c == t) {
        (Base::Binary, i)
    } else if let Some(i) = b"BUS".iter().position(|&c| c == t.to_ascii_uppercase()) {
        (Base::Special, i)
    } else {
        (Base::Human, 0)
    };

    if sectors == 0 {
        out.push('0');
        if suffix {
            out.push_str(suffix_of(base, s));
        }
        return;
    }

    let size = sectors.wrapping_mul(512);
    let mut prefix = "";
    let mut include_suffix = suffix;
    let byte = if let Base::Human = base {
        let unit: u64 = if t == b'H' || t == b'R' { 1000 } else { 1024 };
        base = if unit == 1000 {
            Base::Decimal
        } else {
            Base::Binary
        };
        let mut byte = unit.pow(6);
        s = 0;
        while s < 6 && size < byte {
            byte /= unit;
            s += 1;
        }
        if s < 6 && (t == b'r' || t == b'R') {
            // Two-decimal rounding would go up: LVM2 marks the value with '<'.
            let d = 100.0 * size as f64 / byte as f64;
            if (d.floor() - d.round_ties_even()).abs() >= f64::EPSILON {
                prefix = "<";
            }
        }
        include_suffix = true;
        byte
    } else {
        units.factor
    };

    let unit_suffix = suffix_of(base, s);
    let precision = if matches!(unit_suffix, "b" | "B" | "S") {
        0
    } else {
        2
    };
    out.push_str(prefix);
    write_fixed(out, size as f64 / byte as f64, precision);
    if include_suffix {
        out.push_str(unit_suffix);
    }
}

/// `printf("%.*f", precision, x)` for precision 0 or 2, the only ones reports use. C rounds the
/// exact binary value half-to-even, as Rust's formatter does; that formatter is slow for exact
/// precision, so values that cannot be near a rounding tie take an integer path.
pub(crate) fn write_fixed(out: &mut String, x: f64, precision: usize) {
    let scale = if precision == 2 { 100.0 } else { 1.0 };
    let scaled = x * scale;
    // Below 2^40 the product's rounding error is under 1e-3, far from any tie we would misjudge.
    if (0.0..1_099_511_627_776.0).contains(&scaled) && (precision == 0 || precision == 2) {
        let floor = scaled.floor();
        let frac = scaled - floor;
        if frac == 0.0 || (frac - 0.5).abs() > 1e-3 {
            let n = floor as u64 + u64::from(frac > 0.5);
            if precision == 0 {
                super::render::push_u64(out, n);
            } else {
                let cents = n % 100;
                super::render::push_u64(out, n / 100);
                out.push('.');
                out.push(char::from(b'0' + (cents / 10) as u8));
                out.push(char::from(b'0' + (cents % 10) as u8));
            }
            return;
        }
    }
    let _ = write!(out, "{x:.precision$}");
}

/// [`write_size`] into a new string.
pub fn format_size(sectors: u64, units: Units, suffix: bool) -> String {
    let mut s = String::new();
    write_size(&mut s, sectors, units, suffix);
    s
}

/// LVM2's `dm_percent_t`: hundredths of a percent scaled by 10^4 (100% is 100_000_000).
pub const PERCENT_100: i32 = 100_000_000;
/// The "no value" percentage, shown blank.
pub const PERCENT_INVALID: i32 = -1;

/// The percentage LVM2 computes from a ratio (`dm_make_percent`): exactly 0 and 100 only for
/// empty and full, never rounded onto them otherwise.
pub fn make_percent(numerator: u64, denominator: u64) -> i32 {
    if denominator == 0 || numerator == denominator {
        return PERCENT_100;
    }
    if numerator == 0 {
        return 0;
    }
    let p = (f64::from(PERCENT_100) * (numerator as f64 / denominator as f64)) as i32;
    match p {
        PERCENT_100 => PERCENT_100 - 1,
        0 => 1,
        p => p,
    }
}

/// Appends a percentage as LVM2 reports it: blank when invalid, else two decimals computed in
/// single precision, with values just above 0 or below 100 kept off 0.00 and 100.00.
pub fn write_percent(out: &mut String, percent: i32) {
    if percent == PERCENT_INVALID {
        return;
    }
    const ONE: f32 = 1_000_000.0;
    let r = ONE * 0.01f32;
    let pf = percent as f32;
    let mut f = pf / ONE + 0.0;
    if pf < r && percent > 0 {
        f = 0.01f32;
    } else if pf > (PERCENT_100 as f32 - r) && percent < PERCENT_100 {
        f = (PERCENT_100 as f32 - r) / ONE;
    }
    let start = out.len();
    write_fixed(out, f64::from(f), 2);
    // LVM2 formats into a 7-byte buffer.
    if out.len() - start > 6 {
        out.truncate(start + 6);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(sectors: u64, units: &str, suffix: bool) -> String {
        format_size(sectors, Units::parse(units).unwrap(), suffix)
    }

    const MIB: u64 = 2048;

    #[test]
    fn units_parse_like_lvm2() {
        for ok in [
            "h", "H", "r", "R", "b", "B", "s", "S", "k", "K", "m", "M", "g", "G", "t", "T", "p",
            "P", "e", "E", "4k", "1.5k", "1k",
        ] {
            assert!(Units::parse(ok).is_ok(), "{ok}");
        }
        // `pvs --units x`, `--units 0k`, `--units ''` all exit 3 with this message in LVM2.
        for bad in ["x", "0k", "", "kk", "4", "-1k", " k", "u"] {
            assert_eq!(
                Units::parse(bad),
                Err("Invalid units specification".to_string()),
                "{bad}"
            );
        }
        assert_eq!(Units::parse("4k").unwrap().letter(), 'U');
        assert_eq!(Units::parse("1.5k").unwrap().letter(), 'k');
        assert_eq!(Units::parse("1k").unwrap().letter(), 'k');
        assert_eq!(Units::parse("4h").unwrap().letter(), 'h');
    }

    // Expected strings below are LVM2 2.03.16 output on this project's compat VG (two PVs of 16
    // and 24 MiB with 1 MiB extents, a third orphan PV of 8 MiB), e.g.
    // `lvm pvs --units <u> -o pv_name,pv_size,pv_free,dev_size,pv_mda_size,pv_mda_free,pe_start`.
    #[test]
    fn explicit_units_match_lvm2() {
        // --units b / B / s --nosuffix / k / K / H / 4k on 15 MiB, 23 MiB, 20 MiB, 8 MiB
        assert_eq!(fmt(15 * MIB, "b", true), "15728640B");
        assert_eq!(fmt(0, "b", true), "0B");
        assert_eq!(fmt(23 * MIB, "B", true), "24117248B");
        assert_eq!(fmt(15 * MIB, "s", false), "30720");
        assert_eq!(fmt(15 * MIB, "k", true), "15360.00k");
        assert_eq!(fmt(0, "k", true), "0k");
        assert_eq!(fmt(15 * MIB, "K", true), "15728.64K");
        assert_eq!(fmt(23 * MIB, "K", true), "24117.25K");
        assert_eq!(fmt(8 * MIB, "K", true), "8388.61K");
        assert_eq!(fmt(0, "K", true), "0K");
        assert_eq!(fmt(15 * MIB, "H", true), "15.73M");
        assert_eq!(fmt(23 * MIB, "H", true), "24.12M");
        assert_eq!(fmt(20 * MIB, "H", true), "20.97M");
        assert_eq!(fmt(15 * MIB, "4k", true), "3840.00U");
        assert_eq!(fmt(0, "4k", true), "0U");
        // --units 1.5k: a 1536-byte unit printed with a 'k'
        assert_eq!(fmt(15 * MIB, "1.5k", true), "10240.00k");
        assert_eq!(fmt(23 * MIB, "1.5k", true), "15701.33k");
        assert_eq!(fmt(8 * MIB, "1.5k", true), "5461.33k");
    }

    #[test]
    fn human_units_match_lvm2() {
        // default (r) and --units h: pv_size 15 MiB, pv_free 0, pv_mda_size 1020 KiB,
        // pv_mda_free 507 KiB, pe_start 1 MiB
        for u in ["r", "h"] {
            assert_eq!(fmt(15 * MIB, u, true), "15.00m");
            assert_eq!(fmt(0, u, true), "0 ");
            assert_eq!(fmt(2040, u, true), "1020.00k");
            assert_eq!(fmt(1014, u, true), "507.00k");
            assert_eq!(fmt(MIB, u, true), "1.00m");
        }
        // --nosuffix keeps the unit letter in human mode but drops the blank after 0
        assert_eq!(fmt(15 * MIB, "r", false), "15.00m");
        assert_eq!(fmt(0, "r", false), "0");
        assert_eq!(fmt(0, "H", false), "0");
        assert_eq!(fmt(15 * MIB, "H", false), "15.73M");
        // --units H and R: dev_size 16 MiB, pv_mda_size 1020 KiB, pv_mda_free 507/509 KiB,
        // pe_start 1 MiB
        assert_eq!(fmt(16 * MIB, "H", true), "16.78M");
        assert_eq!(fmt(16 * MIB, "R", true), "<16.78M");
        assert_eq!(fmt(24 * MIB, "R", true), "<25.17M");
        assert_eq!(fmt(8 * MIB, "R", true), "<8.39M");
        assert_eq!(fmt(2040, "R", true), "1.04M");
        assert_eq!(fmt(1014, "H", true), "519.17K");
        assert_eq!(fmt(1014, "R", true), "<519.17K");
        assert_eq!(fmt(1018, "R", true), "<521.22K");
        assert_eq!(fmt(MIB, "R", true), "<1.05M");
    }

    #[test]
    fn percentages() {
        let p = |v: i32| {
            let mut s = String::new();
            write_percent(&mut s, v);
            s
        };
        assert_eq!(p(PERCENT_INVALID), "");
        assert_eq!(p(0), "0.00");
        assert_eq!(p(PERCENT_100), "100.00");
        assert_eq!(p(1), "0.01");
        assert_eq!(p(PERCENT_100 - 1), "99.99");
        assert_eq!(p(12_345_678), "12.35");
        assert_eq!(make_percent(0, 10), 0);
        assert_eq!(make_percent(10, 10), PERCENT_100);
        assert_eq!(make_percent(1, 3), 33_333_333);
        assert_eq!(make_percent(1, u64::MAX), 1);
    }

    #[test]
    fn fixed_point_matches_the_formatter() {
        // The integer fast path must agree with exact (C printf-like) rounding everywhere.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..200_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let sectors = (x >> (i % 60)) | 1;
            for byte in [1024u64, 1000, 1 << 20, 1_000_000, 1 << 30, 1536, 3] {
                let v = sectors.wrapping_mul(512) as f64 / byte as f64;
                for p in [0usize, 2] {
                    let mut fast = String::new();
                    write_fixed(&mut fast, v, p);
                    assert_eq!(fast, format!("{v:.p$}"), "{v}");
                }
            }
        }
        for v in [0.125, 0.375, 2.5, 0.005, 1.005, 0.0, 99.99, 1e15] {
            let mut fast = String::new();
            write_fixed(&mut fast, v, 2);
            assert_eq!(fast, format!("{v:.2}"), "{v}");
        }
    }
}
