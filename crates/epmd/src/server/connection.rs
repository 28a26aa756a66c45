//! One client connection to the server: read one request within the packet timeout,
//! answer it, and for a registration hold the connection until the node goes away.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use super::{Shared, Stopped};
use crate::protocol::{
    encode_dump, encode_names, Alive2Response, DecodeError, KillResponse, NodeEntry, Port2Response, Request,
    StopResponse, MAX_NAME_CHARS,
};

enum ReadError {
    Closed,
    Io(std::io::Error),
    Decode(DecodeError),
}

/// Reads one framed request: the length is checked before the body is read or allocated.
async fn read_request(stream: &mut TcpStream) -> Result<Request, ReadError> {
    let mut prefix = [0u8; 2];
    match stream.read_exact(&mut prefix).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(ReadError::Closed),
        Err(e) => return Err(ReadError::Io(e)),
    }
    let len = Request::body_len(prefix).map_err(ReadError::Decode)?;
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            ReadError::Decode(DecodeError::Truncated {
                what: "request",
                needed: len,
                available: 0,
            })
        } else {
            ReadError::Io(e)
        }
    })?;
    Request::decode_body(&body).map_err(ReadError::Decode)
}

/// Registration, kill, stop and dump are only for clients on this host, as with epmd: the
/// peer is a loopback address or the very address it connected to.
fn is_local(peer: SocketAddr, local: Option<SocketAddr>) -> bool {
    let p = peer.ip().to_canonical();
    p.is_loopback() || local.is_some_and(|l| l.ip().to_canonical() == p)
}

/// Serves one connection to completion. Never panics on input; every failure is a log
/// line and a closed connection.
pub(super) async fn serve(mut stream: TcpStream, peer: SocketAddr, conn: u64, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    let local = stream.local_addr().ok();
    let read = tokio::select! {
        r = timeout(shared.packet_timeout, read_request(&mut stream)) => r,
        _ = shutdown.wait_for(Option::is_some) => return,
    };
    let request = match read {
        Err(_) => {
            tracing::warn!(%peer, timeout = ?shared.packet_timeout, "no complete request within the packet timeout; closing the connection");
            return;
        }
        Ok(Err(ReadError::Closed)) => {
            tracing::debug!(%peer, "connection closed before a request");
            return;
        }
        Ok(Err(ReadError::Io(e))) => {
            tracing::debug!(%peer, error = %e, "read failed; closing the connection");
            return;
        }
        Ok(Err(ReadError::Decode(e))) => {
            tracing::warn!(%peer, error = %e, "malformed request; closing the connection");
            return;
        }
        Ok(Ok(r)) => r,
    };
    tracing::debug!(%peer, request = request.kind(), "request");
    let local_only = matches!(
        request,
        Request::Alive2(_) | Request::Kill | Request::Stop { .. } | Request::Dump
    );
    if local_only && !is_local(peer, local) {
        tracing::warn!(%peer, request = request.kind(), "refused: only local clients may send this request; closing the connection");
        return;
    }
    match request {
        Request::Alive2(entry) => register(stream, peer, conn, entry, &shared, shutdown).await,
        Request::PortPlease2 { name } => {
            let found = shared.registry.lock().map(|r| r.lookup(&name)).unwrap_or(None);
            let answer = match found {
                Some(entry) => Port2Response::Found(entry),
                None => Port2Response::Error(1),
            };
            // Entries in the registry were decoded, so they always encode.
            let bytes = answer
                .encode()
                .unwrap_or_else(|_| vec![crate::protocol::PORT2_RESP, 1]);
            reply(&mut stream, peer, &bytes, &shared).await;
        }
        Request::Names => {
            let list = shared.registry.lock().map(|r| r.list()).unwrap_or_default();
            let bytes = encode_names(shared.port, list.iter().map(|(e, _)| e));
            reply(&mut stream, peer, &bytes, &shared).await;
        }
        Request::Dump => {
            let list = shared.registry.lock().map(|r| r.list()).unwrap_or_default();
            let bytes = encode_dump(shared.port, list.iter().map(|(e, c)| (e, *c)));
            reply(&mut stream, peer, &bytes, &shared).await;
        }
        Request::Kill => {
            let empty = shared.registry.lock().map(|r| r.is_empty()).unwrap_or(false);
            if !empty && !shared.relaxed_command_check {
                tracing::warn!(%peer, "refused KILL_REQ: nodes are registered (start with --relaxed-command-check to allow)");
                reply(&mut stream, peer, KillResponse::Refused.encode(), &shared).await;
            } else {
                tracing::info!(%peer, "KILL_REQ: stopping");
                reply(&mut stream, peer, KillResponse::Killed.encode(), &shared).await;
                shared.stop(Stopped::Killed);
            }
        }
        Request::Stop { name } => {
            if !shared.relaxed_command_check {
                tracing::warn!(%peer, %name, "ignored STOP_REQ: relaxed command checks are off");
                return;
            }
            let stopped = shared.registry.lock().map(|mut r| r.stop(&name)).unwrap_or(false);
            if stopped {
                tracing::info!(%peer, %name, "unregistered by STOP_REQ");
                reply(&mut stream, peer, StopResponse::Stopped.encode(), &shared).await;
            } else {
                reply(&mut stream, peer, StopResponse::NoExist.encode(), &shared).await;
            }
        }
    }
}

