//! Other projects' implementations of our ops, built as bench and test anchors: the speed
//! and the answers edgeplane is measured against. Each anchor sits behind a cargo feature so
//! normal builds do not pay for it.

#[cfg(feature = "anchor-candle")]
pub mod candle;
#[cfg(feature = "anchor-ggml")]
pub mod ggml;
#[cfg(feature = "anchor-ggml")]
pub mod llama;
