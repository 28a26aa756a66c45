//! Termination signals for the long-running commands (`join`, `epmd`).
//!
//! tokio's signal driver is not used: every runtime that has it built in sets it up at
//! start (a socket pair and a table for every signal number), which the one-shot commands
//! would pay for on every run. Instead the few signals a long-running command handles are
//! blocked and a thread of their own waits for them with `sigwait` and hands each one to
//! async code through a channel.

use std::io;

use tokio::sync::mpsc;

/// The signals one command handles, received in async code.
pub struct Signals {
    rx: mpsc::UnboundedReceiver<libc::c_int>,
}

impl Signals {
    /// Blocks `signals` in the calling thread, so in every thread it starts afterwards (call
    /// it before the runtime is built), and starts the thread that waits for them.
    pub fn handle(signals: &[libc::c_int]) -> io::Result<Signals> {
        // SAFETY: `set` is a plain sigset_t initialised by sigemptyset before any use, and
        // only valid signal numbers are added (sigaddset reports anything else).
        let set = unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            for &s in signals {
                if libc::sigaddset(&mut set, s) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            if rc != 0 {
                return Err(io::Error::from_raw_os_error(rc));
            }
            set
        };
        let (tx, rx) = mpsc::unbounded_channel();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                let mut signal: libc::c_int = 0;
                // SAFETY: `set` lives in this closure and `signal` is a valid out pointer.
                let rc = unsafe { libc::sigwait(&set, &mut signal) };
                if rc != 0 || tx.send(signal).is_err() {
                    return;
                }
            })?;
        Ok(Signals { rx })
    }

    /// The next signal that arrived; waits until one does.
    pub async fn recv(&mut self) -> libc::c_int {
        match self.rx.recv().await {
            Some(s) => s,
            // The waiting thread only ends when its channel is gone: never while we hold it.
            None => std::future::pending().await,
        }
    }
}

/// The signal's name as a log line shows it (`SIGTERM`).
pub fn name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}
