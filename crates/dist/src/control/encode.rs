//! [`ControlMessage`] to bytes (written straight into the frame buffer) and to a term.
//!
//! Pids, references, atoms and small integers are written here directly, in the
//! encodings a BEAM with the OTP 26 mandatory flags uses (NEW_PID_EXT,
//! NEWER_REFERENCE_EXT, SMALL_ATOM_UTF8_EXT); any other term (a reason, a trace token,
//! spawn options) goes through the term codec.

use super::{ControlMessage, PidOrName, Recipient, SpawnResult};
use beamlink_term::etf::{encode_body_to, EncodeError};
use beamlink_term::{Atom, BigInt, Pid, Reference, Term};

const SMALL_INTEGER_EXT: u8 = 97;
const INTEGER_EXT: u8 = 98;
const SMALL_TUPLE_EXT: u8 = 104;
const NIL_EXT: u8 = 106;
const LIST_EXT: u8 = 108;
const SMALL_BIG_EXT: u8 = 110;
const NEW_PID_EXT: u8 = 88;
const NEWER_REFERENCE_EXT: u8 = 90;
const ATOM_UTF8_EXT: u8 = 118;
const SMALL_ATOM_UTF8_EXT: u8 = 119;

/// The longest atom Erlang accepts, in characters.
const MAX_ATOM_CHARS: usize = 255;

/// The most words a reference may have on the wire (the BEAM refuses more).
const MAX_REFERENCE_WORDS: usize = 5;

