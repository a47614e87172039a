//! `oxlvm image ...` and `oxlvm container ...`: Docker's spellings on oxlvm's store. Bad
//! input is one line and exit 3; a failure is one line and exit 5; `run`, `start -a` and
//! `exec` exit with the container command's status, as Docker does.

use super::container::{self as ctr, CreateOptions};
use super::image;
use super::record::*;
use super::runtime;
use super::store::*;
use crate::cli::{parse_args, CommandSpec, CommonArgs};
use crate::error::{CmdError, CmdResult};
use clap::{Args, Parser, Subcommand};
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(about = "Manage images stored as thin LVs")]
struct ImageCli {
    /// The VG holding the store (default: OXLVM_VG, or the one VG with a store)
    #[arg(long = "vg", global = true, value_name = "VG")]
    vg: Option<String>,
    #[command(subcommand)]
    cmd: ImageCmd,
}

#[derive(Debug, Subcommand)]
enum ImageCmd {
    /// Make (or adopt) the thin pool that holds images and containers
    Init {
        vg_name: String,
        /// Name of the pool LV
        #[arg(long, default_value = "oxlvm_pool")]
        pool: String,
        /// Pool size for a new pool (default unit MiB)
        #[arg(long, default_value = "90%FREE")]
        size: String,
    },
    /// Import a root filesystem tar as an image
    Import {
        file: PathBuf,
        reference: String,
        /// Dockerfile instruction to apply (CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL)
        #[arg(short = 'c', long = "change")]
        change: Vec<String>,
        /// Commit message
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
        /// Filesystem size of the image (default: from the tar's size)
        #[arg(long)]
        size: Option<String>,
    },
    /// Load images from a docker-save archive or an OCI layout
    Load {
        /// The archive (tar file or OCI layout directory)
        #[arg(short = 'i', long = "input")]
        input: Option<PathBuf>,
        file: Option<PathBuf>,
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// List images
    #[command(alias = "list")]
    Ls {
        #[arg(short = 'q', long)]
        quiet: bool,
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
    },
    /// Remove images
    #[command(alias = "remove")]
    Rm {
        #[arg(required = true)]
        images: Vec<String>,
        #[arg(short = 'f', long)]
        force: bool,
    },
    /// Show images as JSON
    Inspect {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Show the history of an image
    History {
        image: String,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
        #[arg(short = 'q', long)]
        quiet: bool,
    },
    /// Give an image another name
    Tag { source: String, target: String },
    /// Save images as a docker-save archive
    Save {
        #[arg(required = true)]
        images: Vec<String>,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Write an image's flattened filesystem as a tar
    Export {
        image: String,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Parser)]
#[command(about = "Manage containers")]
struct ContainerCli {
    /// The VG holding the store (default: OXLVM_VG, or the one VG with a store)
    #[arg(long = "vg", global = true, value_name = "VG")]
    vg: Option<String>,
    #[command(subcommand)]
    cmd: ContainerCmd,
}

#[derive(Debug, Args)]
struct CreateArgs {
    /// Print help (-h is the host name, as with Docker)
    #[arg(long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
    /// Keep stdin open
    #[arg(short = 'i', long = "interactive")]
    interactive: bool,
    /// Allocate a terminal
    #[arg(short = 't', long = "tty")]
    tty: bool,
    /// Remove the container when it exits
    #[arg(long = "rm")]
    rm: bool,
    /// Run a small init as PID 1 that reaps zombies and forwards signals
    #[arg(long = "init")]
    init: bool,
    #[arg(long)]
    name: Option<String>,
    /// UID[:GID] or NAME[:GROUP]
    #[arg(short = 'u', long = "user")]
    user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    /// Environment variable NAME=VALUE (or NAME, taken from here)
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    /// Override the image's entrypoint
    #[arg(long)]
    entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long = "hostname")]
    hostname: Option<String>,
    /// VOLUME:/path or /host/path:/path[:ro]
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    /// Memory limit (b, k, m, g)
    #[arg(short = 'm', long = "memory")]
    memory: Option<String>,
    /// CPUs (e.g. 0.5)
    #[arg(long)]
    cpus: Option<f64>,
    /// Process limit (-1: none)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Size of the container's filesystem (grown from the image's with resize2fs)
    #[arg(long)]
    size: Option<String>,
    /// [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]: recorded and shown by inspect; not published
    /// (the container's network is loopback only)
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    /// Expose PORT[/PROTO] (recorded, as the image's EXPOSE)
    #[arg(long)]
    expose: Vec<String>,
    image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum ContainerCmd {
    /// Create a container from an image
    #[command(disable_help_flag = true)]
    Create {
        /// Create this many containers in one pool transaction (oxlvm's own option; with
        /// --name NAME they are NAME-1 ... NAME-N); prints one id a line
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=10000))]
        count: u32,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Create and start a container
    #[command(disable_help_flag = true)]
    Run {
        /// Run in the background and print the id
        #[arg(short = 'd', long = "detach")]
        detach: bool,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Start containers
    Start {
        /// Attach to the output and exit with the container's status
        #[arg(short = 'a', long = "attach")]
        attach: bool,
        #[arg(short = 'i', long = "interactive")]
        interactive: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop containers (the stop signal, then SIGKILL after -t seconds)
    Stop {
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Send a signal to containers
    Kill {
        #[arg(short = 's', long = "signal", default_value = "KILL")]
        signal: String,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Remove containers
    #[command(alias = "remove")]
    Rm {
        #[arg(short = 'f', long)]
        force: bool,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// List containers
    #[command(alias = "list", alias = "ps")]
    Ls {
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(short = 'q', long)]
        quiet: bool,
        #[arg(long = "no-trunc")]
        no_trunc: bool,
    },
    /// Show a container's output
    Logs {
        container: String,
        /// Keep following the output while it runs
        #[arg(short = 'f', long)]
        follow: bool,
        /// Show only the last N lines ("all": every line)
        #[arg(short = 'n', long = "tail", default_value = "all")]
        tail: String,
        /// Only lines since a time (2026-01-02T15:04:05Z), Unix seconds or a duration ago (10m)
        #[arg(long)]
        since: Option<String>,
        /// Only lines before a time, Unix seconds or a duration ago
        #[arg(long)]
        until: Option<String>,
        /// Prefix each line with its time
        #[arg(short = 't', long)]
        timestamps: bool,
    },
    /// Freeze every process of running containers (cgroup freezer)
    Pause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Thaw paused containers
    Unpause {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Stop (as `stop -t`) and start containers again
    Restart {
        #[arg(short = 't', long = "time", default_value_t = 10)]
        time: u64,
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Run a command in a running container
    Exec {
        /// Pass stdin on to the command (without -i or -t its stdin is /dev/null)
        #[arg(short = 'i', long = "interactive")]
        interactive: bool,
        /// Give the command a terminal of the container's own devpts
        #[arg(short = 't', long = "tty")]
        tty: bool,
        #[arg(short = 'e', long = "env")]
        env: Vec<String>,
        #[arg(short = 'u', long = "user")]
        user: Option<String>,
        #[arg(short = 'w', long = "workdir")]
        workdir: Option<String>,
        container: String,
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Show containers as JSON
    Inspect {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    /// Make an image from a container's state
    Commit {
        container: String,
        reference: Option<String>,
        #[arg(short = 'c', long = "change")]
        change: Vec<String>,
        #[arg(short = 'm', long = "message", default_value = "")]
        message: String,
        #[arg(short = 'a', long = "author", default_value = "")]
        author: String,
    },
    /// Write a container's filesystem as a tar
    Export {
        container: String,
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
    },
    /// Changes to a container's files against its image (A/C/D)
    Diff { container: String },
    /// Copy files between a container and this host (CONTAINER:PATH on one side)
    Cp { source: String, dest: String },
    /// Wait for containers to stop and print their exit codes
    Wait {
        #[arg(required = true)]
        containers: Vec<String>,
    },
    #[command(name = "__monitor", hide = true)]
    Monitor { id: String },
}

fn usage(e: impl Into<String>) -> CmdError {
    CmdError::usage(e)
}

fn open_store(vg: Option<&str>) -> CmdResult<Store> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    Store::open(&CommonArgs::default(), &argv, vg)
}

fn open_store_to_write(vg: Option<&str>) -> CmdResult<Store> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    Store::open_to_write(&CommonArgs::default(), &argv, vg)
}

/// Docker's byte sizes: `16m`, `1g`, `512k`, `100b`, plain bytes.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.trim_end_matches('b');
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid size \"{text}\": use e.g. 64m, 1g or a number of bytes."))?;
    if n.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return Err(format!(
            "invalid size \"{text}\": it must be larger than 0."
        ));
    }
    Ok((n * mult as f64) as u64)
}

fn print_table(rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![0usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = std::io::stdout().lock();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                line.push_str(&format!("{c:<w$}   ", w = widths[i]));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn exit_with(code: i32) -> CmdResult {
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

fn output_file(path: &Option<PathBuf>) -> CmdResult<std::fs::File> {
    match path {
        Some(p) => std::fs::File::create(p)
            .map_err(|e| failed(format!("Cannot create {}: {e}", p.display()))),
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdout()) {
                return Err(usage(
                    "Refusing to write a tar to a terminal; give -o FILE or redirect stdout.",
                ));
            }
            crate::container::fs::dup_file(&std::io::stdout())
                .map_err(|e| failed(format!("stdout: {e}")))
        }
    }
}

pub fn image_cmd(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(cli) = parse_args::<ImageCli>(argv)? else {
        return Ok(());
    };
    match cli.cmd {
        ImageCmd::Init {
            vg_name,
            pool,
            size,
        } => init(&vg_name, &pool, &size),
        ImageCmd::Import {
            file,
            reference,
            change,
            message,
            size,
        } => {
            let reference = parse_reference(&reference).map_err(usage)?;
            let size = size.map(|s| parse_bytes(&s)).transpose().map_err(usage)?;
            let mut cfg = ImageConfig::default();
            image::apply_changes(&mut cfg, &change)?;
            if !file.is_file() {
                return Err(failed(format!("{} is not a file.", file.display())));
            }
            let store = open_store(cli.vg.as_deref())?;
            let id = image::import(
                &store,
                &file,
                &reference,
                &image::ImportOptions {
                    changes: change,
                    message,
                    size,
                },
            )?;
            println!("sha256:{id}");
            Ok(())
        }
        ImageCmd::Load { input, file, quiet } => {
            let path = input
                .or(file)
                .ok_or_else(|| usage("Give the archive: oxlvm image load FILE (or -i FILE)."))?;
            if !path.exists() {
                return Err(failed(format!("{} does not exist.", path.display())));
            }
            let store = open_store(cli.vg.as_deref())?;
            for line in image::load(&store, &path)? {
                if !quiet {
                    println!("{line}");
                }
            }
            Ok(())
        }
        ImageCmd::Ls {
            quiet,
            all: _,
            no_trunc,
        } => {
            let store = open_store(cli.vg.as_deref())?;
            let c = store.catalog()?;
            let now = now();
            let mut rows = vec![vec![
                "REPOSITORY".to_string(),
                "TAG".into(),
                "IMAGE ID".into(),
                "CREATED".into(),
                "SIZE".into(),
            ]];
            for (_, i) in &c.images {
                let id = if no_trunc {
                    format!("sha256:{}", i.id)
                } else {
                    short_id(&i.id).to_string()
                };
                if quiet {
                    println!("{id}");
                    continue;
                }
                let size: u64 = i
                    .layers
                    .iter()
                    .filter_map(|l| c.layer(l))
                    .map(|(_, l)| l.size)
                    .sum();
                let names: Vec<(String, String)> = if i.repo_tags.is_empty() {
                    vec![("<none>".into(), "<none>".into())]
                } else {
                    i.repo_tags
                        .iter()
                        .map(|t| {
                            let (r, tg) = t.rsplit_once(':').unwrap_or((t, "latest"));
                            (r.to_string(), tg.to_string())
                        })
                        .collect()
                };
                for (r, t) in names {
                    rows.push(vec![
                        r,
                        t,
                        id.clone(),
                        human_ago(i.created, now),
                        human_size(size),
                    ]);
                }
            }
            if !quiet {
                print_table(&rows);
            }
            Ok(())
        }
        ImageCmd::Rm { images, force: _ } => {
            let store = open_store(cli.vg.as_deref())?;
            let mut first_err = None;
            for i in images {
                match image::remove(&store, &i) {
                    Ok(lines) => lines.iter().for_each(|l| println!("{l}")),
                    Err(e) => {
                        eprintln!("  {}", e.message());
                        first_err.get_or_insert(e);
                    }
                }
            }
            first_err.map_or(Ok(()), |_| Err(CmdError::failed("")))
        }
        ImageCmd::Inspect { images } => {
            let store = open_store(cli.vg.as_deref())?;
            let vg = store.read_vg()?;
            let c = Catalog::read(&vg);
            let mut out = Vec::new();
            for i in &images {
                let (lv, rec) = c.find_image(i).map_err(failed)?;
                out.push(image::inspect_json(lv, rec, &vg, &c));
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(())
        }
        ImageCmd::History {
            image: wanted,
            no_trunc,
            quiet,
        } => {
            let store = open_store(cli.vg.as_deref())?;
            let c = store.catalog()?;
            let (_, rec) = c.find_image(&wanted).map_err(failed)?;
            let now = now();
            let mut rows = vec![vec![
                "IMAGE".to_string(),
                "CREATED".into(),
                "CREATED BY".into(),
                "SIZE".into(),
                "COMMENT".into(),
            ]];
            let mut layer_sizes = rec
                .layers
                .iter()
                .map(|l| c.layer(l).map_or(0, |(_, r)| r.size))
                .collect::<Vec<_>>()
                .into_iter();
            let mut entries: Vec<(String, String, String, String, String)> = Vec::new();
            for h in &rec.history {
                let size = if h.empty_layer {
                    0
                } else {
                    layer_sizes.next().unwrap_or(0)
                };
                let mut by = h.created_by.clone();
                if !no_trunc && by.chars().count() > 45 {
                    by = by.chars().take(44).collect::<String>() + "…";
                }
                entries.push((
                    "<missing>".into(),
                    human_ago(h.created, now),
                    by,
                    human_size(size),
                    h.comment.clone(),
                ));
            }
            entries.reverse();
            if let Some(first) = entries.first_mut() {
                first.0 = if no_trunc {
                    format!("sha256:{}", rec.id)
                } else {
                    short_id(&rec.id).to_string()
                };
            }
            for e in entries {
                if quiet {
                    println!("{}", e.0);
                } else {
                    rows.push(vec![e.0, e.1, e.2, e.3, e.4]);
                }
            }
            if !quiet {
                print_table(&rows);
            }
            Ok(())
        }
        ImageCmd::Tag { source, target } => {
            parse_reference(&target).map_err(usage)?;
            let store = open_store(cli.vg.as_deref())?;
            image::tag(&store, &source, &target)
        }
        ImageCmd::Save { images, output } => {
            let store = open_store(cli.vg.as_deref())?;
            let path = output.ok_or_else(|| usage("Give the archive to write with -o FILE."))?;
            image::save(&store, &images, &path)
        }
        ImageCmd::Export {
            image: wanted,
            output,
        } => {
            let store = open_store(cli.vg.as_deref())?;
            let c = store.catalog()?;
            let (lv, _) = c.find_image(&wanted).map_err(failed)?;
            let mut out = output_file(&output)?;
            image::export(&store, lv, &mut out)
        }
    }
}

/// `image init VG`: adopts the pool LV if it exists, else makes it through lvcreate's own
/// planning (`lvcreate -T`), then tags it as the store's pool.
fn init(vg: &str, pool: &str, size: &str) -> CmdResult {
    crate::names::check_new_lv_name(pool).map_err(usage)?;
    let argv: Vec<OsString> = std::env::args_os().collect();
    let ctx = crate::commands::context::Context::new(&CommonArgs::default(), &argv)?;
    let exists = {
        let s = crate::commands::thin_txn::VgSession::open(&ctx, vg)?;
        match s.vg().lv(pool) {
            Some(lv) if crate::commands::lv_plan::thin_pool_seg(lv).is_some() => true,
            Some(_) => {
                return Err(failed(format!(
                    "{vg}/{pool} exists and is not a thin pool; pick another --pool name."
                )))
            }
            None => false,
        }
    };
    if !exists {
        let spec =
            crate::cli::find_command("lvcreate").ok_or_else(|| failed("lvcreate is not built"))?;
        let size_flag = if size.contains('%') { "-l" } else { "-L" };
        let args: Vec<OsString> = [
            "lvcreate",
            "-T",
            size_flag,
            size,
            "-a",
            "n",
            &format!("{vg}/{pool}"),
        ]
        .iter()
        .map(OsString::from)
        .collect();
        (spec.run)(spec, &args)?;
    }
    let mut s = crate::commands::thin_txn::VgSession::open(&ctx, vg)?;
    let mut v = s.vg().clone();
    mark_pool(&mut v, pool)?;
    s.commit(v)?;
    println!("Image store ready in {vg}/{pool}.");
    Ok(())
}

fn create_options(a: &CreateArgs) -> CmdResult<CreateOptions> {
    let volumes = a
        .volume
        .iter()
        .map(|v| ctr::parse_volume(v))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let memory = a
        .memory
        .as_deref()
        .map(parse_bytes)
        .transpose()
        .map_err(usage)?;
    if memory.is_some_and(|m| m < 6 << 20) {
        return Err(usage("Minimum memory limit allowed is 6MB."));
    }
    if a.cpus
        .is_some_and(|c| c.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater))
    {
        return Err(usage("--cpus must be larger than 0."));
    }
    if let Some(n) = &a.name {
        check_container_name(n).map_err(usage)?;
    }
    if let Some(u) = &a.user {
        if u.is_empty() || u.split(':').count() > 2 {
            return Err(usage(format!("-u {u}: give USER[:GROUP] or UID[:GID].")));
        }
    }
    if let Some(w) = &a.workdir {
        if !w.starts_with('/') {
            return Err(usage(format!(
                "-w {w}: the working directory must be an absolute path."
            )));
        }
    }
    let publish = a
        .publish
        .iter()
        .map(|p| parse_publish(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let expose = a
        .expose
        .iter()
        .map(|p| parse_expose(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    Ok(CreateOptions {
        publish,
        expose,
        name: a.name.clone(),
        cmd: a.command.clone(),
        entrypoint: a.entrypoint.clone(),
        env: a.env.clone(),
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        hostname: a.hostname.clone(),
        tty: a.tty,
        interactive: a.interactive,
        auto_remove: a.rm,
        init: a.init,
        volumes,
        memory,
        cpus: a.cpus,
        pids_limit: a.pids_limit,
        size: a
            .size
            .as_deref()
            .map(parse_bytes)
            .transpose()
            .map_err(usage)?,
    })
}

fn pause_all(vg: Option<&str>, containers: &[String], pause: bool) -> CmdResult {
    let store = open_store(vg)?;
    let c = store.catalog()?;
    for name in containers {
        let (_, rec) = find(&c, name)?;
        runtime::set_paused(&rec.id, pause)?;
        println!("{name}");
    }
    Ok(())
}

fn find<'a>(c: &'a Catalog, wanted: &str) -> CmdResult<&'a (String, ContainerRecord)> {
    c.find_container(wanted).map_err(failed)
}

pub fn container_cmd(_spec: &'static CommandSpec, argv: &[OsString]) -> CmdResult {
    let Some(cli) = parse_args::<ContainerCli>(argv)? else {
        return Ok(());
    };
    let vg = cli.vg.as_deref();
    match cli.cmd {
        ContainerCmd::Create { count, create: a } => {
            let opts = create_options(&a)?;
            let store = open_store_to_write(vg)?;
            let made = ctr::create_many(&store, &a.image, &opts, count as usize, false)?;
            for (_, rec) in &made {
                println!("{}", rec.id);
            }
            Ok(())
        }
        ContainerCmd::Run { detach, create } => {
            let opts = create_options(&create)?;
            if detach && create.rm && opts.tty && opts.interactive {
                return Err(usage(
                    "-d with -it: a detached container has no terminal to attach; drop -it or -d.",
                ));
            }
            let store = open_store_to_write(vg)?;
            let (lv, rec) = ctr::create(&store, &create.image, &opts)?;
            if detach {
                ctr::start_detached(&store, &rec)?;
                println!("{}", rec.id);
                return Ok(());
            }
            let code = runtime::monitor(
                &store,
                &lv,
                &rec,
                runtime::Attach::Foreground {
                    stdin: opts.interactive,
                },
            )?;
            exit_with(code)
        }
        ContainerCmd::Start {
            attach,
            interactive,
            containers,
        } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            if attach {
                if containers.len() != 1 {
                    return Err(usage("start -a takes one container."));
                }
                let (lv, rec) = find(&c, &containers[0])?;
                let code = runtime::monitor(
                    &store,
                    lv,
                    rec,
                    runtime::Attach::Foreground { stdin: interactive },
                )?;
                return exit_with(code);
            }
            for name in &containers {
                let (_, rec) = find(&c, name)?;
                ctr::start_detached(&store, rec)?;
                println!("{name}");
            }
            Ok(())
        }
        ContainerCmd::Stop { time, containers } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            for name in &containers {
                let (_, rec) = find(&c, name)?;
                ctr::stop(rec, time)?;
                println!("{name}");
            }
            Ok(())
        }
        ContainerCmd::Kill { signal, containers } => {
            let sig = runtime::signal_number(&signal).ok_or_else(|| {
                usage(format!(
                    "Invalid signal: {signal}; use e.g. TERM, KILL, HUP or a number."
                ))
            })?;
            let store = open_store(vg)?;
            let c = store.catalog()?;
            for name in &containers {
                let (_, rec) = find(&c, name)?;
                runtime::signal(&rec.id, sig)?;
                println!("{name}");
            }
            Ok(())
        }
        ContainerCmd::Rm { force, containers } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let mut first_err = None;
            // Unknown names are reported; the rest go in one pool transaction.
            let mut found = Vec::new();
            let mut outcome: Vec<Option<CmdResult>> = Vec::new();
            for name in &containers {
                match find(&c, name) {
                    Ok((lv, rec)) => {
                        found.push((lv.as_str(), rec));
                        outcome.push(None);
                    }
                    Err(e) => outcome.push(Some(Err(e))),
                }
            }
            let mut removed = ctr::remove_many(&store, &found, force).into_iter();
            for (name, r) in containers.iter().zip(outcome) {
                match r.unwrap_or_else(|| removed.next().unwrap_or(Ok(()))) {
                    Ok(()) => println!("{name}"),
                    Err(e) => {
                        eprintln!("  {}", e.message());
                        first_err.get_or_insert(e);
                    }
                }
            }
            first_err.map_or(Ok(()), |_| Err(CmdError::failed("")))
        }
        ContainerCmd::Ls {
            all,
            quiet,
            no_trunc,
        } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let now = now();
            let mut rows = vec![vec![
                "CONTAINER ID".to_string(),
                "IMAGE".into(),
                "COMMAND".into(),
                "CREATED".into(),
                "STATUS".into(),
                "PORTS".into(),
                "NAMES".into(),
            ]];
            for (_, rec) in &c.containers {
                let up = runtime::running(&rec.id).is_some();
                if !all && !up {
                    continue;
                }
                let id = if no_trunc {
                    rec.id.clone()
                } else {
                    short_id(&rec.id).to_string()
                };
                if quiet {
                    println!("{id}");
                    continue;
                }
                let mut cmd = rec.config.argv.join(" ");
                if !no_trunc && cmd.chars().count() > 20 {
                    cmd = cmd.chars().take(19).collect::<String>() + "…";
                }
                rows.push(vec![
                    id,
                    rec.image_ref.clone(),
                    format!("\"{cmd}\""),
                    human_ago(rec.created, now),
                    ctr::status_text(rec, now),
                    ctr::ports_text(rec),
                    rec.name.clone(),
                ]);
            }
            if !quiet {
                print_table(&rows);
            }
            Ok(())
        }
        ContainerCmd::Logs {
            container,
            follow,
            tail,
            since,
            until,
            timestamps,
        } => {
            let tail: Option<usize> = match tail.as_str() {
                "all" => None,
                n => Some(n.parse().map_err(|_| {
                    usage(format!("--tail {n}: give a number of lines or \"all\"."))
                })?),
            };
            let now = now();
            let since = since
                .map(|t| ctr::parse_since(&t, now))
                .transpose()
                .map_err(usage)?;
            let until = until
                .map(|t| ctr::parse_since(&t, now))
                .transpose()
                .map_err(|e| usage(e.replace("--since", "--until")))?;
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let (lv, rec) = find(&c, &container)?;
            let mut shown = 0usize;
            let mut first = true;
            loop {
                let lines = ctr::logs(&store, lv, rec)?;
                let fresh: Vec<&ctr::LogLine> = lines
                    .iter()
                    .skip(shown)
                    .filter(|l| since.is_none_or(|s| l.epoch >= s))
                    .filter(|l| until.is_none_or(|u| l.epoch <= u))
                    .collect();
                let skip = match (first, tail) {
                    (true, Some(n)) => fresh.len().saturating_sub(n),
                    _ => 0,
                };
                first = false;
                for l in fresh.iter().skip(skip) {
                    let stamp = if timestamps {
                        format!("{} ", l.time)
                    } else {
                        String::new()
                    };
                    if l.stream == "stderr" {
                        eprint!("{stamp}{}", l.text);
                    } else {
                        print!("{stamp}{}", l.text);
                    }
                }
                shown = lines.len();
                let _ = std::io::stdout().flush();
                if !follow || runtime::running(&rec.id).is_none() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        }
        ContainerCmd::Pause { containers } => pause_all(vg, &containers, true),
        ContainerCmd::Unpause { containers } => pause_all(vg, &containers, false),
        ContainerCmd::Restart { time, containers } => {
            let store = open_store(vg)?;
            for name in &containers {
                let c = store.catalog()?;
                let (_, rec) = find(&c, name)?;
                ctr::stop(rec, time)?;
                // The exit was recorded in the VG: start from the fresh record.
                let c = store.catalog()?;
                let (_, rec) = find(&c, name)?;
                ctr::start_detached(&store, rec)?;
                println!("{name}");
            }
            Ok(())
        }
        ContainerCmd::Exec {
            interactive,
            tty,
            env,
            user,
            workdir,
            container,
            command,
        } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let (_, rec) = find(&c, &container)?;
            let io = runtime::ExecIo {
                tty,
                stdin: interactive,
            };
            let code = ctr::exec(rec, &command, &env, user.as_deref(), workdir.as_deref(), io)?;
            exit_with(code)
        }
        ContainerCmd::Inspect { containers } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let mut out = Vec::new();
            for name in &containers {
                let (lv, rec) = find(&c, name)?;
                out.push(ctr::inspect_json(lv, rec, &store.vg));
            }
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            Ok(())
        }
        ContainerCmd::Commit {
            container,
            reference,
            change,
            message,
            author,
        } => {
            let reference = reference
                .map(|r| parse_reference(&r))
                .transpose()
                .map_err(usage)?;
            let mut probe = ImageConfig::default();
            image::apply_changes(&mut probe, &change)?;
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let (lv, rec) = find(&c, &container)?;
            let id = ctr::commit(
                &store,
                lv,
                rec,
                reference.as_deref(),
                &ctr::CommitOptions {
                    changes: change,
                    message,
                    author,
                },
            )?;
            println!("sha256:{id}");
            Ok(())
        }
        ContainerCmd::Export { container, output } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let (lv, rec) = find(&c, &container)?;
            let out = output_file(&output)?;
            ctr::export(&store, lv, rec, &out)
        }
        ContainerCmd::Diff { container } => {
            let store = open_store(vg)?;
            let c = store.catalog()?;
            let (lv, rec) = find(&c, &container)?;
            for line in ctr::diff(&store, lv, rec)? {
                println!("{line}");
            }
            Ok(())
        }
        ContainerCmd::Cp { source, dest } => {
            let split = |s: &str| -> Option<(String, String)> {
                if s.starts_with('/') || s.starts_with('.') {
                    return None;
                }
                s.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            };
            let store_for = || open_store(vg);
            match (split(&source), split(&dest)) {
                (Some((name, path)), None) => {
                    let store = store_for()?;
                    let c = store.catalog()?;
                    let (lv, rec) = find(&c, &name)?;
                    ctr::copy_out(&store, lv, rec, &path, Path::new(&dest))
                }
                (None, Some((name, path))) => {
                    let store = store_for()?;
                    let c = store.catalog()?;
                    let (lv, rec) = find(&c, &name)?;
                    ctr::copy_in(&store, lv, rec, Path::new(&source), &path)
                }
                _ => Err(usage(
                    "cp copies between a container and this host: give CONTAINER:PATH as exactly one side.",
                )),
            }
        }
        ContainerCmd::Wait { containers } => {
            let store = open_store(vg)?;
            for name in &containers {
                let c = store.catalog()?;
                let (_, rec) = find(&c, name)?;
                runtime::wait_finished(&rec.id, Duration::from_secs(u64::MAX / 4));
                let c = store.catalog()?;
                let code = c
                    .find_container(name)
                    .ok()
                    .and_then(|(_, r)| r.state.as_ref().map(|s| s.exit_code))
                    .unwrap_or(0);
                println!("{code}");
            }
            Ok(())
        }
        ContainerCmd::Monitor { id } => {
            let store = open_store(vg)?;
            let code = ctr::monitor_main(&store, &id)?;
            exit_with(code)
        }
    }
}
