//! The command line, as clap definitions only: no work is done here (ripgrep's split between flag
//! definitions and the code that acts on them). Every group and verb of `../shared/CONTRACT.md` is here,
//! including those whose issue has not landed yet: those say so in their `--help` and exit with status 2.

pub mod filter;
pub mod key;
pub mod mail;
pub mod pem;
pub mod pgp;
pub mod smime;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub use filter::FilterCommand;
pub use key::KeyCommand;
pub use mail::MailCommand;
pub use pem::PemCommand;
pub use pgp::PgpCommand;
pub use smime::SmimeCommand;

/// sealpost: sign, encrypt, verify and decrypt e-mail with OpenPGP, S/MIME (CMS) and PEM (RFC 1421-1424).
#[derive(Debug, Parser)]
#[command(
    name = "sealpost",
    version,
    about = "Sign, encrypt, verify and decrypt e-mail with OpenPGP, S/MIME and Privacy-Enhanced Mail",
    long_about = "Sign, encrypt, verify and decrypt e-mail with OpenPGP (PGP 2.x to RFC 9580), S/MIME (CMS, \
RFC 8551) and the original Privacy-Enhanced Mail (RFC 1421-1424), by hand or as a filter in the mail path.\n\n\
Exit status: 0 success; 1 a cryptographic verdict or refusal (bad or missing signature, unknown signer, \
integrity failure, no usable key, policy refusal); 2 usage error, unreadable or malformed input, I/O error.",
    after_help = "Examples:\n  sealpost demo\n  sealpost bench --only aes128-cbc-encrypt,sha256 --seconds 1\n  sealpost bench --compare --json bench.json --plot bench.svg"
)]
pub struct Cli {
    /// Keystore directory (default: $SEALPOST_HOME, else ~/.local/share/sealpost).
    #[arg(long, global = true, env = "SEALPOST_HOME", value_name = "DIR")]
    pub keystore: Option<PathBuf>,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate, import, list and export keys and certificates.
    #[command(subcommand)]
    Key(KeyCommand),
    /// OpenPGP messages: sign, verify, encrypt, decrypt.
    #[command(subcommand)]
    Pgp(PgpCommand),
    /// S/MIME (CMS) messages: signed, enveloped, compressed data and signed receipts.
    #[command(subcommand)]
    Smime(SmimeCommand),
    /// Privacy-Enhanced Mail (RFC 1421-1424): MIC-CLEAR, MIC-ONLY and ENCRYPTED messages.
    #[command(subcommand)]
    Pem(PemCommand),
    /// Whole RFC 5322 messages: PGP/MIME, S/MIME and PEM mail.
    #[command(subcommand)]
    Mail(MailCommand),
    /// Mail-path filters: SMTP content filter, IMAP and POP3 proxies, pipe filter.
    #[command(subcommand)]
    Filter(FilterCommand),
    /// Measure cipher, digest, RSA and compression throughput, optionally against OpenSSL.
    Bench(BenchArgs),
    /// Run the core pipelines end to end on built-in sample data and print the verdicts.
    #[command(long_about = "Run the core pipelines end to end on built-in sample data and print the verdicts.\n\n\
The demo signs a sample message with a fresh RSA-2048 key (SHA-256), compresses it (zlib), encrypts it \
(AES-256-GCM, session key wrapped with RSA-OAEP), then decrypts, decompresses and verifies it. It repeats this \
with legacy algorithms named explicitly (3DES-CBC, SHA-1, RSA-1024) to show weak labels, and with a tampered \
ciphertext to show a failure. The envelope is the core's own demonstration framing, not a mail standard.")]
    Demo,
}

/// Input and output shared by most verbs.
#[derive(Debug, Args, Clone)]
pub struct Io {
    /// Write the result here instead of standard output.
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Read from this file ("-" or absent: standard input).
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,
}

/// Where a verify or decrypt command writes its verdict.
#[derive(Debug, Args, Clone)]
pub struct VerdictOut {
    /// Also write the verdict as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub verdict_json: Option<PathBuf>,
}

/// `sealpost bench`.
#[derive(Debug, Args)]
#[command(
    long_about = "Measure throughput of every cipher and mode (encrypt and decrypt separately), digest, RSA \
operation and compressor at several buffer sizes, and print a table. MB means 10^6 bytes; RSA rows are in \
operations per second.\n\nRow names (also accepted by --only): <cipher>-<mode>-<encrypt|decrypt> with cipher \
idea|des|3des|cast5|aes128|aes192|aes256 and mode cbc|cfb, aes128-gcm-* and aes256-gcm-*; md5, sha1, sha224, \
sha256, sha384, sha512; rsa<2048|3072|4096>-<sign|verify|encrypt|decrypt>; <deflate|zlib|bzip2>-<compress|\
decompress>. --only also takes a prefix followed by '*' (e.g. 'aes*').",
    after_help = "Examples:\n  sealpost bench\n  sealpost bench --only 3des-cbc-encrypt,md5 --sizes 16384 --compare\n  sealpost bench --only 'rsa2048*' --seconds 2 --json rsa.json"
)]
pub struct BenchArgs {
    /// Only these rows (comma-separated names or 'prefix*').
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    pub only: Vec<String>,
    /// Seconds to spend measuring each row at each size.
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    pub seconds: f64,
    /// Buffer sizes in bytes.
    #[arg(long, value_delimiter = ',', default_value = "64,1024,16384,1048576", value_name = "N,...")]
    pub sizes: Vec<usize>,
    /// Also run `openssl speed` on the same rows in the same run and report our/their ratio.
    #[arg(long)]
    pub compare: bool,
    /// Write the rows as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Draw a bar chart of the 16 KiB (or largest) figures as SVG.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Do not show a progress bar.
    #[arg(long)]
    pub quiet: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn clap_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    /// Every example in every `after_help` parses.
    #[test]
    fn help_examples_parse() {
        let mut examples = Vec::new();
        collect_examples(&Cli::command(), &mut examples);
        assert!(examples.len() >= 6, "expected examples, found {examples:?}");
        for ex in examples {
            // A shell redirection or pipe ends the sealpost command line.
            let argv: Vec<String> =
                shell_split(&ex).into_iter().take_while(|w| !matches!(w.as_str(), ">" | "<" | "|")).collect();
            let parsed = Cli::try_parse_from(&argv);
            assert!(parsed.is_ok(), "example {ex:?} does not parse: {:?}", parsed.err());
        }
    }

    fn collect_examples(cmd: &clap::Command, out: &mut Vec<String>) {
        if let Some(help) = cmd.get_after_help() {
            for line in help.to_string().lines() {
                let line = line.trim();
                if line.starts_with("sealpost ") {
                    out.push(line.to_string());
                }
            }
        }
        for sub in cmd.get_subcommands() {
            collect_examples(sub, out);
        }
    }

    fn shell_split(line: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = String::new();
        let mut quote = None;
        for c in line.chars() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, ' ') => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                _ => cur.push(c),
            }
        }
        if !cur.is_empty() {
            out.push(cur);
        }
        out
    }
}
