//! The atom cache of what we send: the control messages of ordinary sends refer to their
//! atoms (node names, registered names) through the distribution header's atom-cache
//! references, as a BEAM does, so the peer finds them in its cache instead of looking
//! their text up for every message.
//!
//! The peer updates its cache in the order the frames arrive, while we encode a message
//! when it is queued, and the writer may take lanes in another order. So a slot is only
//! referred to (without its text) once the message that brought it into the peer's
//! cache has been taken by the writer ([`OutCache::confirm`]); until then every message
//! that uses it brings it again (a new entry with the same atom, which is harmless). A
//! slot, once given an atom, keeps it: an atom whose slot holds another one is written
//! as text. Fragmented messages never touch the cache.

use beamlink_term::{Atom, Pid, Reference};

use crate::control::{op, ControlMessage};
use crate::header::{write_atom_cache_refs, AtomCacheRef, ATOM_CACHE_SIZE, MAX_ATOM_CACHE_REFS};

const SMALL_TUPLE_EXT: u8 = 104;
const SMALL_INTEGER_EXT: u8 = 97;
const ATOM_CACHE_REF: u8 = 82;
const NEW_PID_EXT: u8 = 88;
const NEWER_REFERENCE_EXT: u8 = 90;

#[derive(Debug, Clone)]
struct Slot {
    atom: Atom,
    /// The peer has it: a frame that brings it was taken by the writer.
    confirmed: bool,
}

/// See the [module](self) documentation.
#[derive(Debug)]
pub(crate) struct OutCache {
    slots: Vec<Option<Slot>>,
    /// `''`, the unused field of `SEND` and `REG_SEND`.
    empty: Atom,
}

impl OutCache {
    pub fn new() -> OutCache {
        OutCache {
            slots: vec![None; ATOM_CACHE_SIZE],
            empty: Atom::new(""),
        }
    }

    /// The peer has the slots a frame taken by the writer brought.
    pub fn confirm(&mut self, slots: &[u16]) {
        for &s in slots {
            if let Some(slot) = self.slots.get_mut(usize::from(s)).and_then(Option::as_mut) {
                slot.confirmed = true;
            }
        }
    }

    fn slot_for(&mut self, atom: &Atom) -> Option<(u16, bool)> {
        let text = atom.as_str();
        if text.len() > 255 {
            return None;
        }
        // Atoms are interned: the address of the text picks the slot (any fixed
        // choice works, the peer stores what we say). Fibonacci hashing to 11 bits.
        let addr = text.as_ptr() as usize as u64;
        let i = (addr.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 53) as usize % ATOM_CACHE_SIZE;
        match &mut self.slots[i] {
            Some(s) if s.atom == *atom => Some((i as u16, !s.confirmed)),
            Some(_) => None,
            empty @ None => {
                *empty = Some(Slot {
                    atom: atom.clone(),
                    confirmed: false,
                });
                Some((i as u16, true))
            }
        }
    }

