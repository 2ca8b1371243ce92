//! `sealpost filter pipe|explain`: the configuration and keystore read, then [`crate::filter::plan`].

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;

use super::ExitWith;
use super::args::filter::{Direction as ArgDirection, FilterExplain, FilterPipe, FilterServer, FilterUpstream};
use super::files as io;
use crate::filter::FilterError;
use crate::filter::config::Config;
use crate::filter::plan::{self, Direction};
use crate::keystore::Keystore;

fn setup(config: &Path, keystore: Option<&Path>) -> Result<(Config, Keystore), FilterError> {
    let config = Config::read(config)?;
    let dir = keystore.map(Path::to_path_buf).or_else(|| config.keystore.clone());
    let ks = Keystore::open(dir.as_deref())?;
    Ok((config, ks))
}

/// One message from standard input to standard output. Exit 0 with the message (changed or not), 75 to
/// retry later, 69 when the message is refused for good, 78 for a broken configuration; nothing is written
/// to standard output unless the whole message is.
pub(super) fn pipe_cmd(keystore: Option<&Path>, args: &FilterPipe) -> anyhow::Result<()> {
    let run = || -> Result<Vec<u8>, FilterError> {
        let (config, ks) = setup(&args.config, keystore)?;
        let mut raw = Vec::new();
        std::io::stdin()
            .take(crate::mime::entity::MAX_MESSAGE as u64 + 1)
            .read_to_end(&mut raw)
            .map_err(|e| FilterError::Temporary(format!("reading the message: {e}")))?;
        let forced = match args.direction {
            ArgDirection::In => Some(Direction::Inbound),
            ArgDirection::Out => Some(Direction::Outbound),
            ArgDirection::Auto => None,
        };
        let p = plan::plan(&config, &ks, &raw, forced)?;
        plan::apply(&p, &raw, &super::mail::authserv_id(config.authserv_id.as_deref())).map(|o| o.message)
    };
    match run() {
        Ok(out) => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out).and_then(|()| stdout.flush()).context("writing the message")?;
            Ok(())
        }
        Err(e) => Err(ExitWith(e.exit_status(), e.to_string()).into()),
    }
}

/// What the filter would do with a message, and why; nothing is sent or changed.
pub(super) fn explain_cmd(keystore: Option<&Path>, args: &FilterExplain) -> anyhow::Result<()> {
    let (config, ks) = setup(&args.config, keystore)?;
    let mut raw = Vec::new();
    io::input(args.input.as_deref())?
        .take(crate::mime::entity::MAX_MESSAGE as u64 + 1)
        .read_to_end(&mut raw)
        .context("reading the message")?;
    if let Some(sender) = &args.sender {
        print!("{}", explain_envelope(&config, &ks, &raw, sender, &args.rcpt)?);
        return Ok(());
    }
    let p = plan::plan(&config, &ks, &raw, None)?;
    print!("{}", plan::explain(&p));
    Ok(())
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SEALPOST_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter(filter).with_ansi(false).try_init();
}

/// The POP3 proxy, until SIGTERM.
pub(super) fn pop3_cmd(keystore: Option<&Path>, args: &FilterUpstream) -> anyhow::Result<()> {
    init_logs();
    let (config, ks) = setup(&args.config, keystore)?;
    crate::filter::pop3::proxy::run(config, ks, args.listen.as_deref(), args.upstream.as_deref())?;
    Ok(())
}

/// The IMAP proxy, until SIGTERM.
pub(super) fn imap_cmd(keystore: Option<&Path>, args: &FilterUpstream) -> anyhow::Result<()> {
    init_logs();
    let (config, ks) = setup(&args.config, keystore)?;
    crate::filter::imap::proxy::run(config, ks, args.listen.as_deref(), args.upstream.as_deref())?;
    Ok(())
}

/// The SMTP content filter, until SIGTERM.
pub(super) fn smtp_cmd(keystore: Option<&Path>, args: &FilterServer) -> anyhow::Result<()> {
    init_logs();
    let (config, ks) = setup(&args.config, keystore)?;
    crate::filter::smtp::run(config, ks, args.listen.as_deref(), args.relay.as_deref())?;
    Ok(())
}

/// The SMTP hook's decisions for an envelope: each recipient's treatment, then each transaction's plan.
fn explain_envelope(
    config: &Config,
    ks: &Keystore,
    raw: &[u8],
    sender: &str,
    rcpts: &[String],
) -> Result<String, FilterError> {
    use crate::filter::route::{self, Keys, Rcpt};
    let norm = route::normalize;
    let sender = (sender != "<>" && !sender.is_empty()).then(|| norm(sender));
    let keys = Keys::new(std::time::Duration::ZERO);
    let mut out = String::new();
    let mut accepted = Vec::new();
    for r in rcpts {
        match route::treatment(config, ks, &keys, sender.as_deref(), &norm(r)) {
            Ok(t) => accepted.push(Rcpt { address: r.clone(), normalized: norm(r), treatment: t }),
            Err(FilterError::Refused(why)) => out.push_str(&format!("RCPT {r}: refused with 550: {why}\n")),
            Err(e) => return Err(e),
        }
    }
    if accepted.is_empty() {
        out.push_str("no recipient accepted: the message would not be taken\n");
        return Ok(out);
    }
    let pass = plan::passphrase(config)?;
    let groups = route::groups(config, ks, &keys, pass.as_deref().map(|p| &p[..]), raw, sender.as_deref(), &accepted)?;
    out.push_str(&format!("{} next-hop transaction(s):\n", groups.len()));
    for g in groups {
        out.push_str(&format!("to {}: {}", g.rcpts.join(", "), plan::explain(&g.plan)));
    }
    Ok(out)
}
