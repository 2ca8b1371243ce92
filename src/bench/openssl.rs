//! OpenSSL's own figures, for `sealpost bench --compare`: runs `openssl speed` and parses its output.
//!
//! This module owns everything that knows how the `openssl` command-line tool is driven and what it prints,
//! so that the rest of the benchmark code deals only in [`Query`] and [`Figure`]. It shells out instead of
//! linking OpenSSL because the point is to compare against the OpenSSL the user actually has, with its
//! assembly, measured the way OpenSSL itself measures.
//!
//! # Commands
//!
//! - ciphers and digests: `openssl speed -mr -seconds S -bytes N -provider legacy -provider default -evp NAME
//!   [-decrypt]`. OpenSSL 3 keeps DES, CAST5, Blowfish, IDEA, MD4... in the legacy provider, which must be
//!   loaded explicitly; loading it next to the default provider is harmless for the other algorithms
//!   (checked on OpenSSL 3.0.19 with md5, sha1, sha256, aes-128-cbc/-cfb/-gcm with and without `-decrypt`,
//!   and rsa2048). Where the legacy provider cannot be loaded (OpenSSL 1.1 has no `-provider` option; some
//!   builds ship no `legacy.so`), [`measure`] runs the command again without the `-provider` options.
//! - RSA: `openssl speed -mr -seconds S rsaBITS` (no provider needed).
//!
//! # The `-mr` (machine-readable) format
//!
//! As printed by OpenSSL 3.0.19 (Debian bookworm), one line per item, fields separated by `:`:
//!
//! - `+H:16384` (stdout): the block sizes measured, one field per size (`-bytes N` gives one size).
//! - `+F:25:md5:883196896.97` (stdout): `+F:<algorithm index>:<name>:<figure per +H size>...`, in **bytes per
//!   second** (the human-readable table divides by 1000 and prints `k`; `-mr` does not).
//! - `+DT:md5:1:16384` (stderr): a timed run starts: name, seconds, size.
//! - `+R:53367:md5:0.990000` (stderr): a timed run ends: operation count, name, seconds of CPU time used.
//! - `+F2:2:2048:4635.000000:78936.734694` (stdout): RSA, `+F2:<key index>:<bits>:<sign/s>:<verify/s>`, in
//!   operations per second (since 1.1.1; 1.1.0 and older printed seconds per operation). OpenSSL 3.2 and later
//!   append `:<encrypt/s>:<decrypt/s>`, which this parser ignores.
//! - `+DTP:2048:private:rsa:1` then `+R1:4635:2048:1.00` (stderr): the RSA signing run (bits; then count, bits
//!   and seconds); `+DTP:2048:public:rsa:1` and `+R2:...` likewise for verification.
//!
//! The name in `+F` is OpenSSL's canonical one (`AES-128-CBC`, `md5`), not necessarily what was asked for, so
//! the parser does not match on it. OpenSSL times with CPU *user* time unless `-elapsed` is given; we always
//! give it, so that OpenSSL's figures, like ours, are per wall-clock second.
//!
//! # Failures (OpenSSL 3.0.19), all with exit status 1
//!
//! - an unknown name: `speed: idea-cbc is an unknown cipher or digest` (IDEA and MD2 are not built on Debian);
//! - a known name whose provider is not loaded: `Couldn't init the context` and an error-stack line containing
//!   `:unsupported:` (des-cbc without the legacy provider);
//! - an unknown RSA size: `speed: Unknown algorithm rsa1234`;
//! - a provider that cannot be loaded: `speed: unable to load provider legacy`.
//!
//! The first three are [`OpensslError::Unsupported`]. On 3.0.19, `-evp aes-128-gcm -decrypt` works (it prints
//! a figure, about 5% below encryption, and nothing on stderr but `+DT`/`+R`), and `des-cfb`, `des-ede3-cfb`,
//! `cast5-cfb` and `aes-128-cfb` all exist (the DES and CAST5 ones through the legacy provider).

use std::io;
use std::process::{Command, Output};

/// The program this module runs, looked up on `PATH`.
const PROGRAM: &str = "openssl";

