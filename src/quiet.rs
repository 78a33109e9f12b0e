//! Keeping GPU drivers' own messages out of normal runs.
//!
//! Opening a Vulkan or GL instance makes Mesa and the Vulkan loader write to the process's
//! stderr (on headless machines "XDG_RUNTIME_DIR is invalid or not set", twice). Those lines say
//! nothing about the user's program, so while tilework probes or opens an adapter, stderr goes
//! through a filter that drops the drivers' known lines and passes every other line on.
//! `TILEWORK_GPU_VERBOSE=1` turns the filter off.

/// Line fragments that only GPU drivers and the Vulkan loader write.
const DRIVER_NOISE: &[&str] = &[
    "XDG_RUNTIME_DIR",
    "MESA:",
    "MESA-LOADER:",
    "libEGL warning",
    "libGL error",
    "WARNING: lavapipe is not a conformant",
    "ZINK:",
    "radv/amdgpu:",
    "ERROR: [Loader Message]",
    "WARNING: [Loader Message]",
];

/// Whether `line` is one of the drivers' own messages.
pub(crate) fn is_driver_noise(line: &str) -> bool {
    DRIVER_NOISE.iter().any(|fragment| line.contains(fragment))
}

/// Runs `open` (a probe or an adapter opening), dropping the drivers' lines it writes to stderr
/// unless `verbose`.
pub(crate) fn probing<T>(verbose: bool, open: impl FnOnce() -> T) -> T {
    if verbose {
        return open();
    }
    #[cfg(unix)]
    {
        filter::run(open)
    }
    #[cfg(not(unix))]
    {
        open()
    }
}

#[cfg(unix)]
mod filter {
    use std::fs::File;
    use std::io::{BufRead, BufReader, Write};
    use std::os::fd::{AsRawFd, FromRawFd};
    use std::sync::mpsc;
    use std::time::Duration;

    const STDERR: i32 = 2;

    /// Runs `open` with fd 2 pointing into a pipe whose lines a thread forwards to the real
    /// stderr, driver noise left out. Any failure to set this up runs `open` unfiltered.
    pub(super) fn run<T>(open: impl FnOnce() -> T) -> T {
        let _ = std::io::stderr().flush();
        // SAFETY: dup on fd 2 has no memory effects; a negative result is handled.
        let saved = unsafe { libc::dup(STDERR) };
        if saved < 0 {
            return open();
        }
        // SAFETY: `saved` is a fresh descriptor that nothing else owns.
        let original = unsafe { File::from_raw_fd(saved) };
        let Ok(forward_to) = original.try_clone() else {
            return open();
        };
        let Ok((reader, writer)) = std::io::pipe() else {
            return open();
        };
        let (done_tx, done_rx) = mpsc::channel();
        let forward = std::thread::Builder::new()
            .name("tilework-stderr".into())
            .spawn(move || {
                let mut out = forward_to;
                for line in BufReader::new(reader).lines().map_while(|l| l.ok()) {
                    if !super::is_driver_noise(&line) {
                        let _ = writeln!(out, "{line}");
                    }
                }
                let _ = done_tx.send(());
            });
        if forward.is_err() {
            return open();
        }
        // SAFETY: both descriptors are open; dup2 only retargets fd 2.
        if unsafe { libc::dup2(writer.as_raw_fd(), STDERR) } < 0 {
            return open();
        }
        drop(writer);
        let result = open();
        let _ = std::io::stderr().flush();
        // SAFETY: `original` is open; this points fd 2 back at the real stderr, which closes
        // the pipe's last write end, so the forwarder reaches the end of its input.
        unsafe { libc::dup2(original.as_raw_fd(), STDERR) };
        // A driver thread that kept its own copy of fd 2 would keep the pipe open; its later
        // lines still reach stderr through the forwarder, so do not wait for it for long.
        let _ = done_rx.recv_timeout(Duration::from_secs(1));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesa_lines_are_noise_and_program_lines_are_not() {
        assert!(is_driver_noise(
            "error: XDG_RUNTIME_DIR is invalid or not set in the environment."
        ));
        assert!(is_driver_noise(
            "WARNING: lavapipe is not a conformant vulkan implementation, testing use only."
        ));
        assert!(!is_driver_noise("tilework: no GPU adapter was found"));
        assert!(!is_driver_noise("step 3 of 10"));
    }
}
