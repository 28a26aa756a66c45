//! Reaching a peer within the timeout, and naming why it could not be reached: the
//! reasons an operator acts on (no EPMD, name not registered, connection refused, cookies
//! differ, timeout).

use std::fmt;
use std::time::{Duration, Instant};

use beamlink::{Atom, Dest, Node, Term};

/// Why a peer could not be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    /// No EPMD answers on the peer's host.
    NoEpmd,
    /// The host's EPMD does not know the name.
    NotRegistered,
    /// The peer's host name does not resolve.
    UnknownHost,
    /// Nothing listens at the peer's distribution port.
    ConnectionRefused,
    /// The handshake failed on the cookie check.
    CookiesDiffer,
    /// No answer within the timeout.
    Timeout,
    /// Anything else (the detail says what).
    Other,
}

impl Why {
    /// A short label for tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Why::NoEpmd => "no EPMD",
            Why::NotRegistered => "name not registered",
            Why::UnknownHost => "unknown host",
            Why::ConnectionRefused => "connection refused",
            Why::CookiesDiffer => "cookies differ",
            Why::Timeout => "timeout",
            Why::Other => "unreachable",
        }
    }

    /// Sorts a connection failure's text into a reason.
    pub fn classify(detail: &str) -> Why {
        let d = detail.to_ascii_lowercase();
        if d.contains("cookies differ") {
            Why::CookiesDiffer
        } else if d.contains("registered at epmd") {
            Why::NotRegistered
        } else if d.contains("cannot resolve host")
            || d.contains("has no address")
            || d.contains("failed to lookup address")
            || d.contains("name or service not known")
        {
            Why::UnknownHost
        } else if d.contains("cannot reach epmd") || d.contains("epmd at") {
            Why::NoEpmd
        } else if d.contains("connection refused") || d.contains("os error 111") {
            Why::ConnectionRefused
        } else if d.contains("did not complete within") || d.contains("timed out") {
            Why::Timeout
        } else {
            Why::Other
        }
    }
}

/// A peer that could not be reached: the reason and the full detail.
#[derive(Debug, Clone)]
pub struct Unreachable {
    /// The reason's category.
    pub why: Why,
    /// What happened, as the lower layers said it.
    pub detail: String,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.why.label(), self.detail)
    }
}

/// Connects to `peer` within `timeout`; returns how long the setup took.
pub async fn connect(node: &Node, peer: &str, timeout: Duration) -> Result<Duration, Unreachable> {
    let start = Instant::now();
    match tokio::time::timeout(timeout, node.connect(peer)).await {
        Ok(Ok(())) => Ok(start.elapsed()),
        Ok(Err(e)) => {
            let detail = e.to_string();
            Err(Unreachable {
                why: Why::classify(&detail),
                detail,
            })
        }
        Err(_) => Err(Unreachable {
            why: Why::Timeout,
            detail: format!(
                "{peer} did not accept a connection within {} ms",
                timeout.as_millis()
            ),
        }),
    }
}

/// One `net_adm:ping` round trip on an established connection (`is_auth` to the peer's
/// `net_kernel`); returns the round-trip time. Also serves as a flush: everything sent to
/// `peer` before it has reached the peer once it returns.
pub async fn round_trip(node: &Node, peer: &str, timeout: Duration) -> Result<Duration, Unreachable> {
    let dest = Dest::Remote {
        name: Atom::new("net_kernel"),
        node: Atom::new(peer),
    };
    let req = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(node.name().clone())]);
    let start = Instant::now();
    match node.call(dest, req, timeout).await {
        Ok(v) if v.is_atom("yes") => Ok(start.elapsed()),
        Ok(v) => Err(Unreachable {
            why: Why::Other,
            detail: format!("{peer}'s net_kernel answered {v} instead of yes"),
        }),
        Err(beamlink::CallError::Timeout) => Err(Unreachable {
            why: Why::Timeout,
            detail: format!("{peer} did not answer within {} ms", timeout.as_millis()),
        }),
        Err(e) => {
            let detail = format!("{peer}: {e}");
            Err(Unreachable {
                why: Why::classify(&detail),
                detail,
            })
        }
    }
}

/// Milliseconds with two decimals, for tables.
pub fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_lower_layers_messages() {
        let cases = [
            ("cannot connect to a@h: cannot find a@h: cannot reach EPMD at h:4369: Connection refused (os error 111); is epmd", Why::NoEpmd),
            ("cannot find a@h: no node \"a\" is registered at EPMD 127.0.0.1:4369; is the node running", Why::NotRegistered),
            ("handshake with a@h failed: Connection refused (os error 111)", Why::ConnectionRefused),
            ("handshake with a@h failed: the cookies differ (it closed the connection)", Why::CookiesDiffer),
            ("handshake with a@h did not complete within 5s (net_setuptime) while waiting", Why::Timeout),
            ("cannot find a@nohost: cannot resolve host nohost: failed to lookup", Why::UnknownHost),
            ("something new", Why::Other),
        ];
        for (text, why) in cases {
            assert_eq!(Why::classify(text), why, "{text}");
        }
    }
}
