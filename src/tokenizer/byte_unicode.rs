//! GPT-2's reversible map between bytes and printable unicode characters.
//!
//! Byte-level BPE vocabularies (`tokenizer.ggml.model = gpt2`) store tokens as strings in
//! which every byte of the UTF-8 input is replaced by one printable character, so that
//! whitespace and control bytes survive in a JSON/GGUF string table. Printable Latin-1 bytes
//! map to themselves; the other 68 bytes map to `U+0100 ..` in byte order (space → `Ġ`,
//! newline → `Ċ`).

use std::sync::OnceLock;

/// Whether byte `b` stands for itself in the map.
fn is_self_mapped(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The table from byte to character, built once.
fn byte_to_char_table() -> &'static [char; 256] {
    static TABLE: OnceLock<[char; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = ['\0'; 256];
        let mut next_extra = 0u32;
        for b in 0..=255u8 {
            table[b as usize] = if is_self_mapped(b) {
                char::from(b)
            } else {
                let c = char::from_u32(256 + next_extra).expect("U+0100..U+0143 are valid chars");
                next_extra += 1;
                c
            };
        }
        table
    })
}

/// The character that stands for byte `b`.
pub fn byte_to_char(b: u8) -> char {
    byte_to_char_table()[b as usize]
}

/// The byte a character stands for, or `None` for characters outside the map.
pub fn char_to_byte(c: char) -> Option<u8> {
    static REVERSE: OnceLock<[Option<u8>; 256 + 68]> = OnceLock::new();
    let reverse = REVERSE.get_or_init(|| {
        let mut reverse = [None; 256 + 68];
        for b in 0..=255u8 {
            reverse[byte_to_char(b) as usize] = Some(b);
        }
        reverse
    });
    reverse.get(c as usize).copied().flatten()
}

/// Encodes every byte of `text` as its map character.
pub fn encode_bytes(text: &[u8]) -> String {
    text.iter().map(|&b| byte_to_char(b)).collect()
}

/// Decodes a token's text back to bytes; characters outside the map are kept as their UTF-8
/// bytes (llama.cpp does the same for added tokens written in plain text).
pub fn decode_chars(token: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(token.len());
    for c in token.chars() {
        match char_to_byte(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_and_characters_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_char(b);
            assert!(seen.insert(c), "byte {b} maps to a character already used");
            assert_eq!(char_to_byte(c), Some(b));
        }
        assert_eq!(byte_to_char(b' '), 'Ġ');
        assert_eq!(byte_to_char(b'\n'), 'Ċ');
        assert_eq!(byte_to_char(b'a'), 'a');
        assert_eq!(char_to_byte('€'), None);
    }

    #[test]
    fn text_round_trips() {
        let text = "héllo wörld\n\t日本";
        let encoded = encode_bytes(text.as_bytes());
        assert!(!encoded.contains(' '));
        assert_eq!(decode_chars(&encoded), text.as_bytes());
    }
}
