//! FNV-1a, 64-bit: the hash of feature strings and gazetteer entries, fed piece by piece so a
//! feature such as `"w-1:" + word` is hashed without building the string.

pub(crate) const OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01B3;

/// The state after feeding `bytes` to the state `h`, at compile time: fixed feature prefixes
/// and whole fixed features are hashed once, not per token.
pub(crate) const fn extend(mut h: u64, bytes: &[u8]) -> u64 {
    let mut k = 0;
    while k < bytes.len() {
        h = (h ^ bytes[k] as u64).wrapping_mul(PRIME);
        k += 1;
    }
    h
}

#[derive(Clone, Copy)]
pub(crate) struct Fnv(pub u64);

impl Fnv {
    #[inline]
    pub(crate) fn new() -> Fnv {
        Fnv(OFFSET)
    }

    /// Four bytes a step, then the rest: the same hash with a quarter of the loop's overhead.
    #[inline]
    pub(crate) fn bytes(self, bytes: &[u8]) -> Fnv {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(4);
        for c in &mut chunks {
            h = (h ^ u64::from(c[0])).wrapping_mul(PRIME);
            h = (h ^ u64::from(c[1])).wrapping_mul(PRIME);
            h = (h ^ u64::from(c[2])).wrapping_mul(PRIME);
            h = (h ^ u64::from(c[3])).wrapping_mul(PRIME);
        }
        for &b in chunks.remainder() {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
        Fnv(h)
    }

    /// One byte: [`Fnv::bytes`] of a one-byte slice, without the loops.
    #[inline]
    pub(crate) fn byte(self, b: u8) -> Fnv {
        Fnv((self.0 ^ u64::from(b)).wrapping_mul(PRIME))
    }

    #[inline]
    pub(crate) fn of(bytes: &[u8]) -> u64 {
        Fnv::new().bytes(bytes).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // The published FNV-1a 64 test vectors.
        assert_eq!(Fnv::of(b""), 0xCBF2_9CE4_8422_2325);
        assert_eq!(Fnv::of(b"a"), 0xAF63_DC4C_8601_EC8C);
        assert_eq!(Fnv::of(b"foobar"), 0x8594_4171_F739_67E8);
        assert_eq!(Fnv::new().bytes(b"foo").bytes(b"bar").0, Fnv::of(b"foobar"));
        assert_eq!(extend(extend(OFFSET, b"foo"), b"bar"), Fnv::of(b"foobar"));
        assert_eq!(Fnv::new().bytes(b"fo").byte(b'o').0, Fnv::of(b"foo"));
        // Every length around the four-byte steps agrees with the byte-by-byte definition.
        let text = b"The quick brown fox jumps over the lazy dog";
        for n in 0..text.len() {
            assert_eq!(Fnv::of(&text[..n]), extend(OFFSET, &text[..n]), "{n}");
            assert_eq!(
                Fnv::new().bytes(&text[..n]).bytes(&text[n..]).0,
                Fnv::of(text)
            );
        }
    }
}
