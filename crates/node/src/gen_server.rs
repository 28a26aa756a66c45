//! Serving gen_server calls from a [`Mailbox`]: `{'$gen_call', From, Request}` in, the
//! reply out in the form the caller's OTP release expects.
//!
//! A caller's `From` is `{Pid, Tag}`. OTP 24 and later use a tag `[alias | Ref]` (and
//! some requests `[[alias | Ref] | _]`) and expect the reply `{Tag, Reply}` sent to the
//! alias `Ref`; older callers use a plain reference tag and expect `{Tag, Reply}` sent to
//! `Pid`. [`GenCall::reply`] picks the right one, so `gen_server:call/3` and
//! `GenServer.call/3` from OTP 25 to 28 all get their answer.

use crate::error::Error;
use crate::mailbox::Mailbox;
use crate::node::Dest;
use beamlink_term::{Pid, Reference, Term};

/// A gen_server call received: who asked, with which tag, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct GenCall {
    /// The calling process.
    pub from: Pid,
    /// The caller's tag, echoed in the reply.
    pub tag: Term,
    /// The request.
    pub request: Term,
}

/// A message as a gen_server sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum GenMessage {
    /// `gen_server:call/2,3`.
    Call(GenCall),
    /// `gen_server:cast/2`: `{'$gen_cast', Request}`.
    Cast(Term),
    /// Anything else (`handle_info`).
    Info(Term),
}

impl GenMessage {
    /// Classifies a received message.
    pub fn parse(msg: Term) -> GenMessage {
        if let Some(call) = GenCall::parse(&msg) {
            return GenMessage::Call(call);
        }
        if let Some([tag, req]) = msg.as_tuple_n::<2>() {
            if tag.is_atom("$gen_cast") {
                return GenMessage::Cast(req.clone());
            }
        }
        GenMessage::Info(msg)
    }
}

/// `[alias | Ref]` -> `Ref`.
fn alias_of(tag: &Term) -> Option<&Reference> {
    match tag {
        Term::ImproperList(head, tail) if head.len() == 1 && head[0].is_atom("alias") => tail.as_reference(),
        _ => None,
    }
}

/// The alias a tag asks the reply to go to: `[alias | Ref]` or `[[alias | Ref] | _]`.
pub fn reply_alias(tag: &Term) -> Option<&Reference> {
    if let Some(r) = alias_of(tag) {
        return Some(r);
    }
    match tag {
        Term::List(items) | Term::ImproperList(items, _) => items.first().and_then(alias_of),
        _ => None,
    }
}

/// `[alias | Ref]`, the tag OTP 24+ callers use.
pub fn alias_tag(reference: &Reference) -> Term {
    Term::improper(vec![Term::atom("alias")], Term::from(reference.clone()))
}

impl GenCall {
    /// Parses `{'$gen_call', {Pid, Tag}, Request}`.
    pub fn parse(msg: &Term) -> Option<GenCall> {
        let [label, from, request] = msg.as_tuple_n::<3>()?;
        if !label.is_atom("$gen_call") {
            return None;
        }
        let [pid, tag] = from.as_tuple_n::<2>()?;
        Some(GenCall {
            from: pid.as_pid()?.clone(),
            tag: tag.clone(),
            request: request.clone(),
        })
    }

    /// Where the reply goes and what it is: `{Tag, Reply}` to the alias the tag names,
    /// or to the calling pid.
    pub fn reply_to(&self, reply: Term) -> (Dest, Term) {
        let dest = match reply_alias(&self.tag) {
            Some(alias) => Dest::Alias(alias.clone()),
            None => Dest::Pid(self.from.clone()),
        };
        (dest, Term::tuple(vec![self.tag.clone(), reply]))
    }

    /// Sends the reply from `mailbox` (`gen_server:reply/2`).
    pub fn reply(&self, mailbox: &Mailbox, reply: Term) -> Result<(), Error> {
        let (dest, msg) = self.reply_to(reply);
        mailbox.send(dest, msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink_term::Atom;

    fn pid() -> Pid {
        Pid {
            node: Atom::new("erl@h"),
            id: 90,
            serial: 0,
            creation: 3,
        }
    }
    fn reference() -> Reference {
        Reference {
            node: Atom::new("erl@h"),
            creation: 3,
            id: vec![1, 2, 3],
        }
    }
    fn call(tag: Term) -> Term {
        Term::tuple(vec![
            Term::atom("$gen_call"),
            Term::tuple(vec![Term::Pid(pid()), tag]),
            Term::atom("ping"),
        ])
    }

    #[test]
    fn replies_to_the_alias_of_an_otp24_tag() {
        let tag = alias_tag(&reference());
        let c = GenCall::parse(&call(tag.clone())).unwrap();
        let (dest, msg) = c.reply_to(Term::atom("pong"));
        assert_eq!(dest, Dest::Alias(reference()));
        assert_eq!(msg, Term::tuple(vec![tag, Term::atom("pong")]));
    }

    #[test]
    fn replies_to_the_alias_of_a_nested_tag() {
        let tag = Term::improper(vec![alias_tag(&reference())], Term::atom("x"));
        let c = GenCall::parse(&call(tag.clone())).unwrap();
        assert_eq!(c.reply_to(Term::nil()).0, Dest::Alias(reference()));
        let tag = Term::list(vec![alias_tag(&reference()), Term::Int(1)]);
        assert_eq!(
            GenCall::parse(&call(tag)).unwrap().reply_to(Term::nil()).0,
            Dest::Alias(reference())
        );
    }

    #[test]
    fn replies_to_the_pid_of_an_old_tag() {
        let tag = Term::from(reference());
        let c = GenCall::parse(&call(tag.clone())).unwrap();
        let (dest, msg) = c.reply_to(Term::Int(1));
        assert_eq!(dest, Dest::Pid(pid()));
        assert_eq!(msg, Term::tuple(vec![tag, Term::Int(1)]));
    }

    #[test]
    fn classifies_casts_and_info() {
        let cast = Term::tuple(vec![Term::atom("$gen_cast"), Term::atom("go")]);
        assert_eq!(GenMessage::parse(cast), GenMessage::Cast(Term::atom("go")));
        assert_eq!(GenMessage::parse(Term::Int(5)), GenMessage::Info(Term::Int(5)));
        assert!(GenCall::parse(&Term::tuple(vec![
            Term::atom("$gen_call"),
            Term::Int(1),
            Term::Int(2)
        ]))
        .is_none());
    }
}
