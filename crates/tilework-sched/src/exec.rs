//! The executor: runs a [`Plan`]'s tasks on a rayon pool in priority order, frees each value
//! after its last use, and accounts the bytes it holds.
//!
//! Workers pull ready tasks from shared queues, one per task class (see `ready`), lowest plan
//! index first (the planner's depth-first order, so a branch finishes before the next one opens).
//! A worker that finds no task it may start leaves, handing its thread back to rayon so that large
//! kernels can split across it;
//! whoever makes tasks ready starts workers again, up to one per thread. There is no per-task
//! thread spawn or channel round trip, which keeps the cost of a tiny task near a microsecond.

use crate::admission::ValueId;
use crate::decide::Placed;
use crate::placement::Placement;
use crate::plan::{Plan, TaskKind};
use crate::ready::{Ready, TaskClass, TaskSet};
use crate::report::Report;
use crate::spill::{SpillStore, Spilled};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tilework_core::{Backend, Buffer, Error, Result};

/// Cancels the computations of whoever holds a clone: running tasks finish, no new task starts,
/// spill files are removed, and `compute` returns [`Error::Cancelled`].
#[derive(Clone, Debug, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks every computation using this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`CancelToken::cancel`] was called (and not [`CancelToken::reset`] since).
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Clears a cancellation, so later computations run.
    pub fn reset(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// How to run a plan.
#[derive(Clone)]
pub struct ExecConfig {
    /// The pool tasks run on.
    pub pool: Arc<rayon::ThreadPool>,
    /// The backend that runs kernels.
    pub backend: Arc<dyn Backend>,
    /// The placement behind `backend` when an accelerator is attached: it decides where every
    /// task runs before the plan starts (see [`Placement::decide`]), and the executor admits
    /// accelerator tasks so that `device_budget` holds.
    pub placement: Option<Arc<Placement>>,
    /// Called after each finished task with (done, total), e.g. for a progress bar.
    pub progress: Option<Arc<dyn Fn(usize, usize) + Send + Sync>>,
    /// Host memory budget in bytes: a task whose inputs and outputs alone exceed it is refused
    /// before anything runs; otherwise tasks wait, or held chunks are spilled, to stay within it.
    pub host_budget: u64,
    /// Where spilled chunks go (in a private folder removed at the end).
    pub spill_dir: PathBuf,
    /// Stops the computation when cancelled.
    pub cancel: CancelToken,
    /// Device memory budget in bytes, when a device is attached and capped: before a task
    /// starts, device-resident values needed furthest in the future are moved to the host (and
    /// from there to disk if the host budget requires) until the task's buffers fit.
    pub device_budget: Option<u64>,
    /// How many source chunks (store reads, generated data, host uploads) may be read ahead of
    /// the tasks that consume them: started or finished sources none of whose readers has
    /// started yet. Reads that complete the inputs of a task already waiting on other reads are
    /// not held back, and with nothing running a source always starts. At least 1.
    pub prefetch_depth: usize,
    /// How many tasks other than storage reads and writes run at once. The pool's threads beyond
    /// this many run only storage tasks (which wait on the disk); storage tasks use compute
    /// slots too when those are free.
    pub compute_threads: usize,
}

/// Refuses a plan with a task that cannot fit the budget even when it runs alone.
pub fn check_budget(plan: &Plan, budget: u64) -> Result<()> {
    for task in &plan.tasks {
        // Working blocks (halos) count too; an overflowing size is over any budget.
        let needed = task
            .inputs
            .iter()
            .map(|v| plan.tasks[v.task as usize].outputs[v.output as usize].nbytes() as u64)
            .chain([task.output_bytes()])
            .try_fold(task.scratch_bytes().unwrap_or(u64::MAX), u64::checked_add)
            .unwrap_or(u64::MAX);
        if needed > budget {
            let family = match &task.kind {
                TaskKind::Launch(kernel) => kernel.family(),
                TaskKind::Literal(_) => "literal",
            };
            let shape = task
                .outputs
                .first()
                .map(|o| o.shape.to_vec())
                .unwrap_or_default();
            return Err(Error::OutOfMemory {
                what: format!(
                    "a {family} task producing a chunk of shape {shape:?} (the chunks it reads and writes must fit: make the array with smaller chunks or rechunk it, or raise the host budget)"
                ),
                needed,
                budget,
            });
        }
    }
    Ok(())
}

/// Everything the workers share, behind one lock.
pub(crate) struct State {
    /// Unfinished input tasks per task.
    pub(crate) waiting: Vec<u32>,
    /// Remaining reads per value (the plan's outputs hold one extra read).
    reads: Vec<Vec<u32>>,
    pub(crate) values: Vec<Vec<Option<Buffer>>>,
    /// Values in host memory that may be spilled.
    pub(crate) held_values: HashSet<ValueId>,
    /// Values in device memory that may be evicted to the host.
    pub(crate) device_values: HashSet<ValueId>,
    /// Bytes moved device to host to keep within the device budget.
    pub(crate) bytes_evicted: u64,
    /// Values on disk.
    pub(crate) spilled: HashMap<ValueId, Spilled>,
    pub(crate) spill: SpillStore,
    /// Ready tasks by class, each by (priority key, plan index), smallest first.
    pub(crate) ready: Ready,
    pub(crate) started: Vec<bool>,
    pub(crate) running: usize,
    pub(crate) running_tasks: HashSet<u32>,
    /// Running tasks that hold a compute slot (see `ExecConfig::compute_threads`).
    pub(crate) computing: TaskSet,
    /// Output bytes of running tasks.
    pub(crate) reserved: u64,
    workers: usize,
    done: usize,
    /// Source tasks started whose outputs no reader has started on yet, and their peak.
    pub(crate) read_ahead: usize,
    pub(crate) peak_read_ahead: usize,
    /// Source tasks counted in `read_ahead` until a reader starts.
    pub(crate) ahead_of_readers: TaskSet,
    /// Bytes of values held in host memory.
    pub(crate) held: u64,
    /// Bytes of values held on a device, and their peak.
    pub(crate) held_device: u64,
    /// Device bytes admitted for running accelerator tasks, and how many run.
    pub(crate) reserved_device: u64,
    pub(crate) device_running: usize,
    /// Device bytes admitted per running task.
    pub(crate) device_admitted: Vec<Option<u64>>,
    pub(crate) peak_device: u64,
    pub(crate) peak: u64,
    tasks_run: usize,
    fused_ops: usize,
    failure: Option<Error>,
}

pub(crate) struct Shared<'a> {
    pub(crate) plan: &'a Plan,
    pub(crate) keys: Vec<u32>,
    pub(crate) classes: Vec<TaskClass>,
    /// Where each task runs (all `Cpu` without an accelerator).
    pub(crate) placed: Vec<Placed>,
    dependents: Vec<Vec<u32>>,
    /// Distinct producing tasks per task (its `waiting` count before anything ran).
    pub(crate) producers: Vec<u32>,
    /// The tasks reading each value.
    pub(crate) readers: Vec<Vec<Vec<u32>>>,
    pub(crate) config: &'a ExecConfig,
    pub(crate) max_workers: usize,
    state: Mutex<State>,
}

