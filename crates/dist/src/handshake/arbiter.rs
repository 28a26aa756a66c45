//! The questions a handshake asks the node layer, which owns the table of connections.
//!
//! OTP's `net_kernel` answers them (`accept_pending`, `is_pending`, `wait_pending`); in
//! beamlink the node layer implements [`Arbiter`] over its connection table.

use std::future::Future;
use std::pin::Pin;

use super::acceptor::AcceptRequest;

/// A boxed future, as returned by [`Arbiter::wait_pending`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What to answer a node that wants to connect to us (the status we send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptDecision {
    /// No connection to this node exists or is being set up: go on (`ok`).
    Ok,
    /// We are connecting to this node ourselves at the same moment and our attempt
    /// loses (our name is smaller): the node layer cancels its own attempt and this one
    /// goes on (`ok_simultaneous`). See [`AcceptDecision::simultaneous`].
    OkSimultaneous,
    /// We are connecting to this node ourselves and our attempt wins (our name is
    /// greater): refuse this one (`nok`).
    Nok,
    /// This node may not connect (`not_allowed`).
    NotAllowed,
    /// A connection to this node is up. Ask the peer (`alive`): if it answers `true`,
    /// the handshake goes on and waits in [`Arbiter::wait_pending`] for the old
    /// connection to go before completing.
    Alive,
    /// The peer asked for a dynamic name (`NAME_ME`): it gets this one (`named:`).
    Named {
        /// The full node name, `name@host` with the host the peer sent.
        node: String,
        /// Its creation.
        creation: u32,
    },
}

impl AcceptDecision {
    /// The decision for a simultaneous connect, as OTP makes it: the node with the
    /// greater name (compared as text, as Erlang compares atoms) keeps its own attempt.
    /// When `ours > theirs` the incoming attempt is refused ([`AcceptDecision::Nok`]);
    /// otherwise it goes on ([`AcceptDecision::OkSimultaneous`]) and the node layer
    /// must abandon its own outgoing attempt, which the peer refuses with `nok` anyway.
    pub fn simultaneous(ours: &str, theirs: &str) -> AcceptDecision {
        if ours > theirs {
            AcceptDecision::Nok
        } else {
            AcceptDecision::OkSimultaneous
        }
    }

    /// A fresh dynamic name on `host`, as OTP makes them: a random base-36 name and a
    /// random creation.
    pub fn named_on(host: &str) -> AcceptDecision {
        let mut n: u64 = rand::random();
        let mut digits = Vec::new();
        loop {
            let d = (n % 36) as u8;
            digits.push(if d < 10 { b'0' + d } else { b'A' + d - 10 });
            n /= 36;
            if n == 0 {
                break;
            }
        }
        digits.reverse();
        let name = String::from_utf8_lossy(&digits).into_owned();
        AcceptDecision::Named {
            node: format!("{name}@{host}"),
            creation: crate::config::random_creation(),
        }
    }
}

/// The node layer's side of the handshake: decides between concurrent connections to
/// the same node. Implementations must answer quickly (the handshake has a deadline).
pub trait Arbiter: Send + Sync {
    /// We accepted a connection from `request.name`: what status do we answer?
    ///
    /// A node layer with a connection table answers as `net_kernel` does:
    /// * no entry: record a pending connection and answer [`AcceptDecision::Ok`] (or
    ///   [`AcceptDecision::Named`] when `request.dynamic`);
    /// * an outgoing attempt pending: [`AcceptDecision::simultaneous`];
    /// * a connection up: [`AcceptDecision::Alive`];
    /// * not allowed: [`AcceptDecision::NotAllowed`].
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision;

    /// We are connecting to `peer` and it answered `alive`: it already has a connection
    /// to a node with our name. Return `true` when this attempt is the one we want (we
    /// have no live connection to `peer`: the peer's one is stale and will be replaced),
    /// `false` when we do have a live connection to `peer` (this attempt is a mistake).
    fn is_pending(&self, peer: &str) -> bool;

    /// We answered `alive` to `peer`, it said `true`, and its digest is right: resolve
    /// once the old connection to `peer` is gone (the node layer closes it). The new
    /// connection completes afterwards.
    fn wait_pending<'a>(&'a self, peer: &'a str) -> BoxFuture<'a, ()>;
}

/// An [`Arbiter`] for a node without a connection table (a client, a test): accepts
/// everyone (giving dynamic names with [`AcceptDecision::named_on`]), answers `true`
/// to `alive`, and does not wait.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl Arbiter for AcceptAll {
    fn accept_pending(&self, request: &AcceptRequest) -> AcceptDecision {
        if request.dynamic {
            AcceptDecision::named_on(&request.name)
        } else {
            AcceptDecision::Ok
        }
    }

    fn is_pending(&self, _peer: &str) -> bool {
        true
    }

    fn wait_pending<'a>(&'a self, _peer: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greater_name_keeps_its_own_attempt() {
        assert_eq!(AcceptDecision::simultaneous("b@h", "a@h"), AcceptDecision::Nok);
        assert_eq!(
            AcceptDecision::simultaneous("a@h", "b@h"),
            AcceptDecision::OkSimultaneous
        );
        // Erlang compares atoms by characters: "a@h" < "ab@h" because '@' < 'b'.
        assert_eq!(AcceptDecision::simultaneous("ab@h", "a@h"), AcceptDecision::Nok);
    }

    #[test]
    fn dynamic_names_are_on_the_given_host() {
        let AcceptDecision::Named { node, creation } = AcceptDecision::named_on("box") else {
            panic!("not named")
        };
        assert!(node.ends_with("@box"));
        assert!(node.len() > 4);
        assert_ne!(creation, 0);
    }
}
