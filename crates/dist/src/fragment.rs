//! Reassembly of fragmented messages (distribution headers 69 and 70).
//!
//! A fragmented message starts with a header 69 that carries its sequence id, the number
//! of fragments (the fragment id, counting down to 1) and the atom-cache references for the
//! whole message; each following fragment (header 70) names the sequence id and the next
//! lower fragment id. Fragments of different messages may interleave; within one message
//! they arrive in order.
//!
//! Every byte kept here came from the peer: the sizes are checked against
//! [`FrameLimits`] before anything is allocated, so a peer can make this hold at most
//! `max_buffered_bytes` (counted as the capacity of the buffers, not just their bytes).

use crate::frame_codec::{FrameError, FrameLimits};
use beamlink_term::Atom;
use bytes::Bytes;
use std::collections::HashMap;

/// The largest buffer allocated for a message before its bytes arrive.
const INITIAL_CAPACITY_CAP: usize = 1 << 20;

/// A message that is not complete yet.
struct Partial {
    /// The fragment id the next fragment must have.
    next_fragment: u64,
    /// The atom-cache table of the first fragment's header.
    refs: Vec<Option<Atom>>,
    /// The bytes so far. Its capacity is what counts against the limits.
    data: Vec<u8>,
}

/// The fragmented messages in flight on one connection, keyed by sequence id.
pub(crate) struct Reassembly {
    partial: HashMap<u64, Partial>,
    /// The capacity of every buffer in `partial`, together.
    buffered: usize,
}

/// A message whose last fragment arrived: the atom-cache table and the bytes of the
/// control message and payload.
pub(crate) type Complete = (Vec<Option<Atom>>, Bytes);

impl Reassembly {
    pub(crate) fn new() -> Reassembly {
        Reassembly {
            partial: HashMap::new(),
            buffered: 0,
        }
    }

    /// How many messages are incomplete.
    pub(crate) fn in_flight(&self) -> usize {
        self.partial.len()
    }

    /// The first fragment (header 69) of sequence `seq`, which announces `fragments`
    /// fragments in all. Returns the message when it has only this one.
    pub(crate) fn start(
        &mut self,
        limits: &FrameLimits,
        seq: u64,
        fragments: u64,
        refs: Vec<Option<Atom>>,
        data: Bytes,
    ) -> Result<Option<Complete>, FrameError> {
        if fragments == 0 {
            return Err(FrameError::FragmentIdZero { sequence: seq });
        }
        if self.partial.contains_key(&seq) {
            return Err(FrameError::SequenceRestarted { sequence: seq });
        }
        if data.len() > limits.max_message_size {
            return Err(FrameError::MessageTooLarge {
                size: data.len(),
                limit: limits.max_message_size,
            });
        }
        if fragments == 1 {
            return Ok(Some((refs, data)));
        }
        if self.partial.len() >= limits.max_fragmented_in_flight {
            return Err(FrameError::TooManyInFlight {
                limit: limits.max_fragmented_in_flight,
            });
        }
        // Room for the whole message as announced, within bounds: the announcement comes
        // from the peer, so it only guides the first allocation, and only as far as the
        // budget allows.
        let announced = data
            .len()
            .saturating_mul(usize::try_from(fragments).unwrap_or(usize::MAX));
        let budget = limits.max_buffered_bytes.saturating_sub(self.buffered);
        let capacity = announced
            .min(limits.max_message_size)
            .min(budget)
            .min(INITIAL_CAPACITY_CAP)
            .max(data.len());
        self.account(limits, capacity)?;
        let mut buf = Vec::with_capacity(capacity);
        buf.extend_from_slice(&data);
        self.partial.insert(
            seq,
            Partial {
                next_fragment: fragments - 1,
                refs,
                data: buf,
            },
        );
        Ok(None)
    }

    /// A following fragment (header 70). Returns the message when this was its last one.
    pub(crate) fn next(
        &mut self,
        limits: &FrameLimits,
        seq: u64,
        fragment: u64,
        data: &[u8],
    ) -> Result<Option<Complete>, FrameError> {
        let Some(p) = self.partial.get_mut(&seq) else {
            return Err(FrameError::UnknownSequence {
                sequence: seq,
                fragment,
            });
        };
        if fragment != p.next_fragment {
            return Err(FrameError::FragmentOutOfOrder {
                sequence: seq,
                expected: p.next_fragment,
                got: fragment,
            });
        }
        let size = p.data.len().saturating_add(data.len());
        if size > limits.max_message_size {
            return Err(FrameError::MessageTooLarge {
                size,
                limit: limits.max_message_size,
            });
        }
        let capacity = p.data.capacity();
        if size > capacity {
            // Grow by doubling, within the message limit, and count the growth before
            // allocating it.
            let new_capacity = capacity.saturating_mul(2).min(limits.max_message_size).max(size);
            let total = self.buffered.saturating_add(new_capacity - capacity);
            if total > limits.max_buffered_bytes {
                return Err(FrameError::TooMuchBuffered {
                    size: total,
                    limit: limits.max_buffered_bytes,
                });
            }
            p.data.reserve_exact(new_capacity - p.data.len());
            self.buffered = total - new_capacity + p.data.capacity();
        }
        p.data.extend_from_slice(data);
        p.next_fragment = fragment - 1;
        if fragment > 1 {
            return Ok(None);
        }
        match self.partial.remove(&seq) {
            Some(p) => {
                self.buffered -= p.data.capacity();
                Ok(Some((p.refs, Bytes::from(p.data))))
            }
            None => Err(FrameError::UnknownSequence {
                sequence: seq,
                fragment,
            }),
        }
    }

    fn account(&mut self, limits: &FrameLimits, n: usize) -> Result<(), FrameError> {
        let total = self.buffered.saturating_add(n);
        if total > limits.max_buffered_bytes {
            return Err(FrameError::TooMuchBuffered {
                size: total,
                limit: limits.max_buffered_bytes,
            });
        }
        self.buffered = total;
        Ok(())
    }
}
