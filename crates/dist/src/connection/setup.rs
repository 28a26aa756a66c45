//! Drives the handshake state machines over an async stream, within the setup time.

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::HandshakeConfig;
use crate::digest::gen_challenge;
use crate::error::HandshakeError;
use crate::handshake::{
    next_packet, Acceptor, AcceptorSetup, Arbiter, Handshaken, Initiator, InitiatorSetup, LocalName, Step,
};

/// Reads the next handshake packet body; `Ok(None)` at end of stream.
async fn read_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> Result<Option<Bytes>, ReadFailure> {
    loop {
        if let Some(p) = next_packet(buf).map_err(ReadFailure::Malformed)? {
            return Ok(Some(p));
        }
        buf.reserve(1024);
        if stream.read_buf(buf).await.map_err(ReadFailure::Io)? == 0 {
            return Ok(None);
        }
    }
}

enum ReadFailure {
    Malformed(crate::handshake::message::MalformedPacket),
    Io(std::io::Error),
}

fn read_error(peer: String, f: ReadFailure) -> HandshakeError {
    match f {
        ReadFailure::Malformed(m) => HandshakeError::Protocol { peer, reason: m.0 },
        ReadFailure::Io(source) => HandshakeError::Io { peer, source },
    }
}

async fn write<S: AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
    peer: String,
) -> Result<(), HandshakeError> {
    stream
        .write_all(bytes)
        .await
        .map_err(|source| HandshakeError::Io {
            peer: peer.clone(),
            source,
        })?;
    stream
        .flush()
        .await
        .map_err(|source| HandshakeError::Io { peer, source })
}

/// Runs the initiator's handshake on `stream`, to finish by `deadline`. Bytes the peer sent
/// after the handshake stay in `buf` for the connection's reader.
pub(crate) async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    peer: Option<&str>,
    config: &HandshakeConfig,
    arbiter: &dyn Arbiter,
    deadline: tokio::time::Instant,
) -> Result<Handshaken, HandshakeError> {
    let (mut machine, first) = Initiator::new(InitiatorSetup {
        name: config.name.clone(),
        creation: config.creation,
        flags: config.flags,
        visible: config.visible,
        cookies: config.cookies.clone(),
        expected_peer: peer.map(str::to_string),
        challenge: gen_challenge(),
    });
    let label = peer.unwrap_or("the peer").to_string();
    let timeout_label = label.clone();
    let machine_ref = &mut machine;
    let run = async move {
        write(stream, &first, label.clone()).await?;
        loop {
            let body = match read_packet(stream, buf).await {
                Ok(Some(b)) => b,
                Ok(None) => return Err(machine_ref.on_closed()),
                Err(f) => return Err(read_error(label.clone(), f)),
            };
            let mut step = machine_ref.receive(&body)?;
            if let Step::AnswerAlive = step {
                step = machine_ref.answer_alive(arbiter.is_pending(&label))?;
            }
            match step {
                Step::Send(bytes) => write(stream, &bytes, label.clone()).await?,
                Step::Wait => {}
                Step::Done { send, result } => {
                    if let Some(bytes) = send {
                        write(stream, &bytes, label.clone()).await?;
                    }
                    return Ok(result);
                }
                Step::Reject { send, error } => {
                    let _ = write(stream, &send, label.clone()).await;
                    return Err(error);
                }
                Step::Decide(_) | Step::WaitPending | Step::AnswerAlive => {
                    return Err(HandshakeError::Misuse("acceptor step from the initiator"))
                }
            }
        }
    };
    // The stage is read after the timed-out future (and its borrow of the machine)
    // is gone.
    let outcome = tokio::time::timeout_at(deadline, run).await;
    match outcome {
        Ok(r) => r,
        Err(_) => Err(HandshakeError::Timeout {
            peer: timeout_label,
            timeout: config.setup_time,
            stage: machine.stage(),
        }),
    }
}

/// Runs the acceptor's handshake on `stream`, to finish by `deadline`. Bytes the peer sent
/// after the handshake stay in `buf` for the connection's reader.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    peer_label: String,
    config: &HandshakeConfig,
    arbiter: &dyn Arbiter,
    deadline: tokio::time::Instant,
) -> Result<Handshaken, HandshakeError> {
    let LocalName::Static(node) = &config.name else {
        return Err(HandshakeError::Misuse(
            "a node with a dynamic name cannot accept connections",
        ));
    };
    let mut machine = Acceptor::new(AcceptorSetup {
        node: node.clone(),
        creation: config.creation,
        flags: config.flags,
        visible: config.visible,
        cookies: config.cookies.clone(),
        challenge: gen_challenge(),
        peer_label: peer_label.clone(),
    });
    let machine_ref = &mut machine;
    let run = async move {
        loop {
            let body = match read_packet(stream, buf).await {
                Ok(Some(b)) => b,
                Ok(None) => return Err(machine_ref.on_closed()),
                Err(f) => return Err(read_error(machine_ref.peer_label(), f)),
            };
            let mut step = machine_ref.receive(&body)?;
            if let Step::Decide(request) = &step {
                let decision = arbiter.accept_pending(request);
                tracing::debug!(peer = %request.name, ?decision, "accept decision");
                step = machine_ref.decide(decision)?;
            }
            if let Step::WaitPending = step {
                let peer = machine_ref.peer_label();
                arbiter.wait_pending(&peer).await;
                step = machine_ref.old_connection_gone()?;
            }
            match step {
                Step::Send(bytes) => write(stream, &bytes, machine_ref.peer_label()).await?,
                Step::Wait => {}
                Step::Done { send, result } => {
                    if let Some(bytes) = send {
                        write(stream, &bytes, result.peer.node.clone()).await?;
                    }
                    return Ok(result);
                }
                Step::Reject { send, error } => {
                    let _ = write(stream, &send, machine_ref.peer_label()).await;
                    return Err(error);
                }
                Step::Decide(_) | Step::WaitPending | Step::AnswerAlive => {
                    return Err(HandshakeError::Misuse("unexpected step from the acceptor"))
                }
            }
        }
    };
    let outcome = tokio::time::timeout_at(deadline, run).await;
    match outcome {
        Ok(r) => r,
        Err(_) => Err(HandshakeError::Timeout {
            peer: machine.peer_label(),
            timeout: config.setup_time,
            stage: machine.stage(),
        }),
    }
}
