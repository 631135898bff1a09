//! Unit tests on vocabularies written out by hand, where the expected ids can be worked out
//! by reading the algorithm. Larger generated vocabularies are in tests/tokenizer_*.rs.

use super::*;

/// `<unk> <s> </s>`, the 256 byte tokens, then `pieces` with their scores.
fn spm(pieces: &[(&str, f32)]) -> Tokenizer {
    let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
    let mut types = vec![TokenType::Unknown, TokenType::Control, TokenType::Control];
    let mut scores = vec![0.0, 0.0, 0.0];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(TokenType::Byte);
        scores.push(0.0);
    }
    for (piece, score) in pieces {
        tokens.push(piece.to_string());
        types.push(TokenType::Normal);
        scores.push(*score);
    }
    let mut spec = TokenizerSpec::new(TokenizerKind::SentencePiece, tokens);
    spec.scores = scores;
    spec.token_types = types;
    Tokenizer::new(spec).expect("valid spm vocabulary")
}

fn ids_of(t: &Tokenizer, texts: &[&str]) -> Vec<u32> {
    texts
        .iter()
        .map(|s| {
            t.vocab
                .token_id(s)
                .unwrap_or_else(|| panic!("{s} in vocab"))
        })
        .collect()
}

#[test]
fn spm_merges_the_best_scored_pair_first() {
    let pieces = [
        ("\u{2581}", -1.0),
        ("a", -1.0),
        ("b", -1.0),
        ("c", -1.0),
        ("ab", -2.0),
        ("bc", -3.0),
    ];
    let t = spm(&pieces);
    // "▁abc": the pair (a,b) scores higher than (b,c).
    assert_eq!(
        t.encode("abc", false, false).unwrap(),
        ids_of(&t, &["\u{2581}", "ab", "c"])
    );
    let pieces = [
        ("\u{2581}", -1.0),
        ("a", -1.0),
        ("b", -1.0),
        ("c", -1.0),
        ("ab", -3.0),
        ("bc", -2.0),
    ];
    let t = spm(&pieces);
    assert_eq!(
        t.encode("abc", false, false).unwrap(),
        ids_of(&t, &["\u{2581}", "a", "bc"])
    );
}

#[test]
fn spm_adds_bos_and_space_prefix_and_round_trips() {
    let t = spm(&[
        ("\u{2581}", -1.0),
        ("\u{2581}hello", -1.0),
        ("\u{2581}he", -3.0),
        ("llo", -3.0),
        ("h", -5.0),
        ("e", -5.0),
        ("l", -5.0),
        ("o", -5.0),
        ("\u{2581}h", -4.0),
        ("ll", -4.0),
        ("lo", -4.5),
        ("he", -4.5),
    ]);
    let ids = t.encode("hello hello", true, false).unwrap();
    let mut want = vec![1];
    want.extend(ids_of(&t, &["\u{2581}hello", "\u{2581}hello"]));
    assert_eq!(ids, want);
    assert_eq!(t.decode(&ids).unwrap(), "hello hello");
}

#[test]
fn spm_falls_back_to_bytes_for_unknown_characters() {
    let t = spm(&[("\u{2581}", -1.0), ("h", -1.0), ("\u{2581}h", -0.5)]);
    let ids = t.encode("h€", false, false).unwrap();
    let mut want = ids_of(&t, &["\u{2581}h"]);
    want.extend(ids_of(&t, &["<0xE2>", "<0x82>", "<0xAC>"]));
    assert_eq!(ids, want);
    assert_eq!(t.decode(&ids).unwrap(), "h€");
}

#[test]
fn spm_parses_control_tokens_only_when_asked() {
    let t = spm(&[("\u{2581}", -1.0), ("x", -1.0), ("\u{2581}x", -0.5)]);
    let parsed = t.encode("x</s>x", false, true).unwrap();
    assert_eq!(
        parsed,
        [
            ids_of(&t, &["\u{2581}x"])[0],
            2,
            ids_of(&t, &["\u{2581}x"])[0]
        ]
    );
    let literal = t.encode("</s>", false, false).unwrap();
    assert!(!literal.contains(&2), "{literal:?}");
    assert_eq!(t.decode(&literal).unwrap(), "</s>");
}

