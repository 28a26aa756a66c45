//! Exit signals: what a process does when one arrives, as Erlang decides it.
//!
//! Pure decision logic (no I/O): the node looks up the receiving process, asks
//! [`on_exit_signal`] what to do, and carries it out.

use beamlink_term::{Pid, Term};

/// How an exit signal was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// A linked process ended (or its connection went down).
    Link,
    /// `exit(Pid, Reason)` was called on the receiver.
    Exit2,
}

/// What the receiving process does with an exit signal.
#[derive(Debug, Clone, PartialEq)]
pub enum ExitAction {
    /// Nothing happens.
    Ignore,
    /// The signal becomes this message (`{'EXIT', From, Reason}`) in the mailbox.
    Message(Term),
    /// The process ends with this reason.
    Die(Term),
}

/// `{'EXIT', From, Reason}`, the message a process that traps exits receives.
pub fn exit_message(from: &Pid, reason: Term) -> Term {
    Term::tuple(vec![Term::atom("EXIT"), Term::Pid(from.clone()), reason])
}

/// Decides what a process does with an exit signal, following Erlang's rules:
///
/// * `exit(Pid, kill)` cannot be trapped: the process dies with reason `killed`;
/// * a process that traps exits receives every other exit signal as
///   `{'EXIT', From, Reason}`, including `normal` ones;
/// * otherwise a `normal` reason is ignored (unless a process sent it to itself with
///   `exit/2`), and any other reason ends the process with that reason. A `kill`
///   arriving over a link is an ordinary reason.
///
/// For [`ExitKind::Link`] the caller has already checked that the link was active.
pub fn on_exit_signal(
    trap_exit: bool,
    kind: ExitKind,
    receiver: &Pid,
    from: &Pid,
    reason: Term,
) -> ExitAction {
    if kind == ExitKind::Exit2 && reason.is_atom("kill") {
        return ExitAction::Die(Term::atom("killed"));
    }
    if trap_exit {
        return ExitAction::Message(exit_message(from, reason));
    }
    if reason.is_atom("normal") && !(kind == ExitKind::Exit2 && from == receiver) {
        return ExitAction::Ignore;
    }
    ExitAction::Die(reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use beamlink_term::Atom;

    fn pid(id: u32) -> Pid {
        Pid {
            node: Atom::new("a@h"),
            id,
            serial: 0,
            creation: 1,
        }
    }

    #[test]
    fn trapping_turns_signals_into_messages_except_kill() {
        let (me, other) = (pid(1), pid(2));
        assert_eq!(
            on_exit_signal(true, ExitKind::Link, &me, &other, Term::atom("normal")),
            ExitAction::Message(exit_message(&other, Term::atom("normal")))
        );
        assert_eq!(
            on_exit_signal(true, ExitKind::Exit2, &me, &other, Term::atom("kill")),
            ExitAction::Die(Term::atom("killed"))
        );
        assert_eq!(
            on_exit_signal(true, ExitKind::Link, &me, &other, Term::atom("kill")),
            ExitAction::Message(exit_message(&other, Term::atom("kill"))),
            "kill over a link is trappable"
        );
    }

    #[test]
    fn not_trapping_ignores_normal_and_dies_otherwise() {
        let (me, other) = (pid(1), pid(2));
        assert_eq!(
            on_exit_signal(false, ExitKind::Link, &me, &other, Term::atom("normal")),
            ExitAction::Ignore
        );
        assert_eq!(
            on_exit_signal(false, ExitKind::Exit2, &me, &other, Term::atom("normal")),
            ExitAction::Ignore
        );
        assert_eq!(
            on_exit_signal(false, ExitKind::Exit2, &me, &me, Term::atom("normal")),
            ExitAction::Die(Term::atom("normal"))
        );
        assert_eq!(
            on_exit_signal(false, ExitKind::Link, &me, &other, Term::atom("kill")),
            ExitAction::Die(Term::atom("kill"))
        );
        assert_eq!(
            on_exit_signal(false, ExitKind::Link, &me, &other, Term::atom("boom")),
            ExitAction::Die(Term::atom("boom"))
        );
    }
}
