//! See the crate description; filled in by its issue.

// Protocol of what travels inside packets (sans-I/O): control messages, the distribution
// header with its atom cache, fragments, and the frame codec that ties them together.
pub mod control;
mod fragment;
pub mod frame_codec;
pub mod header;
pub mod message;

pub use control::{ControlError, ControlMessage, PidOrName, Recipient, SpawnResult};
pub use frame_codec::{EncodeError, FrameDecoder, FrameEncoder, FrameError, FrameLimits};
pub use message::Message;
