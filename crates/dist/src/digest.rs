//! The handshake digest: MD5 of the cookie followed by the challenge in decimal.

use md5::{Digest as _, Md5};
use subtle::ConstantTimeEq;

use crate::cookie::Cookie;

/// A 16-byte handshake digest.
pub type Digest = [u8; 16];

/// `MD5(cookie ++ integer_to_list(challenge))`, as OTP's `gen_digest/2`.
pub fn gen_digest(challenge: u32, cookie: &Cookie) -> Digest {
    let mut h = Md5::new();
    h.update(cookie.bytes());
    h.update(challenge.to_string().as_bytes());
    h.finalize().into()
}

/// `true` when `received` is the digest of `challenge` with `cookie`, compared in
/// constant time so that timing does not reveal how many bytes matched.
pub fn check_digest(received: &[u8], challenge: u32, cookie: &Cookie) -> bool {
    let expected = gen_digest(challenge, cookie);
    received.len() == expected.len() && bool::from(expected.ct_eq(received))
}

/// A fresh random challenge.
pub fn gen_challenge() -> u32 {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_md5_of_cookie_and_decimal_challenge() {
        // erlang:md5(["COOKIE" | integer_to_list(1234567890)]) on OTP 25.
        let want: Digest = [
            174, 167, 82, 242, 101, 175, 58, 236, 148, 134, 186, 194, 10, 140, 223, 13,
        ];
        assert_eq!(gen_digest(1_234_567_890, &Cookie::new("COOKIE")), want);
    }

    #[test]
    fn check_digest_accepts_only_the_right_cookie() {
        let d = gen_digest(42, &Cookie::new("a"));
        assert!(check_digest(&d, 42, &Cookie::new("a")));
        assert!(!check_digest(&d, 42, &Cookie::new("b")));
        assert!(!check_digest(&d, 43, &Cookie::new("a")));
        assert!(!check_digest(&d[..15], 42, &Cookie::new("a")));
    }
}
