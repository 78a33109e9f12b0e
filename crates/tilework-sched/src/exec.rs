//! The executor: runs a [`Plan`]'s tasks on a rayon pool in priority order, frees each value
//! after its last use, and accounts the bytes it holds.

use crate::plan::{Plan, TaskKind};
use crate::report::Report;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;
use tilework_core::{Backend, Buffer, Error, Result};

/// How to run a plan.
#[derive(Clone)]
pub struct ExecConfig {
    /// The pool tasks run on.
    pub pool: Arc<rayon::ThreadPool>,
    /// The backend that runs kernels.
    pub backend: Arc<dyn Backend>,
    /// Called after each finished task with (done, total), e.g. for a progress bar.
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
}

type Outcome = (u32, Result<Vec<Buffer>>);

/// Runs every task of `plan` and returns the buffers of each requested output chunk.
///
/// Tasks become ready when their inputs exist; among ready tasks the one planned first runs first
/// (depth-first order keeps few branches open). At most `2 * threads` tasks are in flight, so
/// memory stays bounded by the order rather than by how fast tasks finish.
///
/// # Errors
/// The first task error; tasks in flight are drained and everything held is released.
pub fn execute(
    plan: Arc<Plan>,
    config: &ExecConfig,
    report: &mut Report,
) -> Result<Vec<Vec<Buffer>>> {
    let start = Instant::now();
    let n = plan.tasks.len();
    let mut waiting: Vec<u32> = vec![0; n];
    let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); n];
    // Remaining reads of each value (task, output); outputs of the plan hold one extra read.
    let mut reads: Vec<Vec<u32>> = plan
        .tasks
        .iter()
        .map(|t| vec![0; t.outputs.len()])
        .collect();
    for (i, task) in plan.tasks.iter().enumerate() {
        let mut seen_tasks: Vec<u32> = Vec::with_capacity(task.inputs.len());
        for v in &task.inputs {
            reads[v.task as usize][v.output as usize] += 1;
            if !seen_tasks.contains(&v.task) {
                seen_tasks.push(v.task);
                waiting[i] += 1;
                dependents[v.task as usize].push(i as u32);
            }
        }
    }
    for out in &plan.outputs {
        for v in &out.chunks {
            reads[v.task as usize][v.output as usize] += 1;
        }
    }
    let mut values: Vec<Vec<Option<Buffer>>> = plan
        .tasks
        .iter()
        .map(|t| vec![None; t.outputs.len()])
        .collect();
    let mut ready: BinaryHeap<Reverse<u32>> = (0..n as u32)
        .filter(|&i| waiting[i as usize] == 0)
        .map(Reverse)
        .collect();
    let limit = 2 * config.pool.current_num_threads().max(1);
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut in_flight = 0usize;
    let mut done = 0usize;
    let mut held: u64 = 0;
    let mut failure: Option<Error> = None;
    while done < n {
        while failure.is_none() && in_flight < limit {
            let Some(Reverse(id)) = ready.pop() else {
                break;
            };
            let task = &plan.tasks[id as usize];
            let inputs: Vec<Buffer> = task
                .inputs
                .iter()
                .map(|v| {
                    values[v.task as usize][v.output as usize]
                        .clone()
                        .expect("inputs exist before a task is ready")
                })
                .collect();
            let (tx, plan, backend) = (tx.clone(), plan.clone(), config.backend.clone());
            in_flight += 1;
            config.pool.spawn(move || {
                let task = &plan.tasks[id as usize];
                let result = match &task.kind {
                    TaskKind::Launch(kernel) => {
                        let refs: Vec<&Buffer> = inputs.iter().collect();
                        backend.launch(kernel, &refs, &task.outputs)
                    }
                    TaskKind::Literal(host) => backend.upload(host).map(|b| vec![b]),
                };
                drop(inputs);
                // The receiver only disappears if the executor itself is gone; nothing to report to.
                let _ = tx.send((id, result));
            });
        }
        if in_flight == 0 {
            break;
        }
        let (id, result) = rx
            .recv()
            .map_err(|_| Error::Device("executor channel closed".into()))?;
        in_flight -= 1;
        done += 1;
        match result {
            Err(e) => {
                failure.get_or_insert(e);
            }
            Ok(outputs) if failure.is_none() => {
                let task = &plan.tasks[id as usize];
                report.tasks_run += 1;
                if let TaskKind::Launch(kernel) = &task.kind {
                    report.fused_ops += kernel.fused_ops();
                }
                for (k, buffer) in outputs.into_iter().enumerate() {
                    if reads[id as usize][k] > 0 {
                        held += buffer.nbytes() as u64;
                        values[id as usize][k] = Some(buffer);
                    } else {
                        config.backend.free(buffer);
                    }
                }
                report.peak_host_bytes = report.peak_host_bytes.max(held);
                for v in &task.inputs {
                    let r = &mut reads[v.task as usize][v.output as usize];
                    *r -= 1;
                    if *r == 0
                        && let Some(buffer) = values[v.task as usize][v.output as usize].take()
                    {
                        held -= buffer.nbytes() as u64;
                        config.backend.free(buffer);
                    }
                }
                for &d in &dependents[id as usize] {
                    waiting[d as usize] -= 1;
                    if waiting[d as usize] == 0 {
                        ready.push(Reverse(d));
                    }
                }
                if let Some(progress) = &config.progress {
                    progress(done, n);
                }
            }
            Ok(_) => {}
        }
    }
    report.execute_s += start.elapsed().as_secs_f64();
    if let Some(e) = failure {
        return Err(e);
    }
    let outputs = plan
        .outputs
        .iter()
        .map(|out| {
            out.chunks
                .iter()
                .map(|v| {
                    values[v.task as usize][v.output as usize]
                        .clone()
                        .expect("outputs are kept to the end")
                })
                .collect()
        })
        .collect();
    Ok(outputs)
}
