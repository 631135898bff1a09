//! Tokenizers read from GGUF metadata: SentencePiece (`llama`) and byte-level BPE (`gpt2`).
//!
//! In the flow of DESIGN.md the tokenizer sits beside the model: text becomes token ids
//! here, the model's graph turns ids into logits, and sampled ids come back here to become
//! text. Both algorithms follow llama.cpp's implementation closely, because llama.cpp is the
//! oracle the tests compare token ids against.
//!
//! The input is a plain [`TokenizerSpec`] (token strings, scores, types, merges, kind), so a
//! tokenizer can be built from GGUF metadata ([`TokenizerSpec::from_metadata`]) or from a
//! vocabulary made in a test.

mod bpe;
pub mod byte_unicode;
mod metadata;
mod pretokenize;
mod spm;
mod stream;

pub use pretokenize::PreTokenizer;
pub use stream::TextStream;

use crate::error::{Error, Result};
use std::collections::HashMap;

/// The tokenizer algorithm, from `tokenizer.ggml.model`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerKind {
    /// `llama`: SentencePiece with scores and `<0xNN>` byte fallback.
    SentencePiece,
    /// `gpt2`: byte-level BPE with ranked merges and a regex pre-tokenizer.
    BytePairEncoding,
}

/// What a token is, from `tokenizer.ggml.token_type` (the numbers are GGUF's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenType {
    /// 0: not set.
    Undefined,
    /// 1: ordinary text.
    Normal,
    /// 2: the unknown token.
    Unknown,
    /// 3: a control token (BOS, EOS); never produced from text unless special tokens are
    /// parsed, and decoded to nothing.
    Control,
    /// 4: a token added by the user; always matched whole in text, decoded as written.
    UserDefined,
    /// 5: unused slot.
    Unused,
    /// 6: a raw byte, written `<0xNN>`.
    Byte,
}

impl TokenType {
    /// From GGUF's number; unknown numbers are `Undefined` (llama.cpp does the same).
    pub fn from_gguf(value: i32) -> Self {
        match value {
            1 => TokenType::Normal,
            2 => TokenType::Unknown,
            3 => TokenType::Control,
            4 => TokenType::UserDefined,
            5 => TokenType::Unused,
            6 => TokenType::Byte,
            _ => TokenType::Undefined,
        }
    }

    /// Whether text is split around this token before the algorithm runs.
    fn is_special(self) -> bool {
        matches!(
            self,
            TokenType::Control | TokenType::UserDefined | TokenType::Unknown
        )
    }
}

/// Everything a tokenizer is built from: what GGUF's `tokenizer.ggml.*` keys hold.
/// Optional fields take llama.cpp's defaults for the kind.
#[derive(Clone, Debug)]
pub struct TokenizerSpec {
    /// The algorithm.
    pub kind: TokenizerKind,
    /// Token strings by id.
    pub tokens: Vec<String>,
    /// SentencePiece scores by id (empty: all 0).
    pub scores: Vec<f32>,
    /// Token types by id (empty: all normal).
    pub token_types: Vec<TokenType>,
    /// BPE merges, `"left right"`, highest priority first.
    pub merges: Vec<String>,
    /// `tokenizer.ggml.pre`: the BPE pre-tokenizer name.
    pub pre: Option<String>,
    /// Beginning-of-sequence id (default 1 for SentencePiece, 11 for BPE, as llama.cpp).
    pub bos: Option<u32>,
    /// End-of-sequence id (default 2 for SentencePiece, 11 for BPE).
    pub eos: Option<u32>,
    /// Unknown-token id (default 0 for SentencePiece, none for BPE).
    pub unk: Option<u32>,
    /// Whether `encode(.., add_special = true)` starts with BOS (default: SentencePiece yes,
    /// BPE no).
    pub add_bos: Option<bool>,
    /// Whether `encode(.., add_special = true)` ends with EOS (default no).
    pub add_eos: Option<bool>,
    /// Whether SentencePiece text gets a leading space (default yes for SentencePiece).
    pub add_space_prefix: Option<bool>,
}

impl TokenizerSpec {
    /// A spec of `kind` over `tokens` with every optional field at its default.
    pub fn new(kind: TokenizerKind, tokens: Vec<String>) -> Self {
        TokenizerSpec {
            kind,
            tokens,
            scores: Vec::new(),
            token_types: Vec::new(),
            merges: Vec::new(),
            pre: None,
            bos: None,
            eos: None,
            unk: None,
            add_bos: None,
            add_eos: None,
            add_space_prefix: None,
        }
    }
}

/// The vocabulary the algorithms look tokens up in.
#[derive(Debug)]
pub(crate) struct Vocab {
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    scores: Vec<f32>,
    types: Vec<TokenType>,
    merges: HashMap<(String, String), usize>,
    unk: Option<u32>,
}

impl Vocab {
    pub(crate) fn token_id(&self, text: &str) -> Option<u32> {
        self.ids.get(text).copied()
    }

    fn score(&self, id: u32) -> f32 {
        self.scores.get(id as usize).copied().unwrap_or(0.0)
    }

