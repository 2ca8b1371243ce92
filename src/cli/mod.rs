//! The `sealpost` command: parses arguments (see [`args`]), dispatches to the library, and turns the outcome
//! into CONTRACT.md's conventions: exit 0 / 1 / 2 and one-line `sealpost: error: ...` messages, never a panic
//! or backtrace. This is the only module that uses `anyhow`.

pub mod args;
mod bench;
mod demo;
mod files;
mod filter;
mod keystore;
mod mail;
mod pem;
mod pgp;
mod smime;
mod smime_compress;
mod x509;

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, FilterCommand, KeyCommand, MailCommand, PemCommand, PgpCommand, SmimeCommand};
use crate::core::CoreError;

/// A failure that is a cryptographic verdict or a refusal (exit status 1), not an error of use or input.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct VerdictFailure(pub String);

/// A failure with its own exit status (the pipe filter's sysexits codes), and its one-line message.
#[derive(Debug, thiserror::Error)]
#[error("{1}")]
pub struct ExitWith(pub u8, pub String);

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_error(&err),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => report(&err),
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo => demo::run(&mut io::stdout().lock()),
        Command::Bench(args) => bench::run(&args),
        Command::Key(KeyCommand::Generate(g)) => match g.key_type {
            args::key::KeyType::Pgp => pgp::generate_cmd(&g),
            args::key::KeyType::X509 => x509::generate_cmd(&g),
        },
        Command::Key(KeyCommand::Import(a)) => keystore::import_cmd(cli.keystore.as_deref(), &a),
        Command::Key(KeyCommand::List(a)) => keystore::list_cmd(cli.keystore.as_deref(), &a),
        Command::Key(KeyCommand::Export(a)) => keystore::export_cmd(cli.keystore.as_deref(), &a),
        Command::Pgp(cmd) => match cmd {
            PgpCommand::Sign(a) => pgp::sign_cmd(&a),
            PgpCommand::Verify(a) => pgp::verify_cmd(&a),
            PgpCommand::Encrypt(a) => pgp::encrypt_cmd(&a),
            PgpCommand::Decrypt(a) => pgp::decrypt_cmd(&a),
            PgpCommand::ListKeys(a) => pgp::list_keys_cmd(&a),
        },
        Command::Smime(cmd) => match cmd {
            SmimeCommand::Sign(a) => smime::sign_cmd(&a),
            SmimeCommand::Verify(a) => smime::verify_cmd(&a),
            SmimeCommand::Encrypt(a) => smime::encrypt_cmd(&a),
            SmimeCommand::Decrypt(a) => smime::decrypt_cmd(&a),
            SmimeCommand::Receipt(a) => smime::receipt_cmd(&a),
            SmimeCommand::VerifyReceipt(a) => smime::verify_receipt_cmd(&a),
            SmimeCommand::Compress(a) => smime_compress::compress_cmd(&a),
            SmimeCommand::Decompress(a) => smime_compress::decompress_cmd(&a),
        },
        Command::Pem(cmd) => match cmd {
            PemCommand::Sign(a) => pem::sign_cmd(&a),
            PemCommand::Verify(a) => pem::verify_cmd(&a),
            PemCommand::Encrypt(a) => pem::encrypt_cmd(&a),
            PemCommand::Decrypt(a) => pem::decrypt_cmd(&a),
            PemCommand::Show(a) => pem::show_cmd(&a),
        },
        Command::Mail(cmd) => match cmd {
            MailCommand::Sign(a) => mail::sign_cmd(cli.keystore.as_deref(), &a),
            MailCommand::Encrypt(a) => mail::encrypt_cmd(cli.keystore.as_deref(), &a),
            MailCommand::SignEncrypt(a) => mail::sign_encrypt_cmd(cli.keystore.as_deref(), &a),
            MailCommand::Verify(a) => mail::verify_cmd(cli.keystore.as_deref(), &a),
            MailCommand::Decrypt(a) => mail::decrypt_cmd(cli.keystore.as_deref(), &a),
            MailCommand::Receipt(a) => mail::receipt_cmd(cli.keystore.as_deref(), &a),
        },
        Command::Filter(cmd) => match cmd {
            FilterCommand::Smtp(a) => filter::smtp_cmd(cli.keystore.as_deref(), &a),
            FilterCommand::Imap(a) => filter::imap_cmd(cli.keystore.as_deref(), &a),
            FilterCommand::Pop3(a) => filter::pop3_cmd(cli.keystore.as_deref(), &a),
            FilterCommand::Pipe(a) => filter::pipe_cmd(cli.keystore.as_deref(), &a),
            FilterCommand::Explain(a) => filter::explain_cmd(cli.keystore.as_deref(), &a),
        },
    }
}

