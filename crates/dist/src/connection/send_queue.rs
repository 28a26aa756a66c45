//! The send queue of one connection: senders encode their messages straight into it,
//! under one short lock; the writer takes everything queued in one go and writes it
//! with one vectored write.
//!
//! Small messages of one lane are appended to that lane's open buffer, so a burst of
//! them costs one allocation and one iovec per batch, not one per message. A payload
//! that is a large binary is not copied: it becomes its own piece, between the bytes
//! before and after it. Fragments of a large message are pieces of their own, and the
//! writer takes lanes in turn one packet at a time, so a small message in one lane is
//! not stuck behind the fragments of a large message in another.
//!
//! The writer is woken only when it waits for work (the first message after it went
//! idle); senders wait only when `capacity` messages are queued and not yet taken by
//! the writer (back-pressure, as a busy distribution port).

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::Notify;

use crate::frame_codec::{EncodeError, Encoded, FrameEncoder};
use crate::message::Message;

/// A lane's open buffer is handed over as one piece once it holds this much, so that
/// lanes keep taking turns at a fine grain.
const OPEN_LIMIT: usize = 64 << 10;

/// A bounded send also waits while this many bytes are queued (whatever the number of
/// messages), so that senders of large messages do not encode far ahead of the socket:
/// a backlog that fits in the caches is written faster than one that does not. A
/// message is always accepted into an empty queue, however large.
const MAX_QUEUED_BYTES: usize = 4 << 20;

/// The room reserved for a new open buffer.
const OPEN_CAPACITY: usize = 4 << 10;

/// One buffer of a lane, ready to be written.
#[derive(Debug)]
pub(crate) struct Piece {
    pub bytes: Bytes,
    /// `true` when a packet ends with this piece: lanes may interleave after it.
    pub packet_end: bool,
    /// Messages whose last byte is in this piece.
    pub messages: usize,
    /// Atom-cache slots that frames in this piece bring to the peer.
    pub defined: Vec<u16>,
}

#[derive(Debug)]
struct Lane {
    key: u64,
    pieces: VecDeque<Piece>,
    /// Complete packets of small messages, appended to by senders.
    open: Vec<u8>,
    open_messages: usize,
    /// Atom-cache slots that frames in `open` bring to the peer.
    open_defined: Vec<u16>,
}

impl Lane {
    fn is_empty(&self) -> bool {
        self.pieces.is_empty() && self.open.is_empty()
    }

    /// Closes the open buffer into a piece.
    fn seal(&mut self) {
        if !self.open.is_empty() {
            let bytes = Bytes::from(std::mem::take(&mut self.open));
            self.pieces.push_back(Piece {
                bytes,
                packet_end: true,
                messages: std::mem::take(&mut self.open_messages),
                defined: std::mem::take(&mut self.open_defined),
            });
        }
    }
}

#[derive(Debug)]
struct State {
    encoder: FrameEncoder,
    /// Scratch for the slots one message brings, kept for its allocation.
    defined: Vec<u16>,
    lanes: VecDeque<Lane>,
    /// Messages queued and not yet taken by the writer.
    messages: usize,
    /// Their bytes.
    bytes: usize,
    /// The writer found nothing to do and waits for `writer` to be notified.
    writer_idle: bool,
    /// No more messages are accepted: the connection is closing or down.
    closed: bool,
    /// The writer stops once the queue is empty.
    closing: bool,
}

/// Why a message was not queued.
#[derive(Debug)]
pub(crate) enum Refused {
    /// `capacity` messages are queued.
    Full,
    /// The connection is closing or down.
    Closed,
    /// The message cannot be encoded.
    Encode(EncodeError),
}

/// See the [module](self) documentation.
#[derive(Debug)]
pub(crate) struct SendQueue {
    state: Mutex<State>,
    capacity: usize,
    /// Wakes the writer.
    pub writer: Notify,
    /// Wakes senders that wait for room.
    room: Notify,
}

