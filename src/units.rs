//! Size arguments as LVM2 reads them (`-L 10G`, `--metadatasize 16k`, `-L +1g`): a decimal
//! number, an optional sign, and a unit of k m g t p e (binary, either case), s (sectors) or
//! b (bytes, a multiple of 512). Results are in 512-byte sectors.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    None,
    Plus,
    Minus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeArg {
    pub sign: Sign,
    pub sectors: u64,
}

/// Parses `text`; a bare number is in `default_unit_sectors` (2048 for `-L`, i.e. MiB).
pub fn parse_size(text: &str, default_unit_sectors: u64) -> Result<SizeArg, String> {
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (Sign::Plus, &text[1..]),
        Some(b'-') => (Sign::Minus, &text[1..]),
        _ => (Sign::None, text),
    };
    if rest.starts_with(['+', '-']) {
        return Err(format!(
            "Size \"{text}\" has more than one sign; use one + or -."
        ));
    }
    let split = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let (number, unit) = rest.split_at(split);
    if number.is_empty() || number == "." {
        return Err(format!("Size \"{text}\" needs a number, e.g. 10G or 512M."));
    }
    let value: f64 = number
        .parse()
        .map_err(|_| format!("Size \"{text}\" is not a number; use e.g. 10G or 1.5g."))?;
    let sectors = match unit.to_ascii_lowercase().as_str() {
        "" => value * default_unit_sectors as f64,
        "s" => value,
        "b" => {
            let bytes = value as u64;
            if !bytes.is_multiple_of(512) {
                // (A byte count near u64::MAX must not overflow on its way up: fuzz finding.)
                let up = bytes
                    .checked_add(512 - bytes % 512)
                    .ok_or_else(|| format!("Size \"{text}\" is too big."))?;
                return Err(format!(
                    "Size is not a multiple of 512. Try using {} or {}.",
                    up - 512,
                    up
                ));
            }
            value / 512.0
        }
        u if u.len() == 1 => {
            let power = match u {
                "k" => 1,
                "m" => 2,
                "g" => 3,
                "t" => 4,
                "p" => 5,
                "e" => 6,
                _ => return Err(bad_unit(text)),
            };
            value * 1024f64.powi(power - 1) * 2.0
        }
        _ => return Err(bad_unit(text)),
    };
    if sectors >= (u64::MAX >> 9) as f64 {
        return Err(format!("Size \"{text}\" is too big (>=16EiB)."));
    }
    Ok(SizeArg {
        sign,
        sectors: sectors as u64,
    })
}

fn bad_unit(text: &str) -> String {
    format!("Size \"{text}\" has an unknown unit; use one of k m g t p e (binary), s or b.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_byte_counts_are_refused_not_overflowed() {
        // Fuzz finding (size_args): "04444...4b" overflowed rounding up to 512 bytes.
        let text = format!("0{}b", "4".repeat(68));
        assert!(parse_size(&text, 2048).unwrap_err().contains("too big"));
    }

    fn s(text: &str, unit: u64) -> u64 {
        parse_size(text, unit).unwrap().sectors
    }

    #[test]
    fn units_are_binary_in_either_case() {
        assert_eq!(s("10G", 2048), 10 * 1024 * 1024 * 2);
        assert_eq!(s("10g", 2048), 10 * 1024 * 1024 * 2);
        assert_eq!(s("64k", 2048), 128);
        assert_eq!(s("1.5m", 2048), 3072);
        assert_eq!(s("100", 2048), 204800);
        assert_eq!(s("16", 2), 32);
        assert_eq!(s("8s", 2048), 8);
        assert_eq!(s("1024b", 2048), 2);
        assert_eq!(s("1t", 2048), 1u64 << 31);
    }

    #[test]
    fn signs() {
        assert_eq!(parse_size("+10G", 2048).unwrap().sign, Sign::Plus);
        assert_eq!(parse_size("-1m", 2048).unwrap().sign, Sign::Minus);
        assert!(parse_size("+-1m", 2048).is_err());
    }

    #[test]
    fn bad_sizes() {
        for bad in ["", "G", "10x", "10gb", "1000b", "99999999999999999999e"] {
            assert!(parse_size(bad, 2048).is_err(), "{bad}");
        }
        assert!(parse_size("1000b", 2048)
            .unwrap_err()
            .contains("Try using 512 or 1024"));
    }
}
