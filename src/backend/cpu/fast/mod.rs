//! The fast CPU backend: SIMD and threaded kernels from `edgeplane-kernels`.
