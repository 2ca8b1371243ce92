//! E-mail addresses as the keystore compares them: the domain in IDNA A-labels (RFC 5891 §4.4, UTS #46
//! mapping, so `Bücher.Example` and `xn--bcher-kva.example` are one domain), the whole address lowercased
//! without a locale. This is the normalisation sequoia's `UserID::email_normalized` and Autocrypt use, so
//! addresses found by `sq` are found here too.
//!
//! The local part is compared case-insensitively although RFC 5321 §2.4 lets a server tell `Alice` from
//! `alice`: no real mail system does, and a lookup that missed a key because of case would send mail
//! unencrypted.

/// The normalised form of an address, or `None` when `text` is not `local@domain` (after removing
/// surrounding white space and angle brackets).
pub fn normalize(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_prefix('<').and_then(|t| t.strip_suffix('>')).unwrap_or(text).trim();
    let (local, domain) = text.rsplit_once('@')?;
    if local.is_empty() || domain.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    // A domain that IDNA refuses (a label with characters UTS #46 disallows) is still compared, lowercased:
    // certificates in the wild carry such names, and refusing the lookup would hide the key.
    let domain = idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_string());
    Some(format!("{local}@{domain}").to_lowercase())
}

/// True when `text` looks like an address rather than a fingerprint.
pub fn is_address(text: &str) -> bool {
    text.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_unicode_domains_compare_equal() {
        let a = normalize("Alice@Bücher.Example");
        assert_eq!(a.as_deref(), Some("alice@xn--bcher-kva.example"));
        assert_eq!(normalize("<alice@XN--BCHER-KVA.example>"), a);
        assert_eq!(normalize(" ALICE@bücher.example "), a);
        assert_ne!(normalize("alicia@bücher.example"), a);
    }

    #[test]
    fn non_addresses_are_none() {
        for bad in ["", "alice", "@example.org", "alice@", "a b@example.org", "a@exa\nmple.org"] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
        assert!(is_address("a@b"));
        assert!(!is_address("0123ABCD"));
    }
}
