//! The errors of the node API.

use beamlink_term::Term;

/// What went wrong, saying with which peer or process, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cookie(#[from] crate::cookie::CookieError),
    #[error(transparent)]
    Name(#[from] crate::name::NameError),
    #[error("cannot listen for distribution connections on {addr}: {source}")]
    Listen { addr: String, source: std::io::Error },
    #[error("EPMD: {0}")]
    Epmd(String),
    #[error("the name {0} is already registered on this node")]
    NameTaken(String),
    #[error("no process is registered as {0} on this node")]
    NotRegistered(String),
    #[error("no such process: {0}")]
    NoProc(String),
    #[error("this node already runs the maximum number of processes")]
    TooManyProcesses,
    #[error("{node} is not connected and the send asked not to connect")]
    NotConnected { node: String },
    #[error("cannot connect to {node}: {reason}")]
    Connect { node: String, reason: String },
    #[error("the process ended with reason {0}")]
    Exited(Term),
    #[error("{0}")]
    Other(String),
}

/// Why a receive returned without a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RecvError {
    /// Nothing matching arrived in time.
    #[error("no message arrived in time")]
    Timeout,
    /// The process was ended (an exit signal, or [`crate::Mailbox::close`]).
    #[error("the process ended with reason {0}")]
    Exited(Term),
}