pub(crate) fn write_atom(a: &Atom, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let s = a.as_str();
    if s.chars().count() > MAX_ATOM_CHARS {
        return Err(EncodeError(format!(
            "atom of {} characters: Erlang allows at most 255",
            s.chars().count()
        )));
    }
    if s.len() <= 255 {
        out.push(SMALL_ATOM_UTF8_EXT);
        out.push(s.len() as u8);
    } else {
        out.push(ATOM_UTF8_EXT);
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

pub(crate) fn write_pid(p: &Pid, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.push(NEW_PID_EXT);
    write_atom(&p.node, out)?;
    out.extend_from_slice(&p.id.to_be_bytes());
    out.extend_from_slice(&p.serial.to_be_bytes());
    out.extend_from_slice(&p.creation.to_be_bytes());
    Ok(())
}

pub(crate) fn write_reference(r: &Reference, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if r.id.is_empty() || r.id.len() > MAX_REFERENCE_WORDS {
        return Err(EncodeError(format!(
            "reference with {} id words: the distribution carries 1 to 5",
            r.id.len()
        )));
    }
    out.push(NEWER_REFERENCE_EXT);
    out.extend_from_slice(&(r.id.len() as u16).to_be_bytes());
    write_atom(&r.node, out)?;
    out.extend_from_slice(&r.creation.to_be_bytes());
    for w in &r.id {
        out.extend_from_slice(&w.to_be_bytes());
    }
    Ok(())
}

/// A non-negative integer in the smallest encoding term_to_binary picks.
pub(crate) fn write_uint(n: u64, out: &mut Vec<u8>) {
    if n <= 255 {
        out.push(SMALL_INTEGER_EXT);
        out.push(n as u8);
    } else if n <= i32::MAX as u64 {
        out.push(INTEGER_EXT);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        let digits = n.to_le_bytes();
        let len = 8 - (n.leading_zeros() / 8) as usize;
        out.push(SMALL_BIG_EXT);
        out.push(len as u8);
        out.push(0);
        out.extend_from_slice(&digits[..len]);
    }
}

fn write_tuple_header(arity: u8, op: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(&[SMALL_TUPLE_EXT, arity, SMALL_INTEGER_EXT, op]);
}

fn write_unused(out: &mut Vec<u8>) {
    // '' as the BEAM writes it.
    out.extend_from_slice(&[SMALL_ATOM_UTF8_EXT, 0]);
}

fn write_pid_or_name(p: &PidOrName, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match p {
        PidOrName::Pid(p) => write_pid(p, out),
        PidOrName::Name(a) => write_atom(a, out),
    }
}

fn write_list(elems: &[Term], out: &mut Vec<u8>) -> Result<(), EncodeError> {
    if elems.is_empty() {
        out.push(NIL_EXT);
        return Ok(());
    }
    out.push(LIST_EXT);
    out.extend_from_slice(&(elems.len() as u32).to_be_bytes());
    for e in elems {
        encode_body_to(e, out)?;
    }
    out.push(NIL_EXT);
    Ok(())
}

fn write_mfa(m: &Atom, f: &Atom, a: u8, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    out.extend_from_slice(&[SMALL_TUPLE_EXT, 3]);
    write_atom(m, out)?;
    write_atom(f, out)?;
    write_uint(a as u64, out);
    Ok(())
}

fn write_spawn_result(r: &SpawnResult, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    match r {
        SpawnResult::Pid(p) => write_pid(p, out),
        SpawnResult::Error(a) => write_atom(a, out),
    }
}

impl ControlMessage {
    /// Appends the control tuple without the version byte (as after a distribution
    /// header). Fails only for values the BEAM could not read: an atom over 255
    /// characters, a reference without 1 to 5 words, a NaN or infinite float.
    pub fn encode_body_to(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use ControlMessage as C;
        let op = self.operation();
        match self {
            C::Link { from, to }
            | C::Unlink { from, to }
            | C::GroupLeader { from, to }
            | C::SendSender { from, to }
            | C::PayloadExit { from, to }
            | C::PayloadExit2 { from, to } => {
                write_tuple_header(3, op, out);
                write_pid(from, out)?;
                write_pid(to, out)?;
            }
            C::Send { to } => {
                write_tuple_header(3, op, out);
                write_unused(out);
                write_pid(to, out)?;
            }
            C::Exit { from, to, reason } | C::Exit2 { from, to, reason } => {
                write_tuple_header(4, op, out);
                write_pid(from, out)?;
                write_pid(to, out)?;
                encode_body_to(reason, out)?;
            }
            C::NodeLink => out.extend_from_slice(&[SMALL_TUPLE_EXT, 1, SMALL_INTEGER_EXT, op]),
            C::RegSend { from, to_name } => {
                write_tuple_header(4, op, out);
                write_pid(from, out)?;
                write_unused(out);
                write_atom(to_name, out)?;
            }
            C::SendTt { to, trace_token } => {
                write_tuple_header(4, op, out);
                write_unused(out);
                write_pid(to, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::ExitTt {
                from,
                to,
                trace_token,
                reason,
            }
            | C::Exit2Tt {
                from,
                to,
                trace_token,
                reason,
            } => {
                write_tuple_header(5, op, out);
                write_pid(from, out)?;
                write_pid(to, out)?;
                encode_body_to(trace_token, out)?;
                encode_body_to(reason, out)?;
            }
            C::RegSendTt {
                from,
                to_name,
                trace_token,
            } => {
                write_tuple_header(5, op, out);
                write_pid(from, out)?;
                write_unused(out);
                write_atom(to_name, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::MonitorP { from, to, reference } | C::DemonitorP { from, to, reference } => {
                write_tuple_header(4, op, out);
                write_pid(from, out)?;
                write_pid_or_name(to, out)?;
                write_reference(reference, out)?;
            }
            C::MonitorPExit {
                from,
                to,
                reference,
                reason,
            } => {
                write_tuple_header(5, op, out);
                write_pid_or_name(from, out)?;
                write_pid(to, out)?;
                write_reference(reference, out)?;
                encode_body_to(reason, out)?;
            }
            C::SendSenderTt {
                from,
                to,
                trace_token,
            }
            | C::PayloadExitTt {
                from,
                to,
                trace_token,
            }
            | C::PayloadExit2Tt {
                from,
                to,
                trace_token,
            } => {
                write_tuple_header(4, op, out);
                write_pid(from, out)?;
                write_pid(to, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::PayloadMonitorPExit { from, to, reference } => {
                write_tuple_header(4, op, out);
                write_pid_or_name(from, out)?;
                write_pid(to, out)?;
                write_reference(reference, out)?;
            }
            C::SpawnRequest {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                options,
            } => {
                write_tuple_header(6, op, out);
                write_reference(req_id, out)?;
                write_pid(from, out)?;
                write_pid(group_leader, out)?;
                write_mfa(module, function, *arity, out)?;
                write_list(options, out)?;
            }
            C::SpawnRequestTt {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                options,
                trace_token,
            } => {
                write_tuple_header(7, op, out);
                write_reference(req_id, out)?;
                write_pid(from, out)?;
                write_pid(group_leader, out)?;
                write_mfa(module, function, *arity, out)?;
                write_list(options, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::SpawnReply {
                req_id,
                to,
                flags,
                result,
            } => {
                write_tuple_header(5, op, out);
                write_reference(req_id, out)?;
                write_pid(to, out)?;
                write_uint(*flags as u64, out);
                write_spawn_result(result, out)?;
            }
            C::SpawnReplyTt {
                req_id,
                to,
                flags,
                result,
                trace_token,
            } => {
                write_tuple_header(6, op, out);
                write_reference(req_id, out)?;
                write_pid(to, out)?;
                write_uint(*flags as u64, out);
                write_spawn_result(result, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::AliasSend { from, alias } => {
                write_tuple_header(3, op, out);
                write_pid(from, out)?;
                write_reference(alias, out)?;
            }
            C::AliasSendTt {
                from,
                alias,
                trace_token,
            } => {
                write_tuple_header(4, op, out);
                write_pid(from, out)?;
                write_reference(alias, out)?;
                encode_body_to(trace_token, out)?;
            }
            C::UnlinkId { id, from, to } | C::UnlinkIdAck { id, from, to } => {
                write_tuple_header(4, op, out);
                write_uint(*id, out);
                write_pid(from, out)?;
                write_pid(to, out)?;
            }
            C::AltactSigSend {
                flags,
                from,
                to,
                trace_token,
            } => {
                let flags = match trace_token {
                    Some(_) => flags | super::altact_flags::TOKEN,
                    None => flags & !super::altact_flags::TOKEN,
                };
                write_tuple_header(if trace_token.is_some() { 5 } else { 4 }, op, out);
                write_uint(flags as u64, out);
                write_pid(from, out)?;
                match to {
                    Recipient::Pid(p) => write_pid(p, out)?,
                    Recipient::Name(a) => write_atom(a, out)?,
                    Recipient::Alias(r) => write_reference(r, out)?,
                }
                if let Some(t) = trace_token {
                    encode_body_to(t, out)?;
                }
            }
        }
        Ok(())
    }

    /// The control tuple as a term, for printing, tracing and comparison with other
    /// encoders. [`ControlMessage::from_term`] reads it back to an equal value.
    pub fn to_term(&self) -> Term {
        use ControlMessage as C;
        let op = Term::Int(self.operation() as i64);
        let pid = |p: &Pid| Term::Pid(p.clone());
        let atom = |a: &Atom| Term::Atom(a.clone());
        let reference = |r: &Reference| Term::from(r.clone());
        let unused = || Term::atom("");
        let pon = |p: &PidOrName| match p {
            PidOrName::Pid(p) => Term::Pid(p.clone()),
            PidOrName::Name(a) => Term::Atom(a.clone()),
        };
        let mfa = |m: &Atom, f: &Atom, a: u8| Term::tuple(vec![atom(m), atom(f), Term::Int(a as i64)]);
        let result = |r: &SpawnResult| match r {
            SpawnResult::Pid(p) => Term::Pid(p.clone()),
            SpawnResult::Error(a) => Term::Atom(a.clone()),
        };
        let uint = |n: u64| match i64::try_from(n) {
            Ok(i) => Term::Int(i),
            Err(_) => Term::BigInt(BigInt::from(n)),
        };
        let elems = match self {
            C::Link { from, to }
            | C::Unlink { from, to }
            | C::GroupLeader { from, to }
            | C::SendSender { from, to }
            | C::PayloadExit { from, to }
            | C::PayloadExit2 { from, to } => vec![op, pid(from), pid(to)],
            C::Send { to } => vec![op, unused(), pid(to)],
            C::Exit { from, to, reason } | C::Exit2 { from, to, reason } => {
                vec![op, pid(from), pid(to), reason.clone()]
            }
            C::NodeLink => vec![op],
            C::RegSend { from, to_name } => vec![op, pid(from), unused(), atom(to_name)],
            C::SendTt { to, trace_token } => vec![op, unused(), pid(to), trace_token.clone()],
            C::ExitTt {
                from,
                to,
                trace_token,
                reason,
            }
            | C::Exit2Tt {
                from,
                to,
                trace_token,
                reason,
            } => {
                vec![op, pid(from), pid(to), trace_token.clone(), reason.clone()]
            }
            C::RegSendTt {
                from,
                to_name,
                trace_token,
            } => {
                vec![op, pid(from), unused(), atom(to_name), trace_token.clone()]
            }
            C::MonitorP { from, to, reference } | C::DemonitorP { from, to, reference } => {
                vec![op, pid(from), pon(to), Term::from(reference.clone())]
            }
            C::MonitorPExit {
                from,
                to,
                reference: r,
                reason,
            } => {
                vec![op, pon(from), pid(to), reference(r), reason.clone()]
            }
            C::SendSenderTt {
                from,
                to,
                trace_token,
            }
            | C::PayloadExitTt {
                from,
                to,
                trace_token,
            }
            | C::PayloadExit2Tt {
                from,
                to,
                trace_token,
            } => {
                vec![op, pid(from), pid(to), trace_token.clone()]
            }
            C::PayloadMonitorPExit {
                from,
                to,
                reference: r,
            } => vec![op, pon(from), pid(to), reference(r)],
            C::SpawnRequest {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                options,
            } => vec![
                op,
                reference(req_id),
                pid(from),
                pid(group_leader),
                mfa(module, function, *arity),
                Term::List(options.clone()),
            ],
            C::SpawnRequestTt {
                req_id,
                from,
                group_leader,
                module,
                function,
                arity,
                options,
                trace_token,
            } => vec![
                op,
                reference(req_id),
                pid(from),
                pid(group_leader),
                mfa(module, function, *arity),
                Term::List(options.clone()),
                trace_token.clone(),
            ],
            C::SpawnReply {
                req_id,
                to,
                flags,
                result: r,
            } => {
                vec![
                    op,
                    reference(req_id),
                    pid(to),
                    Term::Int(*flags as i64),
                    result(r),
                ]
            }
            C::SpawnReplyTt {
                req_id,
                to,
                flags,
                result: r,
                trace_token,
            } => vec![
                op,
                reference(req_id),
                pid(to),
                Term::Int(*flags as i64),
                result(r),
                trace_token.clone(),
            ],
            C::AliasSend { from, alias } => vec![op, pid(from), reference(alias)],
            C::AliasSendTt {
                from,
                alias,
                trace_token,
            } => {
                vec![op, pid(from), reference(alias), trace_token.clone()]
            }
            C::UnlinkId { id, from, to } | C::UnlinkIdAck { id, from, to } => {
                vec![op, uint(*id), pid(from), pid(to)]
            }
            C::AltactSigSend {
                flags,
                from,
                to,
                trace_token,
            } => {
                let flags = match trace_token {
                    Some(_) => flags | super::altact_flags::TOKEN,
                    None => flags & !super::altact_flags::TOKEN,
                };
                let to = match to {
                    Recipient::Pid(p) => pid(p),
                    Recipient::Name(a) => atom(a),
                    Recipient::Alias(r) => reference(r),
                };
                let mut v = vec![op, Term::Int(flags as i64), pid(from), to];
                if let Some(t) = trace_token {
                    v.push(t.clone());
                }
                v
            }
        };
        Term::Tuple(elems)
    }
}
