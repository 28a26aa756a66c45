//! The EPMD wire protocol, sans I/O: requests and responses as bytes in, bytes out.
//!
//! Every request travels as a 2-byte big-endian length followed by that many bytes, the
//! first of which is the request tag. Responses have no length prefix: each has its own
//! shape (see the response types). Nothing here touches a socket; the client and the
//! server put tokio around these functions.

mod cursor;
mod entry;
mod error;
mod fuzz_check;
mod names;
mod request;
mod response;

pub use entry::{NodeEntry, NodeType};
pub use error::{DecodeError, EncodeError};
#[doc(hidden)]
pub use fuzz_check::check_request_bytes;
pub use names::{decode_names, encode_dump, encode_names, NameEntry};
pub use request::Request;
pub use response::{Alive2Response, KillResponse, Port2Response, StopResponse};

/// Request tag of ALIVE2_REQ: register a node.
pub const ALIVE2_REQ: u8 = 120;
/// Response tag of ALIVE2_X_RESP: registration result with a 32-bit creation.
pub const ALIVE2_X_RESP: u8 = 118;
/// Response tag of ALIVE2_RESP: registration result with a 16-bit creation (before OTP 23).
pub const ALIVE2_RESP: u8 = 121;
/// Request tag of PORT_PLEASE2_REQ: look up a node's distribution port.
pub const PORT_PLEASE2_REQ: u8 = 122;
/// Response tag of PORT2_RESP.
pub const PORT2_RESP: u8 = 119;
/// Request tag of NAMES_REQ: list registered names.
pub const NAMES_REQ: u8 = 110;
/// Request tag of DUMP_REQ: list everything EPMD knows (a debugging aid).
pub const DUMP_REQ: u8 = 100;
/// Request tag of KILL_REQ: stop EPMD.
pub const KILL_REQ: u8 = 107;
/// Request tag of STOP_REQ: forcibly unregister a node.
pub const STOP_REQ: u8 = 115;

/// Longest node name, in bytes, that the codec accepts: 255 characters of up to 4 UTF-8
/// bytes each, as an Erlang atom allows.
pub const MAX_NAME_BYTES: usize = 255 * 4;
/// Longest node name in characters; EPMD refuses to register a longer one (as epmd does).
pub const MAX_NAME_CHARS: usize = 255;
/// Longest `Extra` field, in bytes, of ALIVE2_REQ and PORT2_RESP.
pub const MAX_EXTRA_BYTES: usize = 1024;
/// Longest request body (after the 2-byte length): the largest ALIVE2_REQ.
pub const MAX_REQUEST_LEN: usize = 1 + 2 + 1 + 1 + 2 + 2 + 2 + MAX_NAME_BYTES + 2 + MAX_EXTRA_BYTES;
