//! The `.hosts.erlang` file of `net_adm`: host names written as Erlang terms, one per
//! full stop (`'app1.example.com'.`).

use std::path::{Path, PathBuf};

/// A larger hosts file is refused rather than read.
pub const MAX_HOSTS_FILE_BYTES: u64 = 1 << 20;
/// More hosts than this are refused.
pub const MAX_HOSTS: usize = 10_000;

/// A `.hosts.erlang` file could not be read or is not a list of host names.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HostsFileError {
    /// The file could not be read, or is too large.
    #[error("{path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not a list of host names.
    #[error("{path}:{line}: {reason}; each host is written as 'host.name'. (an atom or a string, then a full stop)")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line where the problem is (from 1).
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

/// Where `net_adm:host_file/0` looks for `.hosts.erlang`, in order: the current directory,
/// then the home directory. Returns the first that exists.
pub fn default_hosts_file() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from(".hosts.erlang")];
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".hosts.erlang"));
    }
    candidates.push(PathBuf::from("/usr/lib/erlang/.hosts.erlang"));
    candidates.into_iter().find(|p| p.is_file())
}

/// Reads the host names of a `.hosts.erlang` file.
pub fn read_hosts_file(path: &Path) -> Result<Vec<String>, HostsFileError> {
    let read_err = |reason: String| HostsFileError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let meta = std::fs::metadata(path).map_err(|e| read_err(e.to_string()))?;
    if meta.len() > MAX_HOSTS_FILE_BYTES {
        return Err(read_err(format!("larger than {MAX_HOSTS_FILE_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| read_err(e.to_string()))?;
    parse_hosts_file(&text).map_err(|(line, reason)| HostsFileError::Syntax {
        path: path.to_path_buf(),
        line,
        reason,
    })
}

/// Parses the text of a `.hosts.erlang` file: atoms (`host`, `'host.name'`) or strings
/// (`"host.name"`), each followed by a full stop; `%` starts a comment. On error, returns
/// the line number and what was wrong.
pub fn parse_hosts_file(text: &str) -> Result<Vec<String>, (usize, String)> {
    let mut p = Parser {
        chars: text.chars().collect(),
        at: 0,
        line: 1,
    };
    let mut hosts = Vec::new();
    loop {
        p.skip_blank();
        let Some(c) = p.peek() else { break };
        let line = p.line;
        let host = match c {
            '\'' => p.quoted('\'')?,
            '"' => p.quoted('"')?,
            c if c.is_ascii_lowercase() => p.bare_atom(),
            other => return Err((line, format!("expected a host name, found `{other}`"))),
        };
        p.skip_blank();
        match p.peek() {
            Some('.') => {
                p.at += 1;
                if !matches!(p.peek(), None | Some('%')) && !p.peek().is_some_and(char::is_whitespace) {
                    return Err((p.line, "a full stop must be followed by white space".into()));
                }
            }
            Some(other) => return Err((p.line, format!("expected `.` after {host:?}, found `{other}`"))),
            None => {
                return Err((
                    p.line,
                    format!("expected `.` after {host:?}, found the end of the file"),
                ))
            }
        }
        if host.is_empty() {
            return Err((line, "empty host name".into()));
        }
        if hosts.len() >= MAX_HOSTS {
            return Err((line, format!("more than {MAX_HOSTS} hosts")));
        }
        hosts.push(host);
    }
    Ok(hosts)
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    line: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn skip_blank(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.bump();
            } else if c == '%' {
                while self.peek().is_some_and(|c| c != '\n') {
                    self.bump();
                }
            } else {
                break;
            }
        }
    }

    fn bare_atom(&mut self) -> String {
        let mut s = String::new();
        while let Some(c) = self
            .peek()
            .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '@')
        {
            s.push(c);
            self.bump();
        }
        s
    }

    fn quoted(&mut self, quote: char) -> Result<String, (usize, String)> {
        let start = self.line;
        self.bump();
        let mut s = String::new();
        loop {
            match self.bump() {
                None => return Err((start, format!("unterminated {quote}quoted{quote} name"))),
                Some(c) if c == quote => return Ok(s),
                Some('\\') => match self.bump() {
                    Some('n') => s.push('\n'),
                    Some('t') => s.push('\t'),
                    Some('s') => s.push(' '),
                    Some(c) => s.push(c),
                    None => return Err((start, "unterminated escape".into())),
                },
                Some(c) => s.push(c),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_atoms_strings_and_comments() {
        let text = "% the cluster\n'app1.example.com'.\napp2 . % short\n\"10.0.0.3\".\n'it\\'s'.";
        assert_eq!(
            parse_hosts_file(text).unwrap(),
            vec!["app1.example.com", "app2", "10.0.0.3", "it's"]
        );
        assert_eq!(parse_hosts_file("").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn rejects_what_is_not_a_host_list() {
        assert_eq!(parse_hosts_file("'a'.\n{x}.").unwrap_err().0, 2);
        assert!(parse_hosts_file("'a'").is_err());
        assert!(parse_hosts_file("'a").is_err());
        assert!(parse_hosts_file("host.domain.").is_err());
        assert!(parse_hosts_file("''.").is_err());
        assert!(parse_hosts_file("Host.").is_err());
    }
}
