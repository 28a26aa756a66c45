//! Binding the server's listening sockets: IPv4 and IPv6, one port on every address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::{ServerConfig, ServerError};

/// The addresses to bind: every address when none is configured, otherwise the configured
/// ones plus 127.0.0.1 unless a loopback is among them.
fn addresses(config: &ServerConfig) -> (Vec<IpAddr>, bool) {
    if config.addresses.is_empty() {
        return (
            vec![
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ],
            true,
        );
    }
    let mut v: Vec<IpAddr> = Vec::new();
    for a in &config.addresses {
        if !v.contains(a) {
            v.push(*a);
        }
    }
    let covers_loopback = v
        .iter()
        .any(|a| a.is_loopback() || *a == IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !covers_loopback {
        v.push(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    (v, false)
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
/// others follow it. The wildcard IPv6 address is skipped (with a log line) on hosts
/// without IPv6; any other failure fails the whole start.
pub(super) fn bind_all(config: &ServerConfig) -> Result<Vec<TcpListener>, ServerError> {
    let (addrs, default_set) = addresses(config);
    let mut port = config.port;
    let mut out = Vec::new();
    for ip in addrs {
        let addr = SocketAddr::new(ip, port);
        match bind_one(addr) {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                out.push(l);
            }
            Err(e) if default_set && ip.is_ipv6() && e.kind() != std::io::ErrorKind::AddrInUse => {
                tracing::info!(error = %e, "no IPv6 here; listening on IPv4 only");
            }
            Err(source) => return Err(ServerError::Bind { addr, source }),
        }
    }
    Ok(out)
}
