//! The queue of events from a connection's reader to the node layer.
//!
//! The reader decodes every complete frame of what one read brought and hands them over
//! together: one lock and at most one wake-up per read, not per message. The receiver
//! ([`Events`]) takes everything queued in one go into a local batch and pops from that
//! without locking, so a busy receiver locks once per batch too.
//!
//! Bound: the reader stops reading the socket while `capacity` events wait (back-pressure
//! to the peer through TCP); it may exceed that by the events of one read.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use tokio::sync::Notify;

use super::ConnectionEvent;

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<ConnectionEvent>,
    /// The receiver waits for this.
    waker: Option<Waker>,
    /// The last event (`Down`) is in the queue.
    finished: bool,
    /// The receiver is gone.
    dropped: bool,
}

#[derive(Debug)]
pub(crate) struct EventQueue {
    state: Mutex<State>,
    capacity: usize,
    /// Wakes the reader when there is room again, or when the receiver is gone.
    room: Notify,
}

impl EventQueue {
    pub fn new(capacity: usize) -> Arc<EventQueue> {
        Arc::new(EventQueue {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            room: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `batch` (emptied). Returns `false` when the receiver is gone.
    pub fn push(&self, batch: &mut Vec<ConnectionEvent>) -> bool {
        if batch.is_empty() {
            return !self.lock().dropped;
        }
        let mut st = self.lock();
        if st.dropped {
            batch.clear();
            return false;
        }
        st.queue.extend(batch.drain(..));
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        true
    }

    /// Appends the last event; nothing follows it.
    pub fn finish(&self, last: ConnectionEvent) {
        let mut st = self.lock();
        if !st.dropped {
            st.queue.push_back(last);
        }
        st.finished = true;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Waits while `capacity` events or more wait. Returns `false` when the receiver is
    /// gone.
    pub async fn room(&self) -> bool {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.lock();
                if st.dropped {
                    return false;
                }
                if st.queue.len() < self.capacity {
                    return true;
                }
            }
            notified.await;
        }
    }

    /// Resolves when the receiver is gone.
    pub async fn dropped(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().dropped {
                return;
            }
            notified.await;
        }
    }
}

/// The events of one connection: every received message, in order, then exactly one
/// [`ConnectionEvent::Down`], after which [`Events::recv`] yields `None`. Dropping it
/// closes the connection.
#[derive(Debug)]
pub struct Events {
    queue: Arc<EventQueue>,
    /// Taken from the queue, not yet returned.
    local: VecDeque<ConnectionEvent>,
}

impl Events {
    pub(crate) fn new(queue: Arc<EventQueue>) -> Events {
        Events {
            queue,
            local: VecDeque::new(),
        }
    }

    /// Waits for the next event; `None` after the `Down` event.
    ///
    /// Cancel safe: an event is taken only when it is returned.
    pub async fn recv(&mut self) -> Option<ConnectionEvent> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next event if one is there now.
    pub fn try_recv(&mut self) -> Option<ConnectionEvent> {
        if let Some(e) = self.local.pop_front() {
            return Some(e);
        }
        self.refill();
        self.local.pop_front()
    }

    /// Polls for the next event; `Ready(None)` after the `Down` event.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<ConnectionEvent>> {
        if let Some(e) = self.local.pop_front() {
            return Poll::Ready(Some(e));
        }
        let mut st = self.queue.lock();
        if st.queue.is_empty() {
            if st.finished {
                return Poll::Ready(None);
            }
            if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                st.waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        let was_full = st.queue.len() >= self.queue.capacity;
        std::mem::swap(&mut st.queue, &mut self.local);
        drop(st);
        if was_full {
            self.queue.room.notify_one();
        }
        Poll::Ready(self.local.pop_front())
    }

    fn refill(&mut self) {
        let mut st = self.queue.lock();
        if st.queue.is_empty() {
            return;
        }
        let was_full = st.queue.len() >= self.queue.capacity;
        std::mem::swap(&mut st.queue, &mut self.local);
        drop(st);
        if was_full {
            self.queue.room.notify_one();
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        self.queue.lock().dropped = true;
        self.queue.room.notify_waiters();
    }
}
