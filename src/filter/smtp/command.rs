//! SMTP command lines (RFC 5321 section 4.1), parsed from the line without its CRLF. Only what the proxy
//! offers is understood: anything else is a typed refusal the session turns into a reply.

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain`.
    Ehlo(String),
    /// `HELO domain`.
    Helo(String),
    /// `MAIL FROM:<path> [SIZE=n] [BODY=7BIT|8BITMIME] [SMTPUTF8]`.
    Mail {
        /// The reverse path; `None` for the null sender `<>`.
        from: Option<String>,
        /// The declared size.
        size: Option<u64>,
        /// SMTPUTF8 was given.
        smtputf8: bool,
    },
    /// `RCPT TO:<path>`.
    Rcpt(String),
    /// `DATA`.
    Data,
    /// `RSET`.
    Rset,
    /// `NOOP`.
    Noop,
    /// `QUIT`.
    Quit,
    /// `HELP`.
    Help,
    /// A command known but not offered here (VRFY, EXPN, STARTTLS, AUTH, BDAT, ...): its name.
    Refused(&'static str),
}

/// Why a line is not a command the proxy takes; each maps to one reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// 500 5.5.2: not a command.
    Unknown,
    /// 501 5.5.4: wrong arguments, with what is wrong.
    Syntax(&'static str),
    /// 555 5.5.4: a MAIL/RCPT parameter not offered.
    Parameter(String),
}

/// Longest path (RFC 5321 section 4.5.3.1.3: 256 octets).
const MAX_PATH: usize = 256;

/// Parses one command line (without CRLF).
pub fn parse(line: &[u8]) -> Result<Command, ParseError> {
    let line = std::str::from_utf8(line).map_err(|_| ParseError::Syntax("the command is not UTF-8"))?;
    let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
    let verb = verb.to_ascii_uppercase();
    let no_args = |c: Command| if rest.trim().is_empty() { Ok(c) } else { Err(ParseError::Syntax("no arguments")) };
    match verb.as_str() {
        "EHLO" | "HELO" => {
            let name = rest.trim();
            if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(ParseError::Syntax("EHLO and HELO take one domain or address literal"));
            }
            Ok(if verb == "EHLO" { Command::Ehlo(name.into()) } else { Command::Helo(name.into()) })
        }
        "MAIL" => {
            let rest = strip_keyword(rest, "FROM:").ok_or(ParseError::Syntax("MAIL FROM:<address>"))?;
            let (path, params) = path(rest)?;
            let (mut size, mut smtputf8) = (None, false);
            for p in params.split(' ').filter(|p| !p.is_empty()) {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                match (k.to_ascii_uppercase().as_str(), v.to_ascii_uppercase().as_str()) {
                    ("SIZE", v) => size = Some(v.parse().map_err(|_| ParseError::Syntax("SIZE=<digits>"))?),
                    ("BODY", "7BIT" | "8BITMIME") => {}
                    ("SMTPUTF8", "") => smtputf8 = true,
                    _ => return Err(ParseError::Parameter(p.into())),
                }
            }
            Ok(Command::Mail { from: (!path.is_empty()).then_some(path), size, smtputf8 })
        }
        "RCPT" => {
            let rest = strip_keyword(rest, "TO:").ok_or(ParseError::Syntax("RCPT TO:<address>"))?;
            let (path, params) = path(rest)?;
            if let Some(p) = params.split(' ').find(|p| !p.is_empty()) {
                return Err(ParseError::Parameter(p.into()));
            }
            if path.is_empty() {
                return Err(ParseError::Syntax("the recipient is empty"));
            }
            Ok(Command::Rcpt(path))
        }
        "DATA" => no_args(Command::Data),
        "RSET" => no_args(Command::Rset),
        "QUIT" => no_args(Command::Quit),
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" => Ok(Command::Refused("VRFY")),
        "EXPN" => Ok(Command::Refused("EXPN")),
        "STARTTLS" => Ok(Command::Refused("STARTTLS")),
        "AUTH" => Ok(Command::Refused("AUTH")),
        "BDAT" => Ok(Command::Refused("BDAT")),
        "ETRN" => Ok(Command::Refused("ETRN")),
        "TURN" => Ok(Command::Refused("TURN")),
        _ => Err(ParseError::Unknown),
    }
}

fn strip_keyword<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let head = rest.get(..keyword.len())?;
    // One space after the colon is tolerated, as Postfix and most servers do.
    head.eq_ignore_ascii_case(keyword).then(|| rest[keyword.len()..].trim_start_matches(' '))
}

/// `<path>` and what follows it. A source route (`<@a,@b:user@d>`) is dropped (RFC 5321 section 4.1.1.3).
fn path(text: &str) -> Result<(String, &str), ParseError> {
    let inner = text.strip_prefix('<').ok_or(ParseError::Syntax("the address must be in <>"))?;
    let mut quoted = false;
    let mut escaped = false;
    let mut end = None;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '>' if !quoted => {
                end = Some(i);
                break;
            }
            _ => {}
        }
    }
    let end = end.ok_or(ParseError::Syntax("the address has no closing >"))?;
    let mut addr = &inner[..end];
    let rest = &inner[end + 1..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(ParseError::Syntax("a space must follow the address"));
    }
    if addr.starts_with('@') {
        addr = addr.split_once(':').map(|(_, a)| a).ok_or(ParseError::Syntax("a source route must end with :"))?;
    }
    if addr.len() > MAX_PATH {
        return Err(ParseError::Syntax("the address is longer than 256 octets"));
    }
    if addr.chars().any(|c| c.is_control()) {
        return Err(ParseError::Syntax("the address holds control characters"));
    }
    if !addr.is_empty() {
        let (local, domain) = addr.rsplit_once('@').ok_or(ParseError::Syntax("the address must be user@domain"))?;
        if local.is_empty() || domain.is_empty() || domain.contains([' ', '"']) {
            return Err(ParseError::Syntax("the address must be user@domain"));
        }
    }
    Ok((addr.to_string(), rest))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A panic in a test is a failed test.

    use super::*;

    #[test]
    fn commands_parse_as_rfc_5321_writes_them() {
        assert_eq!(parse(b"EHLO mx.example.org").unwrap(), Command::Ehlo("mx.example.org".into()));
        assert_eq!(parse(b"helo [127.0.0.1]").unwrap(), Command::Helo("[127.0.0.1]".into()));
        assert_eq!(
            parse(b"MAIL FROM:<a@example.org> SIZE=1000 BODY=8BITMIME").unwrap(),
            Command::Mail { from: Some("a@example.org".into()), size: Some(1000), smtputf8: false }
        );
        assert_eq!(parse(b"mail from:<>").unwrap(), Command::Mail { from: None, size: None, smtputf8: false });
        assert_eq!(
            parse(b"MAIL FROM: <a@b.example> SMTPUTF8").unwrap(),
            Command::Mail { from: Some("a@b.example".into()), size: None, smtputf8: true }
        );
        assert_eq!(parse(b"RCPT TO:<@relay.example:b@example.net>").unwrap(), Command::Rcpt("b@example.net".into()));
        assert_eq!(parse(b"RCPT TO:<\"x>y\"@example.net>").unwrap(), Command::Rcpt("\"x>y\"@example.net".into()));
        assert_eq!(parse(b"DATA").unwrap(), Command::Data);
        assert_eq!(parse(b"VRFY postmaster").unwrap(), Command::Refused("VRFY"));
        assert_eq!(parse(b"BDAT 10 LAST").unwrap(), Command::Refused("BDAT"));
    }

    #[test]
    fn wrong_commands_are_named() {
        assert_eq!(parse(b"HELLO x"), Err(ParseError::Unknown));
        assert_eq!(
            parse(b"MAIL FROM:<a@b.example> BODY=BINARYMIME"),
            Err(ParseError::Parameter("BODY=BINARYMIME".into()))
        );
        assert_eq!(parse(b"RCPT TO:<b@example.net> NOTIFY=NEVER"), Err(ParseError::Parameter("NOTIFY=NEVER".into())));
        assert!(matches!(parse(b"MAIL FROM:a@b.example"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"MAIL FROM:<a@b.example"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"RCPT TO:<>"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"RCPT TO:<nobody>"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"RCPT TO:<a\x01@b.example>"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"MAIL FROM:<a@b.example> SIZE=ten"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"DATA now"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(b"EHLO"), Err(ParseError::Syntax(_))));
        assert!(matches!(parse(&[0xff, 0xfe]), Err(ParseError::Syntax(_))));
        let long = format!("RCPT TO:<{}@example.net>", "a".repeat(300));
        assert!(matches!(parse(long.as_bytes()), Err(ParseError::Syntax(_))));
    }
}
