//! TEMPORARY stand-in for the frame codec of the `dist-msg` branch (FrameDecoder,
//! FrameEncoder, Message), with the agreed interface. Deleted when that branch is merged.

use bytes::Bytes;

/// Stand-in for the decoding limits.
#[derive(Debug, Clone, Default)]
pub struct FrameLimits {}

/// Stand-in for a distribution message.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The control message.
    pub control: beamlink_term::Term,
    /// The payload.
    pub payload: Option<beamlink_term::Term>,
}

/// Stand-in decoding error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct FrameError(pub String);

/// Stand-in encoding error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EncodeError(pub String);

/// Stand-in decoder: refuses every frame.
#[derive(Debug)]
pub struct FrameDecoder {}

impl FrameDecoder {
    /// A decoder.
    pub fn new(_limits: FrameLimits) -> FrameDecoder {
        FrameDecoder {}
    }
    /// Refuses the frame.
    pub fn decode(&mut self, frame: Bytes) -> Result<Option<Message>, FrameError> {
        Err(FrameError(format!(
            "frame of {} bytes: decoding not available yet",
            frame.len()
        )))
    }
}

/// Stand-in encoder: refuses every message.
#[derive(Debug)]
pub struct FrameEncoder {}

impl FrameEncoder {
    /// An encoder.
    pub fn new(_peer_flags: u64, _fragment_size: usize) -> FrameEncoder {
        FrameEncoder {}
    }
    /// Refuses the message.
    pub fn encode(&mut self, _msg: &Message) -> Result<Vec<Bytes>, EncodeError> {
        Err(EncodeError("encoding not available yet".into()))
    }
}
