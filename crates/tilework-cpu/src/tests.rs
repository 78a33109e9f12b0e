use super::*;
use crate::testutil::{arr, shape, spec, vals};
use std::sync::Arc;
use tilework_core::{BlockFn, DeviceBuffer, Expr, ReduceOp, ReduceStage, Scalar};

fn host(b: &Buffer) -> &HostArray {
    b.as_host().expect("cpu buffers live on the host")
}

#[test]
fn buffers_and_caps() {
    let cpu = CpuBackend::default();
    assert_eq!(cpu.caps().kind, DeviceKind::Cpu);
    assert_eq!(cpu.caps().dtypes.len(), 8);
    let z = cpu.alloc(&spec(DType::I32, &[2, 3])).unwrap();
    assert_eq!(vals::<i32>(host(&z)), vec![0; 6]);
    let x = arr(vec![1.5f32, 2.5], &[2]);
    let up = cpu.upload(&x).unwrap();
    assert_eq!(vals::<f32>(&cpu.download(&up).unwrap()), vec![1.5, 2.5]);
    cpu.free(up);
    assert!(cpu.sync().is_ok());
    assert_eq!(cpu.memory_info().used, 0);
    let dev = Buffer::Device(DeviceBuffer {
        id: 7,
        spec: spec(DType::F32, &[2]),
    });
    assert!(cpu.download(&dev).is_err());
    let k = Kernel::Elementwise {
        expr: Expr::input(0, DType::F32, 1),
    };
    assert!(matches!(
        cpu.launch(&k, &[&dev], &[spec(DType::F32, &[2])]),
        Err(Error::Device(_))
    ));
}

#[test]
fn launch_checks_output_specs() {
    let cpu = CpuBackend::new();
    let x = Buffer::Host(arr(vec![1.0f64, 2.0, 3.0], &[3]));
    let id = Kernel::Elementwise {
        expr: Expr::input(0, DType::F64, 1),
    };
    let out = cpu.launch(&id, &[&x], &[spec(DType::F64, &[3])]).unwrap();
    assert_eq!(vals::<f64>(host(&out[0])), vec![1.0, 2.0, 3.0]);
    // Wrong dtype in the spec, or no spec at all.
    assert!(matches!(
        cpu.launch(&id, &[&x], &[spec(DType::F32, &[3])]),
        Err(Error::Device(_))
    ));
    assert!(cpu.launch(&id, &[&x], &[]).is_err());
    let fill = Kernel::Fill {
        value: Scalar::F32(2.0),
    };
    let out = cpu
        .launch(&fill, &[], &[spec(DType::F32, &[2, 2])])
        .unwrap();
    assert_eq!(vals::<f32>(host(&out[0])), vec![2.0; 4]);
}

#[test]
fn reduction_stages_through_launch() {
    let cpu = CpuBackend::new();
    let x = Buffer::Host(arr(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]));
    let op = ReduceOp::Mean;
    let partial = Kernel::Reduce {
        op,
        axes: vec![1],
        stage: ReduceStage::Partial {
            expr: None,
            chunk_shape: shape(&[2, 3]),
            chunk_start: shape(&[0, 0]),
            global_shape: shape(&[2, 3]),
        },
    };
    let specs = tilework_core::kernel::reduce_state_specs(op, DType::F32, &[2, 1]);
    let states = cpu.launch(&partial, &[&x], &specs).unwrap();
    let refs: Vec<&Buffer> = states.iter().chain(states.iter()).collect();
    let merged = cpu
        .launch(
            &Kernel::Reduce {
                op,
                axes: vec![1],
                stage: ReduceStage::Combine,
            },
            &refs,
            &specs,
        )
        .unwrap();
    let fin = Kernel::Reduce {
        op,
        axes: vec![1],
        stage: ReduceStage::Finalize {
            out_dtype: DType::F32,
            out_shape: shape(&[2]),
        },
    };
    let refs: Vec<&Buffer> = merged.iter().collect();
    let out = cpu.launch(&fin, &refs, &[spec(DType::F32, &[2])]).unwrap();
    assert_eq!(vals::<f32>(host(&out[0])), vec![2.0, 5.0]);
}

#[test]
fn user_kernel_errors_name_the_function() {
    let cpu = CpuBackend::new();
    let func = BlockFn {
        name: "grow".into(),
        func: Arc::new(|b: &[HostArray]| b[0].reshaped(&[1, 3])),
        wgsl: None,
    };
    let x = Buffer::Host(arr(vec![1i32, 2, 3], &[3]));
    let err = cpu
        .launch(
            &Kernel::MapBlocks {
                func,
                chunk_start: shape(&[0]),
                global_shape: shape(&[3]),
            },
            &[&x],
            &[spec(DType::I32, &[3])],
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::UserKernel(m) if m.contains("grow")),
        "{err}"
    );
}
