//! Random identifiers: UUIDs for the seed bodies, hex for token ids and signing keys.

/// A random (version 4) UUID in its usual hyphenated lower-case form.
pub fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `len` random bytes as lower-case hex (`2 * len` characters).
pub fn random_hex(len: usize) -> String {
    hex::encode(random_bytes(len))
}

/// `len` random bytes, e.g. for an HMAC key.
pub fn random_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_has_the_v4_shape() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"));
        assert_ne!(uuid_v4(), u);
    }

    #[test]
    fn hex_has_twice_the_length() {
        assert_eq!(random_hex(16).len(), 32);
        assert!(random_hex(8).chars().all(|c| c.is_ascii_hexdigit()));
    }
}
