//! Feeds arbitrary bytes to the GGUF reader. It must return `Ok` or `Err`, never panic,
//! hang or allocate without bound; when it accepts a file, every tensor's bytes and every
//! metadata value must be readable and consistent with what was validated.
#![no_main]

use edgeplane::gguf::GgufFile;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = GgufFile::from_bytes(Arc::new(data.to_vec())) else {
        return;
    };
    for kv in file.metadata() {
        let shown = kv.value.display_abbreviated(8);
        assert!(!shown.is_empty());
        assert!(file.get(&kv.key).is_some());
    }
    let mut checksum = 0u8;
    for t in file.tensors() {
        let bytes = file.tensor_bytes(&t.name).expect("a listed tensor's bytes are readable");
        assert_eq!(bytes.len() as u64, t.byte_len());
        assert_eq!(t.desc.byte_len().ok(), Some(bytes.len()));
        assert!(t.range.end <= data.len() as u64);
        checksum ^= bytes.as_slice().iter().fold(0u8, |a, &b| a ^ b);
    }
    std::hint::black_box(checksum);
});