/// The options that load the legacy provider next to the default one (OpenSSL 3).
const PROVIDERS: [&str; 4] = ["-provider", "legacy", "-provider", "default"];

/// How much of OpenSSL's stderr or stdout an error carries at most, in characters.
const MAX_CAPTURE: usize = 4000;

/// One thing to ask OpenSSL to measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A cipher through EVP, for example `aes-128-cbc` or `des-ede3-cfb`.
    Cipher {
        /// OpenSSL's name for the cipher, as accepted by `-evp`.
        evp: String,
        /// Time decryption instead of encryption.
        decrypt: bool,
    },
    /// A digest through EVP, for example `md5` or `sha256`.
    Digest {
        /// OpenSSL's name for the digest, as accepted by `-evp`.
        evp: String,
    },
    /// RSA private-key signing and public-key verification with OpenSSL's built-in test key of this size.
    Rsa {
        /// The modulus size; OpenSSL 3.0 has keys of 512, 1024, 2048, 3072, 4096, 7680 and 15360 bits.
        bits: u32,
    },
}

impl Query {
    /// How the query reads in messages: the `-evp` name (with ` -decrypt`), or `rsaBITS`.
    fn describe(&self) -> String {
        match self {
            Query::Cipher { evp, decrypt: true } => format!("{evp} -decrypt"),
            Query::Cipher { evp, decrypt: false } | Query::Digest { evp } => evp.clone(),
            Query::Rsa { bits } => format!("rsa{bits}"),
        }
    }
}

/// OpenSSL's figure for a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Figure {
    /// Throughput of a cipher or digest, in bytes (not thousands of bytes) per second.
    BytesPerSecond(f64),
    /// RSA operations per second.
    Rsa {
        /// Private-key signatures per second.
        sign_per_s: f64,
        /// Public-key verifications per second.
        verify_per_s: f64,
    },
}

/// Why OpenSSL gave no figure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpensslError {
    /// There is no `openssl` program on `PATH`.
    #[error("openssl is not installed (no `openssl` program on PATH)")]
    NotInstalled,
    /// This OpenSSL does not know the algorithm, or cannot run it (for example IDEA on Debian).
    #[error("this OpenSSL does not support {what}")]
    Unsupported {
        /// The algorithm, as named in the query (`idea-cbc`, `aes-128-gcm -decrypt`, `rsa1234`).
        what: String,
    },
    /// `openssl` could not be started, or exited with an error this module does not recognise.
    #[error("`{command}` failed: {stderr}")]
    Failed {
        /// The command line that was run.
        command: String,
        /// What it printed on stderr (or why it could not be started), trimmed.
        stderr: String,
    },
    /// `openssl` succeeded but its output has no figure this module can read.
    #[error("could not find a figure in the output of `{command}`: {output}")]
    Unparsable {
        /// The command line that was run.
        command: String,
        /// What it printed on stdout, trimmed.
        output: String,
    },
}

/// OpenSSL's version line, as printed by `openssl version` (for example
/// `OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)`).
pub fn version() -> Result<String, OpensslError> {
    let argv = vec![PROGRAM.to_string(), "version".to_string()];
    let output = run(&argv)?;
    if !output.status.success() {
        return Err(failed(&argv, &output));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        return Err(OpensslError::Unparsable { command: argv.join(" "), output: capture(&output.stdout) });
    }
    Ok(line.to_string())
}

