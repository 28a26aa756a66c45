//! How a node finds a peer's distribution port: through EPMD, or a fixed port (EPMD-less).
//!
//! An EPMD-less cluster, as Phoenix's clustering guide sets one up, starts every node with
//! `-start_epmd false -erl_epmd_port 6789`: no EPMD runs, every node listens on 6789, and
//! every node assumes its peers do too. [`PortLookup::Fixed`] is that assumption;
//! [`DistAddress`] parses erl_call's `-address [host:]port` form of it.

use std::fmt;
use std::str::FromStr;

use crate::{EpmdClient, Error, Lookup};

/// Where to get a peer's distribution port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortLookup {
    /// Ask the EPMD on the peer's host, on this port (`ERL_EPMD_PORT`, 4369 by default).
    Epmd { port: u16 },
    /// Skip EPMD: every peer listens on this port (`-erl_epmd_port P`), and speaks
    /// distribution version 6 (OTP 23 and later).
    Fixed(u16),
}

/// A peer's distribution endpoint, as [`PortLookup::resolve`] finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistPort {
    /// The host part of the node name.
    pub host: String,
    /// The distribution port.
    pub port: u16,
    /// Highest distribution version the peer speaks (6 when not asked, as with a fixed port).
    pub highest_version: u16,
    /// Lowest distribution version the peer speaks.
    pub lowest_version: u16,
}

impl Default for PortLookup {
    /// EPMD on the default port 4369.
    fn default() -> Self {
        PortLookup::Epmd {
            port: crate::DEFAULT_PORT,
        }
    }
}

impl PortLookup {
    /// EPMD on the port `erl` would use: `ERL_EPMD_PORT`, else 4369.
    pub fn from_env() -> Result<Self, Error> {
        Ok(PortLookup::Epmd {
            port: crate::port_from_env()?,
        })
    }

    /// Finds where `node` (`name@host`) listens. Through EPMD, a node that is not
    /// registered is [`Error::NotRegistered`]; with a fixed port nothing is asked.
    pub async fn resolve(&self, node: &str) -> Result<DistPort, Error> {
        let (name, host) = node.split_once('@').ok_or_else(|| Error::BadNodeName {
            node: node.to_string(),
        })?;
        if name.is_empty() || host.is_empty() {
            return Err(Error::BadNodeName {
                node: node.to_string(),
            });
        }
        match *self {
            PortLookup::Fixed(port) => Ok(DistPort {
                host: host.to_string(),
                port,
                highest_version: 6,
                lowest_version: 6,
            }),
            PortLookup::Epmd { port } => {
                let client = EpmdClient::new(host, port);
                match client.port_please(name).await? {
                    Lookup::Registered(e) => Ok(DistPort {
                        host: host.to_string(),
                        port: e.port,
                        highest_version: e.highest_version,
                        lowest_version: e.lowest_version,
                    }),
                    Lookup::NotRegistered => Err(Error::NotRegistered {
                        addr: client.addr(),
                        name: name.to_string(),
                    }),
                }
            }
        }
    }
}

/// A fixed distribution address in erl_call's `-address` form: `port`, `host:port`, or
/// `[ipv6]:port`. Without a host, the host of the node name is meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistAddress {
    /// The host, if one was given (brackets removed from IPv6 addresses).
    pub host: Option<String>,
    /// The distribution port.
    pub port: u16,
}

/// Why a string is not a [`DistAddress`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{input:?} is not a distribution address: expected PORT, HOST:PORT or [IPV6]:PORT with PORT in 1-65535"
)]
pub struct AddressError {
    /// The string that was given.
    pub input: String,
}

impl FromStr for DistAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AddressError { input: s.to_string() };
        let port = |p: &str| p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(err);
        match s.rsplit_once(':') {
            None => Ok(DistAddress {
                host: None,
                port: port(s)?,
            }),
            Some((host, p)) => {
                let host = host
                    .strip_prefix('[')
                    .and_then(|h| h.strip_suffix(']'))
                    .unwrap_or(host);
                if host.is_empty() || host.contains(['[', ']', ' ']) {
                    return Err(err());
                }
                Ok(DistAddress {
                    host: Some(host.to_string()),
                    port: port(p)?,
                })
            }
        }
    }
}

impl fmt::Display for DistAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            None => write!(f, "{}", self.port),
            Some(h) if h.contains(':') => write!(f, "[{}]:{}", h, self.port),
            Some(h) => write!(f, "{}:{}", h, self.port),
        }
    }
}

impl DistAddress {
    /// The lookup this address stands for: a fixed port.
    pub fn lookup(&self) -> PortLookup {
        PortLookup::Fixed(self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_erl_call_addresses() {
        let a = |s: &str| s.parse::<DistAddress>();
        assert_eq!(
            a("6789"),
            Ok(DistAddress {
                host: None,
                port: 6789
            })
        );
        assert_eq!(
            a("app.local:6789"),
            Ok(DistAddress {
                host: Some("app.local".into()),
                port: 6789
            })
        );
        assert_eq!(
            a("10.0.0.1:1"),
            Ok(DistAddress {
                host: Some("10.0.0.1".into()),
                port: 1
            })
        );
        assert_eq!(
            a("[::1]:6789"),
            Ok(DistAddress {
                host: Some("::1".into()),
                port: 6789
            })
        );
        assert_eq!(a("[::1]:6789").unwrap().to_string(), "[::1]:6789");
        assert_eq!(a("h:2").unwrap().to_string(), "h:2");
        for bad in [
            "",
            "0",
            "host:",
            ":6789",
            "host:70000",
            "host:x",
            "[::1:5",
            "a b:1",
        ] {
            assert!(a(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[tokio::test]
    async fn fixed_port_skips_epmd() {
        let p = PortLookup::Fixed(6789).resolve("app@10.1.2.3").await.unwrap();
        assert_eq!(
            p,
            DistPort {
                host: "10.1.2.3".into(),
                port: 6789,
                highest_version: 6,
                lowest_version: 6
            }
        );
        assert!(matches!(
            PortLookup::Fixed(1).resolve("nohost").await,
            Err(Error::BadNodeName { .. })
        ));
        assert!(matches!(
            PortLookup::Fixed(1).resolve("@h").await,
            Err(Error::BadNodeName { .. })
        ));
    }
}
