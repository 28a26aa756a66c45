//! Binding the server's listening sockets: IPv4 and IPv6, one port on every address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::{ServerConfig, ServerError};

/// The addresses to bind, each with whether it was added implicitly (its failure is then
/// only logged): every address when none is configured; otherwise the configured ones plus
/// the loopback of each family in use (127.0.0.1 always, ::1 when an IPv6 address is
/// given), as epmd adds the loopback so that local nodes can always register.
fn addresses(config: &ServerConfig) -> Vec<(IpAddr, bool)> {
    if config.addresses.is_empty() {
        return vec![
            (IpAddr::V4(Ipv4Addr::UNSPECIFIED), false),
            (IpAddr::V6(Ipv6Addr::UNSPECIFIED), true),
        ];
    }
    let mut v: Vec<(IpAddr, bool)> = Vec::new();
    for a in &config.addresses {
        if !v.iter().any(|(x, _)| x == a) {
            v.push((*a, false));
        }
    }
    let has = |v: &[(IpAddr, bool)], f: fn(&IpAddr) -> bool| v.iter().any(|(a, _)| f(a));
    if !has(&v, |a| a.is_ipv4() && (a.is_loopback() || a.is_unspecified())) {
        v.push((IpAddr::V4(Ipv4Addr::LOCALHOST), false));
    }
    if has(&v, IpAddr::is_ipv6) && !has(&v, |a| a.is_ipv6() && (a.is_loopback() || a.is_unspecified())) {
        v.push((IpAddr::V6(Ipv6Addr::LOCALHOST), true));
    }
    v
}

fn bind_one(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // IPv4 has its own socket; without this, [::] would also take 0.0.0.0's port.
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// Binds every address on one port. With port 0 the first bind picks the port and the
/// others follow it. An implicit IPv6 address (the wildcard by default, ::1 next to given
/// IPv6 addresses) is skipped with a log line on hosts without IPv6; any other failure
/// fails the whole start.
pub(super) fn bind_all(config: &ServerConfig) -> Result<Vec<TcpListener>, ServerError> {
    let addrs = addresses(config);
    let mut port = config.port;
    let mut out = Vec::new();
    for (ip, implicit) in addrs {
        let addr = SocketAddr::new(ip, port);
        match bind_one(addr) {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                out.push(l);
            }
            Err(e) if implicit && ip.is_ipv6() && e.kind() != std::io::ErrorKind::AddrInUse => {
                tracing::info!(error = %e, "no IPv6 here; listening on IPv4 only");
            }
            Err(source) => return Err(ServerError::Bind { addr, source }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addrs(list: &str) -> Vec<(IpAddr, bool)> {
        addresses(&ServerConfig {
            addresses: ServerConfig::parse_addresses(list).unwrap(),
            ..Default::default()
        })
    }

    #[test]
    fn loopback_is_added_as_epmd_does() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            addrs("10.0.0.5"),
            [(ip("10.0.0.5"), false), (ip("127.0.0.1"), false)]
        );
        assert_eq!(addrs("127.0.0.1"), [(ip("127.0.0.1"), false)]);
        assert_eq!(addrs("[::1]"), [(ip("::1"), false), (ip("127.0.0.1"), false)]);
        assert_eq!(
            addrs("fd00::5, 10.0.0.5"),
            [
                (ip("fd00::5"), false),
                (ip("10.0.0.5"), false),
                (ip("127.0.0.1"), false),
                (ip("::1"), true)
            ]
        );
        assert_eq!(addrs(""), [(ip("0.0.0.0"), false), (ip("::"), true)]);
        assert!(ServerConfig::parse_addresses("10.0.0.1,nope").is_err());
    }
}