/// The command line [`measure`] runs for `query`, program name first, for printing in reports.
///
/// `bytes` is the buffer size of cipher and digest runs (ignored for RSA); `seconds` below 1 is raised to 1.
/// Where the legacy provider cannot be loaded, [`measure`] falls back to the same command without the
/// `-provider` options.
pub fn command_line(query: &Query, bytes: usize, seconds: u32) -> Vec<String> {
    let mut argv: Vec<String> =
        [PROGRAM, "speed", "-elapsed", "-mr", "-seconds"].iter().map(|s| s.to_string()).collect();
    argv.push(seconds.max(1).to_string());
    match query {
        Query::Cipher { evp, decrypt } => {
            argv.extend(["-bytes".to_string(), bytes.to_string()]);
            argv.extend(PROVIDERS.iter().map(|s| s.to_string()));
            argv.extend(["-evp".to_string(), evp.clone()]);
            if *decrypt {
                argv.push("-decrypt".to_string());
            }
        }
        Query::Digest { evp } => {
            argv.extend(["-bytes".to_string(), bytes.to_string()]);
            argv.extend(PROVIDERS.iter().map(|s| s.to_string()));
            argv.extend(["-evp".to_string(), evp.clone()]);
        }
        Query::Rsa { bits } => argv.push(format!("rsa{bits}")),
    }
    argv
}

/// Asks OpenSSL to measure `query` on `bytes`-byte buffers for `seconds` seconds (per RSA operation kind).
///
/// This runs `openssl speed` once and blocks for about `seconds` seconds (twice that for RSA: signing, then
/// verification).
pub fn measure(query: &Query, bytes: usize, seconds: u32) -> Result<Figure, OpensslError> {
    let argv = command_line(query, bytes, seconds);
    let mut output = run(&argv)?;
    let mut used = argv;
    if !output.status.success() && provider_unavailable(&String::from_utf8_lossy(&output.stderr)) {
        let without: Vec<String> = without_providers(&used);
        if without.len() != used.len() {
            output = run(&without)?;
            used = without;
        }
    }
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if is_unsupported(&stderr) {
            return Err(OpensslError::Unsupported { what: query.describe() });
        }
        return Err(failed(&used, &output));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figure = match query {
        Query::Cipher { .. } | Query::Digest { .. } => parse_evp(&stdout, bytes).map(Figure::BytesPerSecond),
        Query::Rsa { bits } => {
            parse_rsa(&stdout, *bits).map(|(sign_per_s, verify_per_s)| Figure::Rsa { sign_per_s, verify_per_s })
        }
    };
    figure.ok_or_else(|| OpensslError::Unparsable { command: used.join(" "), output: capture(&output.stdout) })
}

/// Runs `argv` (program first) to completion with C locale, capturing both streams.
fn run(argv: &[String]) -> Result<Output, OpensslError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(OpensslError::Failed { command: String::new(), stderr: "empty command line".to_string() });
    };
    Command::new(program).args(args).env("LC_ALL", "C").output().map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => OpensslError::NotInstalled,
        _ => OpensslError::Failed { command: argv.join(" "), stderr: error.to_string() },
    })
}

/// The `Failed` error for a command that exited unsuccessfully.
fn failed(argv: &[String], output: &Output) -> OpensslError {
    let mut stderr = capture(&output.stderr);
    if stderr.is_empty() {
        stderr = match output.status.code() {
            Some(code) => format!("exit status {code}, nothing on stderr"),
            None => "killed by a signal".to_string(),
        };
    }
    OpensslError::Failed { command: argv.join(" "), stderr }
}

/// At most `MAX_CAPTURE` characters of a stream, lossily decoded and trimmed.
fn capture(stream: &[u8]) -> String {
    let text = String::from_utf8_lossy(stream);
    let text = text.trim();
    match text.char_indices().nth(MAX_CAPTURE) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

/// `argv` without the `-provider NAME` pairs.
fn without_providers(argv: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    let mut args = argv.iter();
    while let Some(arg) = args.next() {
        if arg == "-provider" {
            args.next();
        } else {
            out.push(arg.clone());
        }
    }
    out
}

/// Whether stderr says the `-provider` options themselves failed: OpenSSL 3 could not load a provider, or an
/// OpenSSL without providers (1.1) does not know the option.
fn provider_unavailable(stderr: &str) -> bool {
    stderr.contains("unable to load provider") || stderr.lines().any(|line| line.contains("-provider"))
}

/// Whether stderr says the algorithm is unknown or unavailable, rather than that something broke.
fn is_unsupported(stderr: &str) -> bool {
    stderr.contains("is an unknown cipher or digest")
        || stderr.contains("Unknown algorithm")
        || (stderr.contains("Couldn't init the context") && stderr.contains(":unsupported:"))
}

/// The bytes-per-second figure for `bytes`-byte buffers from `-mr` cipher or digest output: the `+F` value in
/// the column whose `+H` size is `bytes`, or the last column if no `+H` line names that size.
fn parse_evp(stdout: &str, bytes: usize) -> Option<f64> {
    let sizes: Vec<usize> = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("+H:"))
        .map(|rest| rest.split(':').filter_map(|size| size.trim().parse().ok()).collect())
        .unwrap_or_default();
    let line = stdout.lines().find_map(|line| line.trim().strip_prefix("+F:"))?;
    // <algorithm index>:<name>:<figure>...; the name never contains ':' (OpenSSL's EVP names do not).
    let figures: Vec<&str> = line.splitn(3, ':').nth(2)?.split(':').collect();
    let column = sizes.iter().position(|&size| size == bytes).unwrap_or(figures.len().saturating_sub(1));
    let figure: f64 = figures.get(column)?.trim().parse().ok()?;
    positive(figure)
}