/// The exit status an error maps to (CONTRACT.md): 1 for verdicts and refusals, 2 for everything else.
pub fn exit_status(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<ExitWith>() {
            return e.0;
        }
        if cause.downcast_ref::<VerdictFailure>().is_some() {
            return 1;
        }
        if let Some(core) = cause.downcast_ref::<CoreError>() {
            return if core.is_verdict() { 1 } else { 2 };
        }
        if let Some(pgp) = cause.downcast_ref::<crate::pgp::PgpError>() {
            return if pgp.is_verdict() { 1 } else { 2 };
        }
        if let Some(smime) = cause.downcast_ref::<crate::smime::SmimeError>() {
            return if smime.is_verdict() { 1 } else { 2 };
        }
        if let Some(pem) = cause.downcast_ref::<crate::pem::PemError>() {
            return if pem.is_verdict() { 1 } else { 2 };
        }
        if let Some(f) = cause.downcast_ref::<crate::filter::FilterError>() {
            return match f {
                crate::filter::FilterError::Config(_) => 2,
                crate::filter::FilterError::Refused(_) => 1,
                _ => 2,
            };
        }
        if let Some(m) = cause.downcast_ref::<crate::mail::MailError>() {
            return if m.is_verdict() { 1 } else { 2 };
        }
        if let Some(m) = cause.downcast_ref::<crate::mime::MimeError>() {
            let _ = m;
            return 2;
        }
        if let Some(x509) = cause.downcast_ref::<crate::x509::X509Error>() {
            return if x509.is_verdict() { 1 } else { 2 };
        }
        if let Some(ks) = cause.downcast_ref::<crate::keystore::KeystoreError>() {
            return if ks.is_verdict() { 1 } else { 2 };
        }
    }
    2
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| c.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe))
}

/// One line: `sealpost: error: ` and the whole cause chain joined by ": ".
pub fn one_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    let flat: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    format!("sealpost: error: {}", flat.join(" "))
}

fn report(err: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(err) {
        // The reader went away (`sealpost ... | head`): nothing useful to say, and nobody to say it to.
        return ExitCode::from(2);
    }
    let _ = writeln!(io::stderr(), "{}", one_line(err));
    ExitCode::from(exit_status(err))
}

fn clap_error(err: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            // clap's message spans lines (the missing arguments are listed below the first); keep it all,
            // on one line, without the usage block and the "For more information" hint.
            let rendered = err.render().to_string();
            let body = rendered.split("\n\nUsage:").next().unwrap_or("invalid arguments");
            let body = body.split("\n\nFor more information").next().unwrap_or(body);
            let msg: Vec<&str> = body.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let msg = msg.join(" ");
            let msg = msg.strip_prefix("error: ").unwrap_or(&msg);
            let _ = writeln!(io::stderr(), "sealpost: error: {msg} (see --help)");
            ExitCode::from(2)
        }
    }
}

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let _ = writeln!(
            io::stderr(),
            "sealpost: error: internal error: {} {at} (this is a bug, please report it)",
            what.replace('\n', " ")
        );
        std::process::exit(2);
    }));
}
