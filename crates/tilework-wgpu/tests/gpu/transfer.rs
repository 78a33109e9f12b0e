//! Upload, download, alloc and free: byte layout per dtype and the buffer pool.

use crate::common::*;
use tilework_core::{Backend, Buffer, DType, Error, HostArray};

const SHAPES: [&[usize]; 6] = [&[], &[0], &[1], &[7], &[3, 5], &[2, 3, 4]];

#[test]
fn round_trips_every_gpu_dtype_and_shape() {
    for gpu in gpus() {
        let mut rng = Rng::new(1);
        for dtype in gpu.caps().dtypes.clone() {
            for dims in SHAPES {
                let host = random_host(dtype, dims, Domain::WithSpecials(-300.0, 300.0), &mut rng);
                let buf = gpu.upload(&host).unwrap();
                let Buffer::Device(d) = &buf else {
                    panic!("upload returned a host buffer");
                };
                assert_eq!((d.spec.dtype, d.spec.shape.as_slice()), (dtype, dims));
                let back = gpu.download(&buf).unwrap();
                assert_close(&back, &host, Tol::Exact, &format!("{dtype} {dims:?}"));
                gpu.free(buf);
            }
        }
        assert_eq!(gpu.live_buffers(), 0);
    }
}

#[test]
fn non_standard_layouts_upload_in_logical_order() {
    let Some(gpu) = gpu() else { return };
    let a = ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[2, 3]), vec![1i32, 2, 3, 4, 5, 6])
        .unwrap();
    let t = HostArray::from_array(a.reversed_axes());
    let back = gpu.download(&gpu.upload(&t).unwrap()).unwrap();
    assert_eq!(
        back.typed::<i32>()
            .unwrap()
            .iter()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 4, 2, 5, 3, 6]
    );
}

#[test]
fn freed_buffers_are_reused_and_accounted() {
    let Some(gpu) = gpu() else { return };
    let before = gpu.memory_info().used;
    let a = gpu.alloc(&spec(DType::F32, &[1000])).unwrap();
    let held = gpu.memory_info().used;
    assert!(held >= before + 4000, "{before} -> {held}");
    gpu.free(a);
    // The freed buffer stays cached (still held) and serves the next request of its class.
    assert_eq!(gpu.memory_info().used, held);
    let b = gpu.alloc(&spec(DType::I32, &[990])).unwrap();
    assert_eq!(gpu.memory_info().used, held);
    assert_eq!(gpu.live_buffers(), 1);
    gpu.free(b);
    gpu.trim();
    assert_eq!(gpu.memory_info().used, 0);
    assert_eq!(gpu.live_buffers(), 0);
}

#[test]
fn foreign_and_freed_handles_are_errors() {
    let Some(gpu) = gpu() else { return };
    let buf = gpu.upload(&HostArray::zeros(DType::F32, &[4])).unwrap();
    let stale = buf.clone();
    gpu.free(buf);
    assert!(matches!(gpu.download(&stale), Err(Error::Device(_))));
    let Buffer::Device(mut d) = stale else {
        unreachable!()
    };
    d.id = d.id.wrapping_add(1_000_000);
    assert!(matches!(
        gpu.download(&Buffer::Device(d)),
        Err(Error::Device(_))
    ));
    // A handle whose spec disagrees with the buffer is rejected too.
    let buf = gpu.upload(&HostArray::zeros(DType::F32, &[4])).unwrap();
    let Buffer::Device(mut d) = buf.clone() else {
        unreachable!()
    };
    d.spec.shape = shape(&[5]);
    assert!(gpu.download(&Buffer::Device(d)).is_err());
    gpu.free(buf);
}

#[test]
fn i64_is_not_a_gpu_dtype() {
    let Some(gpu) = gpu() else { return };
    assert!(!gpu.caps().dtypes.contains(&DType::I64));
    let e = gpu.upload(&HostArray::zeros(DType::I64, &[3])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DTypeUnsupported {
                dtype: DType::I64,
                ..
            }
        ),
        "{e}"
    );
    assert!(gpu.alloc(&spec(DType::I64, &[3])).is_err());
}

#[test]
fn f64_off_makes_f64_unsupported() {
    let options = tilework_wgpu::GpuOptions {
        allow_f64: false,
        ..Default::default()
    };
    let Some(gpu) = gpu_with(&options) else {
        return;
    };
    assert!(!gpu.caps().dtypes.contains(&DType::F64));
    let e = gpu.upload(&HostArray::zeros(DType::F64, &[3])).unwrap_err();
    assert!(
        matches!(
            e,
            Error::DTypeUnsupported {
                dtype: DType::F64,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn launches_from_several_threads_at_once() {
    let Some(gpu) = gpu() else { return };
    // Error scopes are per thread: concurrent launches must neither see each other's errors
    // nor lose their own.
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let gpu = &gpu;
            s.spawn(move || {
                for i in 0..20u32 {
                    let v = (t * 100 + i) as f32;
                    let k = tilework_core::Kernel::Fill {
                        value: tilework_core::Scalar::F32(v),
                    };
                    let out = gpu.launch(&k, &[], &[spec(DType::F32, &[1000 + i as usize])]);
                    let out = out.unwrap().pop().unwrap();
                    let host = gpu.download(&out).unwrap();
                    assert!(host.typed::<f32>().unwrap().iter().all(|&x| x == v));
                    gpu.free(out);
                    if i % 5 == 0 {
                        let bad = tilework_core::Kernel::Eye {
                            k: 0,
                            chunk_start: shape(&[0]),
                        };
                        assert!(gpu.launch(&bad, &[], &[spec(DType::F32, &[3])]).is_err());
                    }
                }
            });
        }
    });
    assert_eq!(gpu.live_buffers(), 0);
}
