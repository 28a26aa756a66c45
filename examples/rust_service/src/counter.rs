//! A GenServer-style process registered as `counter`, served from a mailbox. Elixir calls it
//! like any GenServer: `GenServer.call({:counter, :"rust@10.1.2.3"}, {:add, 2})`.
//!
//! Requests:
//! * `{add, N}` (an integer) -> `{ok, Total}`
//! * `get` -> `Total`
//! * `{greet, Node}` -> what the Elixir app's `:greeter` on `Node` answers to
//!   `{hello, <<"counter">>}` (the call runs in its own task, so the counter keeps serving)
//! * anything else -> `{error, unknown_request}`

use std::time::Duration;

use beamlink::gen_server::{GenCall, GenMessage};
use beamlink::{Mailbox, Node, Term};

/// The name the process is registered under.
pub const NAME: &str = "counter";

/// How long a `{greet, Node}` request waits for the Elixir side.
const GREET_TIMEOUT: Duration = Duration::from_secs(5);

/// Registers `counter` on `node` and serves it until the node stops.
pub fn spawn(node: &Node) -> Result<(), beamlink::Error> {
    let mailbox = node.mailbox_named(NAME)?;
    tokio::spawn(serve(mailbox));
    Ok(())
}

async fn serve(mut mailbox: Mailbox) {
    let mut total: i64 = 0;
    while let Ok(msg) = mailbox.recv().await {
        let call = match GenMessage::parse(msg) {
            GenMessage::Call(call) => call,
            GenMessage::Cast(req) | GenMessage::Info(req) => {
                tracing::debug!(message = %req, "counter ignores a message that is not a call");
                continue;
            }
        };
        match handle(&mut total, &call.request) {
            Handled::Reply(reply) => send_reply(&mailbox, &call, reply),
            Handled::Greet(peer) => {
                let node = mailbox.node().clone();
                let reply_from = match node.mailbox() {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "counter cannot start a greet task");
                        continue;
                    }
                };
                tokio::spawn(async move {
                    let request = Term::tuple(vec![Term::atom("hello"), Term::binary(&b"counter"[..])]);
                    let reply = match node
                        .call(("greeter", peer.as_str()), request, GREET_TIMEOUT)
                        .await
                    {
                        Ok(answer) => answer,
                        Err(e) => Term::tuple(vec![
                            Term::atom("error"),
                            Term::binary(e.to_string().into_bytes()),
                        ]),
                    };
                    send_reply(&reply_from, &call, reply);
                });
            }
        }
    }
}

enum Handled {
    Reply(Term),
    Greet(String),
}

fn handle(total: &mut i64, request: &Term) -> Handled {
    if request.is_atom("get") {
        return Handled::Reply(Term::Int(*total));
    }
    if let Some([tag, arg]) = request.as_tuple_n::<2>() {
        if tag.is_atom("add") {
            if let Some(n) = arg.as_i64() {
                if let Some(sum) = total.checked_add(n) {
                    *total = sum;
                    return Handled::Reply(Term::tuple(vec![Term::atom("ok"), Term::Int(sum)]));
                }
                return Handled::Reply(error("overflow"));
            }
        }
        if tag.is_atom("greet") {
            if let Some(peer) = arg.as_atom() {
                return Handled::Greet(peer.as_str().to_string());
            }
        }
    }
    Handled::Reply(error("unknown_request"))
}

fn error(why: &str) -> Term {
    Term::tuple(vec![Term::atom("error"), Term::atom(why)])
}

fn send_reply(mailbox: &Mailbox, call: &GenCall, reply: Term) {
    if let Err(e) = call.reply(mailbox, reply) {
        tracing::warn!(caller = ?call.from, error = %e, "counter could not reply");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_and_get_keep_a_total() {
        let mut total = 0;
        let add = |n| Term::tuple(vec![Term::atom("add"), Term::Int(n)]);
        assert!(
            matches!(handle(&mut total, &add(2)), Handled::Reply(r) if r == Term::tuple(vec![Term::atom("ok"), Term::Int(2)]))
        );
        assert!(matches!(handle(&mut total, &add(40)), Handled::Reply(_)));
        assert!(matches!(
            handle(&mut total, &Term::atom("get")),
            Handled::Reply(Term::Int(42))
        ));
        assert!(matches!(handle(&mut total, &add(i64::MAX)), Handled::Reply(r) if r == error("overflow")));
        assert_eq!(total, 42);
    }

    #[test]
    fn unknown_requests_get_an_error() {
        let mut total = 0;
        let bad = Term::tuple(vec![Term::atom("add"), Term::atom("x")]);
        assert!(matches!(handle(&mut total, &bad), Handled::Reply(r) if r == error("unknown_request")));
        assert!(matches!(
            handle(&mut total, &Term::tuple(vec![Term::atom("greet"), Term::Int(1)])),
            Handled::Reply(_)
        ));
    }
}
