//! Byte-level BPE (`tokenizer.ggml.model = gpt2`): each pre-tokenized word is written in
//! GPT-2's byte alphabet, split into characters, and adjacent pairs are merged in the order
//! of `tokenizer.ggml.merges` (earlier merges first) until no listed pair remains.
//!
//! Mirrors llama.cpp's `llm_tokenizer_bpe_session`: same rank order, leftmost pair first
//! among equal ranks, stale pairs skipped by comparing texts.

use super::{byte_unicode, Vocab};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Copy, Debug)]
struct Symbol {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

#[derive(Debug, PartialEq, Eq)]
struct Bigram {
    left: usize,
    right: usize,
    rank: usize,
    text: String,
}

impl PartialOrd for Bigram {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Bigram {
    /// `BinaryHeap` pops the greatest: make the lowest rank, then the leftmost, greatest.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .rank
            .cmp(&self.rank)
            .then_with(|| other.left.cmp(&self.left))
    }
}

/// Tokenizes one pre-tokenized word (raw UTF-8) and appends its ids to `out`.
pub(super) fn tokenize_word(vocab: &Vocab, ignore_merges: bool, word: &str, out: &mut Vec<u32>) {
    let encoded = byte_unicode::encode_bytes(word.as_bytes());
    if ignore_merges {
        if let Some(id) = vocab.token_id(&encoded) {
            out.push(id);
            return;
        }
    }
    let mut symbols: Vec<Symbol> = Vec::new();
    for (i, (start, c)) in encoded.char_indices().enumerate() {
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
    let text = encoded.as_str();
    let piece = |s: &Symbol| &text[s.start..s.start + s.len];
    let mut queue = BinaryHeap::new();
    let add = |queue: &mut BinaryHeap<Bigram>,
               symbols: &[Symbol],
               left: Option<usize>,
               right: Option<usize>| {
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let (l, r) = (piece(&symbols[left]), piece(&symbols[right]));
        if let Some(rank) = vocab.merge_rank(l, r) {
            queue.push(Bigram {
                left,
                right,
                rank,
                text: format!("{l}{r}"),
            });
        }
    };
    for i in 1..symbols.len() {
        add(&mut queue, &symbols, Some(i - 1), Some(i));
    }
    while let Some(bigram) = queue.pop() {
        let (left, right) = (symbols[bigram.left], symbols[bigram.right]);
        if left.len == 0 || right.len == 0 {
            continue;
        }
        // Skip pairs made stale by an earlier merge.
        if left.start + left.len != right.start
            || text[left.start..right.start + right.len] != bigram.text
        {
            continue;
        }
        symbols[bigram.left].len += right.len;
        symbols[bigram.right].len = 0;
        symbols[bigram.left].next = right.next;
        if let Some(next) = right.next {
            symbols[next].prev = Some(bigram.left);
        }
        add(&mut queue, &symbols, left.prev, Some(bigram.left));
        add(&mut queue, &symbols, Some(bigram.left), right.next);
    }
    for symbol in symbols.iter().filter(|s| s.len > 0) {
        let piece = piece(symbol);
        match vocab.token_id(piece) {
            Some(id) => out.push(id),
            // As llama.cpp: a piece that is not a token falls back to one token per byte,
            // looked up as a one-byte string, so only ASCII bytes can match; the rest are
            // dropped. A full byte-level vocabulary has every single character, so this only
            // happens with incomplete vocabularies.
            None => {
                for &b in piece.as_bytes().iter().filter(|b| b.is_ascii()) {
                    let one = [b];
                    let one = std::str::from_utf8(&one).expect("an ASCII byte is valid UTF-8");
                    if let Some(id) = vocab.token_id(one) {
                        out.push(id);
                    }
                }
            }
        }
    }
}
