//! The text answers to NAMES_REQ and DUMP_REQ: EPMD's own port as 4 bytes, then one line
//! per node.

use super::{DecodeError, NodeEntry};

/// One line of a NAMES_REQ answer: a registered name and its distribution port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// The name part of the node name.
    pub name: String,
    /// The node's distribution port.
    pub port: u16,
}

/// The answer to NAMES_REQ: `epmd_port` as 4 bytes, then `name NAME at port PORT\n` per node.
pub fn encode_names<'a>(epmd_port: u16, nodes: impl IntoIterator<Item = &'a NodeEntry>) -> Vec<u8> {
    let mut out = (epmd_port as u32).to_be_bytes().to_vec();
    for n in nodes {
        out.extend_from_slice(format!("name {} at port {}\n", n.name, n.port).as_bytes());
    }
    out
}

/// The answer to DUMP_REQ, in epmd's layout: one NUL-terminated line per node, where `fd`
/// identifies the node's connection.
pub fn encode_dump<'a>(epmd_port: u16, nodes: impl IntoIterator<Item = (&'a NodeEntry, u64)>) -> Vec<u8> {
    let mut out = (epmd_port as u32).to_be_bytes().to_vec();
    for (n, fd) in nodes {
        out.extend_from_slice(
            format!("active name     <{}> at port {}, fd = {}\n\0", n.name, n.port, fd).as_bytes(),
        );
    }
    out
}

/// Decodes a whole NAMES_REQ answer (EPMD closes the connection after it): EPMD's port and
/// the registered names, in EPMD's order.
pub fn decode_names(answer: &[u8]) -> Result<(u32, Vec<NameEntry>), DecodeError> {
    if answer.len() < 4 {
        return Err(DecodeError::Truncated {
            what: "NAMES_RESP",
            needed: 4,
            available: answer.len(),
        });
    }
    let port = u32::from_be_bytes([answer[0], answer[1], answer[2], answer[3]]);
    let text = std::str::from_utf8(&answer[4..]).map_err(|_| DecodeError::NameNotUtf8)?;
    let mut names = Vec::new();
    for line in text.split_terminator('\n') {
        let bad = || DecodeError::BadNamesLine {
            line: line.chars().take(300).collect(),
        };
        let rest = line.strip_prefix("name ").ok_or_else(bad)?;
        let (name, port) = rest.rsplit_once(" at port ").ok_or_else(bad)?;
        let port = port.parse::<u16>().map_err(|_| bad())?;
        if name.is_empty() {
            return Err(bad());
        }
        names.push(NameEntry {
            name: name.to_string(),
            port,
        });
    }
    Ok((port, names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_answer_as_epmd_25_sends_it() {
        let bytes = b"\x00\x00\xa8gname bar at port 5555\nname foo at port 5556\n";
        let nodes = [NodeEntry::new("bar", 5555), NodeEntry::new("foo", 5556)];
        assert_eq!(encode_names(43111, &nodes), bytes);
        let (port, names) = decode_names(bytes).unwrap();
        assert_eq!(port, 43111);
        assert_eq!(
            names,
            [
                NameEntry {
                    name: "bar".into(),
                    port: 5555
                },
                NameEntry {
                    name: "foo".into(),
                    port: 5556
                }
            ]
        );
        assert_eq!(decode_names(b"\x00\x00\x11\x11").unwrap(), (0x1111, vec![]));
    }

    #[test]
    fn dump_answer_as_epmd_25_sends_it() {
        let nodes = [NodeEntry::new("bar", 5555)];
        assert_eq!(
            encode_dump(43111, nodes.iter().map(|n| (n, 7))),
            b"\x00\x00\xa8gactive name     <bar> at port 5555, fd = 7\n\x00"
        );
    }

    #[test]
    fn bad_names_answers() {
        assert!(decode_names(b"\x00\x00").is_err());
        assert!(decode_names(b"\x00\x00\x00\x01garbage\n").is_err());
        assert!(decode_names(b"\x00\x00\x00\x01name x at port 99999\n").is_err());
        assert!(decode_names(b"\x00\x00\x00\x01name  at port 1\n").is_err());
        assert!(decode_names(b"\x00\x00\x00\x01\xff").is_err());
    }
}
