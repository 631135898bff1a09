//! Vocabularies for test models, learned from a small corpus the way real ones are
//! (substring pieces for SentencePiece, frequency-ordered merges for BPE), so tokenization
//! is exercised on realistic shapes without shipping a real vocabulary.

use crate::error::Result;
use crate::model::source::{MemorySource, MetaValue};
use crate::tokenizer::{byte_unicode, PreTokenizer, TokenType, TokenizerKind, TokenizerSpec};
use std::collections::{BTreeMap, HashMap};

/// Text the test vocabularies are learned from and tests encode.
pub const CORPUS: &str = "The quick brown fox jumps over the lazy dog. \
    A model runs on every device and gives the same answer; the reference proves it. \
    Hello world! Hello, edgeplane: 12345 tokens per second, 3.14159 and 2026. \
    Quantized weights: q4_0, q8_0, q4_K, q6_K. Ünïcödé façade naïve café — 日本語のテキスト. \
    It's what they've said we'll do, and I'd say you're right.\n\tTabs\tand\nnewlines\n";

/// A SentencePiece vocabulary: `<unk> <s> </s>`, the 256 byte tokens, then every substring
/// of up to 6 characters of the `▁`-prefixed words of `corpus`, word by word until
/// `max_pieces`. Longer pieces score higher, so words merge into few tokens (all the
/// substrings are there, so every merge has its intermediate pieces); characters outside
/// the corpus fall back to bytes.
pub fn sentencepiece_vocab(corpus: &str, max_pieces: usize) -> TokenizerSpec {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    for word in corpus.split_whitespace() {
        let chars: Vec<char> = format!("\u{2581}{word}").chars().collect();
        for len in 1..=6.min(chars.len()) {
            for start in 0..=chars.len() - len {
                let piece: String = chars[start..start + len].iter().collect();
                let count = counts.entry(piece.clone()).or_default();
                if *count == 0 {
                    order.push(piece);
                }
                *count += 1;
            }
        }
    }
    order.truncate(max_pieces);
    let pieces: Vec<(String, usize)> = order
        .into_iter()
        .map(|p| {
            let c = counts[&p];
            (p, c)
        })
        .collect();
    let mut tokens = vec!["<unk>".to_string(), "<s>".into(), "</s>".into()];
    let mut types = vec![TokenType::Unknown, TokenType::Control, TokenType::Control];
    let mut scores = vec![0.0, 0.0, 0.0];
    for b in 0..=255u8 {
        tokens.push(format!("<0x{b:02X}>"));
        types.push(TokenType::Byte);
        scores.push(0.0);
    }
    for (piece, count) in pieces {
        let len = piece.chars().count() as f32;
        tokens.push(piece);
        types.push(TokenType::Normal);
        scores.push(len + 0.1 * (count as f32).ln() - 10.0);
    }
    let mut spec = TokenizerSpec::new(TokenizerKind::SentencePiece, tokens);
    spec.scores = scores;
    spec.token_types = types;
    spec.bos = Some(1);
    spec.eos = Some(2);
    spec.unk = Some(0);
    spec
}

/// A byte-level BPE vocabulary: the 256 byte characters, then `n_merges` merges learned
/// from `corpus` split by pre-tokenizer `pre` (most frequent pair first, ties by text), then
/// `<|endoftext|>` as BOS/EOS.
pub fn bpe_vocab(corpus: &str, pre: &str, n_merges: usize) -> Result<TokenizerSpec> {
    let splitter = PreTokenizer::for_name(Some(pre))?;
    let mut words: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for word in splitter.split(corpus)? {
        let symbols = byte_unicode::encode_bytes(word.as_bytes())
            .chars()
            .map(String::from)
            .collect();
        *words.entry(symbols).or_default() += 1;
    }
    let mut tokens: Vec<String> = (0..=255u8)
        .map(|b| byte_unicode::byte_to_char(b).to_string())
        .collect();
    let mut merges = Vec::new();
    for _ in 0..n_merges {
        let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (symbols, count) in &words {
            for pair in symbols.windows(2) {
                *pairs.entry((pair[0].clone(), pair[1].clone())).or_default() += count;
            }
        }
        let Some(((left, right), _)) = pairs
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
        else {
            break;
        };
        let merged = format!("{left}{right}");
        words = words
            .into_iter()
            .map(|(symbols, count)| {
                let mut out: Vec<String> = Vec::with_capacity(symbols.len());
                let mut i = 0;
                while i < symbols.len() {
                    if i + 1 < symbols.len() && symbols[i] == left && symbols[i + 1] == right {
                        out.push(merged.clone());
                        i += 2;
                    } else {
                        out.push(symbols[i].clone());
                        i += 1;
                    }
                }
                (out, count)
            })
            .fold(BTreeMap::new(), |mut acc, (symbols, count)| {
                *acc.entry(symbols).or_default() += count;
                acc
            });
        merges.push(format!("{left} {right}"));
        if !tokens.contains(&merged) {
            tokens.push(merged);
        }
    }
    tokens.push("<|endoftext|>".into());
    let mut types = vec![TokenType::Normal; tokens.len()];
    let special = (tokens.len() - 1) as u32;
    types[special as usize] = TokenType::Control;
    let mut spec = TokenizerSpec::new(TokenizerKind::BytePairEncoding, tokens);
    spec.token_types = types;
    spec.merges = merges;
    spec.pre = Some(pre.to_string());
    spec.bos = Some(special);
    spec.eos = Some(special);
    Ok(spec)
}

/// Writes a tokenizer spec's fields to `tokenizer.ggml.*` metadata.
pub fn set_tokenizer_metadata(source: &mut MemorySource, spec: &TokenizerSpec) {
    let strings = |v: &[String]| MetaValue::Array(v.iter().cloned().map(MetaValue::Str).collect());
    let model = match spec.kind {
        TokenizerKind::SentencePiece => "llama",
        TokenizerKind::BytePairEncoding => "gpt2",
    };
    source.set("tokenizer.ggml.model", MetaValue::Str(model.into()));
    source.set("tokenizer.ggml.tokens", strings(&spec.tokens));
    if !spec.scores.is_empty() {
        source.set(
            "tokenizer.ggml.scores",
            MetaValue::Array(
                spec.scores
                    .iter()
                    .map(|&s| MetaValue::Float(s as f64))
                    .collect(),
            ),
        );
    }
    if !spec.token_types.is_empty() {
        let number = |t: &TokenType| match t {
            TokenType::Undefined => 0,
            TokenType::Normal => 1,
            TokenType::Unknown => 2,
            TokenType::Control => 3,
            TokenType::UserDefined => 4,
            TokenType::Unused => 5,
            TokenType::Byte => 6,
        };
        source.set(
            "tokenizer.ggml.token_type",
            MetaValue::Array(
                spec.token_types
                    .iter()
                    .map(|t| MetaValue::Int(number(t)))
                    .collect(),
            ),
        );
    }
    if !spec.merges.is_empty() {
        source.set("tokenizer.ggml.merges", strings(&spec.merges));
    }
    if let Some(pre) = &spec.pre {
        source.set("tokenizer.ggml.pre", MetaValue::Str(pre.clone()));
    }
    for (key, id) in [
        ("tokenizer.ggml.bos_token_id", spec.bos),
        ("tokenizer.ggml.eos_token_id", spec.eos),
        ("tokenizer.ggml.unknown_token_id", spec.unk),
    ] {
        if let Some(id) = id {
            source.set(key, MetaValue::Int(id as i64));
        }
    }
}
