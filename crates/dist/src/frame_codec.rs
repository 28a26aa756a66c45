//! Frames to [`Message`]s and back, without I/O.
//!
//! A frame is the content of one packet after its 4-byte length. [`FrameDecoder`] reads
//! the three forms a peer sends: pass-through (`112`, then the control term and the
//! payload each with their own version byte 131), a distribution header (`131, 68`) with
//! its atom-cache references, and fragments (`131, 69` first, `131, 70` following), which
//! it reassembles. [`FrameEncoder`] writes complete packets, length included, and splits
//! large messages into fragments when the peer accepts them.

use crate::control::{ControlError, ControlMessage};
use crate::fragment::Reassembly;
use crate::header::{
    read_atom_cache_refs, AtomCache, HeaderError, DIST_FRAG_CONT, DIST_FRAG_HEADER, DIST_HEADER,
    PASS_THROUGH, VERSION_MAGIC,
};
use crate::message::Message;
use crate::out_cache::OutCache;
use beamlink_term::etf::{encode_body_to, DecodeError, DecodeLimits, Decoder};
use beamlink_term::{Atom, Pid, Term};
use bytes::Bytes;

/// `DFLAG_DIST_HDR_ATOM_CACHE`: the peer reads distribution headers (131, 68).
const DFLAG_DIST_HDR_ATOM_CACHE: u64 = 0x2000;
/// `DFLAG_FRAGMENTS`: the peer reassembles fragmented messages (131, 69 / 70).
const DFLAG_FRAGMENTS: u64 = 0x80_0000;

/// Bytes of a fragment header: 131, 69 or 70, sequence id, fragment id.
const FRAGMENT_HEADER_LEN: usize = 18;

/// What a peer may make [`FrameDecoder`] hold. Breaking a limit is a [`FrameError`], after
/// which the connection is closed.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// Largest message (control message and payload, reassembled), in bytes.
    pub max_message_size: usize,
    /// Most fragmented messages that may be incomplete at once.
    pub max_fragmented_in_flight: usize,
    /// Most bytes all incomplete fragmented messages may hold together.
    pub max_buffered_bytes: usize,
    /// Limits for decoding the terms themselves (nesting depth, compressed size).
    pub decode: DecodeLimits,
}

impl Default for FrameLimits {
    /// 128 MiB per message, 1024 fragmented messages and 256 MiB in flight: far above what
    /// ordinary traffic needs, small enough that a hostile peer cannot exhaust memory.
    fn default() -> Self {
        FrameLimits {
            max_message_size: 128 << 20,
            max_fragmented_in_flight: 1024,
            max_buffered_bytes: 256 << 20,
            decode: DecodeLimits::default(),
        }
    }
}

