//! The magic cookie: the shared secret two nodes prove they know in the handshake.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A magic cookie.
///
/// The value never leaves this type except into the digest: `Debug` and `Display` print
/// `Cookie(<redacted>)`, and no accessor returns the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(Arc<[u8]>);

impl Cookie {
    /// A cookie from its text, as in `~/.erlang.cookie` or `-setcookie` (Erlang treats
    /// it as an atom; the bytes are used as they are).
    pub fn new(text: impl AsRef<[u8]>) -> Cookie {
        Cookie(Arc::from(text.as_ref()))
    }

    /// Reads a cookie file such as `~/.erlang.cookie`, without the trailing newline or
    /// spaces (as `auth` does). The error never contains the file's content.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> std::io::Result<Cookie> {
        let raw = std::fs::read(path)?;
        let end = raw
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        Ok(Cookie::new(&raw[..end]))
    }

    /// The bytes, for the digest only.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `true` when the cookie is empty (a configuration mistake worth reporting).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<redacted>)")
    }
}

impl fmt::Display for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<redacted>)")
    }
}

/// The cookies a node uses: a default one, and optional per-peer overrides (as
/// `erlang:set_cookie(Node, Cookie)` sets them).
///
/// The same cookie is used in both directions with a given peer, as OTP does.
#[derive(Clone, Debug)]
pub struct Cookies {
    default: Cookie,
    per_peer: HashMap<String, Cookie>,
}

impl Cookies {
    /// Every peer uses `default`.
    pub fn new(default: Cookie) -> Cookies {
        Cookies {
            default,
            per_peer: HashMap::new(),
        }
    }

    /// Uses `cookie` with the node named `peer` (`name@host`) instead of the default.
    pub fn with_peer(mut self, peer: impl Into<String>, cookie: Cookie) -> Cookies {
        self.per_peer.insert(peer.into(), cookie);
        self
    }

    /// Sets or replaces the cookie for `peer`.
    pub fn set_peer(&mut self, peer: impl Into<String>, cookie: Cookie) {
        self.per_peer.insert(peer.into(), cookie);
    }

    /// The cookie to use with `peer`.
    pub fn for_peer(&self, peer: &str) -> &Cookie {
        self.per_peer.get(peer).unwrap_or(&self.default)
    }

    /// `true` when `peer` has its own cookie (error messages mention it).
    pub fn has_override(&self, peer: &str) -> bool {
        self.per_peer.contains_key(peer)
    }
}

impl From<Cookie> for Cookies {
    fn from(c: Cookie) -> Cookies {
        Cookies::new(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let c = Cookie::new("SECRETVALUE");
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(!format!("{c}").contains("SECRET"));
        let jar = Cookies::new(c.clone()).with_peer("a@b", Cookie::new("OTHERSECRET"));
        assert!(!format!("{jar:?}").contains("SECRET"));
    }

    #[test]
    fn per_peer_cookie_overrides_the_default() {
        let jar = Cookies::new(Cookie::new("d")).with_peer("a@b", Cookie::new("p"));
        assert_eq!(jar.for_peer("a@b").bytes(), b"p");
        assert_eq!(jar.for_peer("c@d").bytes(), b"d");
        assert!(jar.has_override("a@b"));
    }

    #[test]
    fn cookie_file_loses_trailing_whitespace() {
        let dir = std::env::temp_dir().join(format!("beamlink-cookie-{}", std::process::id()));
        std::fs::write(&dir, b"ABC\n").unwrap();
        let c = Cookie::from_file(&dir).unwrap();
        std::fs::remove_file(&dir).unwrap();
        assert_eq!(c.bytes(), b"ABC");
    }
}