impl SendQueue {
    pub fn new(encoder: FrameEncoder, capacity: usize) -> SendQueue {
        SendQueue {
            state: Mutex::new(State {
                encoder,
                defined: Vec::new(),
                lanes: VecDeque::new(),
                messages: 0,
                bytes: 0,
                writer_idle: false,
                closed: false,
                closing: false,
            }),
            capacity: capacity.max(1),
            writer: Notify::new(),
            room: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update leaves the state consistent; a panic elsewhere does not matter.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encodes `message` into `lane` if there is room now (or whatever the queue holds
    /// when not `bounded`). Returns how many packets it took (more than one when
    /// fragmented).
    pub fn try_push(&self, lane: u64, message: &Message, bounded: bool) -> Result<usize, Refused> {
        let mut guard = self.lock();
        if guard.closed {
            return Err(Refused::Closed);
        }
        if bounded && !self.has_room(&guard) {
            return Err(Refused::Full);
        }
        let st = &mut *guard;
        let index = lane_index(&mut st.lanes, lane);
        let l = &mut st.lanes[index];
        if l.open.capacity() == 0 {
            l.open.reserve(OPEN_CAPACITY);
        }
        let mut frames = 1;
        let open_before = l.open.len();
        let added;
        st.defined.clear();
        match st.encoder.encode_parts(message, &mut l.open, &mut st.defined) {
            Ok(Encoded::InBuf) => {
                added = l.open.len() - open_before;
                l.open_messages += 1;
                l.open_defined.extend_from_slice(&st.defined);
                if l.open.len() >= OPEN_LIMIT {
                    l.seal();
                }
            }
            Ok(Encoded::Split { binary }) => {
                added = l.open.len() - open_before + binary.len();
                // [open] [binary]: the open buffer ends inside this message's packet, which
                // the binary ends.
                let messages = std::mem::take(&mut l.open_messages);
                let mut defined = std::mem::take(&mut l.open_defined);
                defined.extend_from_slice(&st.defined);
                let head = Bytes::from(std::mem::take(&mut l.open));
                // The messages before this one end in the head piece.
                l.pieces.push_back(Piece {
                    bytes: head,
                    packet_end: false,
                    messages,
                    defined,
                });
                l.pieces.push_back(Piece {
                    bytes: binary,
                    packet_end: true,
                    messages: 1,
                    defined: Vec::new(),
                });
            }
            Ok(Encoded::Packets(packets)) => {
                frames = packets.len();
                added = packets.iter().map(Bytes::len).sum();
                l.seal();
                let last = packets.len().saturating_sub(1);
                for (i, bytes) in packets.into_iter().enumerate() {
                    l.pieces.push_back(Piece {
                        bytes,
                        packet_end: true,
                        messages: usize::from(i == last),
                        defined: Vec::new(),
                    });
                }
            }
            Err(e) => {
                if l.is_empty() {
                    st.lanes.remove(index);
                }
                return Err(Refused::Encode(e));
            }
        }
        st.messages += 1;
        st.bytes += added;
        let wake = Self::writer_waits(st);
        drop(guard);
        if wake {
            self.writer.notify_one();
        }
        Ok(frames)
    }

    /// Queues packets that are already encoded, as one message of `lane`.
    pub fn try_push_packets(&self, lane: u64, packets: &mut Vec<Bytes>) -> Result<(), Refused> {
        let mut guard = self.lock();
        if guard.closed {
            return Err(Refused::Closed);
        }
        if packets.is_empty() {
            return Ok(());
        }
        // The same bound as for any other message: count and bytes.
        if !self.has_room(&guard) {
            return Err(Refused::Full);
        }
        let st = &mut *guard;
        let index = lane_index(&mut st.lanes, lane);
        let l = &mut st.lanes[index];
        l.seal();
        st.bytes += packets.iter().map(Bytes::len).sum::<usize>();
        let last = packets.len().saturating_sub(1);
        for (i, bytes) in packets.drain(..).enumerate() {
            l.pieces.push_back(Piece {
                bytes,
                packet_end: true,
                messages: usize::from(i == last),
                defined: Vec::new(),
            });
        }
        st.messages += 1;
        let wake = Self::writer_waits(st);
        drop(guard);
        if wake {
            self.writer.notify_one();
        }
        Ok(())
    }

    /// Whether the writer waits for work; if so it is marked busy, and the caller
    /// notifies it once the lock is released (a writer woken while the lock is still
    /// held would only block on it).
    fn writer_waits(st: &mut State) -> bool {
        std::mem::replace(&mut st.writer_idle, false)
    }

    /// Whether a bounded push may queue a message now.
    fn has_room(&self, st: &State) -> bool {
        st.messages < self.capacity && (st.bytes < MAX_QUEUED_BYTES || st.messages == 0)
    }

    /// Waits until a message may be queued (or the queue is closed).
    pub async fn room(&self) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.lock();
                if st.closed || self.has_room(&st) {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Waits until fewer than `limit` messages are queued (or the queue is closed).
    pub async fn below(&self, limit: usize) {
        loop {
            let notified = self.room.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let st = self.lock();
                if st.closed || st.messages < limit {
                    return;
                }
            }
            notified.await;
        }
    }

    /// Bytes queued and not yet taken by the writer.
    #[cfg(test)]
    pub fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Messages queued and not yet taken by the writer.
    pub fn len(&self) -> usize {
        self.lock().messages
    }

    /// No more messages; the writer writes what is queued, then stops.
    pub fn close(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.closing = true;
        st.writer_idle = false;
        drop(st);
        self.writer.notify_one();
        self.room.notify_waiters();
    }

    /// The connection is down: refuse everything from now on, wake every sender.
    pub fn shut(&self) {
        let mut st = self.lock();
        st.closed = true;
        st.lanes.clear();
        st.messages = 0;
        st.bytes = 0;
        drop(st);
        self.room.notify_waiters();
    }

    /// Takes up to `max_bytes` (at least one piece) or `max_pieces` pieces for the writer,
    /// lanes in turn, one packet per turn. Returns the number of messages whose last
    /// byte is among them. An empty batch with `Ok` means the writer should wait for
    /// `writer` (marked idle); `Err(())` means it should stop (closing, and everything
    /// was written).
    pub fn take(
        &self,
        batch: &mut VecDeque<Bytes>,
        max_bytes: usize,
        max_pieces: usize,
    ) -> Result<usize, ()> {
        let mut st = self.lock();
        let mut bytes = 0;
        let mut messages = 0;
        while bytes < max_bytes && batch.len() < max_pieces {
            let Some(mut lane) = st.lanes.pop_front() else {
                break;
            };
            lane.seal();
            // One packet: pieces up to the next packet end.
            while let Some(p) = lane.pieces.pop_front() {
                if !p.defined.is_empty() {
                    // Written before anything taken later: later frames may refer to them.
                    st.encoder.confirm(&p.defined);
                }
                bytes += p.bytes.len();
                messages += p.messages;
                let end = p.packet_end;
                batch.push_back(p.bytes);
                if end {
                    break;
                }
            }
            if !lane.is_empty() {
                st.lanes.push_back(lane);
            }
        }
        if batch.is_empty() {
            if st.closing {
                return Err(());
            }
            st.writer_idle = true;
            return Ok(0);
        }
        st.messages = st.messages.saturating_sub(messages);
        st.bytes = st.bytes.saturating_sub(bytes);
        drop(st);
        // Senders wait for room, or for the queue to get below their own limit.
        if messages > 0 || bytes > 0 {
            self.room.notify_waiters();
        }
        Ok(messages)
    }
}

/// The index of `key`'s lane, created at the back when there is none. The lane used
/// last is usually the last one, so the search starts there.
fn lane_index(lanes: &mut VecDeque<Lane>, key: u64) -> usize {
    if let Some(i) = lanes.iter().rposition(|l| l.key == key) {
        return i;
    }
    lanes.push_back(Lane {
        key,
        pieces: VecDeque::new(),
        open: Vec::new(),
        open_messages: 0,
        open_defined: Vec::new(),
    });
    lanes.len() - 1
}