/// Signatures and verifications per second for a `bits`-bit key from `-mr` RSA output.
fn parse_rsa(stdout: &str, bits: u32) -> Option<(f64, f64)> {
    stdout.lines().find_map(|line| {
        // <key index>:<bits>:<sign/s>:<verify/s>[:<encrypt/s>:<decrypt/s>]
        let mut fields = line.trim().strip_prefix("+F2:")?.split(':').skip(1);
        if fields.next()?.trim().parse::<u32>().ok()? != bits {
            return None;
        }
        let sign = positive(fields.next()?.trim().parse().ok()?)?;
        let verify = positive(fields.next()?.trim().parse().ok()?)?;
        Some((sign, verify))
    })
}

/// `figure` if it is a usable measurement (finite and above zero).
fn positive(figure: f64) -> Option<f64> {
    (figure.is_finite() && figure > 0.0).then_some(figure)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured from OpenSSL 3.0.19 (Debian bookworm) on an AMD EPYC, stdout only unless named `_STDERR`.

    /// `openssl speed -mr -seconds 1 -bytes 1024 -evp md5`
    const MD5_1024: &str = "+H:1024\n+F:25:md5:783241216.00\n";
    /// its stderr
    const MD5_1024_STDERR: &str = "+DT:md5:1:1024\n+R:764884:md5:1.000000\n";
    /// `openssl speed -mr -seconds 1 -bytes 16384 -provider legacy -provider default -evp des-ede3-cfb`
    const DES_EDE3_CFB: &str = "+H:16384\n+F:25:DES-EDE3-CFB:36392339.39\n";
    /// `openssl speed -mr -seconds 1 -bytes 16384 -evp aes-128-gcm -decrypt`
    const AES_GCM_DECRYPT: &str = "+H:16384\n+F:25:AES-128-GCM:5186988602.06\n";
    /// `openssl speed -mr -seconds 1 -evp sha1` (every default size)
    const SHA1_ALL_SIZES: &str = "+H:16:64:256:1024:8192:16384\n\
        +F:25:sha1:171269086.57:508567058.82:1119370472.73:1712745456.72:2055990168.12:2100592640.00\n";
    /// `openssl speed -mr -seconds 1 rsa2048`
    const RSA_2048: &str = "+F2:2:2048:4635.000000:78936.734694\n";
    /// its stderr
    const RSA_2048_STDERR: &str =
        "+DTP:2048:private:rsa:1\n+R1:4635:2048:1.00\n+DTP:2048:public:rsa:1\n+R2:77358:2048:0.98\n";
    /// stderr of `openssl speed -mr -seconds 1 -bytes 16384 -provider legacy -provider default -evp idea-cbc`
    const IDEA_STDERR: &str = "speed: idea-cbc is an unknown cipher or digest\n\
        4007C951437F0000:error:0308010C:digital envelope routines:inner_evp_generic_fetch:unsupported:../crypto/evp/evp_fetch.c:386:Global default library context, Algorithm (idea-cbc : 0), Properties (<null>)\n\
        4007C951437F0000:error:0308010C:digital envelope routines:inner_evp_generic_fetch:unsupported:../crypto/evp/evp_fetch.c:386:Global default library context, Algorithm (idea-cbc : 0), Properties (<null>)\n";
    /// stderr of `openssl speed -mr -seconds 1 -bytes 16384 -evp des-cbc` (no legacy provider)
    const DES_NO_LEGACY_STDERR: &str = "+DT:DES-CBC:1:16384\n\nCouldn't init the context\n\
        40176C13B27F0000:error:0308010C:digital envelope routines:inner_evp_generic_fetch:unsupported:../crypto/evp/evp_fetch.c:386:Global default library context, Algorithm (DES-CBC : 8), Properties ()\n";
    /// stderr of `openssl speed -mr -seconds 1 rsa1234`
    const RSA_1234_STDERR: &str = "speed: Unknown algorithm rsa1234\n";
    /// stderr of `OPENSSL_MODULES=/nonexistent openssl speed -mr -seconds 1 -bytes 1024 -provider legacy
    /// -provider default -evp md5`
    const NO_LEGACY_MODULE_STDERR: &str = "speed: unable to load provider legacy\n\
        Hint: use -provider-path option or OPENSSL_MODULES environment variable.\n\
        4037FC8F167F0000:error:12800067:DSO support routines:dlfcn_load:could not load the shared library:../crypto/dso/dso_dlfcn.c:115:filename(/nonexistent/legacy.so): /nonexistent/legacy.so: cannot open shared object file: No such file or directory\n\
        4037FC8F167F0000:error:12800067:DSO support routines:DSO_load:could not load the shared library:../crypto/dso/dso_lib.c:152:\n\
        4037FC8F167F0000:error:07880025:common libcrypto routines:provider_init:reason(524325):../crypto/provider_core.c:923:name=legacy\n";

    #[test]
    fn parses_evp_figures_in_bytes_per_second() {
        assert_eq!(parse_evp(MD5_1024, 1024), Some(783_241_216.0));
        assert_eq!(parse_evp(DES_EDE3_CFB, 16384), Some(36_392_339.39));
        assert_eq!(parse_evp(AES_GCM_DECRYPT, 16384), Some(5_186_988_602.06));
        // 764884 operations of 1024 bytes in 1.000000 s: the +F figure is bytes/s, not thousands.
        assert_eq!(MD5_1024_STDERR.lines().nth(1), Some("+R:764884:md5:1.000000"));
        assert_eq!(764_884.0 * 1024.0, 783_241_216.0);
    }

    #[test]
    fn picks_the_column_of_the_requested_size() {
        assert_eq!(parse_evp(SHA1_ALL_SIZES, 16), Some(171_269_086.57));
        assert_eq!(parse_evp(SHA1_ALL_SIZES, 1024), Some(1_712_745_456.72));
        assert_eq!(parse_evp(SHA1_ALL_SIZES, 16384), Some(2_100_592_640.0));
        // A size OpenSSL did not report: the last column.
        assert_eq!(parse_evp(SHA1_ALL_SIZES, 4096), Some(2_100_592_640.0));
    }

    #[test]
    fn parses_rsa_operations_per_second() {
        assert_eq!(parse_rsa(RSA_2048, 2048), Some((4635.0, 78_936.734_694)));
        assert_eq!(parse_rsa(RSA_2048, 4096), None);
        // OpenSSL 3.2+ appends encrypt/s and decrypt/s; they are ignored (format string `+F2:%u:%u:%f:%f:%f:%f`).
        assert_eq!(parse_rsa("+F2:4:2048:1500.0:50000.0:48000.0:1490.0\n", 2048), Some((1500.0, 50000.0)));
        // The counts on stderr agree: 4635 signatures in 1.00 s.
        assert!(RSA_2048_STDERR.contains("+R1:4635:2048:1.00"));
    }

    #[test]
    fn rejects_output_without_a_figure() {
        assert_eq!(parse_evp("", 16384), None);
        assert_eq!(parse_evp(MD5_1024_STDERR, 1024), None);
        assert_eq!(parse_evp("+H:1024\n+F:25:md5:0.00\n", 1024), None);
        assert_eq!(parse_evp("+H:1024\n+F:25:md5:nan\n", 1024), None);
        assert_eq!(parse_rsa(RSA_2048_STDERR, 2048), None);
        assert_eq!(parse_rsa("+F2:2:2048:4635.0\n", 2048), None);
    }

    #[test]
    fn recognises_unsupported_algorithms() {
        assert!(is_unsupported(IDEA_STDERR));
        assert!(is_unsupported(DES_NO_LEGACY_STDERR));
        assert!(is_unsupported(RSA_1234_STDERR));
        assert!(!is_unsupported(NO_LEGACY_MODULE_STDERR));
        assert!(!is_unsupported(MD5_1024_STDERR));
        assert!(provider_unavailable(NO_LEGACY_MODULE_STDERR));
        assert!(!provider_unavailable(IDEA_STDERR));
        assert!(!provider_unavailable(DES_NO_LEGACY_STDERR));
    }

    #[test]
    fn builds_the_documented_command_lines() {
        let cipher = Query::Cipher { evp: "aes-128-gcm".to_string(), decrypt: true };
        assert_eq!(
            command_line(&cipher, 16384, 3).join(" "),
            "openssl speed -elapsed -mr -seconds 3 -bytes 16384 -provider legacy -provider default -evp aes-128-gcm -decrypt"
        );
        let digest = Query::Digest { evp: "md5".to_string() };
        assert_eq!(
            command_line(&digest, 1024, 0).join(" "),
            "openssl speed -elapsed -mr -seconds 1 -bytes 1024 -provider legacy -provider default -evp md5"
        );
        assert_eq!(
            command_line(&Query::Rsa { bits: 2048 }, 16384, 1).join(" "),
            "openssl speed -elapsed -mr -seconds 1 rsa2048"
        );
        assert_eq!(
            without_providers(&command_line(&digest, 1024, 1)).join(" "),
            "openssl speed -elapsed -mr -seconds 1 -bytes 1024 -evp md5"
        );
    }

    #[test]
    fn errors_read_well() {
        let error =
            OpensslError::Unsupported { what: Query::Cipher { evp: "idea-cbc".into(), decrypt: false }.describe() };
        assert_eq!(error.to_string(), "this OpenSSL does not support idea-cbc");
        assert_eq!(Query::Rsa { bits: 1234 }.describe(), "rsa1234");
        assert_eq!(capture(&[b'x'; 5000]).len(), MAX_CAPTURE + 3);
    }

    /// Runs the real `openssl` (about one second) if there is one.
    #[test]
    fn measures_md5_with_the_installed_openssl() {
        let version = version();
        if let Err(OpensslError::NotInstalled) = version {
            eprintln!("skipped: no `openssl` on PATH");
            return;
        }
        assert!(matches!(&version, Ok(line) if line.contains("SSL")), "openssl version: {version:?}");
        let figure = measure(&Query::Digest { evp: "md5".to_string() }, 1024, 1);
        assert!(matches!(figure, Ok(Figure::BytesPerSecond(rate)) if rate > 0.0), "md5 at 1024 bytes: {figure:?}");
    }

    /// Unknown names are `Unsupported`, not `Failed` (no benchmark runs: OpenSSL refuses before timing).
    #[test]
    fn unknown_algorithms_are_unsupported_with_the_installed_openssl() {
        if let Err(OpensslError::NotInstalled) = version() {
            eprintln!("skipped: no `openssl` on PATH");
            return;
        }
        let name = "sealpost-no-such-cipher";
        let bogus = Query::Cipher { evp: name.to_string(), decrypt: false };
        assert!(matches!(measure(&bogus, 16, 1), Err(OpensslError::Unsupported { what }) if what == name));
        assert!(matches!(measure(&Query::Rsa { bits: 1234 }, 16, 1), Err(OpensslError::Unsupported { .. })));
    }
}
