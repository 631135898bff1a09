//! Transformer models (llama family) built as graphs from GGUF weights.
