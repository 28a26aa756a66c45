//! `rex`, the RPC server: `rpc:call/4,5` and `rpc:cast/4` from BEAM nodes run Rust
//! functions that the application registered by module and function name.
//!
//! A registered function takes the argument list and returns `Ok(Result)` or
//! `Err(Reason)`, which the caller sees as an `error` exception with that reason
//! (`{badrpc, {'EXIT', {Reason, Stack}}}` from `rpc:call`). A function nobody registered
//! gives `{badrpc, {'EXIT', {undef, [{M, F, Args, []}]}}}`, as the BEAM answers for an
//! undefined function. Each call runs on tokio's blocking pool, so a slow function
//! delays only its own caller.

use crate::gen_server::{GenCall, GenMessage};
use crate::mailbox::Mailbox;
use crate::node::{Dest, Node};
use beamlink_term::{Atom, Term};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A Rust function callable by RPC: arguments in, result or error reason out.
pub type RpcFunction = Arc<dyn Fn(Vec<Term>) -> Result<Term, Term> + Send + Sync>;

/// How an RPC invocation ended, in erpc's vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function returned this value.
    Return(Term),
    /// The function raised an `error` with this reason and stack.
    Error {
        /// The error reason.
        reason: Term,
        /// The stack, `[{M, F, ArgsOrArity, Location}]`.
        stack: Term,
    },
}

impl Outcome {
    /// What `rpc:call` returns for this outcome (the value, or `{badrpc, {'EXIT', ..}}`).
    pub fn to_rpc_reply(self) -> Term {
        match self {
            Outcome::Return(v) => v,
            Outcome::Error { reason, stack } => Term::tuple(vec![
                Term::atom("badrpc"),
                Term::tuple(vec![Term::atom("EXIT"), Term::tuple(vec![reason, stack])]),
            ]),
        }
    }
}

/// The functions registered for RPC, by module and function name.
#[derive(Default)]
pub(crate) struct RpcFunctions {
    map: RwLock<HashMap<(Atom, Atom), RpcFunction>>,
}

impl RpcFunctions {
    pub fn register(&self, module: &str, function: &str, f: RpcFunction) {
        let mut m = self.map.write().unwrap_or_else(|e| e.into_inner());
        m.insert((Atom::new(module), Atom::new(function)), f);
    }

    fn get(&self, module: &Atom, function: &Atom) -> Option<RpcFunction> {
        let m = self.map.read().unwrap_or_else(|e| e.into_inner());
        m.get(&(module.clone(), function.clone())).cloned()
    }

    /// Runs `module:function(args)` (a panic becomes an error `{rust_panic, Message}`).
    pub fn invoke(&self, module: &Atom, function: &Atom, args: Vec<Term>) -> Outcome {
        let frame = |args: Term| {
            Term::list(vec![Term::tuple(vec![
                Term::Atom(module.clone()),
                Term::Atom(function.clone()),
                args,
                Term::nil(),
            ])])
        };
        let Some(f) = self.get(module, function) else {
            return Outcome::Error {
                reason: Term::atom("undef"),
                stack: frame(Term::List(args)),
            };
        };
        let arity = Term::Int(args.len() as i64);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(args))) {
            Ok(Ok(v)) => Outcome::Return(v),
            Ok(Err(reason)) => Outcome::Error {
                reason,
                stack: frame(arity),
            },
            Err(panic) => {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".into());
                let reason = Term::tuple(vec![Term::atom("rust_panic"), Term::binary(text.into_bytes())]);
                Outcome::Error {
                    reason,
                    stack: frame(arity),
                }
            }
        }
    }
}

