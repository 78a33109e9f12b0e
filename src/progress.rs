//! The progress bar shown for long computations when the context asks for it.

use crate::context::Context;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;

/// A bar that the executor ticks after each task.
pub(crate) struct Progress {
    bar: ProgressBar,
}

/// A bar for `tasks` tasks when the context enables progress and stderr is a terminal.
pub(crate) fn bar_for(ctx: &Context, tasks: usize) -> Option<Progress> {
    if !ctx.inner.progress || tasks < 64 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(tasks as u64);
    let style = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} tasks ({eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    Some(Progress { bar })
}

impl Progress {
    pub(crate) fn callback(&self) -> Arc<dyn Fn(usize, usize) + Send + Sync> {
        let bar = self.bar.clone();
        Arc::new(move |done, _| bar.set_position(done as u64))
    }

    pub(crate) fn finish(self) {
        self.bar.finish_and_clear();
    }
}
