//! Device admission: accelerator tasks start only when their device bytes fit the device budget
//! beside what stays there, evicting held values (furthest next use first) to the host.
//!
//! Where a task runs was fixed before the plan started (see `decide`), so a task that does not
//! fit now waits for running tasks to finish instead of moving to the CPU: the budget holds and
//! placement stays the same from run to run.

use crate::admission::ValueId;
use crate::exec::{Shared, State};
use tilework_core::{Buffer, Result};

impl Shared<'_> {
    /// Device bytes task `id` needs while it runs: none on the CPU; for a whole launch its
    /// outputs and the inputs it must upload; when tiled, its largest tile.
    fn device_need(&self, state: &State, id: u32) -> u64 {
        let task = &self.plan.tasks[id as usize];
        let placed = &self.placed[id as usize];
        if let Some(bytes) = placed.tile_bytes() {
            return bytes;
        }
        if !placed.uses_accelerator() {
            return 0;
        }
        let host_inputs: usize = task
            .inputs
            .iter()
            .filter(|i| !state.device_values.contains(&(i.task, i.output)))
            .map(|i| self.plan.tasks[i.task as usize].outputs[i.output as usize].nbytes())
            .sum();
        host_inputs as u64 + task.output_bytes()
    }

    /// Device values that may move to the host to make room for task `id`, in eviction order
    /// (last first): values a started task may still read stay; so do the task's own inputs
    /// when it runs whole on the device. A tiled task reads its inputs from the host anyway,
    /// so its own device inputs go first.
    fn evictable(&self, state: &State, id: u32) -> Vec<(bool, u32, ValueId)> {
        let task = &self.plan.tasks[id as usize];
        let tiled = self.placed[id as usize].tile_bytes().is_some();
        let is_input = |v: &ValueId| task.inputs.iter().any(|i| (i.task, i.output) == *v);
        let mut candidates: Vec<(bool, u32, ValueId)> = state
            .device_values
            .iter()
            .copied()
            .filter(|v| tiled || !is_input(v))
            .filter_map(|v| Some((is_input(&v), self.next_use(state, v)?, v)))
            .collect();
        candidates.sort_unstable();
        candidates
    }

    /// Whether an accelerator task may start now: its need fits the budget beside the room
    /// admitted for running accelerator tasks and the values that cannot be evicted. With
    /// nothing running it always may (a computation always progresses; placement sized every
    /// task to fit the budget alone).
    pub(crate) fn device_fits(&self, state: &State, id: u32) -> bool {
        let Some(budget) = self.config.device_budget else {
            return true;
        };
        let need = self.device_need(state, id);
        if need == 0 || state.running == 0 {
            return true;
        }
        if state.held_device + state.reserved_device + need <= budget {
            return true;
        }
        let evictable: u64 = self
            .evictable(state, id)
            .iter()
            .filter_map(|&(_, _, v)| state.values[v.0 as usize][v.1 as usize].as_ref())
            .map(|b| b.nbytes() as u64)
            .sum();
        state.held_device.saturating_sub(evictable) + state.reserved_device + need <= budget
    }

    /// Admits task `id` on the device: makes room for its need and books it.
    ///
    /// # Errors
    /// A device buffer that cannot be downloaded, or a spill file that cannot be written.
    pub(crate) fn admit_device(&self, state: &mut State, id: u32) -> Result<()> {
        if !self.placed[id as usize].uses_accelerator() {
            return Ok(());
        }
        let need = self.device_need(state, id);
        self.make_device_room(state, id, need)?;
        state.device_running += 1;
        state.device_admitted[id as usize] = Some(need);
        state.reserved_device += need;
        state.peak_device = state
            .peak_device
            .max(state.held_device + state.reserved_device);
        Ok(())
    }

    /// Gives back the device room admitted for task `id` when it finishes.
    pub(crate) fn release_device(&self, state: &mut State, id: u32) {
        if let Some(admitted) = state.device_admitted[id as usize].take() {
            state.reserved_device -= admitted;
            state.device_running -= 1;
        }
    }

    /// Moves device-resident values to the host (see [`Shared::evictable`]) until `need` fits
    /// the device budget beside what stays and the room admitted for running tasks. Without a
    /// device budget, does nothing.
    fn make_device_room(&self, state: &mut State, id: u32, need: u64) -> Result<()> {
        let Some(budget) = self.config.device_budget else {
            return Ok(());
        };
        let over = |state: &State| state.held_device + state.reserved_device + need > budget;
        if need == 0 || !over(state) {
            return Ok(());
        }
        let mut candidates = self.evictable(state, id);
        let backend = &self.config.backend;
        while over(state) {
            let Some((_, _, v)) = candidates.pop() else {
                break;
            };
            let slot = &mut state.values[v.0 as usize][v.1 as usize];
            let Some(device) = slot.take() else {
                continue;
            };
            let host = match backend.download(&device) {
                Ok(host) => host,
                Err(e) => {
                    *slot = Some(device);
                    return Err(e);
                }
            };
            let bytes = host.nbytes() as u64;
            backend.free(device);
            state.device_values.remove(&v);
            state.held_device -= bytes;
            state.bytes_evicted += bytes;
            // Values the host budget has no room for (beside what the task itself was admitted
            // with) go on to disk.
            if self.fits(state, bytes + self.need(state, id)) {
                state.values[v.0 as usize][v.1 as usize] = Some(Buffer::Host(host));
                state.held_values.insert(v);
                state.held += bytes;
            } else {
                let spilled = state.spill.write(&host)?;
                state.spilled.insert(v, spilled);
            }
        }
        Ok(())
    }
}
