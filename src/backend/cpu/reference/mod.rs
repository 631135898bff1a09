//! The reference CPU backend: plain loops, f64 accumulation, clarity over speed.
