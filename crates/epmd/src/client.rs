//! The EPMD client: one short TCP connection per query, one long-lived connection per
//! registration.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::protocol::{
    decode_names, Alive2Response, KillResponse, NameEntry, NodeEntry, Port2Response, Request, StopResponse,
};
use crate::{Error, Registration};

/// How long [`EpmdClient`] waits for a TCP connection by default.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long [`EpmdClient`] waits for a whole answer by default.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest NAMES or DUMP answer the client reads (about 4000 nodes of 255-byte names).
const MAX_TEXT_ANSWER: usize = 1 << 20;
/// The largest PORT2_RESP: a header, the longest name and the longest extra field.
const MAX_PORT2_ANSWER: usize = 2 + crate::protocol::MAX_REQUEST_LEN;

/// The answer to a port lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The node is registered: its port, type and distribution versions.
    Registered(NodeEntry),
    /// No node of that name is registered at this EPMD.
    NotRegistered,
}

/// A client of one EPMD (a host and a port). Cheap to clone; holds no connection.
#[derive(Debug, Clone)]
pub struct EpmdClient {
    host: String,
    port: u16,
    connect_timeout: Duration,
    read_timeout: Duration,
}

impl EpmdClient {
    /// A client of the EPMD at `host` (a name, an IPv4 or an IPv6 address, with or without
    /// brackets) and `port`, with the default timeouts.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        let host = host.into();
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(inner) => inner.to_string(),
            None => host,
        };
        EpmdClient {
            host,
            port,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// A client of the EPMD at `host` on the port `erl` would use: `ERL_EPMD_PORT`, else 4369.
    pub fn from_env(host: impl Into<String>) -> Result<Self, Error> {
        Ok(Self::new(host, crate::port_from_env()?))
    }

    /// Sets how long to wait for the TCP connection.
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Sets how long to wait for a whole answer once connected.
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    /// The host this client asks.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port this client asks.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[v6]:port` for IPv6), as errors name it.
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Registers `node` (ALIVE2_REQ). The registration lasts as long as the returned
    /// [`Registration`]: dropping it closes the connection and EPMD forgets the node.
    /// A name that is already registered gives [`Error::NameRefused`].
    pub async fn register(&self, node: &NodeEntry) -> Result<Registration, Error> {
        let request = Request::Alive2(node.clone()).encode()?;
        let mut stream = self.connect().await?;
        self.write(&mut stream, &request).await?;
        let mut buf = Vec::with_capacity(8);
        let response = loop {
            if let Some((r, _)) = Alive2Response::decode(&buf).map_err(|reason| Error::Malformed {
                addr: self.addr(),
                request: "ALIVE2_REQ",
                reason,
            })? {
                break r;
            }
            self.read_some(&mut stream, &mut buf, "ALIVE2_REQ").await?;
        };
        if response.result() != 0 {
            return Err(Error::NameRefused {
                addr: self.addr(),
                name: node.name.clone(),
                result: response.result(),
            });
        }
        tracing::debug!(epmd = %self.addr(), name = %node.name, creation = response.creation(), "registered");
        Ok(Registration::new(
            stream,
            node.name.clone(),
            response.creation(),
            self.addr(),
        ))
    }

    /// Looks up node `name` (the part before `@`) (PORT_PLEASE2_REQ).
    pub async fn port_please(&self, name: &str) -> Result<Lookup, Error> {
        let request = Request::PortPlease2 {
            name: name.to_string(),
        }
        .encode()?;
        let answer = self.query(&request, "PORT_PLEASE2_REQ", MAX_PORT2_ANSWER).await?;
        match Port2Response::decode(&answer) {
            Ok(Some((Port2Response::Found(entry), _))) => Ok(Lookup::Registered(entry)),
            Ok(Some((Port2Response::Error(_), _))) => Ok(Lookup::NotRegistered),
            Ok(None) => Err(Error::Closed {
                addr: self.addr(),
                request: "PORT_PLEASE2_REQ",
            }),
            Err(reason) => Err(Error::Malformed {
                addr: self.addr(),
                request: "PORT_PLEASE2_REQ",
                reason,
            }),
        }
    }

    /// Lists the registered names (NAMES_REQ), in EPMD's order.
    pub async fn names(&self) -> Result<Vec<NameEntry>, Error> {
        let answer = self
            .query(&Request::Names.encode()?, "NAMES_REQ", MAX_TEXT_ANSWER)
            .await?;
        decode_names(&answer)
            .map(|(_, names)| names)
            .map_err(|reason| Error::Malformed {
                addr: self.addr(),
                request: "NAMES_REQ",
                reason,
            })
    }

    /// Everything EPMD knows, as its text (DUMP_REQ, a debugging aid; epmd answers only
    /// local clients).
    pub async fn dump(&self) -> Result<String, Error> {
        let answer = self
            .query(&Request::Dump.encode()?, "DUMP_REQ", MAX_TEXT_ANSWER)
            .await?;
        if answer.len() < 4 {
            return Err(Error::Closed {
                addr: self.addr(),
                request: "DUMP_REQ",
            });
        }
        Ok(String::from_utf8_lossy(&answer[4..]).replace('\0', ""))
    }

    /// Asks EPMD to stop (KILL_REQ). EPMD refuses while nodes are registered unless it
    /// runs with relaxed command checks.
    pub async fn kill(&self) -> Result<KillResponse, Error> {
        let answer = self.query(&Request::Kill.encode()?, "KILL_REQ", 16).await?;
        KillResponse::decode(&answer).map_err(|reason| Error::Malformed {
            addr: self.addr(),
            request: "KILL_REQ",
            reason,
        })
    }

    /// Forcibly unregisters `name` (STOP_REQ). EPMD without relaxed command checks closes
    /// the connection without answering: that is [`Error::Closed`].
    pub async fn stop(&self, name: &str) -> Result<StopResponse, Error> {
        let request = Request::Stop {
            name: name.to_string(),
        }
        .encode()?;
        let answer = self.query(&request, "STOP_REQ", 32).await?;
        if answer.is_empty() {
            return Err(Error::Closed {
                addr: self.addr(),
                request: "STOP_REQ",
            });
        }
        StopResponse::decode(&answer).map_err(|reason| Error::Malformed {
            addr: self.addr(),
            request: "STOP_REQ",
            reason,
        })
    }

    async fn connect(&self) -> Result<TcpStream, Error> {
        let connect = TcpStream::connect((self.host.as_str(), self.port));
        match timeout(self.connect_timeout, connect).await {
            Err(_) => Err(Error::ConnectTimeout {
                addr: self.addr(),
                after: self.connect_timeout,
            }),
            Ok(Err(source)) => Err(Error::Connect {
                addr: self.addr(),
                source,
            }),
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                Ok(s)
            }
        }
    }

    async fn write(&self, stream: &mut TcpStream, bytes: &[u8]) -> Result<(), Error> {
        match timeout(self.read_timeout, stream.write_all(bytes)).await {
            Err(_) => Err(Error::ReadTimeout {
                addr: self.addr(),
                after: self.read_timeout,
            }),
            Ok(Err(source)) => Err(Error::Io {
                addr: self.addr(),
                source,
            }),
            Ok(Ok(())) => Ok(()),
        }
    }

    /// Reads at least one more byte into `buf`; EOF is [`Error::Closed`].
    async fn read_some(
        &self,
        stream: &mut TcpStream,
        buf: &mut Vec<u8>,
        request: &'static str,
    ) -> Result<(), Error> {
        let mut chunk = [0u8; 64];
        match timeout(self.read_timeout, stream.read(&mut chunk)).await {
            Err(_) => Err(Error::ReadTimeout {
                addr: self.addr(),
                after: self.read_timeout,
            }),
            Ok(Err(source)) => Err(Error::Io {
                addr: self.addr(),
                source,
            }),
            Ok(Ok(0)) => Err(Error::Closed {
                addr: self.addr(),
                request,
            }),
            Ok(Ok(n)) => {
                buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
        }
    }

    /// Sends one request and reads the answer until EPMD closes the connection, within
    /// the read timeout and at most `limit` bytes.
    async fn query(&self, request: &[u8], what: &'static str, limit: usize) -> Result<Vec<u8>, Error> {
        let mut stream = self.connect().await?;
        self.write(&mut stream, request).await?;
        let read = async {
            let mut answer = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                let n = stream.read(&mut chunk).await?;
                if n == 0 {
                    return Ok::<_, std::io::Error>(Some(answer));
                }
                if answer.len() + n > limit {
                    return Ok(None);
                }
                answer.extend_from_slice(&chunk[..n]);
            }
        };
        match timeout(self.read_timeout, read).await {
            Err(_) => Err(Error::ReadTimeout {
                addr: self.addr(),
                after: self.read_timeout,
            }),
            Ok(Err(source)) => Err(Error::Io {
                addr: self.addr(),
                source,
            }),
            Ok(Ok(None)) => Err(Error::AnswerTooLarge {
                addr: self.addr(),
                request: what,
                limit,
            }),
            Ok(Ok(Some(a))) => Ok(a),
        }
    }
}
