//! Tokenizers over vocabularies generated from a corpus (as a trained vocabulary would be):
//! encode/decode round trips, metadata round trips, and properties of the ids.

use edgeplane::model::testing::{bpe_vocab, sentencepiece_vocab, set_tokenizer_metadata, CORPUS};
use edgeplane::model::MemorySource;
use edgeplane::tokenizer::{Tokenizer, TokenizerSpec};

const SAMPLES: &[&str] = &[
    "Hello world!",
    "The quick brown fox jumps over the lazy dog.",
    "  leading and trailing spaces  ",
    "numbers 1234567 and 3.14159",
    "Ünïcödé façade — 日本語 🦀 emoji",
    "tabs\tand\nnew lines\n\n",
    "It's they've we'll I'd you're",
    "",
];

fn round_trip(t: &Tokenizer, text: &str) -> Vec<u32> {
    let ids = t.encode(text, false, false).expect("encode");
    assert_eq!(t.decode(&ids).expect("decode"), text, "ids {ids:?}");
    ids
}

#[test]
fn sentencepiece_round_trips_and_compresses_the_corpus() {
    let t = Tokenizer::new(sentencepiece_vocab(CORPUS, 800)).expect("vocabulary");
    for s in SAMPLES {
        round_trip(&t, s);
    }
    // Pieces learned from the corpus make it shorter than one token per byte.
    let ids = round_trip(&t, "The quick brown fox");
    assert!(ids.len() < 12, "{ids:?}");
    // With BOS, the first id is BOS and decoding drops it.
    let with_bos = t.encode("Hello", true, false).expect("encode");
    assert_eq!(with_bos[0], 1);
    assert_eq!(t.decode(&with_bos).expect("decode"), "Hello");
}

#[test]
fn bpe_round_trips_for_every_pre_tokenizer() {
    for pre in ["default", "gpt-2", "llama-bpe", "qwen2"] {
        let t = Tokenizer::new(bpe_vocab(CORPUS, pre, 300).expect("vocabulary")).expect(pre);
        for s in SAMPLES {
            round_trip(&t, s);
        }
        let ids = round_trip(&t, "The quick brown fox");
        assert!(ids.len() < 12, "{pre}: {ids:?}");
    }
}

#[test]
fn bpe_merges_are_applied_in_learned_order() {
    // Every merge, applied to its own two halves, must produce exactly its merged token:
    // a regression on ranks would split some of them differently.
    let spec = bpe_vocab(CORPUS, "gpt-2", 300).expect("vocabulary");
    let t = Tokenizer::new(spec.clone()).expect("tokenizer");
    let mut checked = 0;
    for line in &spec.merges {
        let merged = line.replace(' ', "");
        let bytes = edgeplane::tokenizer::byte_unicode::decode_chars(&merged);
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        // Only words the pre-tokenizer keeps whole.
        if text.trim_start().chars().any(|c| !c.is_alphanumeric()) {
            continue;
        }
        let ids = t.encode(&text, false, false).expect("encode");
        assert_eq!(ids.len(), 1, "{text:?} ({line}) gave {ids:?}");
        assert_eq!(t.token_text(ids[0]), Some(merged.as_str()));
        checked += 1;
    }
    assert!(checked > 50, "only {checked} merges checked");
}

#[test]
fn spec_survives_metadata() {
    for spec in [
        sentencepiece_vocab(CORPUS, 200),
        bpe_vocab(CORPUS, "qwen2", 100).expect("vocabulary"),
    ] {
        let mut source = MemorySource::default();
        set_tokenizer_metadata(&mut source, &spec);
        let read = TokenizerSpec::from_source(&source)
            .expect("valid metadata")
            .expect("tokenizer present");
        assert_eq!(read.tokens, spec.tokens);
        assert_eq!(read.merges, spec.merges);
        assert_eq!(read.scores, spec.scores);
        assert_eq!(read.token_types, spec.token_types);
        assert_eq!((read.bos, read.eos), (spec.bos, spec.eos));
        let a = Tokenizer::new(read).expect("tokenizer");
        let b = Tokenizer::new(spec).expect("tokenizer");
        for s in SAMPLES {
            assert_eq!(
                a.encode(s, true, false).expect("encode"),
                b.encode(s, true, false).expect("encode")
            );
        }
    }
}

#[test]
fn unknown_tokenizer_models_are_named() {
    let mut source = MemorySource::default();
    source.set(
        "tokenizer.ggml.model",
        edgeplane::model::MetaValue::Str("t5".into()),
    );
    let err = TokenizerSpec::from_source(&source).unwrap_err().to_string();
    assert!(err.contains("\"t5\""), "{err}");
}
