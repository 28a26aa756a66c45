//! A node's registration at EPMD: alive exactly as long as its TCP connection.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A registered node. EPMD keeps the registration while this value (and so its TCP
/// connection) lives; dropping it closes the connection and EPMD unregisters the node at
/// once. There is no other way to unregister, by protocol design.
#[derive(Debug)]
pub struct Registration {
    stream: TcpStream,
    name: String,
    creation: u32,
    epmd: String,
}

impl Registration {
    pub(crate) fn new(stream: TcpStream, name: String, creation: u32, epmd: String) -> Self {
        Registration {
            stream,
            name,
            creation,
            epmd,
        }
    }

    /// The creation EPMD gave this incarnation of the node: it goes into every pid, port
    /// and reference the node makes, so that those of an earlier incarnation differ.
    pub fn creation(&self) -> u32 {
        self.creation
    }

    /// The registered name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The EPMD holding the registration, as `host:port`.
    pub fn epmd(&self) -> &str {
        &self.epmd
    }

    /// Completes when EPMD closes the connection (it stopped, or it was told to forget the
    /// node with STOP_REQ): from then on the node is no longer registered. Cancel-safe.
    pub async fn closed(&mut self) {
        let mut buf = [0u8; 64];
        loop {
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    }

    /// Unregisters now (the same as dropping).
    pub fn unregister(self) {}
}
