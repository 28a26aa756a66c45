//! Node names: `name@host`, long or short, or left for a peer to choose.

use std::fmt;

/// How a node is named.
#[derive(Clone, PartialEq, Eq)]
pub enum NodeName {
    /// `name@host.domain` or `name@10.1.2.3` (`erl -name`).
    Long {
        /// The part before `@`.
        name: String,
        /// The host part.
        host: String,
    },
    /// `name@host` without dots (`erl -sname`).
    Short {
        /// The part before `@`.
        name: String,
        /// The host part.
        host: String,
    },
    /// No name yet: the first peer assigns one during the handshake (`NAME_ME`, as
    /// `erl_call -R` asks). `host` is our host part.
    Dynamic {
        /// Our host part.
        host: String,
    },
}

/// Why a node name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid node name {given:?}: {reason}")]
pub struct NameError {
    /// The text that was given.
    pub given: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl NodeName {
    /// Parses `name@host`: long when the host has a dot or is an IP address, short
    /// otherwise. The name part is letters, digits, `_` and `-`, as `erl` accepts it.
    pub fn parse(s: &str) -> Result<NodeName, NameError> {
        let err = |reason| NameError {
            given: s.to_string(),
            reason,
        };
        let (name, host) = s
            .split_once('@')
            .ok_or_else(|| err("it needs the form name@host"))?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(err("the name part must be letters, digits, '_' or '-'"));
        }
        if host.is_empty() || host.contains('@') || host.chars().any(char::is_whitespace) {
            return Err(err("the host part must be a host name or an IP address"));
        }
        if s.len() > 255 {
            return Err(err("a node name has at most 255 bytes"));
        }
        let (name, host) = (name.to_string(), host.to_string());
        if host.contains('.') || host.contains(':') {
            Ok(NodeName::Long { name, host })
        } else {
            Ok(NodeName::Short { name, host })
        }
    }

    /// The part before `@` (empty for a dynamic name).
    pub fn alive_name(&self) -> &str {
        match self {
            NodeName::Long { name, .. } | NodeName::Short { name, .. } => name,
            NodeName::Dynamic { .. } => "",
        }
    }

    /// The host part.
    pub fn host(&self) -> &str {
        match self {
            NodeName::Long { host, .. } | NodeName::Short { host, .. } | NodeName::Dynamic { host } => host,
        }
    }

    /// `true` for a long name.
    pub fn is_long(&self) -> bool {
        matches!(self, NodeName::Long { .. })
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeName::Dynamic { host } => write!(f, "<dynamic>@{host}"),
            _ => write!(f, "{}@{}", self.alive_name(), self.host()),
        }
    }
}

impl fmt::Debug for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeName({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_short_names() {
        assert!(NodeName::parse("app@10.1.2.3").unwrap().is_long());
        assert!(NodeName::parse("app@host.example").unwrap().is_long());
        let s = NodeName::parse("app@host").unwrap();
        assert!(!s.is_long());
        assert_eq!(s.to_string(), "app@host");
        for bad in ["app", "@host", "app@", "a b@host", "a@b@c"] {
            assert!(NodeName::parse(bad).is_err(), "{bad}");
        }
    }
}
