//! What EPMD knows about one node: the body shared by ALIVE2_REQ and PORT2_RESP.

use super::cursor::{check_name, name_from_bytes, Cursor};
use super::{DecodeError, EncodeError, MAX_EXTRA_BYTES};

/// The kind of node, as EPMD records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeType {
    /// 77 (`M`): a normal Erlang node.
    Normal,
    /// 72 (`H`): a hidden node, such as a C node or beamlink.
    Hidden,
    /// Any other value, kept as received.
    Other(u8),
}

impl NodeType {
    /// The byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            NodeType::Normal => 77,
            NodeType::Hidden => 72,
            NodeType::Other(b) => b,
        }
    }

    /// The type a byte stands for.
    pub fn from_byte(b: u8) -> Self {
        match b {
            77 => NodeType::Normal,
            72 => NodeType::Hidden,
            b => NodeType::Other(b),
        }
    }
}

/// A node as registered at EPMD: where its distribution listens and which protocol
/// versions it speaks. Sent in ALIVE2_REQ and returned by PORT2_RESP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeEntry {
    /// The name part of `name@host` (EPMD only knows the part before `@`).
    pub name: String,
    /// The TCP port the node's distribution listens on.
    pub port: u16,
    /// Normal (77) or hidden (72).
    pub node_type: NodeType,
    /// 0 = TCP/IPv4 (the only value in use).
    pub protocol: u8,
    /// Highest distribution version (6 from OTP 23).
    pub highest_version: u16,
    /// Lowest distribution version (6 from OTP 25).
    pub lowest_version: u16,
    /// Opaque extra bytes, usually empty.
    pub extra: Vec<u8>,
}

impl NodeEntry {
    /// A hidden node speaking distribution version 6 only (OTP 23 and later), TCP, no
    /// extra: what a beamlink node registers.
    pub fn new(name: impl Into<String>, port: u16) -> Self {
        NodeEntry {
            name: name.into(),
            port,
            node_type: NodeType::Hidden,
            protocol: 0,
            highest_version: 6,
            lowest_version: 6,
            extra: Vec::new(),
        }
    }

    /// Appends the fields from `PortNo` to `Extra` (the same layout in ALIVE2_REQ and
    /// PORT2_RESP).
    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        check_name(&self.name)?;
        if self.extra.len() > MAX_EXTRA_BYTES {
            return Err(EncodeError::ExtraTooLong {
                len: self.extra.len(),
                max: MAX_EXTRA_BYTES,
            });
        }
        out.extend_from_slice(&self.port.to_be_bytes());
        out.push(self.node_type.to_byte());
        out.push(self.protocol);
        out.extend_from_slice(&self.highest_version.to_be_bytes());
        out.extend_from_slice(&self.lowest_version.to_be_bytes());
        out.extend_from_slice(&(self.name.len() as u16).to_be_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(&(self.extra.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.extra);
        Ok(())
    }

    /// Reads the fields from `PortNo` to `Extra`, checking every length.
    pub(crate) fn decode_from(c: &mut Cursor<'_>) -> Result<Self, DecodeError> {
        let port = c.u16()?;
        let node_type = NodeType::from_byte(c.u8()?);
        let protocol = c.u8()?;
        let highest_version = c.u16()?;
        let lowest_version = c.u16()?;
        let nlen = c.u16()? as usize;
        if nlen > super::MAX_NAME_BYTES {
            return Err(DecodeError::NameTooLong {
                len: nlen,
                max: super::MAX_NAME_BYTES,
            });
        }
        let name = name_from_bytes(c.take(nlen)?)?;
        let elen = c.u16()? as usize;
        if elen > MAX_EXTRA_BYTES {
            return Err(DecodeError::ExtraTooLong {
                len: elen,
                max: MAX_EXTRA_BYTES,
            });
        }
        let extra = c.take(elen)?.to_vec();
        Ok(NodeEntry {
            name,
            port,
            node_type,
            protocol,
            highest_version,
            lowest_version,
            extra,
        })
    }
}