    fn token_type(&self, id: u32) -> TokenType {
        self.types
            .get(id as usize)
            .copied()
            .unwrap_or(TokenType::Normal)
    }

    fn merge_rank(&self, left: &str, right: &str) -> Option<usize> {
        self.merges
            .get(&(left.to_string(), right.to_string()))
            .copied()
    }

    /// The SentencePiece token for one byte: `<0xNN>`, else the byte as a one-character
    /// token, else the unknown token.
    fn byte_token(&self, b: u8) -> Result<u32> {
        let hex = format!("<0x{b:02X}>");
        if let Some(id) = self.token_id(&hex) {
            return Ok(id);
        }
        if let Some(id) = std::str::from_utf8(&[b])
            .ok()
            .and_then(|s| self.token_id(s))
        {
            return Ok(id);
        }
        self.unk.ok_or_else(|| {
            Error::InvalidInput(format!(
                "byte 0x{b:02X} has no token: the vocabulary has no {hex} and no unknown token"
            ))
        })
    }
}

/// A tokenizer: encodes text to ids and decodes ids to text.
#[derive(Debug)]
pub struct Tokenizer {
    kind: TokenizerKind,
    vocab: Vocab,
    pre: Option<PreTokenizer>,
    /// Special and user-defined tokens, longest text first, for splitting text around them.
    special_by_length: Vec<u32>,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    add_eos: bool,
    add_space_prefix: bool,
}

/// A piece of input text: plain text still to tokenize, or a special token found in it.
enum Fragment<'t> {
    Text(&'t str),
    Token(u32),
}

impl Tokenizer {
    /// Builds a tokenizer, checking the spec: per-token arrays match the vocabulary size,
    /// special ids are in range, BPE has merges and a known pre-tokenizer.
    pub fn new(spec: TokenizerSpec) -> Result<Self> {
        let n = spec.tokens.len();
        if n == 0 {
            return Err(Error::Model("tokenizer vocabulary is empty".into()));
        }
        for (what, len) in [
            ("tokenizer.ggml.scores", spec.scores.len()),
            ("tokenizer.ggml.token_type", spec.token_types.len()),
        ] {
            if len != 0 && len != n {
                return Err(Error::Model(format!(
                    "{what} has {len} entries for {n} tokens"
                )));
            }
        }
        let in_range = |id: Option<u32>| id.filter(|&i| (i as usize) < n);
        for (what, id) in [("bos", spec.bos), ("eos", spec.eos), ("unknown", spec.unk)] {
            if let Some(id) = id.filter(|&i| i as usize >= n) {
                return Err(Error::Model(format!(
                    "{what} token id {id} is outside the vocabulary of {n} tokens"
                )));
            }
        }
        let sentencepiece = spec.kind == TokenizerKind::SentencePiece;
        let (default_bos, default_eos, default_unk) = if sentencepiece {
            (Some(1), Some(2), Some(0))
        } else {
            (Some(11), Some(11), None)
        };
        let mut ids = HashMap::with_capacity(n);
        for (id, text) in spec.tokens.iter().enumerate() {
            // As llama.cpp: a text listed twice maps to its last id.
            ids.insert(text.clone(), id as u32);
        }
        let mut merges = HashMap::with_capacity(spec.merges.len());
        for (rank, line) in spec.merges.iter().enumerate() {
            // Split at the first space after the first character, as llama.cpp does.
            let split = line
                .char_indices()
                .skip(1)
                .find(|&(_, c)| c == ' ')
                .map(|(i, _)| i);
            let Some(split) = split else {
                return Err(Error::Model(format!(
                    "tokenizer.ggml.merges[{rank}] = {line:?} is not two tokens separated by a space"
                )));
            };
            merges
                .entry((line[..split].to_string(), line[split + 1..].to_string()))
                .or_insert(rank);
        }
        let pre = match spec.kind {
            TokenizerKind::SentencePiece => None,
            TokenizerKind::BytePairEncoding => {
                if merges.is_empty() {
                    return Err(Error::Model(
                        "a gpt2 (BPE) tokenizer needs tokenizer.ggml.merges".into(),
                    ));
                }
                Some(PreTokenizer::for_name(spec.pre.as_deref())?)
            }
        };
        let vocab = Vocab {
            ids,
            scores: spec.scores,
            types: spec.token_types,
            merges,
            unk: in_range(spec.unk.or(default_unk)),
            tokens: spec.tokens,
        };
        let pre_adds_bos = pre.as_ref().is_some_and(|p| p.default_add_bos);
        let mut special_by_length: Vec<u32> = (0..n as u32)
            .filter(|&id| {
                vocab.token_type(id).is_special() && !vocab.tokens[id as usize].is_empty()
            })
            .collect();
        special_by_length.sort_by_key(|&id| std::cmp::Reverse(vocab.tokens[id as usize].len()));
        Ok(Tokenizer {
            kind: spec.kind,
            pre,
            special_by_length,
            bos: in_range(spec.bos.or(default_bos)),
            eos: in_range(spec.eos.or(default_eos)),
            add_bos: spec.add_bos.unwrap_or(sentencepiece || pre_adds_bos),
            add_eos: spec.add_eos.unwrap_or(false),
            add_space_prefix: spec.add_space_prefix.unwrap_or(sentencepiece),
            vocab,
        })
    }

