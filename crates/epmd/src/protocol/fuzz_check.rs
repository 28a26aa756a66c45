//! The invariants the request fuzz target checks, shared with the corpus replay test.

use super::*;

/// Feeds `data` to every decoder as untrusted bytes. Panics only if an invariant breaks:
/// a decoded request must re-encode to the very bytes it came from, and every decoder
/// must return (never panic) on any input.
#[doc(hidden)]
pub fn check_request_bytes(data: &[u8]) {
    if let Ok(Some((request, used))) = Request::decode(data) {
        assert!(used <= data.len() && used >= 3, "used {used} of {}", data.len());
        let again = request.encode().expect("a decoded request re-encodes");
        assert_eq!(again, &data[..used], "re-encoding differs");
    }
    if let Ok(request) = Request::decode_body(data) {
        assert!(data.len() <= MAX_REQUEST_LEN);
        let again = request.encode().expect("a decoded body re-encodes");
        assert_eq!(&again[2..], data);
    }
    if let Ok(Some((r, used))) = Alive2Response::decode(data) {
        assert_eq!(r.encode(), &data[..used]);
    }
    if let Ok(Some((r, used))) = Port2Response::decode(data) {
        if let Port2Response::Found(_) = r {
            assert_eq!(r.encode().expect("re-encodes"), &data[..used]);
        }
    }
    let _ = decode_names(data);
    let _ = KillResponse::decode(data);
    let _ = StopResponse::decode(data);
}
