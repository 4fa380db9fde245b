//! Key and value names: decoding (Latin-1 "compressed" or UTF-16LE), Windows' upper-case
//! comparison, and the `lh` hash.
//!
//! Windows compares names by upper-casing each UTF-16 code unit (RtlUpcaseUnicodeChar) and
//! comparing the results as numbers; it never expands a character into two (ß stays ß).
//! We use Rust's simple upper-case mapping where it maps one BMP code unit to one BMP code unit,
//! which agrees with Windows' table for the scripts names are written in.

/// Upper-case one UTF-16 code unit as Windows does (one unit to one unit).
pub(crate) fn upcase_unit(u: u16) -> u16 {
    if u < 0x80 {
        return (u as u8).to_ascii_uppercase() as u16;
    }
    let Some(c) = char::from_u32(u32::from(u)) else {
        return u; // a surrogate half stays as it is
    };
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(x), None) if (x as u32) <= 0xFFFF => x as u32 as u16,
        _ => u,
    }
}

/// The comparison key of a name: its UTF-16 code units, upper-cased.
pub(crate) fn upcase_key(name: &str) -> Vec<u16> {
    name.encode_utf16().map(upcase_unit).collect()
}

/// The `lh` hash of a name: `h = 37 * h + upcase(unit)` over its UTF-16 code units.
pub(crate) fn lh_hash(name: &str) -> u32 {
    name.encode_utf16().fold(0u32, |h, u| {
        h.wrapping_mul(37).wrapping_add(u32::from(upcase_unit(u)))
    })
}

/// Decode a stored name: Latin-1 when `compressed`, else UTF-16LE (unpaired surrogates become
/// U+FFFD).
pub(crate) fn decode(raw: &[u8], compressed: bool) -> String {
    if compressed {
        raw.iter().map(|&b| char::from(b)).collect()
    } else {
        let units: Vec<u16> = raw
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16_lossy(&units)
    }
}

/// Encode a name for storage: `(bytes, compressed)`. Names whose characters are all below
/// U+0100 are stored compressed (one byte each), as Windows does.
pub(crate) fn encode(name: &str) -> (Vec<u8>, bool) {
    if name.chars().all(|c| (c as u32) < 0x100) {
        (name.chars().map(|c| c as u32 as u8).collect(), true)
    } else {
        let mut v = Vec::with_capacity(name.len() * 2);
        for u in name.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        (v, false)
    }
}

/// Length of a name in UTF-16 bytes (what the `largest … name length` fields count).
pub(crate) fn utf16_bytes(name: &str) -> u32 {
    (name.encode_utf16().count() * 2) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_documented_algorithm() {
        // msuhanov spec, "Hash leaf" note: H = 37 * H + upcase(C).
        assert_eq!(lh_hash("a"), 'A' as u32);
        assert_eq!(lh_hash("ab"), 37 * ('A' as u32) + 'B' as u32);
        assert_eq!(lh_hash("Services"), lh_hash("SERVICES"));
    }

    #[test]
    fn upcase_keeps_one_unit_per_unit() {
        assert_eq!(upcase_key("ß"), vec![0xDF]);
        assert_eq!(upcase_key("äöü"), upcase_key("ÄÖÜ"));
        assert_eq!(upcase_key("x™"), vec!['X' as u16, 0x2122]);
    }

    #[test]
    fn names_round_trip() {
        for n in ["plain", "asdf_äöüß", "weird™", "zero\0key", "日本語", ""] {
            let (b, c) = encode(n);
            assert_eq!(decode(&b, c), n);
        }
    }
}
