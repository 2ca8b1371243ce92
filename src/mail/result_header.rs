//! The verification header, modelled on RFC 8601's Authentication-Results: our authserv-id first, then
//! `name=value` properties (grammar in docs/verdict.md):
//!
//! ```text
//! Sealpost-Verification: mx.example.org; format=pgp; status=pass;
//!  signer="C6E4... Alice <alice@example.org>"; from=match; part=whole;
//!  encrypted=yes; integrity=mdc; weak=none
//! ```
//!
//! Copies that arrive from outside are removed before ours is added, in every form: any case, folded,
//! in an inner part's header, behind an `X-` prefix or with other punctuation (`X-Sealpost_Verification`),
//! and RFC 8601 `Authentication-Results` fields claiming our authserv-id, encoded-words included
//! (SECURITY-CASES C).

use std::ops::Range;

use crate::core::verdict::{SignerStatus, Verdict};
use crate::mime::{Node, build};

/// The header field name.
pub const NAME: &str = "Sealpost-Verification";

/// How the signer's address compares with the message's From.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FromMatch {
    /// A good signer's address is the From address.
    Match,
    /// Good signers, none with the From address (SECURITY-CASES B4: reported, not hidden).
    Mismatch,
    /// Nothing to compare (no good signer, no address, or no From).
    Unknown,
}

impl FromMatch {
    /// As written in the header and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            FromMatch::Match => "match",
            FromMatch::Mismatch => "mismatch",
            FromMatch::Unknown => "unknown",
        }
    }
}

/// The address inside `Name <addr>` or a bare `addr`, normalised (lower case, IDN domains as A-labels).
pub fn address(value: &str) -> Option<String> {
    let v = value.trim();
    let a = match (v.rfind('<'), v.rfind('>')) {
        (Some(s), Some(e)) if s < e => &v[s + 1..e],
        _ => v,
    };
    crate::keystore::address::normalize(a)
}

/// Every address in an address-list field value (`a@x, "B, the second" <b@y>`), normalised.
pub fn addresses(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let chars: Vec<char> = value.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => depth += 1,
            '>' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                out.extend(address(&chars[start..i].iter().collect::<String>()));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(address(&chars[start..].iter().collect::<String>()));
    out
}

/// Compares the good signers' addresses (`addresses` of each good signer) with the From addresses: a match
/// needs every From address to be a good signer's (a second From address nobody signed for is a mismatch).
pub fn from_match(from: Option<&str>, good_signer_addresses: &[Vec<String>]) -> FromMatch {
    let from = from.map(addresses).unwrap_or_default();
    if from.is_empty() || good_signer_addresses.iter().all(Vec::is_empty) {
        return FromMatch::Unknown;
    }
    let signed = |f: &String| good_signer_addresses.iter().flatten().any(|a| address(a).as_ref() == Some(f));
    if from.iter().all(signed) { FromMatch::Match } else { FromMatch::Mismatch }
}

fn quoted(s: &str) -> String {
    let clean: String = s.chars().filter(|c| !c.is_control()).map(|c| if c == '"' { '\'' } else { c }).collect();
    format!("\"{}\"", clean.replace('\\', "/"))
}

/// Our header field for a verdict, folded, CRLF.
pub fn field(authserv_id: &str, v: &Verdict, from: FromMatch) -> Vec<u8> {
    let status = serde_json::to_value(v.status).ok().and_then(|s| s.as_str().map(String::from)).unwrap_or_default();
    let format = serde_json::to_value(v.format).ok().and_then(|s| s.as_str().map(String::from)).unwrap_or_default();
    let integrity =
        serde_json::to_value(v.integrity).ok().and_then(|s| s.as_str().map(String::from)).unwrap_or_default();
    let mut parts = vec![authserv_id.to_string(), format!("format={format}"), format!("status={status}")];
    for s in v.signers.iter().filter(|s| s.status == SignerStatus::Good) {
        parts.push(format!("signer={}", quoted(&s.id)));
    }
    parts.push(format!("from={}", from.name()));
    parts.push(format!("part={}", v.part.as_deref().unwrap_or("whole")));
    let encrypted = match (v.encrypted, v.partially_encrypted) {
        (true, _) => "yes",
        (false, true) => "partial",
        (false, false) => "no",
    };
    parts.push(format!("encrypted={encrypted}"));
    parts.push(format!("integrity={integrity}"));
    let weak: Vec<String> = v.weak.iter().map(|w| w.to_string()).collect();
    parts.push(format!("weak={}", if weak.is_empty() { "none".to_string() } else { weak.join(",") }));
    build::field(NAME, &parts.join("; "))
}

/// A field name reduced to letters and digits, lower case, without a leading `x`: what look-alikes share.
fn skeleton(name: &str) -> String {
    let s: String = name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    s.strip_prefix('x').map(String::from).unwrap_or(s)
}

