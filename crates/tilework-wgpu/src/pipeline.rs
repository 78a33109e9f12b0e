//! The pipeline cache: compute pipelines keyed by (kernel family, specialization).
//!
//! Every pipeline uses one bind group whose binding 0 is the read-only `params: array<u32>`
//! storage buffer; bindings 1.. are the kernel's buffers in the order of its [`Access`] list.
//! Layouts are explicit (not inferred from the shader) so that a binding a specialization does
//! not read is still accepted.

use crate::device::Gpu;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tilework_core::{Error, Result};

/// How a kernel binding is accessed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A compiled kernel.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    /// Accesses of bindings 1.. (binding 0 is the params buffer).
    pub(crate) bindings: Vec<Access>,
    /// Family name, for error messages.
    pub(crate) family: &'static str,
}

/// Beyond this many pipelines the cache starts over (specializations that bake constants into
/// the shader could otherwise grow it without bound).
const MAX_PIPELINES: usize = 1024;

/// Pipelines of one device.
#[derive(Default)]
pub(crate) struct PipelineCache {
    map: Mutex<HashMap<(&'static str, String), Arc<Pipeline>>>,
}

impl PipelineCache {
    /// The pipeline for `(family, key)`, compiling `source()` on first use.
    ///
    /// `key` must determine the source completely (the cache never compares sources).
    pub(crate) fn get(
        &self,
        gpu: &Gpu,
        family: &'static str,
        key: &str,
        bindings: &[Access],
        source: impl FnOnce() -> Result<String>,
    ) -> Result<Arc<Pipeline>> {
        // Held while compiling, so two threads never build the same pipeline twice.
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = map.get(&(family, key.to_string())) {
            return Ok(p.clone());
        }
        let source = source()?;
        let pipeline = Arc::new(compile(gpu, family, key, bindings, &source)?);
        if map.len() >= MAX_PIPELINES {
            map.clear();
        }
        map.insert((family, key.to_string()), pipeline.clone());
        Ok(pipeline)
    }

    /// Number of cached pipelines.
    pub(crate) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn compile(
    gpu: &Gpu,
    family: &'static str,
    key: &str,
    bindings: &[Access],
    source: &str,
) -> Result<Pipeline> {
    let device = &gpu.device;
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let entries: Vec<wgpu::BindGroupLayoutEntry> = std::iter::once(Access::Read)
        .chain(bindings.iter().copied())
        .enumerate()
        .map(|(i, access)| wgpu::BindGroupLayoutEntry {
            binding: i as u32,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage {
                    read_only: access == Access::Read,
                },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        })
        .collect();
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some(family),
        entries: &entries,
    });
    let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
        label: Some(family),
        bind_group_layouts: &[Some(&layout)],
        immediate_size: 0,
    });
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(family),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(family),
        layout: Some(&pipeline_layout),
        module: &module,
        entry_point: Some("main"),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        let short: String = key.chars().take(200).collect();
        return Err(Error::Device(format!(
            "wgpu: the {family} kernel [{short}] failed to compile: {e}"
        )));
    }
    Ok(Pipeline {
        pipeline,
        layout,
        bindings: bindings.to_vec(),
        family,
    })
}