    /// For `SEND`, `REG_SEND`, `SEND_SENDER` and `ALIAS_SEND`: appends the header's
    /// atom-cache part and the control message that refers to it, and pushes the slots
    /// that this frame brings to `defined`. Returns `false` (appending nothing) for any
    /// other control message, which is then written with no references.
    pub fn encode_send_control(
        &mut self,
        control: &ControlMessage,
        out: &mut Vec<u8>,
        defined: &mut Vec<u16>,
    ) -> bool {
        use ControlMessage as C;
        let empty = self.empty.clone();
        let (arity, operation, atoms): (u8, u8, [Option<&Atom>; 4]) = match control {
            C::Send { to } => (3, op::SEND, [Some(&empty), Some(&to.node), None, None]),
            C::RegSend { from, to_name } => (
                4,
                op::REG_SEND,
                [Some(&from.node), Some(&empty), Some(to_name), None],
            ),
            C::SendSender { from, to } => {
                (3, op::SEND_SENDER, [Some(&from.node), Some(&to.node), None, None])
            }
            C::AliasSend { from, alias } if (1..=5).contains(&alias.id.len()) => (
                3,
                op::ALIAS_SEND,
                [Some(&from.node), Some(&alias.node), None, None],
            ),
            _ => return false,
        };
        if atoms.iter().flatten().any(|a| a.as_str().len() > 255) {
            return false;
        }
        // Distinct atoms get one reference each; `index[i]` is the reference of the
        // message's atom `i` (`usize::MAX`: written as text).
        let mut index = [usize::MAX; 4];
        let mut header = [AtomCacheRef {
            slot: 0,
            new_atom: None,
        }; 4];
        let mut n = 0;
        let mut any_new = false;
        for i in 0..4 {
            let Some(a) = atoms[i] else { continue };
            if let Some(j) = (0..i).find(|&j| atoms[j] == Some(a)) {
                index[i] = index[j];
                continue;
            }
            if let Some((slot, new)) = self.slot_for(a) {
                index[i] = n;
                header[n] = AtomCacheRef {
                    slot,
                    new_atom: new.then_some(a),
                };
                any_new |= new;
                n += 1;
            }
        }
        let header = &header[..n];
        debug_assert!(n <= MAX_ATOM_CACHE_REFS);
        if any_new {
            if write_atom_cache_refs(header, out).is_err() {
                return false;
            }
            for r in header {
                if r.new_atom.is_some() {
                    defined.push(r.slot);
                }
            }
        } else {
            // The common case, every atom already with the peer: the count, one flag
            // nibble per reference (its segment), a last nibble 0 (no new entry, no long
            // atoms), then each reference's index within its segment.
            out.push(n as u8);
            if n > 0 {
                let flags_at = out.len();
                out.resize(flags_at + n / 2 + 1, 0);
                for (k, r) in header.iter().enumerate() {
                    let segment = (r.slot / 256) as u8;
                    out[flags_at + k / 2] |= if k % 2 == 0 { segment } else { segment << 4 };
                }
                out.extend(header.iter().map(|r| (r.slot % 256) as u8));
            }
        }
        let atom = |i: usize, out: &mut Vec<u8>| match index[i] {
            usize::MAX => write_text_atom(atoms[i].unwrap_or(&empty), out),
            k => out.extend_from_slice(&[ATOM_CACHE_REF, k as u8]),
        };
        let pid = |p: &Pid, i: usize, out: &mut Vec<u8>| {
            out.push(NEW_PID_EXT);
            atom(i, out);
            out.extend_from_slice(&p.id.to_be_bytes());
            out.extend_from_slice(&p.serial.to_be_bytes());
            out.extend_from_slice(&p.creation.to_be_bytes());
        };
        out.extend_from_slice(&[SMALL_TUPLE_EXT, arity, SMALL_INTEGER_EXT, operation]);
        match control {
            C::Send { to } => {
                atom(0, out);
                pid(to, 1, out);
            }
            C::RegSend { from, .. } => {
                pid(from, 0, out);
                atom(1, out);
                atom(2, out);
            }
            C::SendSender { from, to } => {
                pid(from, 0, out);
                pid(to, 1, out);
            }
            C::AliasSend { from, alias } => {
                pid(from, 0, out);
                reference(alias, |out| atom(1, out), out);
            }
            _ => {}
        }
        true
    }
}

fn write_text_atom(a: &Atom, out: &mut Vec<u8>) {
    // Only atoms of at most 255 bytes reach here: messages with longer ones are left to
    // the general encoder.
    let s = a.as_str().as_bytes();
    out.push(119); // SMALL_ATOM_UTF8_EXT
    out.push(s.len() as u8);
    out.extend_from_slice(s);
}

fn reference(r: &Reference, node: impl FnOnce(&mut Vec<u8>), out: &mut Vec<u8>) {
    out.push(NEWER_REFERENCE_EXT);
    out.extend_from_slice(&(r.id.len() as u16).to_be_bytes());
    node(out);
    out.extend_from_slice(&r.creation.to_be_bytes());
    for w in &r.id {
        out.extend_from_slice(&w.to_be_bytes());
    }
}
