//! The distribution cookie: where it comes from, and keeping it secret.
//!
//! A [`Cookie`] never prints: its `Debug` shows `Cookie(<secret>)` and it has no
//! `Display`. Files are read the way `erl` reads `~/.erlang.cookie`: refused when anyone
//! but the owner has any permission on them, printable ASCII only, trailing newlines and
//! spaces ignored.

use std::fmt;
use std::path::{Path, PathBuf};

/// A distribution cookie.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(String);

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<secret>)")
    }
}

/// Why a cookie could not be had. Never contains the cookie itself.
#[derive(Debug, thiserror::Error)]
pub enum CookieError {
    /// The file grants permissions to group or others (erl refuses it too).
    #[error("cookie file {path} is readable or writable by group or others (mode {mode:o}): run `chmod 400 {path}`, as erl requires")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file could not be read.
    #[error("cannot read cookie file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Characters other than printable ASCII.
    #[error("cookie from {origin} holds characters other than printable ASCII; erl would refuse it too")]
    BadCharacters {
        /// Where the cookie came from.
        origin: String,
    },
    /// Nothing but whitespace.
    #[error("cookie from {origin} is empty: write a cookie there or set one explicitly")]
    Empty {
        /// Where the cookie came from.
        origin: String,
    },
    /// The environment variable is not set.
    #[error("environment variable {var} is not set (or not UTF-8): set it to the cluster's cookie")]
    MissingEnv {
        /// The variable.
        var: String,
    },
    /// `HOME` is not set, so `~/.erlang.cookie` has no place.
    #[error("HOME is not set, so ~/.erlang.cookie cannot be found: set HOME or give the cookie explicitly")]
    NoHome,
}

impl Cookie {
    /// A cookie given explicitly. Checked as `erl` checks one: printable ASCII, not
    /// empty.
    pub fn new(cookie: &str) -> Result<Cookie, CookieError> {
        Cookie::parse(cookie, "the explicit value")
    }

    /// The cookie's bytes, for the handshake digest only.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The cookie's text, for the handshake only (never log it).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads `path` as `erl` reads its cookie file: refused unless only its owner has
    /// permissions on it; printable ASCII characters, then optional newlines, carriage
    /// returns and spaces.
    pub fn from_file(path: &Path) -> Result<Cookie, CookieError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| CookieError::Read {
            path: path.into(),
            source,
        })?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(CookieError::Permissions {
                path: path.into(),
                mode,
            });
        }
        let bytes = std::fs::read(path).map_err(|source| CookieError::Read {
            path: path.into(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|_| CookieError::BadCharacters {
            origin: path.display().to_string(),
        })?;
        Cookie::parse(&text, &path.display().to_string())
    }

    /// `$HOME/.erlang.cookie`, as [`Cookie::from_file`] reads it.
    pub fn from_home() -> Result<Cookie, CookieError> {
        let home = std::env::var_os("HOME").ok_or(CookieError::NoHome)?;
        Cookie::from_file(&Path::new(&home).join(".erlang.cookie"))
    }

    /// The cookie in environment variable `var` (for example `RELEASE_COOKIE`).
    pub fn from_env(var: &str) -> Result<Cookie, CookieError> {
        let v = std::env::var(var).map_err(|_| CookieError::MissingEnv { var: var.into() })?;
        Cookie::parse(&v, &format!("environment variable {var}"))
    }

    fn parse(text: &str, origin: &str) -> Result<Cookie, CookieError> {
        let body = text.trim_end_matches(['\n', '\r', ' ']);
        if body.bytes().any(|b| !(b' '..=b'~').contains(&b)) {
            return Err(CookieError::BadCharacters {
                origin: origin.into(),
            });
        }
        if body.is_empty() {
            return Err(CookieError::Empty {
                origin: origin.into(),
            });
        }
        Ok(Cookie(body.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn write(dir: &Path, content: &str, mode: u32) -> PathBuf {
        let p = dir.join(".erlang.cookie");
        std::fs::write(&p, content).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    #[test]
    fn reads_file_as_erl_does() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "SECRETCOOKIE\n", 0o400);
        assert_eq!(Cookie::from_file(&p).unwrap().expose(), "SECRETCOOKIE");
        let p = write(d.path(), "with space inside \r\n \n", 0o600);
        assert_eq!(Cookie::from_file(&p).unwrap().expose(), "with space inside");
    }

    #[test]
    fn refuses_file_others_can_access() {
        let d = tempfile::tempdir().unwrap();
        for mode in [0o644, 0o440, 0o404, 0o620] {
            let p = write(d.path(), "SECRETCOOKIE", mode);
            let e = Cookie::from_file(&p).unwrap_err();
            assert!(matches!(e, CookieError::Permissions { .. }), "mode {mode:o}: {e}");
            assert!(!e.to_string().contains("SECRETCOOKIE"));
        }
    }

    #[test]
    fn refuses_bad_characters_and_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "abc\ndef", 0o400);
        assert!(matches!(
            Cookie::from_file(&p),
            Err(CookieError::BadCharacters { .. })
        ));
        let p = write(d.path(), "\n", 0o400);
        assert!(matches!(Cookie::from_file(&p), Err(CookieError::Empty { .. })));
        assert!(Cookie::new("caf\u{e9}").is_err());
    }

    #[test]
    fn never_prints() {
        let c = Cookie::new("SECRETCOOKIE").unwrap();
        assert!(!format!("{c:?}").contains("SECRETCOOKIE"));
    }
}
