//! Control tuple to [`ControlMessage`]: every field checked, every mistake named.

use super::{op, operation_name, ControlMessage, PidOrName, Recipient, SpawnResult};
use beamlink_term::{Atom, Pid, Reference, Term};

/// A control term the peer sent that is not a control message this node understands.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ControlError {
    /// The control message must be a tuple whose first element is the operation number.
    #[error("the peer sent a control message that is not a tuple starting with an operation number: {0}")]
    NotAControlTuple(String),
    /// An operation number that no OTP release up to 28 sends.
    #[error("the peer sent unknown distribution operation {op} (a tuple of {arity} elements); it may be newer than OTP 28")]
    UnknownOperation { op: i64, arity: usize },
    /// A known operation with the wrong number of elements.
    #[error("the peer sent {name} as a tuple of {arity} elements, expected {expected}")]
    BadArity {
        name: &'static str,
        arity: usize,
        expected: &'static str,
    },
    /// A field of the wrong type or out of range.
    #[error("the peer sent {name} whose {field} is {found}, expected {expected}")]
    BadField {
        name: &'static str,
        field: &'static str,
        expected: &'static str,
        found: String,
    },
}

/// A short description of a term for error messages; never the whole of a large term.
fn describe(t: &Term) -> String {
    let s = format!("{t:?}");
    if s.len() > 120 {
        let mut cut = 117;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}...", &s[..cut])
    } else {
        s
    }
}

/// The elements of one control tuple, taken in order.
struct Fields {
    name: &'static str,
    it: std::vec::IntoIter<Term>,
}

impl Fields {
    fn next(&mut self) -> Term {
        // The arity was checked before any field is taken, so the element exists; an empty
        // list stands in rather than panicking if that invariant were ever broken.
        self.it.next().unwrap_or_else(Term::nil)
    }

    fn bad(&self, field: &'static str, expected: &'static str, found: &Term) -> ControlError {
        ControlError::BadField {
            name: self.name,
            field,
            expected,
            found: describe(found),
        }
    }

    fn term(&mut self) -> Term {
        self.next()
    }

    /// The "Unused" element: anything is accepted, as the BEAM does.
    fn skip(&mut self) {
        self.next();
    }

    fn pid(&mut self, field: &'static str) -> Result<Pid, ControlError> {
        match self.next() {
            Term::Pid(p) => Ok(p),
            t => Err(self.bad(field, "a pid", &t)),
        }
    }

    fn atom(&mut self, field: &'static str) -> Result<Atom, ControlError> {
        match self.next() {
            Term::Atom(a) => Ok(a),
            t => Err(self.bad(field, "an atom", &t)),
        }
    }

    fn reference(&mut self, field: &'static str) -> Result<Reference, ControlError> {
        match self.next() {
            Term::Reference(r) => Ok(*r),
            t => Err(self.bad(field, "a reference", &t)),
        }
    }