impl State {
    /// Running tasks on I/O threads rather than compute slots.
    pub(crate) fn storage_running(&self) -> usize {
        self.running - self.computing.len()
    }
}

impl Shared<'_> {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker that panicked inside a kernel poisons nothing we cannot read: the state is
        // updated only between kernels, so recover the guard.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs every task of `plan` and returns the buffers of each requested output chunk.
///
/// # Errors
/// The first task error; tasks in flight finish and everything held is released.
pub fn execute(
    plan: Arc<Plan>,
    config: &ExecConfig,
    report: &mut Report,
) -> Result<Vec<Vec<Buffer>>> {
    let start = Instant::now();
    check_budget(&plan, config.host_budget)?;
    let n = plan.tasks.len();
    let mut waiting: Vec<u32> = vec![0; n];
    let mut dependents: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut reads: Vec<Vec<u32>> = plan
        .tasks
        .iter()
        .map(|t| vec![0; t.outputs.len()])
        .collect();
    let mut readers: Vec<Vec<Vec<u32>>> = plan
        .tasks
        .iter()
        .map(|t| vec![Vec::new(); t.outputs.len()])
        .collect();
    for (i, task) in plan.tasks.iter().enumerate() {
        for (k, v) in task.inputs.iter().enumerate() {
            reads[v.task as usize][v.output as usize] += 1;
            readers[v.task as usize][v.output as usize].push(i as u32);
            // Count each producing task once, however many of its outputs are read.
            if !task.inputs[..k].iter().any(|u| u.task == v.task) {
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
    let keys = priority_keys(&plan);
    let classes: Vec<TaskClass> = plan.tasks.iter().map(TaskClass::of).collect();
    let placed = match &config.placement {
        Some(placement) => placement.decide(&plan),
        None => vec![Placed::Cpu; n],
    };
    let mut ready = Ready::default();
    for i in (0..n as u32).filter(|&i| waiting[i as usize] == 0) {
        ready.push(classes[i as usize], keys[i as usize], i);
    }
    let shared = Shared {
        plan: &plan,
        keys,
        classes,
        placed,
        dependents,
        producers: waiting.clone(),
        readers,
        config,
        max_workers: config.pool.current_num_threads().max(1),
        state: Mutex::new(State {
            waiting,
            reads,
            values: plan
                .tasks
                .iter()
                .map(|t| vec![None; t.outputs.len()])
                .collect(),
            held_values: HashSet::new(),
            device_values: HashSet::new(),
            bytes_evicted: 0,
            spilled: HashMap::new(),
            spill: SpillStore::new(&config.spill_dir),
            ready,
            started: vec![false; n],
            running: 0,
            running_tasks: HashSet::new(),
            computing: TaskSet::new(n),
            reserved: 0,
            workers: 0,
            done: 0,
            read_ahead: 0,
            peak_read_ahead: 0,
            ahead_of_readers: TaskSet::new(n),
            held: 0,
            held_device: 0,
            reserved_device: 0,
            device_running: 0,
            device_admitted: vec![None; n],
            peak_device: 0,
            peak: 0,
            tasks_run: 0,
            fused_ops: 0,
            failure: None,
        }),
    };
    config.pool.scope(|scope| {
        let mut state = shared.lock();
        start_workers(scope, &shared, &mut state);
    });
    let mut state = shared.state.into_inner().unwrap_or_else(|p| p.into_inner());
    report.tasks_run += state.tasks_run;
    report.fused_ops += state.fused_ops;
    report.peak_host_bytes = report.peak_host_bytes.max(state.peak);
    report.peak_device_bytes = report.peak_device_bytes.max(state.peak_device);
    report.bytes_spilled += state.spill.bytes_written;
    report.bytes_evicted += state.bytes_evicted;
    report.peak_read_ahead = report.peak_read_ahead.max(state.peak_read_ahead);
    report.execute_s += start.elapsed().as_secs_f64();
    if let Some(e) = state.failure.take() {
        return Err(e);
    }
    // Outputs spilled while the rest ran come back for the caller.
    for (v, spilled) in std::mem::take(&mut state.spilled) {
        let host = state.spill.read(&spilled)?;
        state.values[v.0 as usize][v.1 as usize] = Some(Buffer::Host(host));
    }
    if state.done != n {
        return Err(Error::Device(format!(
            "executor stalled after {} of {n} tasks",
            state.done
        )));
    }
    plan.outputs
        .iter()
        .map(|out| {
            out.chunks
                .iter()
                .map(|v| {
                    state.values[v.task as usize][v.output as usize]
                        .clone()
                        .ok_or_else(|| Error::Device("an output chunk was released early".into()))
                })
                .collect()
        })
        .collect()
}

/// Priority keys: a source task's key is its plan index; any other task's is the largest key of
/// its inputs, i.e. when its last input was planned. Consumers thus run right after the data they
/// wait for, whichever root planned them: two reductions of one array (`compute_all` of its mean
/// and std) read each chunk back to back instead of holding the whole array between them.
fn priority_keys(plan: &Plan) -> Vec<u32> {
    let mut keys: Vec<u32> = Vec::with_capacity(plan.tasks.len());
    for (i, task) in plan.tasks.iter().enumerate() {
        let key = task
            .inputs
            .iter()
            .map(|v| keys[v.task as usize])
            .max()
            .unwrap_or(i as u32);
        keys.push(key);
    }
    keys
}

/// Starts workers while there are ready tasks and idle threads.
fn start_workers<'s>(scope: &rayon::Scope<'s>, shared: &'s Shared<'s>, state: &mut State) {
    // The I/O threads are only worth waking when a storage task is ready (or running on them).
    let cap = if state.ready.has_storage() {
        shared.max_workers
    } else {
        (shared.config.compute_threads.max(1) + state.storage_running()).min(shared.max_workers)
    };
    while state.failure.is_none() && state.workers < cap.min(state.workers + state.ready.len()) {
        state.workers += 1;
        scope.spawn(move |scope| work(scope, shared));
    }
}

/// Runs ready tasks until none is left (or none fits the budget now), then leaves.
fn work<'s>(scope: &rayon::Scope<'s>, shared: &'s Shared<'s>) {
    let mut state = shared.lock();
    loop {
        if state.failure.is_none() && shared.config.cancel.is_cancelled() {
            state.failure = Some(Error::Cancelled(format!(
                "stopped after {} of {} tasks",
                state.done,
                shared.plan.tasks.len()
            )));
        }
        let picked = match state.failure {
            None => shared.pick(&mut state),
            Some(_) => Ok(None),
        };
        let id = match picked {
            Ok(Some(id)) => id,
            Ok(None) => {
                state.workers -= 1;
                return;
            }
            Err(e) => {
                state.failure.get_or_insert(e);
                continue;
            }
        };
        let task = &shared.plan.tasks[id as usize];
        let started = shared.start(&mut state, id);
        // Other workers may pick up what is ready while this task runs.
        start_workers(scope, shared, &mut state);
        drop(state);
        let backend = &shared.config.backend;
        let result = started.and_then(|inputs| match &task.kind {
            TaskKind::Launch(kernel) => {
                let refs: Vec<&Buffer> = inputs.iter().collect();
                match &shared.config.placement {
                    Some(placement) => placement.launch_placed(
                        &shared.placed[id as usize],
                        kernel,
                        &refs,
                        &task.outputs,
                    ),
                    None => backend.launch(kernel, &refs, &task.outputs),
                }
            }
            TaskKind::Literal(host) => backend.upload(host).map(|b| vec![b]),
        });
        state = shared.lock();
        state.running -= 1;
        state.running_tasks.remove(&id);
        state.computing.remove(id);
        state.reserved -= task.running_bytes();
        shared.release_device(&mut state, id);
        state.done += 1;
        match result {
            Err(e) => {
                state.failure.get_or_insert(e);
            }
            Ok(outputs) => finish(shared, &mut state, id, outputs, backend.as_ref()),
        }
        if let Some(progress) = &shared.config.progress {
            progress(state.done, shared.plan.tasks.len());
        }
    }
}

/// Stores a task's outputs, releases inputs read for the last time and marks dependents ready.
fn finish(
    shared: &Shared<'_>,
    state: &mut State,
    id: u32,
    outputs: Vec<Buffer>,
    backend: &dyn Backend,
) {
    let task = &shared.plan.tasks[id as usize];
    state.tasks_run += 1;
    if let TaskKind::Launch(kernel) = &task.kind {
        state.fused_ops += kernel.fused_ops();
    }
    // A source read only by the caller has no reader to wait for.
    if shared.readers[id as usize].iter().all(Vec::is_empty) && state.ahead_of_readers.remove(id) {
        state.read_ahead -= 1;
    }
    for (k, buffer) in outputs.into_iter().enumerate() {
        if state.reads[id as usize][k] > 0 {
            match buffer {
                Buffer::Host(_) => {
                    state.held_values.insert((id, k as u32));
                    state.held += buffer.nbytes() as u64;
                }
                Buffer::Device(_) => {
                    state.device_values.insert((id, k as u32));
                    state.held_device += buffer.nbytes() as u64;
                }
            }
            state.values[id as usize][k] = Some(buffer);
        } else {
            backend.free(buffer);
        }
    }
    state.peak = state.peak.max(state.held + state.reserved);
    state.peak_device = state.peak_device.max(state.held_device);
    for v in &task.inputs {
        let (t, o) = (v.task as usize, v.output as usize);
        state.reads[t][o] -= 1;
        if state.reads[t][o] == 0 {
            state.held_values.remove(&(v.task, v.output));
            state.device_values.remove(&(v.task, v.output));
            if let Some(buffer) = state.values[t][o].take() {
                match buffer {
                    Buffer::Host(_) => state.held -= buffer.nbytes() as u64,
                    Buffer::Device(_) => state.held_device -= buffer.nbytes() as u64,
                }
                backend.free(buffer);
            }
        }
    }
    for &d in &shared.dependents[id as usize] {
        state.waiting[d as usize] -= 1;
        if state.waiting[d as usize] == 0 {
            state
                .ready
                .push(shared.classes[d as usize], shared.keys[d as usize], d);
        }
    }
}
