//! The DER `DigestInfo` prefixes of EMSA-PKCS1-v1_5 (RFC 8017 section 9.2, note 1), for every hash the
//! registry knows, MD2 included (RFC 1423 MIC-Info: RSA-MD2).

use crate::core::digest::HashAlgorithm;

/// The DER bytes that precede the digest inside a PKCS #1 v1.5 signature block.
pub fn prefix(hash: HashAlgorithm) -> &'static [u8] {
    match hash {
        HashAlgorithm::Md2 => &[
            0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x02, 0x05, 0x00, 0x04, 0x10,
        ],
        HashAlgorithm::Md5 => &[
            0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10,
        ],
        HashAlgorithm::Sha1 => {
            &[0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14]
        }
        HashAlgorithm::Sha224 => &[
            0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04,
            0x1c,
        ],
        HashAlgorithm::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
            0x20,
        ],
        HashAlgorithm::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04,
            0x30,
        ],
        HashAlgorithm::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04,
            0x40,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each prefix is a well-formed DER SEQUENCE whose lengths add up, ending in an OCTET STRING header of the
    /// digest's length, and contains the hash's OID from the registry.
    #[test]
    fn prefixes_are_consistent_with_the_registry() {
        for h in HashAlgorithm::ALL {
            let p = prefix(h);
            assert_eq!(p[0], 0x30);
            assert_eq!(p[1] as usize, p.len() - 2 + h.output_len(), "{h}");
            assert_eq!(p[p.len() - 2], 0x04);
            assert_eq!(p[p.len() - 1] as usize, h.output_len());
            let oid = h.algorithm().info().oid.unwrap();
            let enc = encode_oid(oid);
            assert!(p.windows(enc.len()).any(|w| w == enc), "{h} prefix lacks its OID {oid}");
        }
    }

    fn encode_oid(dotted: &str) -> Vec<u8> {
        let arcs: Vec<u64> = dotted.split('.').map(|a| a.parse().unwrap()).collect();
        let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
        for &arc in &arcs[2..] {
            let mut bytes = vec![(arc & 0x7f) as u8];
            let mut rest = arc >> 7;
            while rest > 0 {
                bytes.push(((rest & 0x7f) as u8) | 0x80);
                rest >>= 7;
            }
            bytes.reverse();
            body.extend(bytes);
        }
        let mut out = vec![0x06, body.len() as u8];
        out.extend(body);
        out
    }
}
