//! Admission and spilling: which ready task starts next so that held memory stays within the host
//! budget.
//!
//! A task may start when the bytes held, plus the outputs of running tasks, plus its own outputs
//! (and any of its inputs that must come back from disk) fit the budget. When the task first in
//! priority order does not fit, the first ready task that does fit runs instead (consumers free
//! their inputs, so they usually fit); when none does, held values needed furthest in the future
//! are spilled to disk until the first task fits. With nothing running, a task starts anyway, so
//! a computation always progresses (`check_budget` has already refused tasks too large to ever
//! fit).

use crate::exec::{Shared, State};
use crate::ready::TaskClass;
use tilework_core::{Buffer, Result};

/// A task output: (task, output index).
pub(crate) type ValueId = (u32, u32);

impl Shared<'_> {
    /// Bytes a task adds to the held memory when it starts: its outputs, plus its spilled inputs.
    pub(crate) fn need(&self, state: &State, id: u32) -> u64 {
        let task = &self.plan.tasks[id as usize];
        let spilled: usize = task
            .inputs
            .iter()
            .filter_map(|v| state.spilled.get(&(v.task, v.output)))
            .map(|s| s.nbytes())
            .sum();
        task.running_bytes() + spilled as u64
    }

    pub(crate) fn fits(&self, state: &State, need: u64) -> bool {
        state.held + state.reserved + need <= self.config.host_budget
    }

    /// Whether task `id` may start now as far as read-ahead goes: a source waits while
    /// `prefetch_depth` sources are ahead of their readers, unless one of its readers already
    /// holds other inputs (reading it then completes work in progress) or nothing is running.
    fn may_read_ahead(&self, state: &State, id: u32) -> bool {
        let task = &self.plan.tasks[id as usize];
        if !task.inputs.is_empty()
            || state.read_ahead < self.config.prefetch_depth
            || state.running == 0
        {
            return true;
        }
        !self.reads_only_ahead(state, id)
    }

    /// Whether task `id` is a source none of whose readers holds any input yet: running it only
    /// reads ahead, it completes no work in progress.
    fn reads_only_ahead(&self, state: &State, id: u32) -> bool {
        self.plan.tasks[id as usize].inputs.is_empty()
            && self.readers[id as usize]
                .iter()
                .flatten()
                .all(|&r| state.waiting[r as usize] == self.producers[r as usize])
    }

    fn is_storage(&self, id: u32) -> bool {
        self.classes[id as usize] == TaskClass::Storage
    }

    /// Whether a storage task can take one of the threads beyond the compute slots now.
    fn io_slot_free(&self, state: &State) -> bool {
        state.storage_running() + self.config.compute_threads.max(1) < self.max_workers
    }

    fn compute_slot_free(&self, state: &State) -> bool {
        state.computing.len() < self.config.compute_threads.max(1)
    }

    /// Whether task `id` may start now as far as threads, read-ahead and device room go.
    fn may_start(&self, state: &State, id: u32) -> bool {
        let slot =
            self.compute_slot_free(state) || (self.is_storage(id) && self.io_slot_free(state));
        slot && self.may_read_ahead(state, id) && self.device_fits(state, id)
    }

    /// The room task `id` needs to start now: its [`Shared::need`], and for a source read only
    /// ahead of its readers (while others run) also room for its largest reader's outputs, so
    /// that read-ahead never fills the budget so far that the readers, which free it, cannot start.
    fn room(&self, state: &State, id: u32) -> u64 {
        let need = self.need(state, id);
        if state.running == 0 || !self.reads_only_ahead(state, id) {
            return need;
        }
        let readers = self.readers[id as usize].iter().flatten();
        let headroom = readers
            .map(|&r| self.plan.tasks[r as usize].running_bytes())
            .max()
            .unwrap_or(0);
        need.saturating_add(headroom)
    }

    fn admissible(&self, state: &State, id: u32) -> bool {
        self.may_start(state, id) && self.fits(state, self.room(state, id))
    }

    /// The next task to start, taken off the ready queue, or `None` when no ready task should
    /// start now (the worker then leaves; finishing tasks start workers again).
    ///
    /// # Errors
    /// A spill file that cannot be written.
    pub(crate) fn pick(&self, state: &mut State) -> Result<Option<u32>> {
        // The best head among the classes that may start: constant time, the common case.
        let best = state
            .ready
            .heads()
            .filter(|&(_, id, _)| self.may_start(state, id))
            .min();
        let Some((_, best, class)) = best else {
            return Ok(None);
        };
        if self.fits(state, self.room(state, best)) {
            return Ok(state.ready.pop(class));
        }
        // Memory is tight: any ready task that may start and fits, in priority order.
        let mut queued = state.ready.drain_sorted();
        let chosen = queued
            .iter()
            .rposition(|&(_, id)| self.admissible(state, id))
            .map(|i| queued.remove(i).1);
        for &(key, id) in &queued {
            state.ready.push(self.classes[id as usize], key, id);
        }
        if chosen.is_some() {
            return Ok(chosen);
        }
        // A source read only ahead of its readers waits for running tasks to free memory:
        // spilling held chunks to read further ahead would write to disk what is read next.
        if state.running > 0 && self.reads_only_ahead(state, best) {
            return Ok(None);
        }
        // Otherwise spill to make room for the best task that may start.
        self.make_room(state, best)?;
        if self.fits(state, self.need(state, best)) || state.running == 0 {
            return Ok(state.ready.pop(class));
        }
        Ok(None)
    }

    /// Spills held host values, furthest next use first, until task `id` fits or nothing more
    /// can be spilled. Values a started task may still read, and the task's own inputs, stay.
    fn make_room(&self, state: &mut State, id: u32) -> Result<()> {
        let task = &self.plan.tasks[id as usize];
        let need = self.need(state, id);
        let mut candidates: Vec<(u32, usize, ValueId)> = state
            .held_values
            .iter()
            .copied()
            .filter(|v| !task.inputs.iter().any(|i| (i.task, i.output) == *v))
            .filter_map(|v| {
                let next = self.next_use(state, v)?;
                let bytes = state.values[v.0 as usize][v.1 as usize]
                    .as_ref()
                    .and_then(Buffer::as_host)
                    .map(|h| h.nbytes())?;
                Some((next, bytes, v))
            })
            .collect();
        // Furthest next use (then largest) last, so `pop` takes it.
        candidates.sort_unstable();
        while !self.fits(state, need) {
            let Some((_, _, v)) = candidates.pop() else {
                break;
            };
            let slot = &mut state.values[v.0 as usize][v.1 as usize];
            let Some(Buffer::Host(host)) = slot.take() else {
                continue;
            };
            let spilled = state.spill.write(&host)?;
            state.held -= host.nbytes() as u64;
            state.held_values.remove(&v);
            state.spilled.insert(v, spilled);
        }
        Ok(())
    }

    /// Priority key of the earliest unstarted reader of `v` (`u32::MAX` for a value read only by
    /// the caller at the end); `None` when a started task may still be reading it.
    pub(crate) fn next_use(&self, state: &State, v: ValueId) -> Option<u32> {
        let mut next = u32::MAX;
        for &reader in &self.readers[v.0 as usize][v.1 as usize] {
            if state.started[reader as usize] {
                if state.running_tasks.contains(&reader) {
                    return None;
                }
                continue;
            }
            next = next.min(self.keys[reader as usize]);
        }
        Some(next)
    }

    /// Marks `id` started: reserves its outputs and returns its inputs, reading spilled ones back.
    ///
    /// # Errors
    /// A spill file that cannot be read.
    pub(crate) fn start(&self, state: &mut State, id: u32) -> Result<Vec<Buffer>> {
        let task = &self.plan.tasks[id as usize];
        self.admit_device(state, id)?;
        state.started[id as usize] = true;
        if task.inputs.is_empty() {
            state.read_ahead += 1;
            state.peak_read_ahead = state.peak_read_ahead.max(state.read_ahead);
            state.ahead_of_readers.insert(id);
        }
        for v in &task.inputs {
            if state.ahead_of_readers.remove(v.task) {
                state.read_ahead -= 1;
            }
        }
        if !self.is_storage(id) || !self.io_slot_free(state) {
            state.computing.insert(id);
        }
        state.running += 1;
        state.running_tasks.insert(id);
        state.reserved += task.running_bytes();
        let mut inputs = Vec::with_capacity(task.inputs.len());
        for v in &task.inputs {
            let key = (v.task, v.output);
            if let Some(spilled) = state.spilled.remove(&key) {
                let host = state.spill.read(&spilled)?;
                state.held += host.nbytes() as u64;
                state.held_values.insert(key);
                state.values[v.task as usize][v.output as usize] = Some(Buffer::Host(host));
            }
            let value = state.values[v.task as usize][v.output as usize]
                .clone()
                .expect("inputs exist, in memory or spilled, before a task is ready");
            inputs.push(value);
        }
        state.peak = state.peak.max(state.held + state.reserved);
        Ok(inputs)
    }
}
