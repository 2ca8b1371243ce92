//! Version 3 RSA secret keys (RFC 4880 section 5.5.2, PGP 2.x to 6.x), which sequoia no longer parses.
//!
//! Only what decryption of old messages needs: the packet is read with bounds-checked parsing, the RSA
//! components go into the core, and the key id is the low 64 bits of the modulus (the v3 rule). Keys whose
//! secret parts are encrypted are reported as unsupported, by name.

use openpgp::Cert;
use openpgp::KeyID;
use openpgp::packet::key::Key4;
use sequoia_openpgp as openpgp;
use std::sync::Arc;

use super::PgpError;
use super::crypto::CoreRsaKey;
use crate::core::rsa::RsaPrivateKey;

/// A v3 RSA secret key, held by the core.
#[derive(Clone, Debug)]
pub struct V3Key {
    /// The v3 key id (low 64 bits of the modulus).
    pub keyid: KeyID,
    /// The user id that followed the key, if any.
    pub userid: Option<String>,
    /// The key, as a decryptor.
    pub key: CoreRsaKey,
}

/// A bounds-checked cursor over untrusted bytes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PgpError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.ok_or_else(|| PgpError::Malformed("a v3 key packet is truncated".into()))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, PgpError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, PgpError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn mpi(&mut self) -> Result<&'a [u8], PgpError> {
        let bits = self.u16()? as usize;
        self.take(bits.div_ceil(8))
    }

    fn rest(&self) -> usize {
        self.data.len() - self.pos
    }
}

/// Splits binary OpenPGP data into (tag, body) packets; old and new header formats, definite lengths only.
fn packets(data: &[u8]) -> Result<Vec<(u8, &[u8])>, PgpError> {
    let mut r = Reader::new(data);
    let mut out = Vec::new();
    while r.rest() > 0 {
        let ctb = r.u8()?;
        if ctb & 0x80 == 0 {
            return Err(PgpError::Malformed("not an OpenPGP packet header".into()));
        }
        let (tag, len) = if ctb & 0x40 == 0 {
            let tag = (ctb >> 2) & 0x0f;
            let len = match ctb & 3 {
                0 => r.u8()? as usize,
                1 => r.u16()? as usize,
                2 => {
                    let b = r.take(4)?;
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
                }
                _ => r.rest(),
            };
            (tag, len)
        } else {
            let tag = ctb & 0x3f;
            let first = r.u8()? as usize;
            let len = match first {
                0..=191 => first,
                192..=223 => ((first - 192) << 8) + r.u8()? as usize + 192,
                255 => {
                    let b = r.take(4)?;
                    u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
                }
                _ => return Err(PgpError::Unsupported("partial lengths in a key packet".into())),
            };
            (tag, len)
        };
        out.push((tag, r.take(len)?));
    }
    Ok(out)
}

fn dearmor(bytes: &[u8]) -> Result<Vec<u8>, PgpError> {
    use std::io::Read;
    let armored = bytes.windows(10).any(|w| w == b"-----BEGIN");
    if !armored {
        return Ok(bytes.to_vec());
    }
    let mut r = openpgp::armor::Reader::from_bytes(bytes, openpgp::armor::ReaderMode::Tolerant(None));
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| PgpError::Malformed(format!("bad armor: {e}")))?;
    Ok(out)
}

/// Reads the v3 RSA secret keys in `bytes` (armored or binary).
pub fn read_v3_secret_keys(bytes: &[u8]) -> Result<Vec<V3Key>, PgpError> {
    let data = dearmor(bytes)?;
    let mut keys: Vec<V3Key> = Vec::new();
    for (tag, body) in packets(&data)? {
        match tag {
            5 | 7 => {
                let mut r = Reader::new(body);
                if r.u8()? != 3 {
                    continue;
                }
                let ctime = u32::from_be_bytes(r.take(4)?.try_into().map_err(|_| PgpError::Malformed("time".into()))?);
                let _validity_days = r.u16()?;
                let algo = r.u8()?;
                if !matches!(algo, 1..=3) {
                    return Err(PgpError::Unsupported(format!("v3 keys of public-key algorithm {algo}")));
                }
                let n = r.mpi()?;
                let e = r.mpi()?;
                let s2k = r.u8()?;
                if s2k != 0 {
                    return Err(PgpError::Unsupported(
                        "passphrase-protected v3 secret keys (remove the passphrase with the PGP version that made it)"
                            .into(),
                    ));
                }
                let d = r.mpi()?;
                let p = r.mpi()?;
                let q = r.mpi()?;
                let _u = r.mpi()?;
                let core = RsaPrivateKey::from_components(n, e, d, p, q)?;
                let id_bytes = &n[n.len().saturating_sub(8)..];
                let keyid = KeyID::from_bytes(id_bytes);
                let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::from(ctime));
                let public = Key4::import_public_rsa(e, n, when).map_err(super::from_sequoia)?;
                keys.push(V3Key { keyid, userid: None, key: CoreRsaKey::new(Arc::new(core), public.into()) });
            }
            13 => {
                if let Some(last) = keys.last_mut()
                    && last.userid.is_none()
                {
                    last.userid = Some(super::keys::sanitize(&String::from_utf8_lossy(body)));
                }
            }
            _ => {}
        }
    }
    Ok(keys)
}

/// sequoia cannot represent v3 keys as certificates; this exists so that reading certificates falls back
/// cleanly and says why.
pub fn read_v3_certs(bytes: &[u8]) -> Result<Vec<Cert>, PgpError> {
    let keys = read_v3_secret_keys(bytes)?;
    if keys.is_empty() {
        Ok(Vec::new())
    } else {
        Err(PgpError::Unsupported(
            "a PGP 2.x/6.x v3 key: it can decrypt old messages (give it with --key) but is not a certificate".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_foreign_input_is_an_error_not_a_panic() {
        for bad in [&b"\x95"[..], b"\x95\x00\x10\x03", b"\x00\x01", b"\xc5\xff\xff\xff\xff\xff"] {
            assert!(read_v3_secret_keys(bad).is_err(), "{bad:?}");
        }
        assert!(read_v3_secret_keys(b"").unwrap().is_empty());
    }
}