/// The body of a process a peer spawned (`SPAWN_REQUEST`), returning its exit reason.
///
/// `erpc:execute_call(Ref, M, F, Args)` runs the registered `M:F` and ends with
/// `{Ref, return, Value}` or `{Ref, error, Reason, Stack}`, the protocol `erpc:call`
/// reads from the monitor's `'DOWN'`. A registered function spawned directly ends
/// `normal`, or `{Reason, Stack}` when it fails; anything else ends with
/// `{undef, [{M, F, Args, []}]}`.
pub(crate) fn spawned_body(node: &Node, module: &Atom, function: &Atom, args: Vec<Term>) -> Term {
    if module.as_str() == "erpc" && function.as_str() == "execute_call" && args.len() == 4 {
        let (r, m, f, a) = (&args[0], &args[1], &args[2], &args[3]);
        if let (Some(m), Some(f), Some(a)) = (m.as_atom(), f.as_atom(), a.as_list()) {
            return match node.invoke_rpc(m, f, a.to_vec()) {
                Outcome::Return(v) => Term::tuple(vec![r.clone(), Term::atom("return"), v]),
                Outcome::Error { reason, stack } => {
                    Term::tuple(vec![r.clone(), Term::atom("error"), reason, stack])
                }
            };
        }
    }
    if module.as_str() == "erpc" && function.as_str() == "execute_cast" && args.len() == 3 {
        // erpc:cast/4 (and rpc:cast/4 on OTP 23+): run it, nobody waits for a result.
        if let (Some(m), Some(f), Some(a)) = (args[0].as_atom(), args[1].as_atom(), args[2].as_list()) {
            return match node.invoke_rpc(m, f, a.to_vec()) {
                Outcome::Return(_) => Term::atom("normal"),
                Outcome::Error { reason, stack } => Term::tuple(vec![reason, stack]),
            };
        }
    }
    match node.invoke_rpc(module, function, args) {
        Outcome::Return(_) => Term::atom("normal"),
        Outcome::Error { reason, stack } => Term::tuple(vec![reason, stack]),
    }
}

/// `{call, M, F, Args, GroupLeader}` or `{cast, ...}` -> (M, F, Args).
fn parse_mfa(req: &Term, kind: &str) -> Option<(Atom, Atom, Vec<Term>)> {
    let [k, m, f, a, _gl] = req.as_tuple_n::<5>()?;
    if !k.is_atom(kind) {
        return None;
    }
    Some((m.as_atom()?.clone(), f.as_atom()?.clone(), a.as_list()?.to_vec()))
}

impl Node {
    /// Makes `module:function(Args...)` callable by `rpc:call/4,5`, `rpc:cast/4` and
    /// `erpc:call` from BEAM nodes. A second registration replaces the first.
    pub fn register_rpc(
        &self,
        module: &str,
        function: &str,
        f: impl Fn(Vec<Term>) -> Result<Term, Term> + Send + Sync + 'static,
    ) {
        self.inner.rpc.register(module, function, Arc::new(f));
    }

    /// Runs a registered function as an RPC would.
    pub(crate) fn invoke_rpc(&self, module: &Atom, function: &Atom, args: Vec<Term>) -> Outcome {
        self.inner.rpc.invoke(module, function, args)
    }
}

/// The `rex` process: serves calls and casts until the mailbox ends.
pub(crate) async fn serve(node: Node, mut mailbox: Mailbox) {
    while let Ok(msg) = mailbox.recv().await {
        match GenMessage::parse(msg) {
            GenMessage::Call(call) => match parse_mfa(&call.request, "call") {
                Some((m, f, a)) => {
                    let node = node.clone();
                    let me = mailbox.pid().clone();
                    tokio::task::spawn_blocking(move || {
                        let reply = node.invoke_rpc(&m, &f, a).to_rpc_reply();
                        reply_from(&node, &me, &call, reply);
                    });
                }
                None => {
                    tracing::debug!(request = %call.request, "rex: unsupported call");
                    let reply = Term::tuple(vec![Term::atom("badrpc"), Term::atom("unsupported")]);
                    reply_from(&node, mailbox.pid(), &call, reply);
                }
            },
            GenMessage::Cast(req) => {
                if let Some((m, f, a)) = parse_mfa(&req, "cast") {
                    let node = node.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = node.invoke_rpc(&m, &f, a);
                    });
                }
            }
            GenMessage::Info(_) => {}
        }
    }
}

/// `gen_server:reply/2` on behalf of a system process.
pub(crate) fn reply_from(node: &Node, from: &beamlink_term::Pid, call: &GenCall, reply: Term) {
    let (dest, msg): (Dest, Term) = call.reply_to(reply);
    if let Err(e) = node.route(from, dest, msg, true) {
        tracing::debug!(error = %e, "reply not delivered");
    }
}