/// A frame the peer should not have sent. The message says what the peer did; the
/// connection reports it and disconnects, as the BEAM does with a malformed message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// A zero-length frame reached the decoder (ticks are the connection's business).
    #[error("the peer sent an empty frame outside a tick")]
    Empty,
    /// The first bytes name no frame kind this protocol has.
    #[error("the peer sent a frame starting with {0:?}: neither pass-through (112) nor a distribution header (131 then 68, 69 or 70)")]
    UnknownFrameType(Vec<u8>),
    /// The frame ends before its header does.
    #[error("the peer sent a frame that ends inside its {0}")]
    Truncated(&'static str),
    /// The atom-cache part of a distribution header is malformed.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// A first fragment announced zero fragments.
    #[error(
        "the peer sent a fragmented message (sequence {sequence}) with fragment id 0; ids count down to 1"
    )]
    FragmentIdZero { sequence: u64 },
    /// A first fragment for a sequence id that is still incomplete.
    #[error("the peer started fragmented message sequence {sequence} again before finishing it")]
    SequenceRestarted { sequence: u64 },
    /// A following fragment for a sequence id that was never started.
    #[error("the peer sent fragment {fragment} of sequence {sequence}, which it never started")]
    UnknownSequence { sequence: u64, fragment: u64 },
    /// A following fragment with the wrong fragment id.
    #[error("the peer sent fragment {got} of sequence {sequence} where fragment {expected} was due")]
    FragmentOutOfOrder { sequence: u64, expected: u64, got: u64 },
    /// A message over [`FrameLimits::max_message_size`].
    #[error(
        "the peer sent a message of {size} bytes, over the limit of {limit} (FrameLimits::max_message_size)"
    )]
    MessageTooLarge { size: usize, limit: usize },
    /// More incomplete messages than [`FrameLimits::max_fragmented_in_flight`].
    #[error("the peer has more than {limit} fragmented messages in flight (FrameLimits::max_fragmented_in_flight)")]
    TooManyInFlight { limit: usize },
    /// Incomplete messages over [`FrameLimits::max_buffered_bytes`] together.
    #[error("the peer's incomplete fragmented messages hold {size} bytes, over the limit of {limit} (FrameLimits::max_buffered_bytes)")]
    TooMuchBuffered { size: usize, limit: usize },
    /// The control message or payload is not a valid external term.
    #[error("the peer sent a {what} that is not a valid external term: {source}")]
    Term { what: &'static str, source: DecodeError },
    /// The control term is not a control message (unknown operation, wrong fields).
    #[error(transparent)]
    Control(#[from] ControlError),
    /// A control message that needs a payload came without one.
    #[error("the peer sent {0} without the payload term that must follow it")]
    MissingPayload(&'static str),
    /// Bytes left over after the last term of the message.
    #[error("the peer sent {name} followed by {count} bytes that belong to no term")]
    TrailingBytes { name: &'static str, count: usize },
}

fn term_error(what: &'static str) -> impl FnOnce(DecodeError) -> FrameError {
    move |source| FrameError::Term { what, source }
}

/// Turns incoming frames into messages. One per connection: it holds the peer's atom
/// cache and the fragmented messages in flight.
pub struct FrameDecoder {
    limits: FrameLimits,
    cache: AtomCache,
    reassembly: Reassembly,
    /// The atom-cache table of the current frame, kept to reuse its allocation.
    refs: Vec<Option<Atom>>,
}

impl FrameDecoder {
    /// A decoder with an empty atom cache.
    pub fn new(limits: FrameLimits) -> FrameDecoder {
        FrameDecoder {
            limits,
            cache: AtomCache::new(),
            reassembly: Reassembly::new(),
            refs: Vec::new(),
        }
    }

    /// The peer's atom cache as the headers so far have filled it.
    pub fn atom_cache(&self) -> &AtomCache {
        &self.cache
    }

    /// How many fragmented messages are incomplete.
    pub fn fragmented_in_flight(&self) -> usize {
        self.reassembly.in_flight()
    }

    /// Decodes one frame: the bytes of a packet after its length (never a tick). Returns
    /// `None` for a fragment that does not complete its message. Binaries in the decoded
    /// terms share `frame`'s memory. After an error the connection must be closed: the
    /// atom cache or the reassembly may be in a state the peer did not intend.
    pub fn decode(&mut self, frame: Bytes) -> Result<Option<Message>, FrameError> {
        let limits = self.limits;
        match (frame.first().copied(), frame.get(1).copied()) {
            (None, _) => Err(FrameError::Empty),
            (Some(PASS_THROUGH), _) => {
                check_size(frame.len() - 1, &limits)?;
                decode_body(frame.slice(1..), &[], &limits, true).map(Some)
            }
            (Some(VERSION_MAGIC), Some(DIST_HEADER)) => {
                let mut refs = std::mem::take(&mut self.refs);
                refs.clear();
                let used = read_atom_cache_refs(&frame[2..], &mut self.cache, &mut refs)?;
                let body = frame.slice(2 + used..);
                let result =
                    check_size(body.len(), &limits).and_then(|()| decode_body(body, &refs, &limits, false));
                self.refs = refs;
                result.map(Some)
            }
            (Some(VERSION_MAGIC), Some(DIST_FRAG_HEADER)) => {
                let (seq, fragment) = fragment_ids(&frame)?;
                let mut refs = Vec::new();
                let used = read_atom_cache_refs(&frame[FRAGMENT_HEADER_LEN..], &mut self.cache, &mut refs)?;
                let data = frame.slice(FRAGMENT_HEADER_LEN + used..);
                match self.reassembly.start(&limits, seq, fragment, refs, data)? {
                    Some((refs, body)) => decode_body(body, &refs, &limits, false).map(Some),
                    None => Ok(None),
                }
            }
            (Some(VERSION_MAGIC), Some(DIST_FRAG_CONT)) => {
                let (seq, fragment) = fragment_ids(&frame)?;
                match self
                    .reassembly
                    .next(&limits, seq, fragment, &frame[FRAGMENT_HEADER_LEN..])?
                {
                    Some((refs, body)) => decode_body(body, &refs, &limits, false).map(Some),
                    None => Ok(None),
                }
            }
            _ => Err(FrameError::UnknownFrameType(frame[..frame.len().min(2)].to_vec())),
        }
    }
}

fn check_size(size: usize, limits: &FrameLimits) -> Result<(), FrameError> {
    if size > limits.max_message_size {
        return Err(FrameError::MessageTooLarge {
            size,
            limit: limits.max_message_size,
        });
    }
    Ok(())
}

/// Sequence id and fragment id of a fragment header.
fn fragment_ids(frame: &[u8]) -> Result<(u64, u64), FrameError> {
    let h = frame
        .get(2..FRAGMENT_HEADER_LEN)
        .ok_or(FrameError::Truncated("fragment header"))?;
    let mut seq = [0u8; 8];
    let mut frag = [0u8; 8];
    seq.copy_from_slice(&h[..8]);
    frag.copy_from_slice(&h[8..]);
    Ok((u64::from_be_bytes(seq), u64::from_be_bytes(frag)))
}

/// The control message and payload of one whole message. `versioned`: each term starts
/// with 131 (pass-through) rather than following a distribution header.
fn decode_body(
    body: Bytes,
    refs: &[Option<Atom>],
    limits: &FrameLimits,
    versioned: bool,
) -> Result<Message, FrameError> {
    let next = |d: &mut Decoder<'_>| if versioned { d.term() } else { d.term_body() };
    let (control, mut d) = match send_control(&body, refs, limits, versioned) {
        Some(fast) => fast,
        None => {
            let mut d = Decoder::new(body)
                .with_limits(limits.decode)
                .with_atom_cache(refs);
            let control = ControlMessage::from_term(next(&mut d).map_err(term_error("control message"))?)?;
            (control, d)
        }
    };
    let name = control.name();
    let payload = if control.has_payload() {
        if d.remaining() == 0 {
            return Err(FrameError::MissingPayload(name));
        }
        Some(next(&mut d).map_err(term_error("payload"))?)
    } else {
        None
    };
    if d.remaining() != 0 {
        return Err(FrameError::TrailingBytes {
            name,
            count: d.remaining(),
        });
    }
    Ok(Message { control, payload })
}

/// The control messages of ordinary sends (`SEND`, `REG_SEND`, `SEND_SENDER`,
/// `ALIAS_SEND`), read field by field without building the control tuple first: most
/// messages are these. Returns the decoder positioned after the control message, or
/// `None` for anything else or anything unusual, which the general path then decodes
/// (and reports) as usual.
fn send_control<'a>(
    body: &Bytes,
    refs: &'a [Option<Atom>],
    limits: &FrameLimits,
    versioned: bool,
) -> Option<(ControlMessage, Decoder<'a>)> {
    use crate::control::op;
    const SMALL_TUPLE_EXT: u8 = 104;
    const SMALL_INTEGER_EXT: u8 = 97;
    let start = usize::from(versioned);
    if versioned && body.first() != Some(&VERSION_MAGIC) {
        return None;
    }
    let head = body.get(start..start + 4)?;
    if head[0] != SMALL_TUPLE_EXT || head[2] != SMALL_INTEGER_EXT {
        return None;
    }
    let (arity, operation) = (head[1], head[3]);
    let mut f = Fields {
        body,
        pos: start + 4,
        refs,
        limits,
    };
    let control = match (operation, arity) {
        (op::SEND, 3) => {
            f.unused()?;
            ControlMessage::Send { to: f.pid()? }
        }
        (op::REG_SEND, 4) => {
            let from = f.pid()?;
            f.unused()?;
            ControlMessage::RegSend {
                from,
                to_name: f.atom()?,
            }
        }
        (op::SEND_SENDER, 3) => ControlMessage::SendSender {
            from: f.pid()?,
            to: f.pid()?,
        },
        (op::ALIAS_SEND, 3) => {
            let from = f.pid()?;
            match f.general()? {
                Term::Reference(alias) => ControlMessage::AliasSend { from, alias: *alias },
                _ => return None,
            }
        }
        _ => return None,
    };
    let d = Decoder::new(body.slice(f.pos..))
        .with_limits(limits.decode)
        .with_atom_cache(refs);
    Some((control, d))
}

/// The fields of a send control message, read in place: atoms that are atom-cache
/// references (what a BEAM, and beamlink, send) and pids whose node is one are taken
/// from the header's table directly; anything else goes through the term decoder.
struct Fields<'b, 'a> {
    body: &'b Bytes,
    pos: usize,
    refs: &'a [Option<Atom>],
    limits: &'b FrameLimits,
}

impl Fields<'_, '_> {
    const ATOM_CACHE_REF: u8 = 82;
    const NEW_PID_EXT: u8 = 88;
    const SMALL_ATOM_UTF8_EXT: u8 = 119;

    /// The atom-cache reference at `at`, if that is what is there.
    fn cached_atom(&self, at: usize) -> Option<Atom> {
        match self.body.get(at..at + 2)? {
            [Self::ATOM_CACHE_REF, i] => self.refs.get(usize::from(*i))?.clone(),
            _ => None,
        }
    }

    /// The next field through the term decoder.
    fn general(&mut self) -> Option<Term> {
        let mut d = Decoder::new(self.body.slice(self.pos..))
            .with_limits(self.limits.decode)
            .with_atom_cache(self.refs);
        let t = d.term_body().ok()?;
        self.pos += d.position();
        Some(t)
    }

    fn atom(&mut self) -> Option<Atom> {
        if let Some(a) = self.cached_atom(self.pos) {
            self.pos += 2;
            return Some(a);
        }
        match self.general()? {
            Term::Atom(a) => Some(a),
            _ => None,
        }
    }

    /// The field the protocol leaves unused (`''`): skipped.
    fn unused(&mut self) -> Option<()> {
        match self.body.get(self.pos..self.pos + 2)? {
            [Self::SMALL_ATOM_UTF8_EXT, 0] => {}
            // A reference must still name an entry the header has.
            [Self::ATOM_CACHE_REF, _] => {
                self.cached_atom(self.pos)?;
            }
            _ => return self.general().map(|_| ()),
        }
        self.pos += 2;
        Some(())
    }

    fn pid(&mut self) -> Option<Pid> {
        if self.body.get(self.pos) == Some(&Self::NEW_PID_EXT) {
            if let Some(node) = self.cached_atom(self.pos + 1) {
                let at = self.pos + 3;
                let w = self.body.get(at..at + 12)?;
                let word = |i: usize| u32::from_be_bytes([w[i], w[i + 1], w[i + 2], w[i + 3]]);
                self.pos = at + 12;
                return Some(Pid {
                    node,
                    id: word(0),
                    serial: word(4),
                    creation: word(8),
                });
            }
        }
        match self.general()? {
            Term::Pid(p) => Some(p),
            _ => None,
        }
    }
}

/// A message this node cannot send.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EncodeError {
    /// The control message or payload is not a valid external term.
    #[error(transparent)]
    Term(#[from] beamlink_term::etf::EncodeError),
    /// A control message that needs a payload came without one.
    #[error("{name} must be sent with a payload term")]
    MissingPayload { name: &'static str },
    /// A payload for a control message that has none.
    #[error("{name} carries no payload, but one was given")]
    UnexpectedPayload { name: &'static str },
    /// A message too large for one packet, for a peer without fragments.
    #[error(
        "a message of {size} bytes does not fit in one packet (4 GiB) and the peer does not accept fragments"
    )]
    TooLarge { size: usize },
}

/// Binaries of at least this many bytes are not copied into the packet by
/// [`FrameEncoder::encode_parts`]: they go out as their own buffer of a vectored write.
pub const ZERO_COPY_MIN: usize = 4096;

/// `BINARY_EXT`.
const BINARY_EXT: u8 = 109;

/// How [`FrameEncoder::encode_parts`] encoded a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoded {
    /// One complete packet, appended to the buffer.
    InBuf,
    /// One packet made of the buffer's bytes from where they were appended, then
    /// `binary`, which ends the packet (the payload is the last term of a frame).
    Split {
        /// The payload binary, shared, not copied.
        binary: Bytes,
    },
    /// Fragments, each a complete packet, to be written in order.
    Packets(Vec<Bytes>),
}

/// Turns messages into packets for one peer. One per connection: it numbers the
/// fragmented messages it sends.
#[derive(Debug)]
pub struct FrameEncoder {
    header: bool,
    fragments: bool,
    fragment_size: usize,
    next_sequence: u64,
    /// Atoms of send control messages go through the peer's atom cache.
    cache: Option<Box<OutCache>>,
}

impl FrameEncoder {
    /// An encoder for a connection whose handshake agreed on `peer_flags`: the flags both
    /// sides announced (ours AND the peer's), since the BEAM expects a distribution header
    /// only when both sides have `DFLAG_DIST_HDR_ATOM_CACHE`, and pass-through otherwise.
    /// Messages whose
    /// control message and payload take more than `fragment_size` bytes are split into
    /// fragments of that many bytes when the peer has `DFLAG_FRAGMENTS` (`0` never
    /// splits). Without fragments, messages use a distribution header with no atom-cache
    /// references when the peer has `DFLAG_DIST_HDR_ATOM_CACHE`, pass-through otherwise.
    pub fn new(peer_flags: u64, fragment_size: usize) -> FrameEncoder {
        let header = peer_flags & DFLAG_DIST_HDR_ATOM_CACHE != 0;
        FrameEncoder {
            header,
            fragments: header && peer_flags & DFLAG_FRAGMENTS != 0 && fragment_size > 0,
            fragment_size,
            next_sequence: 1,
            cache: None,
        }
    }

    /// Makes [`FrameEncoder::encode_parts`] write the atoms of send control messages
    /// (`SEND`, `REG_SEND`, `SEND_SENDER`, `ALIAS_SEND`) as atom-cache references, when
    /// the peer reads distribution headers: the peer then finds them in its cache
    /// instead of looking their text up for every message. The caller must report
    /// which packets went out with [`FrameEncoder::confirm`].
    pub fn with_atom_cache(mut self) -> FrameEncoder {
        if self.header {
            self.cache = Some(Box::new(OutCache::new()));
        }
        self
    }

    /// The packet that brought `slots` (from [`FrameEncoder::encode_parts`]) goes out
    /// before every packet encoded from now on: later messages may refer to them.
    pub fn confirm(&mut self, slots: &[u16]) {
        if let Some(c) = &mut self.cache {
            c.confirm(slots);
        }
    }

    /// Encodes `msg` into complete packets, each with its 4-byte length: one, or several
    /// fragments to be sent in order (other packets may go between them). The message is
    /// encoded once into one buffer; fragmenting copies it once more.
    pub fn encode(&mut self, msg: &Message) -> Result<Vec<Bytes>, EncodeError> {
        let name = msg.control.name();
        match (msg.control.has_payload(), &msg.payload) {
            (true, None) => return Err(EncodeError::MissingPayload { name }),
            (false, Some(_)) => return Err(EncodeError::UnexpectedPayload { name }),
            _ => {}
        }
        let hint = msg.payload.as_ref().map_or(0, size_hint);
        // Room for the fragment headers too, so that fragmenting in place does not grow it.
        let fragment_headers = if self.fragments {
            (hint / self.fragment_size + 2) * 22
        } else {
            0
        };
        let mut buf = Vec::with_capacity(256 + hint + fragment_headers);
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let body_start;
        let control_end;
        if self.header {
            buf.extend_from_slice(&[VERSION_MAGIC, DIST_HEADER, 0]);
            body_start = buf.len();
            msg.control.encode_body_to(&mut buf)?;
            control_end = buf.len();
            if let Some(p) = &msg.payload {
                encode_body_to(p, &mut buf)?;
            }
        } else {
            buf.extend_from_slice(&[PASS_THROUGH, VERSION_MAGIC]);
            body_start = buf.len();
            msg.control.encode_body_to(&mut buf)?;
            control_end = buf.len();
            if let Some(p) = &msg.payload {
                buf.push(VERSION_MAGIC);
                encode_body_to(p, &mut buf)?;
            }
        }
        if self.fragments && buf.len() - body_start > self.fragment_size {
            return Ok(self.fragment(buf, control_end - body_start));
        }
        let len = u32::try_from(buf.len() - 4).map_err(|_| EncodeError::TooLarge { size: buf.len() - 4 })?;
        buf[..4].copy_from_slice(&len.to_be_bytes());
        Ok(vec![Bytes::from(buf)])
    }

    /// Encodes `msg` for a send queue, appending to `buf` when it fits in one packet, so
    /// that many small messages share one buffer and cost no allocation each:
    ///
    /// * [`Encoded::InBuf`]: one complete packet appended to `buf`.
    /// * [`Encoded::Split`]: one packet whose payload is a large binary, which is not
    ///   copied: the packet is `buf[start..at]`, then the binary, then `buf[at..]`
    ///   (the length prefix at `start` counts the binary).
    /// * [`Encoded::Packets`]: fragments (nothing appended to `buf`).
    ///
    /// In every case the bytes are those [`FrameEncoder::encode`] produces. On an error
    /// `buf` is left as it was.
    ///
    /// With [`FrameEncoder::with_atom_cache`], the slots of the atom cache that this
    /// message brings to the peer are pushed to `defined`: pass them to
    /// [`FrameEncoder::confirm`] once the packet is on its way, before any packet encoded
    /// after that.
    pub fn encode_parts(
        &mut self,
        msg: &Message,
        buf: &mut Vec<u8>,
        defined: &mut Vec<u16>,
    ) -> Result<Encoded, EncodeError> {
        let name = msg.control.name();
        match (msg.control.has_payload(), &msg.payload) {
            (true, None) => return Err(EncodeError::MissingPayload { name }),
            (false, Some(_)) => return Err(EncodeError::UnexpectedPayload { name }),
            _ => {}
        }
        let hint = msg.payload.as_ref().map_or(0, size_hint);
        if self.fragments && hint > self.fragment_size {
            return self.encode(msg).map(Encoded::Packets);
        }
        let start = buf.len();
        let defined_before = defined.len();
        let result = self.encode_appended(msg, buf, start, defined);
        if !matches!(result, Ok(Encoded::InBuf | Encoded::Split { .. })) {
            defined.truncate(defined_before);
        }
        if result.is_err() {
            buf.truncate(start);
        }
        result
    }

    fn encode_appended(
        &mut self,
        msg: &Message,
        buf: &mut Vec<u8>,
        start: usize,
        defined: &mut Vec<u16>,
    ) -> Result<Encoded, EncodeError> {
        buf.extend_from_slice(&[0, 0, 0, 0]);
        let body_start;
        if self.header {
            buf.extend_from_slice(&[VERSION_MAGIC, DIST_HEADER]);
            let cached = match &mut self.cache {
                Some(c) => c.encode_send_control(&msg.control, buf, defined),
                None => false,
            };
            body_start = buf.len();
            if !cached {
                buf.push(0);
                msg.control.encode_body_to(buf)?;
            }
        } else {
            buf.extend_from_slice(&[PASS_THROUGH, VERSION_MAGIC]);
            body_start = buf.len();
            msg.control.encode_body_to(buf)?;
        }
        let mut split = None;
        if let Some(p) = &msg.payload {
            if !self.header {
                buf.push(VERSION_MAGIC);
            }
            match p {
                Term::Binary(b) if b.len() >= ZERO_COPY_MIN && u32::try_from(b.len()).is_ok() => {
                    buf.push(BINARY_EXT);
                    buf.extend_from_slice(&(b.len() as u32).to_be_bytes());
                    split = Some(b.clone());
                }
                _ => encode_body_to(p, buf)?,
            }
        }
        let extra = split.as_ref().map_or(0, Bytes::len);
        let body_len = buf.len() - body_start + extra;
        if self.fragments && body_len > self.fragment_size {
            // The estimate missed (a large term that is not one binary): fragment it.
            buf.truncate(start);
            return self.encode(msg).map(Encoded::Packets);
        }
        let total = buf.len() - start - 4 + extra;
        let len = u32::try_from(total).map_err(|_| EncodeError::TooLarge { size: total })?;
        buf[start..start + 4].copy_from_slice(&len.to_be_bytes());
        Ok(match split {
            None => Encoded::InBuf,
            Some(binary) => Encoded::Split { binary },
        })
    }

    /// Turns an encoded message (`buf`: length placeholder, header `131, 68, 0`, control
    /// message, payload) into fragment packets, in place: the chunks move towards the end
    /// of the same buffer, last one first, to make room for each fragment's length and
    /// header, so the message is neither allocated nor copied a second time. The first
    /// fragment holds the whole control message, as the protocol requires.
    fn fragment(&mut self, mut buf: Vec<u8>, control_len: usize) -> Vec<Bytes> {
        const BODY_START: usize = 7;
        const FIRST_HEADER: usize = 4 + FRAGMENT_HEADER_LEN + 1;
        const NEXT_HEADER: usize = 4 + FRAGMENT_HEADER_LEN;
        let seq = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1).max(1);
        let body_len = buf.len() - BODY_START;
        let first_len = self.fragment_size.max(control_len).min(body_len);
        let count = 1 + (body_len - first_len).div_ceil(self.fragment_size);
        // Where chunk i starts in `buf` now, and how far it moves.
        let start = |i: usize| {
            if i == 0 {
                BODY_START
            } else {
                BODY_START + first_len + (i - 1) * self.fragment_size
            }
        };
        let shift = |i: usize| FIRST_HEADER - BODY_START + i * NEXT_HEADER;
        let end = buf.len();
        buf.resize(end + shift(count - 1), 0);
        let mut lens = vec![0usize; count];
        for i in (0..count).rev() {
            let from = start(i);
            let to = if i + 1 == count { end } else { start(i + 1) };
            let len = to - from;
            buf.copy_within(from..to, from + shift(i));
            let header_len = if i == 0 { FIRST_HEADER } else { NEXT_HEADER };
            let at = from + shift(i) - header_len;
            let fragment_id = (count - i) as u64;
            // A fragment is at most fragment_size (or the control message) plus 19 bytes,
            // far below 4 GiB for any fragment size a connection uses.
            let packet_len = (header_len - 4 + len) as u32;
            let h = &mut buf[at..at + header_len];
            h[..4].copy_from_slice(&packet_len.to_be_bytes());
            h[4] = VERSION_MAGIC;
            h[5] = if i == 0 { DIST_FRAG_HEADER } else { DIST_FRAG_CONT };
            h[6..14].copy_from_slice(&seq.to_be_bytes());
            h[14..22].copy_from_slice(&fragment_id.to_be_bytes());
            if i == 0 {
                h[22] = 0;
            }
            lens[i] = header_len + len;
        }
        let mut all = Bytes::from(buf);
        lens.into_iter().map(|n| all.split_to(n)).collect()
    }
}

/// A cheap guess of a term's encoded size, so that the frame buffer is allocated once:
/// binaries count in full, other terms roughly. Looks at no more than 256 subterms.
fn size_hint(term: &Term) -> usize {
    let mut stack = vec![term];
    let mut size = 0usize;
    let mut budget = 256;
    while let Some(t) = stack.pop() {
        if budget == 0 {
            break;
        }
        budget -= 1;
        size = size.saturating_add(match t {
            Term::Binary(b) => 5 + b.len(),
            Term::BitBinary(b) => 6 + b.data.len(),
            Term::Atom(a) => 2 + a.len(),
            Term::Tuple(elems) | Term::List(elems) => {
                stack.extend(elems.iter().take(budget));
                5
            }
            Term::Map(m) => {
                for (k, v) in m.iter().take(budget / 2) {
                    stack.push(k);
                    stack.push(v);
                }
                5
            }
            _ => 16,
        });
    }
    size
}

#[cfg(test)]
mod tests;
