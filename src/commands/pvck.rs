//! `pvck --dump headers|metadata DEV`: shows what is on a PV - or on an image of one - exactly
//! as stored, damaged or not, so a user can see what a reader would see.

use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use crate::store::device::{BlockDevice, DiskDevice};
use clap::{Parser, ValueEnum};
use metadata_format::header::{
    dump_headers, read_text, Decoded, MdaDumpInput, MdaHeader, PvLabel, LABEL_ID,
    LABEL_SCAN_SECTORS, MDA_HEADER_SIZE, SECTOR_SIZE,
};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dump {
    /// The label, pv_header, mda_header and raw_locn fields
    Headers,
    /// The committed metadata text, as stored
    Metadata,
}

#[derive(Debug, Parser)]
#[command(about = "Check metadata on physical volumes")]
struct PvckArgs {
    /// What to print
    #[arg(long = "dump", value_enum)]
    dump: Dump,
    /// The sector the label is in (default: the first of sectors 0-3 holding one)
    #[arg(long = "labelsector", value_name = "NUMBER")]
    labelsector: Option<u64>,
    /// Write the dump to this file instead of standard output
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Answer yes to prompts (accepted for compatibility)
    #[arg(short = 'y', long = "yes")]
    yes: bool,
    #[command(flatten)]
    common: CommonArgs,
    /// The PV: a block device or an image file
    #[arg(value_name = "PV", required = true)]
    pvs: Vec<PathBuf>,
}

pub fn run(_spec: &'static CommandSpec, args: &[OsString]) -> CmdResult {
    let Some(args) = parse_args::<PvckArgs>(args)? else {
        return Ok(());
    };
    if let Some(sector) = args.labelsector {
        if sector >= LABEL_SCAN_SECTORS {
            return Err(CmdError::usage(format!(
                "--labelsector {sector} is out of range: a label can be in sectors 0 to {}.",
                LABEL_SCAN_SECTORS - 1
            )));
        }
    }
    let mut out: Vec<u8> = Vec::new();
    let mut failure = None;
    for path in &args.pvs {
        let result = match args.dump {
            Dump::Headers => dump_device_headers(path, args.labelsector).map(|d| {
                out.extend_from_slice(d.as_bytes());
            }),
            Dump::Metadata => committed_text(path, args.labelsector).map(|t| {
                out.extend_from_slice(&t);
            }),
        };
        if let Err(e) = result {
            eprintln!("  {e}");
            failure = Some(e);
        }
    }
    match &args.file {
        Some(file) => std::fs::write(file, &out)
            .map_err(|e| CmdError::failed(format!("Cannot write {}: {e}", file.display())))?,
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not the command's failure.
            let _ = stdout.write_all(&out).and_then(|_| stdout.flush());
        }
    }
    match failure {
        // Already printed per device; the exit code still says something failed.
        Some(_) => Err(CmdError::failed("")),
        None => Ok(()),
    }
}

fn open(path: &Path) -> Result<DiskDevice, CmdError> {
    DiskDevice::open_read(path)
        .map_err(|e| CmdError::failed(format!("Cannot open {}: {e}", path.display())))
}

/// Reads `len` bytes at `offset`, or `None` where the device (an image) is shorter.
fn read_if_present(dev: &DiskDevice, offset: u64, len: u64) -> Option<Vec<u8>> {
    let end = offset.checked_add(len)?;
    if end > dev.size() {
        return None;
    }
    dev.read_at(offset, usize::try_from(len).ok()?).ok()
}

/// The label sector to read: the one asked for, else the first of 0..3 holding LABELONE.
fn label_sector(head: &[u8], asked: Option<u64>, path: &Path) -> Result<u64, CmdError> {
    if let Some(sector) = asked {
        return Ok(sector);
    }
    (0..LABEL_SCAN_SECTORS)
        .find(|s| {
            let at = (s * SECTOR_SIZE) as usize;
            head.get(at..at + LABEL_ID.len()) == Some(&LABEL_ID[..])
        })
        .ok_or_else(|| {
            CmdError::failed(format!(
                "No LVM label found on {} in sectors 0-3; it is not a PV (or use --labelsector).",
                path.display()
            ))
        })
}

fn read_label(
    dev: &DiskDevice,
    path: &Path,
    asked: Option<u64>,
) -> CmdResult<(u64, Decoded<PvLabel>)> {
    let head_len = (LABEL_SCAN_SECTORS * SECTOR_SIZE).min(dev.size());
    let head = dev
        .read_at(0, head_len as usize)
        .map_err(|e| CmdError::failed(format!("Cannot read {}: {e}", path.display())))?;
    let sector = label_sector(&head, asked, path)?;
    let at = (sector * SECTOR_SIZE) as usize;
    let bytes = head.get(at..).unwrap_or_default();
    let decoded = PvLabel::decode(bytes).map_err(|e| {
        CmdError::failed(format!(
            "Cannot decode the label on {}: {e}",
            path.display()
        ))
    })?;
    Ok((sector, decoded))
}

fn dump_device_headers(path: &Path, asked: Option<u64>) -> CmdResult<String> {
    let dev = open(path)?;
    let (sector, label) = read_label(&dev, path, asked)?;
    let areas: Vec<(u64, Option<Vec<u8>>)> = label
        .value
        .pv_header
        .metadata_areas
        .iter()
        .map(|a| (a.offset, read_if_present(&dev, a.offset, a.size)))
        .collect();
    let inputs: Vec<MdaDumpInput<'_>> = areas
        .iter()
        .map(|(start, area)| {
            let header = match area {
                Some(bytes) => MdaHeader::decode(bytes).ok(),
                None => read_if_present(&dev, *start, MDA_HEADER_SIZE)
                    .and_then(|b| MdaHeader::decode(&b).ok()),
            };
            MdaDumpInput {
                start: *start,
                header,
                area: area.as_deref(),
            }
        })
        .collect();
    Ok(dump_headers(sector, &label, &inputs).text)
}

/// The committed text of the first metadata area that has a valid one, without its NUL.
fn committed_text(path: &Path, asked: Option<u64>) -> CmdResult<Vec<u8>> {
    let dev = open(path)?;
    let (_, label) = read_label(&dev, path, asked)?;
    let mut problems = Vec::new();
    for area in &label.value.pv_header.metadata_areas {
        let Some(bytes) = read_if_present(&dev, area.offset, area.size) else {
            problems.push(format!(
                "metadata area at {} is past the device end",
                area.offset
            ));
            continue;
        };
        let header = match MdaHeader::parse(&bytes) {
            Ok(h) => h,
            Err(e) => {
                problems.push(format!("metadata area at {}: {e}", area.offset));
                continue;
            }
        };
        if header.committed().is_empty() {
            problems.push(format!(
                "metadata area at {} holds no metadata",
                area.offset
            ));
            continue;
        }
        match read_text(&bytes, area.size, header.committed()) {
            Ok(text) => return Ok(text.text().to_vec()),
            Err(e) => problems.push(format!("metadata area at {}: {e}", area.offset)),
        }
    }
    if problems.is_empty() {
        problems.push("the PV has no metadata areas".to_string());
    }
    Err(CmdError::failed(format!(
        "No committed metadata found on {}: {}.",
        path.display(),
        problems.join("; ")
    )))
}
