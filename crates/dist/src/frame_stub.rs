//! The frame codec the connection tasks use: the real one (merge of dist-msg and
//! dist-conn; this shim replaces the stand-in).

pub use crate::frame_codec::{FrameDecoder, FrameEncoder, FrameLimits};
pub use crate::message::Message;
