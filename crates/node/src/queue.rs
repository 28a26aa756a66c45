//! The queue of a mailbox: what other processes and peers deliver, waiting for the
//! mailbox to take it.
//!
//! Deliverers append under a short lock and wake the mailbox only when it waits (the
//! first delivery after it went idle). The mailbox takes everything queued in one go
//! into its own batch and pops from that without locking, so a busy mailbox locks once
//! per batch, not once per message. Unbounded, as a BEAM mailbox is.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::process::Delivery;

#[derive(Debug, Default)]
struct State {
    items: VecDeque<Delivery>,
    /// The mailbox waits for this.
    waker: Option<Waker>,
}

/// See the [module](self) documentation.
#[derive(Debug, Default)]
pub(crate) struct MessageQueue {
    state: Mutex<State>,
}

impl MessageQueue {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is one step that leaves the queue consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one delivery.
    pub fn push(&self, d: Delivery) {
        let mut st = self.lock();
        st.items.push_back(d);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Appends several deliveries, in order, with one lock and at most one wake-up.
    pub fn push_all(&self, ds: impl IntoIterator<Item = Delivery>) {
        let mut st = self.lock();
        st.items.extend(ds);
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Moves everything queued to the end of `local`. Returns whether there was any.
    pub fn take_into(&self, local: &mut VecDeque<Delivery>) -> bool {
        let mut st = self.lock();
        if st.items.is_empty() {
            return false;
        }
        if local.is_empty() {
            std::mem::swap(&mut st.items, local);
        } else {
            local.extend(st.items.drain(..));
        }
        true
    }

    /// Like [`MessageQueue::take_into`], but when nothing is queued, arranges for `cx`
    /// to be woken by the next delivery and returns `Pending`.
    pub fn poll_take_into(&self, local: &mut VecDeque<Delivery>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.lock();
        if st.items.is_empty() {
            if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                st.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        if local.is_empty() {
            std::mem::swap(&mut st.items, local);
        } else {
            local.extend(st.items.drain(..));
        }
        Poll::Ready(())
    }
}
