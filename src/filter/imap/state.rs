//! What an IMAP proxy session knows, read from both directions: who logged in (LOGIN, AUTHENTICATE PLAIN;
//! counted only once the server's tagged OK came back), which mailbox is selected and its UIDVALIDITY, and
//! the FETCH commands the server has not yet completed, with what the proxy added to them.
//!
//! A FETCH that asks for part of a message or for its description (a section, a partial, RFC822.HEADER,
//! RFC822.TEXT, RFC822.SIZE, BODY, BODYSTRUCTURE, ENVELOPE, or the macros ALL, FAST, FULL) but not for the
//! whole message is sent on with `BODY.PEEK[]` added: the proxy needs the whole message to know whether it
//! is encrypted or signed and, when it is, to answer every item from the opened message so that they agree
//! with each other. `BODY.PEEK[]` does not set `\Seen`. The added item is taken out of the responses before
//! the client sees them ([`super::response`]).

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::encode::Encoder;
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::auth::AuthMechanism;
use imap_codec::imap_types::command::{Command, CommandBody};
use imap_codec::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName, Section};

/// A FETCH command the server has not completed yet.
#[derive(Clone, Debug, Default)]
pub struct Fetch {
    tag: String,
    /// `BODY.PEEK[]` was added by the proxy.
    pub injected: bool,
    /// The client asked for the whole message itself.
    pub whole: bool,
    /// The `<origin.length>` of each partial section asked for.
    pub partials: Vec<(Option<Section<'static>>, u32, u32)>,
}

/// What to do with a client's command.
#[derive(Debug, PartialEq, Eq)]
pub enum Action {
    /// Send it on as it came.
    Forward,
    /// Send these bytes instead (a FETCH with `BODY.PEEK[]` added).
    Replace(Vec<u8>),
    /// Do not send it on; answer the client with these bytes.
    Answer(Vec<u8>),
}

/// The session's state.
#[derive(Debug, Default)]
pub struct State {
    /// The logged-in user (lower case), once the server accepted the login.
    pub user: Option<String>,
    login: Option<(String, String)>,
    /// An AUTHENTICATE exchange in progress: its tag, and whether the next client line is PLAIN's response.
    sasl: Option<(String, bool)>,
    /// The selected mailbox and its UIDVALIDITY, once the server accepted the SELECT/EXAMINE.
    mailbox: Option<(String, u32)>,
    selecting: Option<(String, String, Option<u32>)>,
    /// FETCH commands in flight, oldest first.
    fetches: Vec<Fetch>,
}

/// Most FETCH commands remembered in flight (a client pipelining more gets no rewriting for the rest).
const MAX_IN_FLIGHT: usize = 64;

impl State {
    /// Reads one whole client command (its lines and literals) and says what to do with it.
    pub fn command(&mut self, bytes: &[u8]) -> Action {
        if let Some((tag, plain)) = &mut self.sasl {
            // A line of the SASL exchange, not a command.
            if *plain {
                *plain = false;
                let line = bytes.strip_suffix(b"\r\n").or_else(|| bytes.strip_suffix(b"\n")).unwrap_or(bytes);
                if let Some(user) = crate::mime::body::base64(line).ok().and_then(|r| plain_user(&r)) {
                    self.login = Some((tag.clone(), user));
                }
            }
            return Action::Forward;
        }
        // STARTTLS is recognised by its words, not by the decoder, so that no spelling the decoder refuses but
        // a server accepts slips through (the parser differential of Apache JAMES-1862).
        let text = String::from_utf8_lossy(bytes);
        let mut words = text.split_ascii_whitespace();
        if let (Some(tag), Some(cmd)) = (words.next(), words.next())
            && (cmd.eq_ignore_ascii_case("STARTTLS") || cmd.eq_ignore_ascii_case("COMPRESS"))
        {
            // After either the proxy could no longer read the session.
            return Action::Answer(
                format!("{tag} BAD {} is not offered by this proxy\r\n", cmd.to_ascii_uppercase()).into_bytes(),
            );
        }
        let Ok((_, Command { tag: wire_tag, body })) = CommandCodec::default().decode(bytes) else {
            return Action::Forward;
        };
        let tag = wire_tag.as_ref().to_string();
        match body {
            CommandBody::Login { username, .. } => {
                self.login = Some((tag, String::from_utf8_lossy(username.as_ref()).to_ascii_lowercase()));
            }
            CommandBody::Authenticate { mechanism, initial_response } => match (mechanism, initial_response) {
                (AuthMechanism::Plain, Some(r)) => {
                    if let Some(user) = plain_user(r.declassify()) {
                        self.login = Some((tag, user));
                    }
                }
                (AuthMechanism::Plain, None) => self.sasl = Some((tag, true)),
                _ => self.sasl = Some((tag, false)),
            },
            CommandBody::Select { mailbox, .. } | CommandBody::Examine { mailbox, .. } => {
                // A SELECT deselects the current mailbox even when it fails (RFC 3501 section 6.3.1).
                self.mailbox = None;
                self.selecting = Some((tag, format!("{mailbox:?}"), None));
            }
            CommandBody::Close | CommandBody::Unselect | CommandBody::Logout => self.mailbox = None,
            CommandBody::Fetch { sequence_set, macro_or_item_names, uid, modifiers } => {
                let items = match &macro_or_item_names {
                    MacroOrMessageDataItemNames::Macro(m) => m.expand().into_iter().map(|i| i.into_static()).collect(),
                    MacroOrMessageDataItemNames::MessageDataItemNames(items) => items.clone(),
                };
                let whole = items.iter().any(is_whole);
                let injected = !whole && items.iter().any(needs_message);
                let partials = super::fetch::partials(&items)
                    .into_iter()
                    .map(|(s, o, n)| (s.map(IntoStatic::into_static), o, n))
                    .collect();
                if self.fetches.len() >= MAX_IN_FLIGHT {
                    return Action::Forward;
                }
                self.fetches.push(Fetch { tag: tag.clone(), injected, whole, partials });
                if injected {
                    let mut items = items;
                    items.push(MessageDataItemName::BodyExt { section: None, partial: None, peek: true });
                    let command = Command {
                        tag: wire_tag,
                        body: CommandBody::Fetch {
                            sequence_set,
                            macro_or_item_names: MacroOrMessageDataItemNames::MessageDataItemNames(items),
                            uid,
                            modifiers,
                        },
                    };
                    return Action::Replace(CommandCodec::default().encode(&command).dump());
                }
            }
            _ => {}
        }
        Action::Forward
    }

