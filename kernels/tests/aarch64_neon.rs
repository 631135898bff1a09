//! The NEON kernels on AArch64's real instructions: builds `aarch64_neon/harness.rs` (which
//! mounts the crate's `neon/`, `scalar.rs` and `layout.rs` unchanged) for
//! aarch64-unknown-linux-gnu and runs it under qemu-user, once on a CPU with the Armv8.2
//! dot product (`-cpu max`: both levels) and once on a Cortex-A53 (plain NEON only).
//!
//! rustup cannot fetch the aarch64 target on these machines, so the build uses Debian's
//! packaged Rust, unpacked by `.ci/aarch64-toolchain` into `EDGEPLANE_AARCH64_TOOLCHAIN`
//! (default `/opt/edgeplane-aarch64`). Without that toolchain, `aarch64-linux-gnu-gcc` or
//! `qemu-aarch64` the test says what is missing and passes, unless
//! `EDGEPLANE_REQUIRE_AARCH64=1` (CI sets it): then it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "aarch64-unknown-linux-gnu";
const LINKER: &str = "aarch64-linux-gnu-gcc";
const QEMU: &str = "qemu-aarch64";
/// Where Debian's aarch64 C library lives, for qemu's dynamic loader.
const TARGET_LIBS: &str = "/usr/aarch64-linux-gnu";

struct Toolchain {
    rustc: PathBuf,
    host_libs: PathBuf,
    sysroot: PathBuf,
}

/// The unpacked Debian toolchain and the two system tools, or what is missing.
fn find_toolchain() -> Result<Toolchain, String> {
    let root = std::env::var_os("EDGEPLANE_AARCH64_TOOLCHAIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/edgeplane-aarch64"));
    let tc = Toolchain {
        rustc: root.join("host/usr/bin/rustc"),
        host_libs: root.join("host/usr/lib/x86_64-linux-gnu"),
        sysroot: root.join("target/usr"),
    };
    let std_dir = tc.sysroot.join("lib/rustlib").join(TARGET);
    let mut missing = Vec::new();
    if !tc.rustc.is_file() || !std_dir.is_dir() {
        missing.push(format!(
            "Debian's rustc and aarch64 std under {} (run .ci/aarch64-toolchain)",
            root.display()
        ));
    }
    for tool in [LINKER, QEMU] {
        let found = Command::new(tool).arg("--version").output().is_ok();
        if !found {
            missing.push(format!("{tool} on PATH"));
        }
    }
    if missing.is_empty() {
        Ok(tc)
    } else {
        Err(missing.join(", "))
    }
}

/// Runs `cmd`, panicking with its output if it fails; returns its stdout.
fn run(cmd: &mut Command, what: &str) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn rustc(tc: &Toolchain) -> Command {
    let mut cmd = Command::new(&tc.rustc);
    cmd.env("LD_LIBRARY_PATH", &tc.host_libs)
        .args(["--edition", "2021", "-O", "--target", TARGET, "--sysroot"])
        .arg(&tc.sysroot);
    cmd
}

#[test]
fn neon_kernels_match_the_scalar_spec_on_aarch64_under_qemu() {
    let tc = match find_toolchain() {
        Ok(tc) => tc,
        Err(missing) if std::env::var("EDGEPLANE_REQUIRE_AARCH64").as_deref() == Ok("1") => {
            panic!("EDGEPLANE_REQUIRE_AARCH64=1 but the aarch64 check lacks: {missing}")
        }
        Err(missing) => {
            eprintln!("skipping the aarch64 NEON check; missing: {missing}");
            return;
        }
    };
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aarch64_neon");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("aarch64_neon");
    std::fs::create_dir_all(&out).expect("the target tmp dir is writable");
    let half = out.join("libhalf.rlib");
    run(
        rustc(&tc)
            .args(["--crate-type", "rlib", "--crate-name", "half"])
            .arg(src.join("half.rs"))
            .arg("-o")
            .arg(&half),
        "building the half stand-in for aarch64",
    );
    let harness = out.join("harness");
    run(
        rustc(&tc)
            .args(["-C", &format!("linker={LINKER}"), "--extern"])
            .arg(format!("half={}", half.display()))
            .arg(src.join("harness.rs"))
            .arg("-o")
            .arg(&harness),
        "building the NEON harness for aarch64",
    );
    for (cpu, dotprod) in [("max", true), ("cortex-a53", false)] {
        let report = run(
            Command::new(QEMU)
                .args(["-cpu", cpu, "-L", TARGET_LIBS])
                .arg(&harness),
            &format!("the NEON harness on qemu {cpu}"),
        );
        let summary = report.lines().last().unwrap_or_default();
        eprintln!("qemu -cpu {cpu}: {summary}");
        let checks = if dotprod { 132 } else { 76 };
        assert_eq!(
            summary,
            format!("aarch64 NEON: dotprod {dotprod}, {checks} checks, 0 failures"),
            "on qemu -cpu {cpu}:\n{report}"
        );
    }
}
