//! The regex pre-tokenizer of byte-level BPE: splits text into words before merges run, so
//! merges never cross a word boundary.
//!
//! Which regexes apply is named by `tokenizer.ggml.pre`; the patterns are the ones llama.cpp
//! uses for that name (its adapted forms, without `(?i:` groups). Like llama.cpp, a list of
//! regexes is applied in order, each one splitting every piece the previous ones produced:
//! both the matches and the text between them become pieces.

use crate::error::{Error, Result};
use fancy_regex::Regex;

/// GPT-2's original pattern (also llama.cpp's `gpt-2`, `phi-2`, ...).
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// llama 3's pattern: digits in groups of up to three, case-insensitive contractions.
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// qwen2's pattern: like llama 3 but single digits.
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// A compiled pre-tokenizer.
#[derive(Debug)]
pub struct PreTokenizer {
    regexes: Vec<Regex>,
    /// Whether a word that is itself a token skips the merges (llama 3's `ignore_merges`).
    pub ignore_merges: bool,
    /// Whether llama.cpp adds BOS by default for this pre-tokenizer (llama 3 does).
    pub default_add_bos: bool,
}

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre = name` (`None`: the
    /// default, as llama.cpp does for files without the key).
    pub fn for_name(name: Option<&str>) -> Result<Self> {
        let (patterns, ignore_merges): (Vec<&str>, bool) = match name.unwrap_or("default") {
            "default" => (
                vec![r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"],
                false,
            ),
            "gpt-2" | "phi-2" | "mpt" | "olmo" => (vec![GPT2], false),
            "llama3" | "llama-v3" | "llama-bpe" | "falcon3" => (vec![LLAMA3], true),
            "qwen2" | "stablelm2" => (vec![QWEN2], false),
            "starcoder" | "refact" | "smollm" => (vec![r"\p{N}", GPT2], false),
            other => {
                return Err(Error::Model(format!(
                    "tokenizer.ggml.pre = {other:?} is not a pre-tokenizer edgeplane knows \
                     (supported: default, gpt-2, llama3/llama-bpe, qwen2, starcoder)"
                )))
            }
        };
        let regexes = patterns
            .into_iter()
            .map(|p| {
                Regex::new(p).map_err(|e| Error::Model(format!("pre-tokenizer regex {p:?}: {e}")))
            })
            .collect::<Result<_>>()?;
        Ok(PreTokenizer {
            regexes,
            // llama.cpp sets both for the llama 3 family only.
            default_add_bos: ignore_merges,
            ignore_merges,
        })
    }

    /// Splits `text` into words (byte ranges of `text`, in order, covering all of it).
    pub fn split<'t>(&self, text: &'t str) -> Result<Vec<&'t str>> {
        let mut pieces = vec![text];
        for regex in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len());
            for piece in pieces {
                let mut last = 0;
                for m in regex.find_iter(piece) {
                    let m = m.map_err(|e| {
                        Error::InvalidInput(format!("pre-tokenizer regex failed on input: {e}"))
                    })?;
                    if m.start() > last {
                        next.push(&piece[last..m.start()]);
                    }
                    if m.end() > m.start() {
                        next.push(m.as_str());
                    }
                    last = m.end();
                }
                if last < piece.len() {
                    next.push(&piece[last..]);
                }
            }
            pieces = next;
        }
        Ok(pieces)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(name: &str, text: &str) -> Vec<String> {
        let pre = PreTokenizer::for_name(Some(name)).expect("known name");
        pre.split(text)
            .expect("split")
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn gpt2_keeps_the_space_with_the_next_word() {
        assert_eq!(
            split("gpt-2", "Hello world's  end!!"),
            ["Hello", " world", "'s", " ", " end", "!!"]
        );
    }

    #[test]
    fn llama3_groups_digits_by_three_and_qwen2_by_one() {
        assert_eq!(split("llama3", "12345"), ["123", "45"]);
        assert_eq!(split("qwen2", "123"), ["1", "2", "3"]);
    }

    #[test]
    fn default_splits_punctuation_first_then_digits_by_three() {
        assert_eq!(
            split("default", "a+b 1234"),
            ["a", "+", "b", " ", "123", "4"]
        );
    }

    #[test]
    fn unknown_names_are_refused_by_name() {
        let err = PreTokenizer::for_name(Some("klingon")).expect_err("unknown");
        assert!(err.to_string().contains("klingon"), "{err}");
    }
}
