//! The ready queues: tasks whose inputs exist, by class and then by priority.
//!
//! Classes matter because a class can be held back as a whole: compute tasks when every compute
//! slot is taken, sources by the read-ahead bound, storage tasks when the I/O threads and the
//! compute slots are busy. Keeping each class in its own heap lets the executor look at the best
//! task of every class in constant time instead of scanning all ready tasks on every pick.

use crate::plan::{Task, TaskKind};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use tilework_core::Kernel;

/// What kind of thread slot and admission rule a task needs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum TaskClass {
    /// Computes from its inputs.
    Compute,
    /// Generates data without inputs (fill, random, arange, host uploads): bounded read-ahead.
    Source,
    /// Reads or writes a store: may also run on the I/O threads (reads are sources too).
    Storage,
}

impl TaskClass {
    pub(crate) fn of(task: &Task) -> TaskClass {
        match &task.kind {
            TaskKind::Launch(k)
                if matches!(**k, Kernel::StoreRead { .. } | Kernel::StoreWrite { .. }) =>
            {
                TaskClass::Storage
            }
            _ if task.inputs.is_empty() => TaskClass::Source,
            _ => TaskClass::Compute,
        }
    }

    fn slot(self) -> usize {
        match self {
            TaskClass::Compute => 0,
            TaskClass::Source => 1,
            TaskClass::Storage => 2,
        }
    }
}

type Queue = BinaryHeap<Reverse<(u32, u32)>>;

/// Ready tasks by class, each heap ordered by (priority key, plan index), smallest first.
#[derive(Debug, Default)]
pub(crate) struct Ready([Queue; 3]);

impl Ready {
    pub(crate) fn push(&mut self, class: TaskClass, key: u32, id: u32) {
        self.0[class.slot()].push(Reverse((key, id)));
    }

    pub(crate) fn has_storage(&self) -> bool {
        !self.0[TaskClass::Storage.slot()].is_empty()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.iter().map(BinaryHeap::len).sum()
    }

    /// The best task of each non-empty class: (key, id, class index).
    pub(crate) fn heads(&self) -> impl Iterator<Item = (u32, u32, usize)> + '_ {
        self.0
            .iter()
            .enumerate()
            .filter_map(|(c, q)| q.peek().map(|&Reverse((key, id))| (key, id, c)))
    }

    /// Takes the best task of class index `c`.
    pub(crate) fn pop(&mut self, c: usize) -> Option<u32> {
        self.0[c].pop().map(|Reverse((_, id))| id)
    }

    /// Every ready task, best last, leaving the queues empty.
    pub(crate) fn drain_sorted(&mut self) -> Vec<(u32, u32)> {
        let mut all: Vec<(u32, u32)> = self
            .0
            .iter_mut()
            .flat_map(|q| std::mem::take(q).into_vec())
            .map(|Reverse(entry)| entry)
            .collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all
    }
}

/// A set of plan indices as flags: constant-time insert, remove and count, no hashing (the
/// executor touches these sets once or twice per task).
#[derive(Debug)]
pub(crate) struct TaskSet {
    flags: Vec<bool>,
    count: usize,
}

impl TaskSet {
    /// An empty set for a plan of `n` tasks.
    pub(crate) fn new(n: usize) -> TaskSet {
        TaskSet {
            flags: vec![false; n],
            count: 0,
        }
    }

    pub(crate) fn insert(&mut self, id: u32) {
        let flag = &mut self.flags[id as usize];
        if !*flag {
            *flag = true;
            self.count += 1;
        }
    }

    /// Removes `id`; whether it was there.
    pub(crate) fn remove(&mut self, id: u32) -> bool {
        let flag = &mut self.flags[id as usize];
        let was = *flag;
        if was {
            *flag = false;
            self.count -= 1;
        }
        was
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }
}
