//! State shared by a connection's reader, writer and handles: the counters and the
//! one-time transition to "down".

use std::sync::Mutex;

use tokio::sync::watch;

use super::stats::Counters;
use crate::error::DownReason;

/// Shared by the tasks and handles of one connection.
#[derive(Debug)]
pub(crate) struct Shared {
    pub peer: String,
    pub counters: Counters,
    reason: Mutex<Option<DownReason>>,
    down: watch::Sender<bool>,
}

impl Shared {
    pub fn new(peer: String) -> Shared {
        let (down, _) = watch::channel(false);
        Shared {
            peer,
            counters: Counters::default(),
            reason: Mutex::new(None),
            down,
        }
    }

    /// Marks the connection down for `reason`, unless it already is (the first reason
    /// wins). Both tasks stop when they see it.
    pub fn go_down(&self, reason: DownReason) {
        if let Ok(mut r) = self.reason.lock() {
            if r.is_none() {
                tracing::info!(peer = %self.peer, %reason, "distribution connection down");
                *r = Some(reason);
            }
        }
        self.down.send_replace(true);
    }

    /// The reason, once down.
    pub fn reason(&self) -> Option<DownReason> {
        self.reason.lock().ok().and_then(|r| r.clone())
    }

    /// `true` once down.
    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// A receiver that changes to `true` when the connection goes down.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.down.subscribe()
    }
}

/// Resolves when `rx` turns `true` (the connection went down) or its sender is gone.
pub(crate) async fn until_down(rx: &mut watch::Receiver<bool>) {
    // The guard returned by `wait_for` is dropped here, before any other await.
    let _ = rx.wait_for(|d| *d).await.map(|_| ());
}
