//! `edgeplane devices --json` lists every backend that opens, the CPU reference always.

use std::process::Command;

#[test]
fn devices_json_lists_the_reference_backend_first() {
    let out = Command::new(env!("CARGO_BIN_EXE_edgeplane"))
        .args(["devices", "--json"])
        .env("RUST_LOG", "error")
        .output()
        .expect("the edgeplane binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let devices = json.as_array().unwrap();
    let expected = edgeplane::backend::available_backends();
    assert_eq!(devices.len(), expected.len());
    assert_eq!(devices[0]["backend"], "cpu-ref");
    assert_eq!(devices[0]["kind"], "Cpu");
    for (device, backend) in devices.iter().zip(&expected) {
        assert_eq!(device["backend"], backend.info().backend);
    }
}
