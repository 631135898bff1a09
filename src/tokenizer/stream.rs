//! Streaming detokenization: text is printed as tokens are sampled, but one character may
//! be split over several byte tokens, so bytes wait here until they form whole UTF-8.

use super::Tokenizer;
use crate::error::Result;

/// Turns a stream of token ids into text pieces that are always valid UTF-8.
#[derive(Debug)]
pub struct TextStream {
    pending: Vec<u8>,
    /// Strip one leading space (the SentencePiece prefix) from the first text produced.
    strip_leading_space: bool,
}

impl TextStream {
    pub(super) fn new(strip_leading_space: bool) -> Self {
        TextStream {
            pending: Vec::new(),
            strip_leading_space,
        }
    }

    /// Adds token `id`; returns the text that became complete (possibly empty).
    pub fn push(&mut self, tokenizer: &Tokenizer, id: u32) -> Result<String> {
        let piece = tokenizer.piece(id)?;
        if piece.is_empty() {
            return Ok(String::new());
        }
        if self.strip_leading_space {
            self.strip_leading_space = false;
            self.pending
                .extend_from_slice(piece.strip_prefix(b" ").unwrap_or(&piece));
        } else {
            self.pending.extend_from_slice(&piece);
        }
        Ok(self.take_complete())
    }

    /// Flushes what is left; incomplete characters become U+FFFD.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }

    /// Takes the longest prefix of pending bytes that is complete text; byte sequences that
    /// can never become UTF-8 are replaced by U+FFFD right away.
    fn take_complete(&mut self) -> String {
        let mut text = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    text.push_str(s);
                    self.pending.clear();
                    return text;
                }
                Err(e) => {
                    let valid = e.valid_up_to();
                    text.push_str(
                        std::str::from_utf8(&self.pending[..valid])
                            .expect("valid_up_to marks a valid prefix"),
                    );
                    match e.error_len() {
                        // Incomplete character at the end: wait for more bytes.
                        None => {
                            self.pending.drain(..valid);
                            return text;
                        }
                        Some(bad) => {
                            text.push('\u{FFFD}');
                            self.pending.drain(..valid + bad);
                        }
                    }
                }
            }
        }
    }
}