    /// The algorithm.
    pub fn kind(&self) -> TokenizerKind {
        self.kind
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The beginning-of-sequence token, if the vocabulary has one.
    pub fn bos(&self) -> Option<u32> {
        self.bos
    }

    /// The end-of-sequence token, if the vocabulary has one.
    pub fn eos(&self) -> Option<u32> {
        self.eos
    }

    /// The text of token `id` as stored in the vocabulary.
    pub fn token_text(&self, id: u32) -> Option<&str> {
        self.vocab.tokens.get(id as usize).map(String::as_str)
    }

    /// Encodes `text`. With `add_special`, adds BOS/EOS where the model asks for them;
    /// with `parse_special`, control tokens written in the text (`<s>`) become their ids.
    /// User-defined tokens are always matched whole, as llama.cpp does.
    pub fn encode(&self, text: &str, add_special: bool, parse_special: bool) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        if add_special && self.add_bos {
            out.extend(self.bos);
        }
        let mut prev_special = true;
        for fragment in self.partition(text, parse_special) {
            match fragment {
                Fragment::Token(id) => {
                    out.push(id);
                    prev_special = true;
                }
                Fragment::Text(text) => {
                    match &self.pre {
                        None => {
                            let prefix = if self.add_space_prefix && prev_special {
                                " "
                            } else {
                                ""
                            };
                            let escaped = format!("{prefix}{text}").replace(' ', "\u{2581}");
                            spm::tokenize(&self.vocab, &escaped, &mut out)?;
                        }
                        Some(pre) => {
                            for word in pre.split(text)? {
                                bpe::tokenize_word(&self.vocab, pre.ignore_merges, word, &mut out);
                            }
                        }
                    }
                    prev_special = false;
                }
            }
        }
        if add_special && self.add_eos {
            out.extend(self.eos);
        }
        Ok(out)
    }

    /// Splits `text` around special tokens, longest token text first.
    fn partition<'t>(&self, text: &'t str, parse_special: bool) -> Vec<Fragment<'t>> {
        let mut fragments = vec![Fragment::Text(text)];
        if text.is_empty() {
            return Vec::new();
        }
        for &id in &self.special_by_length {
            let token_type = self.vocab.token_type(id);
            if !parse_special && token_type != TokenType::UserDefined {
                continue;
            }
            let needle = self.vocab.tokens[id as usize].as_str();
            let mut next = Vec::with_capacity(fragments.len());
            for fragment in fragments {
                let Fragment::Text(mut rest) = fragment else {
                    next.push(fragment);
                    continue;
                };
                while let Some(at) = rest.find(needle) {
                    if at > 0 {
                        next.push(Fragment::Text(&rest[..at]));
                    }
                    next.push(Fragment::Token(id));
                    rest = &rest[at + needle.len()..];
                }
                if !rest.is_empty() {
                    next.push(Fragment::Text(rest));
                }
            }
            fragments = next;
        }
        fragments
    }

    /// The bytes token `id` stands for in decoded text: control and unknown tokens give
    /// nothing, byte tokens their byte, text tokens their text (SentencePiece `▁` as a
    /// space, BPE characters mapped back to bytes). An id outside the vocabulary is an error.
    pub fn piece(&self, id: u32) -> Result<Vec<u8>> {
        let text = self.token_text(id).ok_or_else(|| {
            Error::InvalidInput(format!(
                "token id {id} is outside the vocabulary of {} tokens",
                self.vocab_size()
            ))
        })?;
        Ok(match self.vocab.token_type(id) {
            TokenType::Control | TokenType::Unknown | TokenType::Unused | TokenType::Undefined => {
                Vec::new()
            }
            TokenType::UserDefined => text.as_bytes().to_vec(),
            TokenType::Byte => parse_byte_token(text)
                .map(|b| vec![b])
                .unwrap_or_else(|| byte_unicode::decode_chars(text)),
            TokenType::Normal => match self.kind {
                TokenizerKind::SentencePiece => text.replace('\u{2581}', " ").into_bytes(),
                TokenizerKind::BytePairEncoding => byte_unicode::decode_chars(text),
            },
        })
    }

    /// Decodes ids to text, the inverse of [`Tokenizer::encode`] for text without special
    /// tokens: control tokens vanish, and the leading space SentencePiece adds is removed.
    /// Bytes that do not form UTF-8 become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        let mut stream = self.stream();
        let mut text = String::new();
        for &id in ids {
            text.push_str(&stream.push(self, id)?);
        }
        text.push_str(&stream.finish());
        Ok(text)
    }

    /// A streaming decoder: feed ids one at a time, get text as soon as it is whole UTF-8.
    pub fn stream(&self) -> TextStream {
        TextStream::new(self.add_space_prefix)
    }
}

/// The byte of a `<0xNN>` token.
fn parse_byte_token(text: &str) -> Option<u8> {
    let hex = text.strip_prefix("<0x")?.strip_suffix('>')?;
    if hex.len() != 2 {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

#[cfg(test)]
mod tests;