    fn pid_or_name(&mut self, field: &'static str) -> Result<PidOrName, ControlError> {
        match self.next() {
            Term::Pid(p) => Ok(PidOrName::Pid(p)),
            Term::Atom(a) => Ok(PidOrName::Name(a)),
            t => Err(self.bad(field, "a pid or a registered name", &t)),
        }
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, ControlError> {
        let t = self.next();
        let v = match &t {
            Term::Int(i) => u64::try_from(*i).ok(),
            Term::BigInt(b) => u64::try_from(b).ok(),
            _ => None,
        };
        v.ok_or_else(|| self.bad(field, "an integer in 0..2^64", &t))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, ControlError> {
        let t = self.next();
        match &t {
            Term::Int(i) => u32::try_from(*i).map_err(|_| self.bad(field, "an integer in 0..2^32", &t)),
            _ => Err(self.bad(field, "an integer in 0..2^32", &t)),
        }
    }

    fn list(&mut self, field: &'static str) -> Result<Vec<Term>, ControlError> {
        match self.next() {
            Term::List(l) => Ok(l),
            t => Err(self.bad(field, "a proper list", &t)),
        }
    }

    /// `{Module, Function, Arity}` of a spawn request.
    fn mfa(&mut self) -> Result<(Atom, Atom, u8), ControlError> {
        let t = self.next();
        if let Term::Tuple(elems) = &t {
            if let [Term::Atom(m), Term::Atom(f), Term::Int(a)] = elems.as_slice() {
                if let Ok(a) = u8::try_from(*a) {
                    return Ok((m.clone(), f.clone(), a));
                }
            }
        }
        Err(self.bad(
            "{Module, Function, Arity}",
            "a tuple of two atoms and an arity in 0..=255",
            &t,
        ))
    }

    fn spawn_result(&mut self) -> Result<SpawnResult, ControlError> {
        match self.next() {
            Term::Pid(p) => Ok(SpawnResult::Pid(p)),
            Term::Atom(a) => Ok(SpawnResult::Error(a)),
            t => Err(self.bad("Result", "a pid or an error atom", &t)),
        }
    }

    fn recipient(&mut self) -> Result<Recipient, ControlError> {
        match self.next() {
            Term::Pid(p) => Ok(Recipient::Pid(p)),
            Term::Atom(a) => Ok(Recipient::Name(a)),
            Term::Reference(r) => Ok(Recipient::Alias(*r)),
            t => Err(self.bad("To", "a pid, a registered name or an alias", &t)),
        }
    }
}

/// The arities an operation may have, for the check and for the error message.
fn expected_arity(op: u8) -> Option<(&'static [usize], &'static str)> {
    Some(match op {
        op::NODE_LINK => (&[1], "1"),
        op::LINK
        | op::SEND
        | op::UNLINK
        | op::GROUP_LEADER
        | op::SEND_SENDER
        | op::PAYLOAD_EXIT
        | op::PAYLOAD_EXIT2
        | op::ALIAS_SEND => (&[3], "3"),
        op::EXIT
        | op::REG_SEND
        | op::EXIT2
        | op::SEND_TT
        | op::MONITOR_P
        | op::DEMONITOR_P
        | op::SEND_SENDER_TT
        | op::PAYLOAD_EXIT_TT
        | op::PAYLOAD_EXIT2_TT
        | op::PAYLOAD_MONITOR_P_EXIT
        | op::ALIAS_SEND_TT
        | op::UNLINK_ID
        | op::UNLINK_ID_ACK => (&[4], "4"),
        op::EXIT_TT | op::REG_SEND_TT | op::EXIT2_TT | op::MONITOR_P_EXIT | op::SPAWN_REPLY => (&[5], "5"),
        op::SPAWN_REQUEST | op::SPAWN_REPLY_TT => (&[6], "6"),
        op::SPAWN_REQUEST_TT => (&[7], "7"),
        op::ALTACT_SIG_SEND => (&[4, 5], "4 or 5"),
        _ => return None,
    })
}

impl ControlMessage {
    /// Reads a control message from its decoded tuple. Takes the term by value so that
    /// reasons and trace tokens move into the message without copying.
    pub fn from_term(term: Term) -> Result<ControlMessage, ControlError> {
        let elems = match term {
            Term::Tuple(elems) if !elems.is_empty() => elems,
            t => return Err(ControlError::NotAControlTuple(describe(&t))),
        };
        let arity = elems.len();
        let op_num = match &elems[0] {
            Term::Int(i) => *i,
            t => return Err(ControlError::NotAControlTuple(describe(t))),
        };
        let unknown = ControlError::UnknownOperation { op: op_num, arity };
        let op = match u8::try_from(op_num) {
            Ok(op) => op,
            Err(_) => return Err(unknown),
        };
        let (name, (arities, expected)) = match (operation_name(op), expected_arity(op)) {
            (Some(n), Some(a)) => (n, a),
            _ => return Err(unknown),
        };
        if !arities.contains(&arity) {
            return Err(ControlError::BadArity {
                name,
                arity,
                expected,
            });
        }
        let mut it = elems.into_iter();
        it.next();
        let mut f = Fields { name, it };
        use ControlMessage as C;
        Ok(match op {
            op::LINK => C::Link {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::SEND => {
                f.skip();
                C::Send { to: f.pid("ToPid")? }
            }
            op::EXIT => C::Exit {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                reason: f.term(),
            },
            op::UNLINK => C::Unlink {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::NODE_LINK => C::NodeLink,
            op::REG_SEND => {
                let from = f.pid("FromPid")?;
                f.skip();
                C::RegSend {
                    from,
                    to_name: f.atom("ToName")?,
                }
            }
            op::GROUP_LEADER => C::GroupLeader {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::EXIT2 => C::Exit2 {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                reason: f.term(),
            },
            op::SEND_TT => {
                f.skip();
                C::SendTt {
                    to: f.pid("ToPid")?,
                    trace_token: f.term(),
                }
            }
            op::EXIT_TT => C::ExitTt {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                trace_token: f.term(),
                reason: f.term(),
            },
            op::REG_SEND_TT => {
                let from = f.pid("FromPid")?;
                f.skip();
                C::RegSendTt {
                    from,
                    to_name: f.atom("ToName")?,
                    trace_token: f.term(),
                }
            }
            op::EXIT2_TT => C::Exit2Tt {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                trace_token: f.term(),
                reason: f.term(),
            },
            op::MONITOR_P => C::MonitorP {
                from: f.pid("FromPid")?,
                to: f.pid_or_name("ToProc")?,
                reference: f.reference("Ref")?,
            },
            op::DEMONITOR_P => C::DemonitorP {
                from: f.pid("FromPid")?,
                to: f.pid_or_name("ToProc")?,
                reference: f.reference("Ref")?,
            },
            op::MONITOR_P_EXIT => C::MonitorPExit {
                from: f.pid_or_name("FromProc")?,
                to: f.pid("ToPid")?,
                reference: f.reference("Ref")?,
                reason: f.term(),
            },
            op::SEND_SENDER => C::SendSender {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::SEND_SENDER_TT => C::SendSenderTt {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                trace_token: f.term(),
            },
            op::PAYLOAD_EXIT => C::PayloadExit {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::PAYLOAD_EXIT_TT => C::PayloadExitTt {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                trace_token: f.term(),
            },
            op::PAYLOAD_EXIT2 => C::PayloadExit2 {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::PAYLOAD_EXIT2_TT => C::PayloadExit2Tt {
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
                trace_token: f.term(),
            },
            op::PAYLOAD_MONITOR_P_EXIT => C::PayloadMonitorPExit {
                from: f.pid_or_name("FromProc")?,
                to: f.pid("ToPid")?,
                reference: f.reference("Ref")?,
            },
            op::SPAWN_REQUEST | op::SPAWN_REQUEST_TT => {
                let req_id = f.reference("ReqId")?;
                let from = f.pid("From")?;
                let group_leader = f.pid("GroupLeader")?;
                let (module, function, arity) = f.mfa()?;
                let options = f.list("OptList")?;
                if op == op::SPAWN_REQUEST {
                    C::SpawnRequest {
                        req_id,
                        from,
                        group_leader,
                        module,
                        function,
                        arity,
                        options,
                    }
                } else {
                    let trace_token = f.term();
                    C::SpawnRequestTt {
                        req_id,
                        from,
                        group_leader,
                        module,
                        function,
                        arity,
                        options,
                        trace_token,
                    }
                }
            }
            op::SPAWN_REPLY => C::SpawnReply {
                req_id: f.reference("ReqId")?,
                to: f.pid("To")?,
                flags: f.u32("Flags")?,
                result: f.spawn_result()?,
            },
            op::SPAWN_REPLY_TT => C::SpawnReplyTt {
                req_id: f.reference("ReqId")?,
                to: f.pid("To")?,
                flags: f.u32("Flags")?,
                result: f.spawn_result()?,
                trace_token: f.term(),
            },
            op::ALIAS_SEND => C::AliasSend {
                from: f.pid("FromPid")?,
                alias: f.reference("Alias")?,
            },
            op::ALIAS_SEND_TT => C::AliasSendTt {
                from: f.pid("FromPid")?,
                alias: f.reference("Alias")?,
                trace_token: f.term(),
            },
            op::UNLINK_ID => C::UnlinkId {
                id: f.u64("Id")?,
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::UNLINK_ID_ACK => C::UnlinkIdAck {
                id: f.u64("Id")?,
                from: f.pid("FromPid")?,
                to: f.pid("ToPid")?,
            },
            op::ALTACT_SIG_SEND => {
                let flags = f.u32("Flags")?;
                let from = f.pid("SenderPid")?;
                let to = f.recipient()?;
                let trace_token = if arity == 5 { Some(f.term()) } else { None };
                if (flags & super::altact_flags::TOKEN != 0) != trace_token.is_some() {
                    return Err(ControlError::BadArity {
                        name,
                        arity,
                        expected: "5 exactly when Flags has the token bit (2)",
                    });
                }
                C::AltactSigSend {
                    flags,
                    from,
                    to,
                    trace_token,
                }
            }
            _ => return Err(unknown),
        })
    }
}
