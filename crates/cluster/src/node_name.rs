//! Node names as discovery builds them: `basename@host`.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// The longest node name the distribution protocol carries: a node name is an atom, and an
/// atom holds at most 255 characters.
pub const MAX_NODE_NAME_CHARS: usize = 255;

/// A node name, `name@host`, as a discovery strategy produced it.
///
/// Both parts are non-empty, the name part holds no `@`, and the whole fits in an atom.
/// The text is kept exactly as built: `app@10.1.2.3`, `app@fd00::1`,
/// `app@app-0.app.default.svc.cluster.local`. Ordering and equality are those of the text,
/// so two strategies that find the same node produce equal values.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeName(String);

/// Why a text is not a node name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeNameError {
    /// No `@`, an empty part, or a second `@`.
    #[error("`{0}` is not a node name: expected name@host with a non-empty name and host")]
    Malformed(String),
    /// More characters than an atom holds (the first 40 are kept).
    #[error("node name `{0}...` is longer than {MAX_NODE_NAME_CHARS} characters, the limit of an atom")]
    TooLong(String),
}

impl NodeName {
    /// Builds `basename@host`, the way libcluster joins an application name and a host.
    pub fn new(basename: &str, host: &str) -> Result<NodeName, NodeNameError> {
        Self::parse(&format!("{basename}@{host}"))
    }

    /// Builds `basename@IP` with the address written as Erlang's `inet:ntoa/1` writes it
    /// (see [`erlang_ntoa`]), so the name matches the one the remote node gave itself.
    pub fn from_ip(basename: &str, ip: IpAddr) -> Result<NodeName, NodeNameError> {
        Self::new(basename, &erlang_ntoa(ip))
    }

    /// Checks a full node name such as `app@10.0.0.1`.
    pub fn parse(text: &str) -> Result<NodeName, NodeNameError> {
        if text.chars().count() > MAX_NODE_NAME_CHARS {
            let head: String = text.chars().take(40).collect();
            return Err(NodeNameError::TooLong(head));
        }
        match text.split_once('@') {
            Some((name, host)) if !name.is_empty() && !host.is_empty() && !host.contains('@') => {
                Ok(NodeName(text.to_string()))
            }
            _ => Err(NodeNameError::Malformed(text.to_string())),
        }
    }

    /// The whole name, `name@host`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before `@`.
    pub fn basename(&self) -> &str {
        self.0.split_once('@').map(|(n, _)| n).unwrap_or(&self.0)
    }

    /// The part after `@`.
    pub fn host(&self) -> &str {
        self.0.split_once('@').map(|(_, h)| h).unwrap_or("")
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::str::FromStr for NodeName {
    type Err = NodeNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NodeName::parse(s)
    }
}

impl AsRef<str> for NodeName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Writes an address the way Erlang's `inet:ntoa/1` (`inet_parse:ntoa/1`) does, which is how
/// a node started with `-name app@IP` spells its own host when discovery found it by IP.
///
/// IPv4 is dotted decimal. IPv6 differs from Rust's `Display` in one place: an
/// IPv4-compatible address (`::a.b.c.d`, first 96 bits zero, other than `::` and `::1`)
/// keeps the dotted form. Otherwise: lowercase hex groups without leading zeros, the longest
/// run of two or more zero groups (the first of equal runs) written `::`, and
/// IPv4-mapped addresses as `::ffff:a.b.c.d`.
pub fn erlang_ntoa(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ntoa_v6(v6),
    }
}

fn ntoa_v6(ip: Ipv6Addr) -> String {
    let g = ip.segments();
    let dotted = |hi: u16, lo: u16| format!("{}.{}.{}.{}", hi >> 8, hi & 0xff, lo >> 8, lo & 0xff);
    if g[..5] == [0; 5] && g[5] == 0xffff {
        return format!("::ffff:{}", dotted(g[6], g[7]));
    }
    if g[..6] == [0; 6] && !(g[6] == 0 && g[7] <= 1) {
        return format!("::{}", dotted(g[6], g[7]));
    }
    // The longest run of zero groups of length two or more; the first one on a tie.
    let (mut best_at, mut best_len) = (0usize, 0usize);
    let mut i = 0;
    while i < 8 {
        if g[i] == 0 {
            let start = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best_at = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let hex = |groups: &[u16]| {
        groups
            .iter()
            .map(|x| format!("{x:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best_len < 2 {
        return hex(&g);
    }
    format!("{}::{}", hex(&g[..best_at]), hex(&g[best_at + best_len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: [u16; 8]) -> String {
        erlang_ntoa(IpAddr::V6(Ipv6Addr::new(
            s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7],
        )))
    }

    // Expected values printed by inet_parse:ntoa/1 on OTP 25 (the e2e test
    // cluster_names.rs checks many more against a live node).
    #[test]
    fn ipv6_written_like_erlang() {
        assert_eq!(v6([0xfd00, 0, 0, 0, 0, 0, 0, 1]), "fd00::1");
        assert_eq!(v6([1, 0, 0, 2, 0, 0, 0, 3]), "1:0:0:2::3");
        assert_eq!(v6([1, 0, 0, 0, 2, 0, 0, 3]), "1::2:0:0:3");
        assert_eq!(v6([0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]), "::ffff:10.0.0.1");
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(v6([0; 8]), "::");
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0, 2]), "::0.0.0.2");
        assert_eq!(v6([0, 0, 0, 0, 0, 0, 0x0a00, 1]), "::10.0.0.1");
        assert_eq!(v6([1, 0, 2, 0, 3, 0, 4, 0]), "1:0:2:0:3:0:4:0");
        assert_eq!(v6([0xabcd, 0, 0, 1, 0, 0, 1, 1]), "abcd::1:0:0:1:1");
        assert_eq!(v6([0, 0, 0, 1, 0, 0, 0, 0]), "0:0:0:1::");
        assert_eq!(v6([1, 0, 0, 0, 0, 0, 0, 0]), "1::");
        assert_eq!(v6([0, 0, 0, 0, 0xffff, 0, 0x0a00, 1]), "::ffff:0:a00:1");
    }

    #[test]
    fn node_names_are_checked() {
        let n = NodeName::from_ip("app", "10.1.2.3".parse().unwrap()).unwrap();
        assert_eq!(n.as_str(), "app@10.1.2.3");
        assert_eq!(n.basename(), "app");
        assert_eq!(n.host(), "10.1.2.3");
        assert!(NodeName::parse("app").is_err());
        assert!(NodeName::parse("@host").is_err());
        assert!(NodeName::parse("app@").is_err());
        assert!(NodeName::parse("a@b@c").is_err());
        assert!(matches!(
            NodeName::new("a", &"h".repeat(300)),
            Err(NodeNameError::TooLong(_))
        ));
    }
}