/// Decodes RFC 2047 encoded-words well enough to read an authserv-id (ASCII; B and Q encodings).
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("=?") {
        out.push_str(&rest[..start]);
        let word = &rest[start + 2..];
        let parts: Vec<&str> = word.splitn(3, '?').collect();
        let decoded = match parts.as_slice() {
            [_, enc, tail] => tail.find("?=").map(|end| {
                let text = &tail[..end];
                let d = if enc.eq_ignore_ascii_case("b") {
                    crate::x509::encoding::decode_body(text)
                        .map(|b| String::from_utf8_lossy(&b).into_owned())
                        .unwrap_or_default()
                } else {
                    q_decode(text)
                };
                (d, start + 2 + parts[0].len() + 1 + enc.len() + 1 + end + 2)
            }),
            _ => None,
        };
        match decoded {
            Some((d, used)) => {
                out.push_str(&d);
                rest = &rest[used..];
            }
            None => {
                out.push_str("=?");
                rest = &rest[start + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn q_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.push(b'='),
                }
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// True when a field (name and raw value) is ours or poses as ours.
fn spoofed(name: &str, value: &str, authserv_id: &str) -> bool {
    let sk = skeleton(name);
    if sk.starts_with("sealpost") {
        return true;
    }
    if sk == "authenticationresults" || sk == "arcauthenticationresults" {
        let v = decode_words(&value.replace(['\r', '\n'], " "));
        let mut v = v.trim_start();
        // ARC-Authentication-Results (RFC 8617 section 4.1.1) put the instance tag `i=N;` first.
        if sk == "arcauthenticationresults"
            && let Some((tag, rest)) = v.split_once(';')
            && tag.trim().to_ascii_lowercase().starts_with("i=")
        {
            v = rest.trim_start();
        }
        let id = v.split([';', ' ', '\t']).next().unwrap_or("");
        return id.eq_ignore_ascii_case(authserv_id) || id.to_ascii_lowercase().contains("sealpost");
    }
    false
}

/// Ranges of every spoofed field in the header of `node` and every part below it.
pub fn spoofed_fields(raw: &[u8], node: &Node, authserv_id: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for n in node.walk() {
        for (name, r) in &n.headers {
            let text = String::from_utf8_lossy(&raw[r.clone()]);
            let value = text.split_once(':').map(|(_, v)| v).unwrap_or("");
            if spoofed(name, value, authserv_id) {
                out.push(r.clone());
            }
        }
    }
    out.sort_by_key(|r| r.start);
    out
}

/// `raw` without the given ranges.
pub fn cut(raw: &[u8], ranges: &[Range<usize>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    for r in ranges {
        if r.start >= at {
            out.extend_from_slice(&raw[at..r.start]);
            at = r.end;
        }
    }
    out.extend_from_slice(&raw[at.min(raw.len())..]);
    out
}

/// The message with every spoofed field removed and our field put first.
pub fn stamp(raw: &[u8], authserv_id: &str, v: &Verdict, from: FromMatch) -> Result<Vec<u8>, crate::mime::MimeError> {
    let root = crate::mime::parse(raw)?;
    let cleaned = cut(raw, &spoofed_fields(raw, &root, authserv_id));
    let mut out = field(authserv_id, v, from);
    out.extend_from_slice(&cleaned);
    Ok(out)
}

/// The authserv-id to write: `given`, else this host's name from /etc/hostname, else "sealpost".
pub fn authserv_id(given: Option<&str>) -> String {
    if let Some(g) = given {
        return g.to_string();
    }
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or_else(|| "sealpost".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;
    use crate::core::verdict::{Format, SignerResult};

    #[test]
    fn spoofs_are_removed_in_every_form() {
        let raw = b"Sealpost-Verification: mx.example.org; status=pass\r\nsealpost-verification:\r\n status=pass\r\nX-Sealpost-Verification: pass\r\nX_SEALPOST_verification: pass\r\nAuthentication-Results: mx.example.org; dkim=pass\r\nAuthentication-Results: =?us-ascii?Q?mx=2Eexample=2Eorg?=; dkim=pass\r\nAuthentication-Results: other.example; dkim=pass\r\nSubject: hi\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\nSealpost-Verification: mx.example.org; status=pass\r\n\r\ninner\r\n--b--\r\n";
        let mut v = Verdict::new(Format::Pgp);
        v.signers.push(SignerResult::new("ABCD Alice <a@example.org>", SignerStatus::Good));
        let v = v.finish();
        let out = String::from_utf8(stamp(raw, "mx.example.org", &v, FromMatch::Match).unwrap()).unwrap();
        assert_eq!(out.to_ascii_lowercase().matches("sealpost").count(), 1, "{out}");
        assert!(out.starts_with("Sealpost-Verification: mx.example.org; format=pgp; status=pass;"), "{out}");
        assert!(out.contains("Authentication-Results: other.example; dkim=pass\r\n"));
        assert_eq!(out.matches("Authentication-Results").count(), 1, "{out}");
        assert!(out.contains("Content-Type: text/plain\r\n\r\ninner"), "{out}");
    }

    #[test]
    fn from_is_compared_by_address() {
        assert_eq!(address("Alice <Alice@Example.org>").as_deref(), Some("alice@example.org"));
        let a = vec![vec!["alice@example.org".to_string()]];
        assert_eq!(from_match(Some("ALICE@example.org"), &a), FromMatch::Match);
        assert_eq!(from_match(Some("Mallory <m@example.org>"), &a), FromMatch::Mismatch);
        assert_eq!(from_match(None, &a), FromMatch::Unknown);
        assert_eq!(from_match(Some("a@example.org"), &[vec![]]), FromMatch::Unknown);
        // Display-name spoofing, two From addresses, IDN and case variants.
        assert_eq!(from_match(Some("\"alice@example.org\" <m@evil.example>"), &a), FromMatch::Mismatch);
        assert_eq!(from_match(Some("alice@example.org, m@evil.example"), &a), FromMatch::Mismatch);
        let idn = vec![vec!["bob@bücher.example".to_string()]];
        assert_eq!(from_match(Some("Bob <BOB@xn--bcher-kva.EXAMPLE>"), &idn), FromMatch::Match);
    }
}
