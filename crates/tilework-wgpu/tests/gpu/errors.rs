//! What the backend refuses, and how: `DTypeUnsupported` for work the scheduler should give the
//! CPU, plain errors for bad requests, no panics and no leaked buffers.

use crate::common::*;
use std::sync::Arc;
use tilework_core::{
    Backend, BlockFn, Buffer, ChunkReader, DType, Error, HostArray, Kernel, Region, Shape,
};
use tilework_wgpu::WgpuBackend;

/// A store the GPU must never be asked to read: host I/O stays on the CPU.
#[derive(Debug)]
struct NoStore;

impl ChunkReader for NoStore {
    fn describe(&self) -> String {
        "no store".into()
    }

    fn read(&self, _: &Region) -> tilework_core::Result<HostArray> {
        unreachable!("the GPU backend never reads a store")
    }
}

#[test]
fn families_without_gpu_kernels_are_unsupported() {
    let Some(gpu) = gpu() else { return };
    let x = Buffer::Host(HostArray::zeros(DType::F32, &[4]));
    let func = BlockFn {
        name: "id".into(),
        func: Arc::new(|b: &[HostArray]| Ok(b[0].clone())),
        wgsl: None,
    };
    let kernels = [
        Kernel::StoreRead {
            reader: Arc::new(NoStore),
            region: Region {
                start: Shape::from_slice(&[0]),
                shape: Shape::from_slice(&[4]),
            },
        },
        Kernel::MapBlocks {
            func,
            chunk_start: Shape::from_slice(&[0]),
            global_shape: Shape::from_slice(&[4]),
        },
    ];
    for k in kernels {
        let e = gpu
            .launch(&k, &[&x], &[spec(DType::F32, &[4])])
            .unwrap_err();
        assert!(
            matches!(e, Error::DTypeUnsupported { .. }),
            "{}: {e}",
            k.family()
        );
        // User kernels are a GPU family, but only with a WGSL body.
        let listed = WgpuBackend::kernel_families().contains(&k.family());
        assert_eq!(listed, k.family() == "map_blocks", "{}", k.family());
    }
    for family in [
        "fill",
        "arange",
        "eye",
        "random",
        "host_slice",
        "elementwise",
        "gather",
        "reshape",
        "matmul",
        "reduce",
        "scan",
        "map_blocks",
        "overlap",
    ] {
        assert!(WgpuBackend::kernel_families().contains(&family), "{family}");
    }
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn wrong_output_counts_are_errors() {
    let Some(gpu) = gpu() else { return };
    let k = Kernel::Fill {
        value: tilework_core::Scalar::F32(1.0),
    };
    assert!(gpu.launch(&k, &[], &[]).is_err());
    let two = [spec(DType::F32, &[1]), spec(DType::F32, &[1])];
    assert!(gpu.launch(&k, &[], &two).is_err());
}

#[test]
fn buffers_beyond_the_device_limit_are_errors() {
    let Some(gpu) = gpu() else { return };
    let max = gpu.caps().max_buffer_bytes;
    let huge = spec(DType::F32, &[(max as usize / 4) * 8 + 1]);
    assert!(gpu.alloc(&huge).is_err());
    let k = Kernel::Fill {
        value: tilework_core::Scalar::F32(1.0),
    };
    assert!(gpu.launch(&k, &[], &[huge]).is_err());
    // The device is still usable afterwards.
    let ok = gpu.launch(&k, &[], &[spec(DType::F32, &[3])]).unwrap();
    assert_eq!(gpu.download(&ok[0]).unwrap().len(), 3);
    gpu.sync().unwrap();
}

#[test]
fn probe_and_caps_describe_the_adapter() {
    let Some(gpu) = gpu() else { return };
    let summary = tilework_wgpu::probe().expect("an adapter exists");
    assert_eq!(&summary, gpu.adapter());
    let caps = gpu.caps();
    assert_eq!(caps.kind, tilework_core::DeviceKind::Gpu);
    assert!(caps.name.contains(&summary.name));
    assert!(caps.max_buffer_bytes > 0);
    eprintln!(
        "adapter: {summary} f16={} f64={} subgroups={}",
        summary.shader_f16, summary.shader_f64, summary.subgroups
    );
}

#[test]
fn a_missing_adapter_is_a_clear_error() {
    let options = tilework_wgpu::GpuOptions {
        adapter_name_contains: Some("no such adapter 7f3a".into()),
        ..Default::default()
    };
    let e = WgpuBackend::new(&options).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("no such adapter 7f3a") && text.contains("mesa-vulkan-drivers"),
        "{text}"
    );
}
