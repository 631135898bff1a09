//! GGUF files: a validating reader over mmap and a writer.