/// A byte-level BPE vocabulary: the 256 byte characters, then one token per merge.
fn bpe(merges: &[&str]) -> Tokenizer {
    let mut tokens: Vec<String> = (0..=255u8)
        .map(|b| byte_unicode::byte_to_char(b).to_string())
        .collect();
    for m in merges {
        tokens.push(m.replace(' ', ""));
    }
    tokens.push("<|end|>".into());
    let mut types = vec![TokenType::Normal; tokens.len()];
    *types.last_mut().unwrap() = TokenType::Control;
    let mut spec = TokenizerSpec::new(TokenizerKind::BytePairEncoding, tokens);
    spec.token_types = types;
    spec.merges = merges.iter().map(|s| s.to_string()).collect();
    spec.pre = Some("gpt-2".into());
    Tokenizer::new(spec).expect("valid bpe vocabulary")
}

#[test]
fn bpe_applies_merges_in_rank_order() {
    let t = bpe(&["b c", "a b"]);
    assert_eq!(
        t.encode("abc", false, false).unwrap(),
        ids_of(&t, &["a", "bc"])
    );
    let t = bpe(&["a b", "b c"]);
    assert_eq!(
        t.encode("abc", false, false).unwrap(),
        ids_of(&t, &["ab", "c"])
    );
    // Merges never cross the pre-tokenizer's word boundary (" b" is its own word).
    let t = bpe(&["a Ġ", "Ġ b"]);
    assert_eq!(
        t.encode("a b", false, false).unwrap(),
        ids_of(&t, &["a", "Ġb"])
    );
}

#[test]
fn bpe_round_trips_any_text_through_bytes() {
    let t = bpe(&["h e", "l l", "he ll", "hell o", "Ġ w", "o r"]);
    let text = "hello world, héllo\n\t¿日本? 123";
    let ids = t.encode(text, true, false).unwrap();
    assert!(ids.contains(&t.vocab.token_id("hello").unwrap()));
    assert!(ids.contains(&t.vocab.token_id("Ġw").unwrap()));
    assert_eq!(t.decode(&ids).unwrap(), text);
}

#[test]
fn stream_waits_for_whole_characters() {
    let t = spm(&[("\u{2581}", -1.0)]);
    let ids = t.encode("€", false, false).unwrap();
    assert_eq!(ids.len(), 4, "▁ then three byte tokens");
    let mut stream = t.stream();
    let pieces: Vec<String> = ids.iter().map(|&id| stream.push(&t, id).unwrap()).collect();
    assert_eq!(pieces, ["", "", "", "€"]);
}

#[test]
fn bad_specs_and_ids_are_named() {
    let mut spec = TokenizerSpec::new(TokenizerKind::SentencePiece, vec!["a".into(), "b".into()]);
    spec.scores = vec![0.0];
    let err = Tokenizer::new(spec).unwrap_err().to_string();
    assert!(
        err.contains("tokenizer.ggml.scores has 1 entries for 2 tokens"),
        "{err}"
    );

    let mut spec = TokenizerSpec::new(TokenizerKind::BytePairEncoding, vec!["a".into()]);
    spec.merges = vec!["ab".into()];
    let err = Tokenizer::new(spec).unwrap_err().to_string();
    assert!(err.contains("merges[0]"), "{err}");

    let mut spec = TokenizerSpec::new(TokenizerKind::SentencePiece, vec!["a".into()]);
    spec.eos = Some(7);
    let err = Tokenizer::new(spec).unwrap_err().to_string();
    assert!(err.contains("eos token id 7"), "{err}");

    let t = spm(&[]);
    let err = t.decode(&[100_000]).unwrap_err().to_string();
    assert!(err.contains("token id 100000"), "{err}");
}
