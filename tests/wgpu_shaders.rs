//! Every shader the wgpu backend can compose — each kernel × dtype × feature variant — parses
//! and validates with naga under exactly the capabilities that variant needs (the plain
//! variants under a baseline adapter's). A failure names the kernel, dtype, variant and line.
//! Needs no device.

use edgeplane::backend::wgpu::kernels::{compose, Kernel, Variant};
use edgeplane::DType;
use naga::valid::{Capabilities, ValidationFlags, Validator};

fn dtypes(kernel: Kernel) -> Vec<Option<DType>> {
    match kernel {
        Kernel::Cast => vec![Some(DType::F32), Some(DType::F16), Some(DType::BF16)],
        k if k.takes_dtype() => DType::WEIGHTS.iter().copied().map(Some).collect(),
        _ => vec![None],
    }
}

fn variants(kernel: Kernel) -> Vec<Variant> {
    let mut v = vec![
        Variant::default(),
        Variant {
            f16: true,
            subgroup: false,
        },
    ];
    if kernel.has_subgroup_variant() {
        v.push(Variant {
            f16: false,
            subgroup: true,
        });
        v.push(Variant {
            f16: true,
            subgroup: true,
        });
    }
    v
}

/// A baseline adapter's capabilities: wgpu grants `pack2x16float` (used to write f16 KV
/// caches and f16 casts) on Vulkan, Metal and DX12. Reading f16 needs nothing.
fn capabilities(v: Variant) -> Capabilities {
    let mut c = Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    if v.f16 {
        c |= Capabilities::SHADER_FLOAT16;
    }
    if v.subgroup {
        c |= Capabilities::SUBGROUP;
    }
    c
}

/// Parses and validates; `Err` carries kernel, dtype, variant, line and message.
fn validate(
    kernel: Kernel,
    dtype: Option<DType>,
    v: Variant,
    caps: Capabilities,
) -> Result<(), String> {
    let name = format!("{} ({kernel:?}, {dtype:?}, {v:?})", kernel.file());
    let source = compose(kernel, dtype, v).map_err(|e| format!("{name}: compose: {e}"))?;
    let module = naga::front::wgsl::parse_str(&source).map_err(|e| {
        let line = e.location(&source).map_or(0, |l| l.line_number);
        format!(
            "{name}: parse error at composed line {line}: {}",
            e.emit_to_string(&source)
        )
    })?;
    Validator::new(ValidationFlags::all(), caps)
        .validate(&module)
        .map_err(|e| {
            let line = e.location(&source).map_or(0, |l| l.line_number);
            format!(
                "{name}: validation error at composed line {line}: {}",
                e.emit_to_string(&source)
            )
        })?;
    Ok(())
}

#[test]
fn every_shader_variant_validates() {
    let mut failures = Vec::new();
    let mut count = 0;
    for kernel in Kernel::ALL {
        for dtype in dtypes(kernel) {
            for v in variants(kernel) {
                count += 1;
                if let Err(e) = validate(kernel, dtype, v, capabilities(v)) {
                    failures.push(e);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} shaders fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // 13 weight dtypes x (matvec, tiled, get_rows) x 2 + cast 3 x 2 + norm 4 + softmax 4
    // + rope, elementwise, attention, attention_combine, kv_write 2 each.
    assert_eq!(count, 13 * 3 * 2 + 6 + 8 + 10, "shaders composed");
}

#[test]
fn subgroup_variants_need_the_subgroup_capability() {
    let v = Variant {
        f16: false,
        subgroup: true,
    };
    let err = validate(Kernel::Norm, None, v, capabilities(Variant::default()))
        .expect_err("a subgroup shader must not validate on a baseline adapter");
    assert!(err.contains("norm.wgsl"), "{err}");
}
