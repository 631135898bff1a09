//! The CPU backends: [`reference::Reference`], naive and obviously right, the ground truth
//! for conformance; and [`fast`], built on `edgeplane-kernels`.

pub mod fast;
pub mod reference;
