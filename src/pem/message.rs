//! The encapsulated message of RFC 1421 section 4: `-----BEGIN PRIVACY-ENHANCED MESSAGE-----`, header fields
//! (`Name: value`, continued on lines that start with white space), a blank line, the body, and
//! `-----END PRIVACY-ENHANCED MESSAGE-----`. Parsing takes the message in local form (LF or CRLF line ends);
//! everything before the first boundary and after the last is ignored (the message usually sits inside
//! mail). Bounded: at most [`MAX_FIELDS`] header fields of at most [`MAX_FIELD`] bytes each.

use super::PemError;

/// The opening boundary.
pub const BEGIN: &str = "-----BEGIN PRIVACY-ENHANCED MESSAGE-----";
/// The closing boundary.
pub const END: &str = "-----END PRIVACY-ENHANCED MESSAGE-----";
/// Most header fields accepted.
pub const MAX_FIELDS: usize = 256;
/// Longest header field (with its continuation lines) accepted.
pub const MAX_FIELD: usize = 64 * 1024;

/// The Proc-Type's second part (RFC 1421 section 4.6.1.1, RFC 1424 section 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Text left readable, MIC over its canonical form.
    MicClear,
    /// Text in printable encoding, MIC over its canonical form.
    MicOnly,
    /// Text encrypted under a DEK and in printable encoding, MIC encrypted too.
    Encrypted,
    /// A certificate revocation list (RFC 1424).
    Crl,
    /// A request for CRLs (RFC 1424).
    CrlRetrievalRequest,
}

impl Kind {
    /// As written in Proc-Type.
    pub fn name(self) -> &'static str {
        match self {
            Kind::MicClear => "MIC-CLEAR",
            Kind::MicOnly => "MIC-ONLY",
            Kind::Encrypted => "ENCRYPTED",
            Kind::Crl => "CRL",
            Kind::CrlRetrievalRequest => "CRL-RETRIEVAL-REQUEST",
        }
    }
}

/// One parsed message.
#[derive(Clone, Debug)]
pub struct Message {
    /// Proc-Type version: 4 (RFC 1421) or 2001 (RIPEM, the SEC EDGAR archive).
    pub version: u32,
    /// Proc-Type kind.
    pub kind: Kind,
    /// Header fields after Proc-Type, in order: name and value with continuation lines joined (line breaks
    /// and the leading white space of continuation lines removed).
    pub fields: Vec<(String, String)>,
    /// The body lines, without line ends.
    pub body: Vec<String>,
}

fn bad(detail: impl Into<String>) -> PemError {
    PemError::Malformed(detail.into())
}

impl Message {
    /// Parses the first encapsulated message in `text`.
    pub fn parse(text: &[u8]) -> Result<Message, PemError> {
        let text = std::str::from_utf8(text).map_err(|_| bad("not 7-bit text (RFC 1421 messages are ASCII)"))?;
        if !text.is_ascii() {
            return Err(bad("not 7-bit text (RFC 1421 messages are ASCII)"));
        }
        let mut lines = text.lines().map(|l| l.strip_suffix('\r').unwrap_or(l));
        if !lines.by_ref().any(|l| l == BEGIN) {
            return Err(bad(format!("no \"{BEGIN}\" line")));
        }
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut ended_headers = false;
        // CRL messages (RFC 1424) are all header: the closing boundary may follow the last field.
        let mut header_only = false;
        for line in lines.by_ref() {
            if line.is_empty() {
                ended_headers = true;
                break;
            }
            if line == END {
                header_only = true;
                break;
            }
            if line.starts_with(' ') || line.starts_with('\t') {
                let (_, value) = fields.last_mut().ok_or_else(|| bad("a continuation line before any header field"))?;
                value.push_str(line.trim());
                if value.len() > MAX_FIELD {
                    return Err(bad(format!("a header field longer than {MAX_FIELD} bytes")));
                }
                continue;
            }
            let (name, value) =
                line.split_once(':').ok_or_else(|| bad(format!("header line without a colon: {:?}", clip(line))))?;
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(bad(format!("bad header field name {:?}", clip(name))));
            }
            if fields.len() >= MAX_FIELDS {
                return Err(bad(format!("more than {MAX_FIELDS} header fields")));
            }
            fields.push((name.to_string(), value.trim().to_string()));
        }
        if !ended_headers && !header_only {
            return Err(bad("no blank line after the header and no closing boundary"));
        }
        let mut body = Vec::new();
        let mut closed = header_only;
        for line in lines.take_while(|_| !header_only) {
            if line == END {
                closed = true;
                break;
            }
            body.push(line.to_string());
        }
        if !closed {
            return Err(bad(format!("no \"{END}\" line: the message is truncated")));
        }
        let mut fields = fields.into_iter();
        let (name, value) = fields.next().ok_or_else(|| bad("no Proc-Type field"))?;
        if !name.eq_ignore_ascii_case("Proc-Type") {
            return Err(bad(format!("the first field is {name:?}, not Proc-Type (RFC 1421 section 4.6.1.1)")));
        }
        let (version, kind) = value.split_once(',').ok_or_else(|| bad(format!("Proc-Type {value:?}")))?;
        let version: u32 = version.trim().parse().map_err(|_| bad(format!("Proc-Type version {version:?}")))?;
        if version != 4 && version != 2001 {
            return Err(PemError::Unsupported(format!(
                "Proc-Type version {version} (known: 4, and 2001 as RIPEM wrote)"
            )));
        }
        let kind = match kind.trim() {
            "MIC-CLEAR" => Kind::MicClear,
            "MIC-ONLY" => Kind::MicOnly,
            "ENCRYPTED" => Kind::Encrypted,
            "CRL" => Kind::Crl,
            "CRL-RETRIEVAL-REQUEST" => Kind::CrlRetrievalRequest,
            other => return Err(PemError::Unsupported(format!("Proc-Type {version},{other}"))),
        };
        if header_only && !matches!(kind, Kind::Crl | Kind::CrlRetrievalRequest) {
            return Err(bad("the message ends inside its header"));
        }
        Ok(Message { version, kind, fields: fields.collect(), body })
    }

    /// The first field with this name (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every field with this name.
    pub fn fields_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The canonical text the MIC covers: for MIC-CLEAR the body lines with RFC 934 dash-stuffing undone,
    /// for MIC-ONLY the decoded body; lines end in CRLF.
    pub fn canonical_text(&self) -> Result<Vec<u8>, PemError> {
        match self.kind {
            Kind::MicClear => {
                let mut out = Vec::new();
                for line in &self.body {
                    let line = if line.starts_with('-') {
                        line.strip_prefix("- ").ok_or_else(|| {
                            bad("a MIC-CLEAR line starts with '-' but is not dash-stuffed (RFC 934: \"- \")")
                        })?
                    } else {
                        line.as_str()
                    };
                    out.extend_from_slice(line.as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
                Ok(out)
            }
            Kind::MicOnly | Kind::Encrypted => decode_base64(&self.body.concat()),
            Kind::Crl | Kind::CrlRetrievalRequest => Ok(Vec::new()),
        }
    }
}

fn clip(s: &str) -> String {
    s.chars().take(60).collect()
}

/// RFC 1421 section 4.3.2.4 printable encoding (base64), white space ignored. Non-zero pad bits (the RFC's
/// own symmetric example has them) are accepted.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, PemError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    let mut pad = 0;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            other => return Err(bad(format!("invalid character {:?} in the printable encoding", other as char))),
        };
        if pad > 0 {
            return Err(bad("printable encoding continues after '='"));
        }
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match (n, pad) {
        (0, 0) => {}
        (2, 2) | (2, 0) => out.push((acc >> 4) as u8),
        (3, 1) | (3, 0) => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return Err(bad("truncated printable encoding")),
    }
    Ok(out)
}