/// Writes an answer within the packet timeout; a client that does not read is dropped.
async fn reply(stream: &mut TcpStream, peer: SocketAddr, bytes: &[u8], shared: &Shared) -> bool {
    match timeout(shared.packet_timeout, stream.write_all(bytes)).await {
        Ok(Ok(())) => true,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "write failed");
            false
        }
        Err(_) => {
            tracing::warn!(%peer, "client did not take the answer within the packet timeout; closing the connection");
            false
        }
    }
}

async fn register(
    mut stream: TcpStream,
    peer: SocketAddr,
    conn: u64,
    entry: NodeEntry,
    shared: &Shared,
    mut shutdown: tokio::sync::watch::Receiver<Option<Stopped>>,
) {
    let extended = entry.highest_version >= 6;
    let refuse = |creation| {
        if extended {
            Alive2Response::Extended { result: 1, creation }
        } else {
            Alive2Response::Legacy {
                result: 1,
                creation: 0,
            }
        }
    };
    let name = entry.name.clone();
    if name.chars().count() > MAX_NAME_CHARS {
        tracing::warn!(%peer, len = name.chars().count(), "refused registration: node name longer than 255 characters");
        reply(&mut stream, peer, &refuse(0).encode(), shared).await;
        return;
    }
    let port = entry.port;
    let admitted = shared
        .registry
        .lock()
        .ok()
        .and_then(|mut r| r.register(entry, conn, extended));
    let Some(admitted) = admitted else {
        tracing::warn!(%peer, %name, "refused registration: the name is already registered");
        reply(&mut stream, peer, &refuse(0).encode(), shared).await;
        return;
    };
    let answer = if extended {
        Alive2Response::Extended {
            result: 0,
            creation: admitted.creation,
        }
    } else {
        Alive2Response::Legacy {
            result: 0,
            creation: admitted.creation as u16,
        }
    };
    if reply(&mut stream, peer, &answer.encode(), shared).await {
        tracing::info!(%peer, %name, port, creation = admitted.creation, "registered");
        let mut stopped = admitted.stopped;
        let mut sink = [0u8; 256];
        // The node says nothing more; it unregisters by closing. Bytes it does send are
        // read and ignored so that they cannot pile up.
        let drain = async {
            loop {
                match stream.read(&mut sink).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => continue,
                }
            }
        };
        let why = tokio::select! {
            _ = drain => "connection closed",
            _ = &mut stopped => return,
            _ = shutdown.wait_for(Option::is_some) => "server stopping",
        };
        let removed = shared
            .registry
            .lock()
            .map(|mut r| r.unregister(&name, conn))
            .unwrap_or(false);
        if removed {
            tracing::info!(%peer, %name, why, "unregistered");
        }
        return;
    }
    // The answer could not be written: the node never learnt it was registered.
    let _ = shared.registry.lock().map(|mut r| r.unregister(&name, conn));
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn only_loopback_or_same_address_peers_are_local() {
        let sa = |s: &str| s.parse().unwrap();
        assert!(is_local(sa("127.0.0.1:5"), Some(sa("127.0.0.1:4369"))));
        assert!(is_local(sa("127.0.0.9:5"), None));
        assert!(is_local(sa("[::1]:5"), Some(sa("[::1]:4369"))));
        assert!(is_local(sa("[::ffff:127.0.0.1]:5"), Some(sa("[::]:4369"))));
        assert!(
            is_local(sa("10.0.0.5:5"), Some(sa("10.0.0.5:4369"))),
            "the host's own address"
        );
        assert!(is_local(sa("[::ffff:10.0.0.5]:5"), Some(sa("10.0.0.5:4369"))));
        assert!(!is_local(sa("10.0.0.6:5"), Some(sa("10.0.0.5:4369"))));
        assert!(!is_local(sa("[fd00::6]:5"), Some(sa("[fd00::5]:4369"))));
    }
}
