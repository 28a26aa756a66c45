//! The errors of the node API.

use beamlink_term::Term;

/// What went wrong, saying with which peer or process, and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cookie could not be had (file permissions, missing variable, ...).
    #[error(transparent)]
    Cookie(#[from] crate::cookie::CookieError),
    /// The node name is not `name@host`.
    #[error(transparent)]
    Name(#[from] crate::name::NameError),
    /// The distribution listener could not bind.
    #[error("cannot listen for distribution connections on {addr}: {source}")]
    Listen {
        /// The address (and port) tried last.
        addr: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// Registering with EPMD (or starting the embedded one) failed; the text says how.
    #[error("EPMD: {0}")]
    Epmd(String),
    /// `register/2` refused: the name belongs to another process.
    #[error("the name {0} is already registered on this node")]
    NameTaken(String),
    /// A send to a local name nobody registered.
    #[error("no process is registered as {0} on this node")]
    NotRegistered(String),
    /// `link/1` to a local pid that does not exist.
    #[error("no such process: {0}")]
    NoProc(String),
    /// Every pid number is in use.
    #[error("this node already runs the maximum number of processes")]
    TooManyProcesses,
    /// A send with the no-connect option to a node that is not connected.
    #[error("{node} is not connected and the send asked not to connect")]
    NotConnected {
        /// The peer.
        node: String,
    },
    /// Setting up a connection failed.
    #[error("cannot connect to {node}: {reason}")]
    Connect {
        /// The peer.
        node: String,
        /// Why, as the lookup or the handshake reported it.
        reason: String,
    },
    /// The process ended with this reason.
    #[error("the process ended with reason {0}")]
    Exited(Term),
    /// Anything else; the text says what.
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
