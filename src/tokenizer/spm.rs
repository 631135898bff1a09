//! SentencePiece-style tokenization (`tokenizer.ggml.model = llama`): start from single
//! characters and repeatedly merge the adjacent pair whose concatenation is the vocabulary
//! token with the highest score; characters left without a token fall back to `<0xNN>`
//! byte tokens.
//!
//! This follows llama.cpp's `llm_tokenizer_spm_session` step for step (same priority order,
//! same tie-break on the leftmost pair, same re-segmentation of merged pieces) so that token
//! ids match llama.cpp's exactly.

use super::Vocab;
use crate::error::Result;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// One piece of the text: a byte range and its neighbours in the linked list.
#[derive(Clone, Copy, Debug)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge of two adjacent symbols.
#[derive(Debug)]
struct Bigram {
    left: usize,
    right: usize,
    score: f32,
    len: usize,
}

impl PartialEq for Bigram {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Bigram {}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// Highest score first; among equal scores, the leftmost pair.
    fn cmp(&self, other: &Self) -> Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// Tokenizes `text` (already whitespace-escaped with `▁`) and appends the ids to `out`.
pub(super) fn tokenize(vocab: &Vocab, text: &str, out: &mut Vec<u32>) -> Result<()> {
    let mut symbols: Vec<Symbol> = Vec::new();
    for (i, (start, c)) in text.char_indices().enumerate() {
        symbols.push(Symbol {
            start,
            len: c.len_utf8(),
            prev: i.checked_sub(1),
            next: None,
        });
        if i > 0 {
            symbols[i - 1].next = Some(i);
        }
    }
    let mut session = Session {
        vocab,
        text,
        symbols,
        queue: BinaryHeap::new(),
        rev_merge: HashMap::new(),
    };
    for i in 1..session.symbols.len() {
        session.try_add_bigram(Some(i - 1), Some(i));
    }
    while let Some(bigram) = session.queue.pop() {
        let (left, right) = (session.symbols[bigram.left], session.symbols[bigram.right]);
        // Skip pairs made stale by an earlier merge.
        if left.len == 0 || right.len == 0 || left.len + right.len != bigram.len {
            continue;
        }
        session.symbols[bigram.left].len += right.len;
        session.symbols[bigram.right].len = 0;
        session.symbols[bigram.left].next = right.next;
        if let Some(next) = right.next {
            session.symbols[next].prev = Some(bigram.left);
        }
        session.try_add_bigram(left.prev, Some(bigram.left));
        session.try_add_bigram(Some(bigram.left), right.next);
    }
    let mut index = if session.symbols.is_empty() {
        None
    } else {
        Some(0)
    };
    while let Some(i) = index {
        session.resegment(i, out)?;
        index = session.symbols[i].next;
    }
    Ok(())
}

struct Session<'a> {
    vocab: &'a Vocab,
    text: &'a str,
    symbols: Vec<Symbol>,
    queue: BinaryHeap<Bigram>,
    /// For each merged text, the pair that produced it, to split pieces that are not tokens.
    rev_merge: HashMap<&'a str, (usize, usize)>,
}

impl<'a> Session<'a> {
    fn text_of(&self, start: usize, len: usize) -> &'a str {
        &self.text[start..start + len]
    }

    fn try_add_bigram(&mut self, left: Option<usize>, right: Option<usize>) {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let l = self.symbols[left];
        let len = l.len + self.symbols[right].len;
        let text = self.text_of(l.start, len);
        let Some(id) = self.vocab.token_id(text) else {
            return;
        };
        self.queue.push(Bigram {
            left,
            right,
            score: self.vocab.score(id),
            len,
        });
        self.rev_merge.insert(text, (left, right));
    }

    /// Emits a symbol as its token, or splits it back into the pair that made it, or as
    /// bytes when neither works.
    fn resegment(&self, index: usize, out: &mut Vec<u32>) -> Result<()> {
        let symbol = self.symbols[index];
        let text = self.text_of(symbol.start, symbol.len);
        if let Some(id) = self.vocab.token_id(text) {
            out.push(id);
            return Ok(());
        }
        match self.rev_merge.get(text) {
            // Recurse only into strictly smaller pieces, so hostile vocabularies cannot loop.
            Some(&(left, right))
                if self.symbols[left].len < symbol.len && self.symbols[right].len < symbol.len =>
            {
                self.resegment(left, out)?;
                self.resegment(right, out)
            }
            _ => {
                for &b in text.as_bytes() {
                    out.push(self.vocab.byte_token(b)?);
                }
                Ok(())
            }
        }
    }
}
