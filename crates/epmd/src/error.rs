//! What can go wrong when talking to an EPMD. Every error names the EPMD (`host:port`) and
//! says what to do.

use std::time::Duration;

use crate::protocol::{DecodeError, EncodeError};

/// An EPMD client error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Nothing accepted the connection.
    #[error("cannot reach EPMD at {addr}: {source}; is epmd (or `beamlink epmd`) running there, on that port (ERL_EPMD_PORT)?")]
    Connect { addr: String, source: std::io::Error },
    /// The connection did not complete in time.
    #[error("EPMD at {addr} did not accept a connection within {after:?}; check the host, the port and any firewall")]
    ConnectTimeout { addr: String, after: Duration },
    /// Reading or writing failed.
    #[error("talking to EPMD at {addr} failed: {source}")]
    Io { addr: String, source: std::io::Error },
    /// No answer in time.
    #[error("EPMD at {addr} did not answer within {after:?}; is it overloaded, or is something else listening on that port?")]
    ReadTimeout { addr: String, after: Duration },
    /// The connection closed before a whole answer arrived.
    #[error("EPMD at {addr} closed the connection before answering {request}; is it really an EPMD (or does it refuse requests from this host)?")]
    Closed { addr: String, request: &'static str },
    /// The answer is not valid EPMD protocol.
    #[error("EPMD at {addr} sent a malformed answer to {request}: {reason}; is it really an EPMD?")]
    Malformed {
        addr: String,
        request: &'static str,
        reason: DecodeError,
    },
    /// The answer is larger than any sane EPMD sends.
    #[error("EPMD at {addr} sent more than {limit} bytes in answer to {request}; is it really an EPMD?")]
    AnswerTooLarge {
        addr: String,
        request: &'static str,
        limit: usize,
    },
    /// EPMD refused to register the name (usually: a node of that name is already registered).
    #[error("EPMD at {addr} refused to register {name:?} (result {result}): a node of that name is probably running already; pick another name or stop that node")]
    NameRefused { addr: String, name: String, result: u8 },
    /// The request cannot be encoded (a name too long, or empty).
    #[error("invalid EPMD request: {0}")]
    Request(#[from] EncodeError),
    /// `ERL_EPMD_PORT` is set to something that is not a port number.
    #[error("ERL_EPMD_PORT={value:?} is not a port number (1-65535); fix or unset it")]
    BadEnvPort { value: String },
    /// A node name is not `name@host` where one is required.
    #[error("node name {node:?} is not of the form name@host")]
    BadNodeName { node: String },
    /// The node is not registered at that EPMD.
    #[error(
        "no node {name:?} is registered at EPMD {addr}; is the node running, and does it use this EPMD port?"
    )]
    NotRegistered { addr: String, name: String },
}