    /// Reads a server's line that is not part of a FETCH response: tagged completions and the UIDVALIDITY
    /// of a mailbox being selected.
    pub fn response(&mut self, line: &[u8]) {
        if let Some(rest) = line.strip_prefix(b"* OK [UIDVALIDITY ") {
            if let Some((_, _, v)) = &mut self.selecting {
                *v = rest
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .try_fold(0u32, |acc, d| acc.checked_mul(10).and_then(|a| a.checked_add(u32::from(d - b'0'))));
            }
            return;
        }
        if line.starts_with(b"*") || line.starts_with(b"+") {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let mut words = text.split_ascii_whitespace();
        let (Some(tag), Some(status)) = (words.next(), words.next()) else { return };
        let ok = status.eq_ignore_ascii_case("OK");
        if self.login.as_ref().is_some_and(|(t, _)| t == tag) {
            let (_, user) = self.login.take().unwrap_or_default();
            if ok {
                self.user = Some(user);
            }
        }
        if self.sasl.as_ref().is_some_and(|(t, _)| t == tag) {
            self.sasl = None;
        }
        if self.selecting.as_ref().is_some_and(|(t, _, _)| t == tag)
            && let Some((_, name, Some(v))) = self.selecting.take()
            && ok
        {
            self.mailbox = Some((name, v));
        }
        self.fetches.retain(|f| f.tag != tag);
    }

    /// What the FETCH commands in flight asked for, taken together: whether the proxy added `BODY.PEEK[]`
    /// (only when none of them asked for the whole message itself) and every partial asked for.
    pub fn in_flight(&self) -> Fetch {
        let whole = self.fetches.iter().any(|f| f.whole);
        Fetch {
            tag: String::new(),
            injected: !whole && self.fetches.iter().any(|f| f.injected),
            whole,
            partials: self.fetches.iter().flat_map(|f| f.partials.iter().cloned()).collect(),
        }
    }

    /// The start of the cache key of a message in the selected mailbox, for the logged-in user: the
    /// message's UID completes it.
    pub fn cache_prefix(&self) -> Option<String> {
        let user = self.user.as_ref()?;
        let (mailbox, validity) = self.mailbox.as_ref()?;
        Some(format!("imap|{user}|{mailbox}|{validity}|"))
    }

    /// An AUTHENTICATE exchange is in progress: client lines are SASL data, not commands.
    pub fn in_sasl(&self) -> bool {
        self.sasl.is_some()
    }
}

/// The user of a SASL PLAIN response (`authzid NUL authcid NUL password`): the authorization identity when
/// given, else the authentication identity.
pub(crate) fn plain_user(response: &[u8]) -> Option<String> {
    let mut parts = response.split(|b| *b == 0);
    let (authz, authc) = (parts.next()?, parts.next()?);
    parts.next()?;
    let user = if authz.is_empty() { authc } else { authz };
    (!user.is_empty()).then(|| String::from_utf8_lossy(user).to_ascii_lowercase())
}

/// An item that is the whole message: `BODY[]`, `BODY.PEEK[]` without a partial, or `RFC822`.
fn is_whole(item: &MessageDataItemName<'_>) -> bool {
    matches!(item, MessageDataItemName::BodyExt { section: None, partial: None, .. } | MessageDataItemName::Rfc822)
}

/// An item whose answer depends on the message's content.
fn needs_message(item: &MessageDataItemName<'_>) -> bool {
    matches!(
        item,
        MessageDataItemName::BodyExt { .. }
            | MessageDataItemName::Rfc822Header
            | MessageDataItemName::Rfc822Text
            | MessageDataItemName::Rfc822Size
            | MessageDataItemName::Body
            | MessageDataItemName::BodyStructure
            | MessageDataItemName::Envelope
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)] // A panic in a test is a failed test.

