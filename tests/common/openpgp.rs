//! OpenPGP packets built by hand for tests (RFC 9580 section 4.2): new-format lengths, whole packets, MPIs.

/// Appends a new-format length: one, two or five octets.
pub fn new_len(n: usize, out: &mut Vec<u8>) {
    if n < 192 {
        out.push(n as u8);
    } else if n < 8384 {
        out.push((((n - 192) >> 8) + 192) as u8);
        out.push(((n - 192) & 0xff) as u8);
    } else {
        out.push(0xff);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

/// A new-format packet with tag `tag` around `body`.
pub fn packet(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![0xc0 | tag];
    new_len(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

/// An MPI: the bit count, then the big-endian number without leading zero octets.
pub fn mpi(n: &[u8]) -> Vec<u8> {
    let first = n.iter().position(|b| *b != 0).unwrap_or(n.len());
    let n = &n[first..];
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    let mut out = (bits as u16).to_be_bytes().to_vec();
    out.extend_from_slice(n);
    out
}
