//! `sealpost key import|list|export`: the keystore's verbs. The work is [`crate::keystore`]'s; this module
//! reads the flags, prints one line per imported item, the listing (table or JSON), and writes exports.

use std::io::Write;
use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;

use super::args::key::{KeyExport, KeyImport, KeyList};
use super::files;
use crate::keystore::{EntryKind, Keystore, KeystoreError, SecretKind, StoredCert, address};
use crate::pgp::keys::sanitize;

/// `key import FILE...`: every file is read and recognised first, then everything is stored; a file that
/// cannot be read leaves the keystore as it was.
pub(super) fn import_cmd(keystore: Option<&Path>, args: &KeyImport) -> anyhow::Result<()> {
    let pass = args.passphrase_file.as_deref().map(files::read_passphrase).transpose()?;
    let ks = Keystore::open(keystore)?;
    let mut items = Vec::new();
    for file in &args.files {
        items.extend(crate::keystore::import::read_file(file, pass.as_deref().map(|p| &p[..]))?);
    }
    // Certificates first, so that a key imported with its certificate is reported paired.
    items.sort_by_key(|i| i.is_secret());
    let mut out = std::io::stdout().lock();
    for item in &items {
        let done = ks.store(item)?;
        let addresses = if done.addresses.is_empty() { "-".to_string() } else { sanitize(&done.addresses.join(",")) };
        let note = done.note.map(|n| format!(" ({n})")).unwrap_or_default();
        writeln!(out, "{} {} {} {}{note}", done.what, done.fingerprint, addresses, done.status.name())
            .context("writing the output")?;
    }
    Ok(())
}

/// `key list [--json]`.
pub(super) fn list_cmd(keystore: Option<&Path>, args: &KeyList) -> anyhow::Result<()> {
    let ks = Keystore::open(keystore)?;
    let listing = ks.list()?;
    for skipped in &listing.skipped {
        eprintln!("sealpost: warning: skipped {}", sanitize(skipped));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let rows: Vec<serde_json::Value> = listing
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "type": e.kind.name(),
                    "fingerprint": e.fingerprint,
                    "addresses": e.addresses.iter().map(|a| sanitize(a)).collect::<Vec<_>>(),
                    "secret": e.secret.is_some(),
                    "expires": e.expires.map(rfc3339),
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&rows).context("formatting the listing")?;
        writeln!(out, "{text}").context("writing the output")?;
        return Ok(());
    }
    if listing.entries.is_empty() {
        eprintln!("sealpost: the keystore {} is empty", ks.root().display());
        return Ok(());
    }
    writeln!(out, "{:<4} {:<64} {:<6} {:<10} ADDRESSES", "TYPE", "FINGERPRINT", "SECRET", "EXPIRES")
        .context("writing the output")?;
    for e in &listing.entries {
        let expires = e.expires.map(crate::x509::date).unwrap_or_else(|| "never".into());
        let secret = if e.secret.is_some() { "yes" } else { "no" };
        let addresses = sanitize(&e.addresses.join(", "));
        writeln!(out, "{:<4} {:<64} {:<6} {:<10} {addresses}", e.kind.name(), e.fingerprint, secret, expires)
            .context("writing the output")?;
    }
    Ok(())
}

/// `key export ADDR|FINGERPRINT [--secret] [-o OUT]`.
pub(super) fn export_cmd(keystore: Option<&Path>, args: &KeyExport) -> anyhow::Result<()> {
    let ks = Keystore::open(keystore)?;
    let mut found = ks.lookup(&args.which)?;
    if args.secret {
        found.retain(|e| e.secret.is_some());
    } else {
        found.retain(|e| e.kind != EntryKind::Key);
    }
    let what = if args.secret { "secret key" } else { "certificate" };
    let shown = sanitize(&args.which);
    let entry = match found.len() {
        0 => {
            return Err(KeystoreError::NotFound(format!(
                "no {what} for {shown} in the keystore {}",
                ks.root().display()
            ))
            .into());
        }
        1 => found.remove(0),
        _ => {
            let fprs: Vec<String> = found.iter().map(|e| format!("{} {}", e.kind.name(), e.fingerprint)).collect();
            let hint = if address::is_address(&args.which) { "; export by fingerprint instead" } else { "" };
            return Err(KeystoreError::Ambiguous(format!(
                "{shown} names {} {what}s: {}{hint}",
                found.len(),
                fprs.join(", ")
            ))
            .into());
        }
    };
    let bytes: zeroize::Zeroizing<Vec<u8>> = if args.secret {
        let key = ks.secret(&entry)?.ok_or_else(|| KeystoreError::NotFound(format!("no secret key for {shown}")))?;
        match key.kind() {
            SecretKind::Pgp => crate::pgp::keys::armored_tsk(&key.pgp_cert()?)?,
            SecretKind::Rsa => zeroize::Zeroizing::new(key.bytes().to_vec()),
        }
    } else {
        match &entry.cert {
            Some(StoredCert::Pgp(c)) => zeroize::Zeroizing::new(crate::pgp::keys::armored_cert(c)?),
            Some(StoredCert::X509(c)) => zeroize::Zeroizing::new(c.to_pem()?.into_bytes()),
            None => return Err(KeystoreError::NotFound(format!("no certificate for {shown}")).into()),
        }
    };
    let mut out = if args.secret {
        files::Output::open_new_secret(args.output.as_deref())?
    } else {
        files::Output::open(args.output.as_deref(), false)?
    };
    out.writer().write_all(&bytes).context("writing the output")?;
    out.commit()
}

/// A time as RFC 3339 UTC (`2027-01-31T12:00:00Z`), for JSON.
fn rfc3339(t: SystemTime) -> String {
    match der::DateTime::from_system_time(t) {
        Ok(d) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            d.year(),
            d.month(),
            d.day(),
            d.hour(),
            d.minutes(),
            d.seconds()
        ),
        // Beyond what DER times hold (after 9999): say the year, not nothing.
        Err(_) => "9999-12-31T23:59:59Z".into(),
    }
}