    use super::*;

    fn replaced(a: Action) -> String {
        match a {
            Action::Replace(b) => String::from_utf8(b).unwrap(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn fetches_of_parts_get_the_whole_message_added() {
        let mut s = State::default();
        assert_eq!(
            replaced(s.command(b"a1 UID FETCH 1:* (UID BODYSTRUCTURE)\r\n")),
            "a1 UID FETCH 1:* (UID BODYSTRUCTURE BODY.PEEK[])\r\n"
        );
        assert_eq!(
            replaced(s.command(b"a2 FETCH 3 ALL\r\n")),
            "a2 FETCH 3 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY.PEEK[])\r\n"
        );
        assert_eq!(
            replaced(s.command(b"a3 FETCH 3 BODY.PEEK[1.MIME]<0.10>\r\n")),
            "a3 FETCH 3 (BODY.PEEK[1.MIME]<0.10> BODY.PEEK[])\r\n"
        );
        assert_eq!(s.command(b"a4 FETCH 3 (FLAGS UID)\r\n"), Action::Forward);
        assert_eq!(s.command(b"a5 FETCH 3 (BODY[] BODYSTRUCTURE)\r\n"), Action::Forward);
        assert_eq!(s.command(b"a6 FETCH 3 RFC822\r\n"), Action::Forward);
        // With a FETCH in flight that asked for the whole message, nothing is taken out of responses.
        assert!(!s.in_flight().injected);
        for t in ["a1", "a2", "a3", "a4", "a5", "a6"] {
            s.response(format!("{t} OK done\r\n").as_bytes());
        }
        assert!(s.in_flight().partials.is_empty());
        s.command(b"b1 FETCH 1 BODY.PEEK[TEXT]<2.5>\r\n");
        let f = s.in_flight();
        assert!(f.injected && !f.whole);
        assert_eq!(f.partials.len(), 1);
        assert_eq!((f.partials[0].1, f.partials[0].2), (2, 5));
    }

    #[test]
    fn the_user_counts_once_the_server_accepted_the_login() {
        let mut s = State::default();
        s.command(b"a1 LOGIN Bob@Example.org secret\r\n");
        assert_eq!(s.user, None);
        s.response(b"a1 NO [AUTHENTICATIONFAILED] no\r\n");
        assert_eq!(s.user, None);
        s.command(b"a2 LOGIN {15}\r\nbob@example.org {6}\r\nsecret\r\n");
        s.response(b"a2 OK [CAPABILITY IMAP4rev1] Logged in\r\n");
        assert_eq!(s.user.as_deref(), Some("bob@example.org"));
    }

    #[test]
    fn authenticate_plain_with_and_without_an_initial_response() {
        let mut s = State::default();
        // "\0carol@example.org\0secret"
        s.command(b"a1 AUTHENTICATE PLAIN\r\n");
        assert!(s.in_sasl());
        assert_eq!(s.command(b"AGNhcm9sQGV4YW1wbGUub3JnAHNlY3JldA==\r\n"), Action::Forward);
        s.response(b"a1 OK Logged in\r\n");
        assert_eq!(s.user.as_deref(), Some("carol@example.org"));
        assert!(!s.in_sasl());
        let mut s = State::default();
        s.command(b"a1 AUTHENTICATE PLAIN AGNhcm9sQGV4YW1wbGUub3JnAHNlY3JldA==\r\n");
        s.response(b"a1 OK Logged in\r\n");
        assert_eq!(s.user.as_deref(), Some("carol@example.org"));
    }

    #[test]
    fn the_cache_key_needs_a_user_and_a_selected_mailbox() {
        let mut s = State::default();
        assert_eq!(s.cache_prefix(), None);
        s.command(b"a1 LOGIN bob x\r\n");
        s.response(b"a1 OK\r\n");
        s.command(b"a2 SELECT INBOX\r\n");
        s.response(b"* OK [UIDVALIDITY 1700] UIDs valid\r\n");
        assert_eq!(s.cache_prefix(), None, "not before the SELECT completed");
        s.response(b"a2 OK [READ-WRITE] Select completed\r\n");
        let k = s.cache_prefix().unwrap();
        assert!(k.starts_with("imap|bob|") && k.ends_with("|1700|"), "{k}");
        s.command(b"a3 SELECT Archive\r\n");
        assert_eq!(s.cache_prefix(), None);
        s.response(b"a3 NO no such mailbox\r\n");
        assert_eq!(s.cache_prefix(), None);
    }

    #[test]
    fn starttls_is_answered_by_the_proxy() {
        let mut s = State::default();
        for c in [&b"t1 STARTTLS\r\n"[..], b"t1 starttls \r\n", b"t1 StartTLS\n", b"t1 COMPRESS DEFLATE\r\n"] {
            let Action::Answer(a) = s.command(c) else { panic!() };
            assert!(a.starts_with(b"t1 BAD "));
        }
    }
}
