//! Device selection and error mapping: the adapter the tests run on is the expected one
//! under `EDGEPLANE_REQUIRE_GPU=1` (Vulkan with f16 and subgroups, not a silent GL
//! fallback), a name filter that matches nothing is `NotAvailable`, device validation and
//! out-of-memory errors come back typed, and bad run-time inputs are refused.

mod wgpu_support;

use edgeplane::backend::wgpu::kernels::{Kernel, Variant};
use edgeplane::backend::wgpu::{errors, Wgpu, WgpuSettings};
use edgeplane::{Backend, DType, Error, Graph, HostTensor, Op, TensorDesc};

#[test]
fn adapter_is_the_expected_one() {
    // Panics under EDGEPLANE_REQUIRE_GPU=1 when the adapter is missing, GL, or lacks
    // SHADER_F16/SUBGROUP; otherwise prints a skip note when there is none.
    let Some(backend) = wgpu_support::backend(&WgpuSettings::default()) else {
        return;
    };
    let info = backend.info();
    assert!(info.backend.starts_with("wgpu:"), "{info:?}");
    assert!(!info.device.is_empty());
    let fallback = Wgpu::new(&WgpuSettings {
        force_fallback: true,
        ..WgpuSettings::default()
    })
    .expect("the same adapter opens with forced fallbacks");
    assert!(!fallback.gpu().use_subgroup && !fallback.gpu().use_f16);
    // Which variants the default settings pick follows the adapter's features.
    let g = backend.gpu();
    let has = |f| g.adapter_features.contains(f);
    assert_eq!(
        g.variant(Kernel::Attention, true).f16,
        has(wgpu::Features::SHADER_F16)
    );
    assert!(
        !g.variant(Kernel::Attention, false).f16,
        "f32 caches use the word variant"
    );
    assert_eq!(
        g.variant(Kernel::Norm, false).subgroup,
        has(wgpu::Features::SUBGROUP)
    );
    assert_eq!(
        fallback.gpu().variant(Kernel::Norm, false),
        Variant::default()
    );
    assert!(fallback
        .info()
        .features
        .contains(&"plain-shaders".to_string()));
}

#[test]
fn unknown_adapter_name_is_not_available() {
    let settings = WgpuSettings {
        adapter: Some("no adapter is called this".into()),
        ..WgpuSettings::default()
    };
    match Wgpu::new(&settings) {
        Err(Error::NotAvailable(msg)) => {
            assert!(msg.contains("no adapter is called this"), "{msg}")
        }
        Err(e) => panic!("expected NotAvailable, got {e}"),
        Ok(_) => panic!("an adapter matched a name no adapter has"),
    }
}

#[test]
fn device_errors_are_typed() {
    let Some(backend) = wgpu_support::backend(&WgpuSettings::default()) else {
        return;
    };
    let gpu = backend.gpu();
    // A storage buffer cannot also be MAP_READ: a validation error, caught by the scope.
    let r = errors::scoped(&gpu.device, &gpu.health, &gpu.name, "bad buffer", || {
        let _ = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: 16,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::MAP_READ,
            mapped_at_creation: false,
        });
        Ok(())
    });
    match r {
        Err(Error::Device { message, .. }) => assert!(message.contains("bad buffer"), "{message}"),
        other => panic!("expected a Device error, got {other:?}"),
    }
    // Later work on the same device is unaffected.
    assert!(errors::scoped(&gpu.device, &gpu.health, &gpu.name, "fine", || Ok(())).is_ok());
}

#[test]
fn bad_inputs_are_refused() {
    let Some(backend) = wgpu_support::backend(&WgpuSettings::default()) else {
        return;
    };
    let mut g = Graph::new();
    let cache = g.state("k", TensorDesc::new(DType::F16, [4, 8])).unwrap();
    let new = g.input("new", TensorDesc::new(DType::F32, [1, 8])).unwrap();
    let pos = g.input("pos", TensorDesc::new(DType::I32, [1])).unwrap();
    let k = g.add(Op::KvWrite, &[cache, new, pos]).unwrap();
    g.mark_output(k).unwrap();
    let mut exe = backend.compile(&g).unwrap();
    let row = HostTensor::from_f32([1, 8], &[1.0; 8]).unwrap();
    let err = exe
        .run(&[row.clone(), HostTensor::from_i32([1], &[4]).unwrap()])
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let err = exe.run(std::slice::from_ref(&row)).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
    let out = exe
        .run(&[row, HostTensor::from_i32([1], &[3]).unwrap()])
        .unwrap();
    let values = out[0].to_f32().unwrap();
    assert_eq!(&values[24..], &[1.0; 8], "row 3 written");
    assert!(
        values[..24].iter().all(|&v| v == 0.0),
        "other rows untouched"
    );
}
