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

/// Runs `edgeplane devices --json` with variable `name` set to `value`; returns the JSON
/// and stderr.
fn devices_with(name: &str, value: &str) -> (serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_edgeplane"))
        .args(["devices", "--json"])
        .env("RUST_LOG", "warn")
        .env(name, value)
        .output()
        .expect("the edgeplane binary runs");
    assert!(out.status.success());
    let json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    (json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The fast CPU backend's entry in a `devices --json` listing, if it opened.
fn fast_backend(json: &serde_json::Value) -> Option<&serde_json::Value> {
    json.as_array()
        .unwrap()
        .iter()
        .find(|d| d["backend"] == "cpu")
}

/// Asserts that with `name=value` the fast CPU backend opens and lists `feature`.
fn assert_opens_with(name: &str, value: &str, feature: &str) {
    let (json, _) = devices_with(name, value);
    let fast =
        fast_backend(&json).unwrap_or_else(|| panic!("the backend opens with {name}={value}"));
    assert!(
        fast.to_string().contains(feature),
        "{name}={value} shows as {feature}: {fast}"
    );
}

/// Asserts that with `name=value` the fast CPU backend does not open and the warning
/// says `message`; returns the warnings.
fn assert_refused_with(name: &str, value: &str, message: &str) -> String {
    let (json, stderr) = devices_with(name, value);
    assert!(
        fast_backend(&json).is_none(),
        "no fast backend with {name}={value}"
    );
    assert!(
        stderr.contains(&format!("{name}={value} {message}")),
        "the warning names the variable and its value: {stderr}"
    );
    stderr
}

#[test]
fn edgeplane_simd_picks_the_fast_backends_level_and_a_typo_is_reported() {
    assert_opens_with("EDGEPLANE_SIMD", "scalar", "\"scalar\"");
    let stderr = assert_refused_with("EDGEPLANE_SIMD", "avx512", "names no SIMD level");
    assert!(
        stderr.contains("avx512-vnni"),
        "the warning lists the levels: {stderr}"
    );
}

#[test]
fn edgeplane_threads_sets_the_pool_and_a_value_that_is_no_count_is_reported() {
    assert_opens_with("EDGEPLANE_THREADS", "3", "threads=3");
    for bad in ["two", "0", "-1"] {
        assert_refused_with("EDGEPLANE_THREADS", bad, "is not a positive number");
    }
}

#[test]
fn edgeplane_repack_turns_tiles_off_and_a_misspelt_value_is_reported() {
    assert_opens_with("EDGEPLANE_REPACK", "off", "repack=off");
    assert_refused_with("EDGEPLANE_REPACK", "of", "is none of 0, false, off");
}