/// Printable encoding in lines of 64 characters (RFC 1421 section 4.3.2.4).
pub fn encode_base64_lines(data: &[u8]) -> Vec<String> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(data.len() / 3 * 4 + 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(v >> 18) as usize & 63] as char);
        s.push(T[(v >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 { T[(v >> 6) as usize & 63] as char } else { '=' });
        s.push(if chunk.len() > 2 { T[v as usize & 63] as char } else { '=' });
    }
    s.as_bytes().chunks(64).map(|c| String::from_utf8_lossy(c).into_owned()).collect()
}

/// Writes a header field whose value is printable encoding, folded onto continuation lines after a prefix
/// (`MIC-Info: RSA-MD5,RSA,`), as the RFC's examples do.
pub fn folded_field(name: &str, prefix: &str, data: &[u8]) -> String {
    let mut s = format!("{name}: {prefix}\n");
    for line in encode_base64_lines(data) {
        s.push(' ');
        s.push_str(&line);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn base64_round_trips_and_rejects_garbage() {
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37) as u8).collect();
            let lines = encode_base64_lines(&data);
            assert!(lines.iter().all(|l| l.len() <= 64));
            assert_eq!(decode_base64(&lines.join("\n")).unwrap(), data);
        }
        assert!(decode_base64("QUJD*").is_err());
        assert!(decode_base64("QUJDR").is_err());
        assert!(decode_base64("QQ==QQ").is_err());
    }

    #[test]
    fn parses_fields_continuations_and_dash_stuffing() {
        let msg = "junk before\n-----BEGIN PRIVACY-ENHANCED MESSAGE-----\r\nProc-Type: 2001,MIC-CLEAR\r\nContent-Domain: RFC822\r\nMIC-Info: RSA-MD5,RSA,\r\n QUJD\r\n REVG\r\n\r\n- -dash line\r\nplain\r\n-----END PRIVACY-ENHANCED MESSAGE-----\r\n";
        let m = Message::parse(msg.as_bytes()).unwrap();
        assert_eq!((m.version, m.kind), (2001, Kind::MicClear));
        assert_eq!(m.field("mic-info"), Some("RSA-MD5,RSA,QUJDREVG"));
        assert_eq!(m.canonical_text().unwrap(), b"-dash line\r\nplain\r\n");
    }

    #[test]
    fn every_truncation_and_bad_header_is_an_error() {
        let msg = "-----BEGIN PRIVACY-ENHANCED MESSAGE-----\nProc-Type: 4,MIC-ONLY\nContent-Domain: RFC822\n\nQUJD\n-----END PRIVACY-ENHANCED MESSAGE-----\n";
        assert!(Message::parse(msg.as_bytes()).is_ok());
        let end = msg.len() - END.len() - 2;
        for cut in 0..end {
            assert!(Message::parse(&msg.as_bytes()[..cut]).is_err(), "cut at {cut}");
        }
        for bad in [
            msg.replace("4,MIC-ONLY", "5,MIC-ONLY"),
            msg.replace("4,MIC-ONLY", "4,SECRET"),
            msg.replace("Proc-Type: 4,MIC-ONLY\n", ""),
            msg.replace("Content-Domain: RFC822", "Content-Domain RFC822"),
            msg.replace("\n\nQUJD", "\n QUJD"),
        ] {
            assert!(Message::parse(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
