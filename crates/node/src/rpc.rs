//! Calling into BEAM nodes: [`Node::rpc`], [`Node::cast`], [`Node::eval`] and
//! [`Node::ping`], with the semantics of `rpc:call/5`, `rpc:cast/4`, `erl_call -e` and
//! `net_adm:ping/1`.
//!
//! RPC goes through the peer's `rex` server (`{call, M, F, Args, user}` as a
//! gen_server call), which every OTP release still runs.

use crate::call::CallError;
use crate::node::{Dest, Node};
use beamlink_term::{Atom, Term};
use std::time::Duration;

/// Why an RPC gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RpcError {
    /// `{badrpc, nodedown}`: the node is unreachable or went down.
    #[error("node {0} is down or unreachable")]
    NodeDown(String),
    /// `{badrpc, timeout}`.
    #[error("no answer within the timeout")]
    Timeout,
    /// `{badrpc, {'EXIT', X}}`: the function raised (`X` is `{Reason, Stack}` for an
    /// error, for example `{undef, [{M, F, Args, []}]}`) or exited.
    #[error("the call raised: {0}")]
    Exit(Term),
    /// Any other `{badrpc, Reason}`.
    #[error("badrpc: {0}")]
    BadRpc(Term),
}

/// Why [`Node::eval`] gave no value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// `erl_scan` refused the text (the error info as the peer gave it).
    #[error("the expressions do not scan: {0}")]
    Scan(Term),
    /// `erl_parse` refused the tokens.
    #[error("the expressions do not parse: {0}")]
    Parse(Term),
    /// The RPC failed, or the evaluation raised.
    #[error(transparent)]
    Rpc(#[from] RpcError),
}

/// The answer of `net_adm:ping/1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    /// The node answered.
    Pong,
    /// The node is unreachable or refused us.
    Pang,
}

impl Node {
    /// `rpc:call(Node, Module, Function, Args, Timeout)`: the value, or the `badrpc`
    /// reason as an [`RpcError`].
    pub async fn rpc(
        &self,
        node: &str,
        module: &str,
        function: &str,
        args: Vec<Term>,
        timeout: Duration,
    ) -> Result<Term, RpcError> {
        let req = Term::tuple(vec![
            Term::atom("call"),
            Term::atom(module),
            Term::atom(function),
            Term::List(args),
            Term::atom("user"),
        ]);
        let dest = Dest::Remote {
            name: Atom::new("rex"),
            node: Atom::new(node),
        };
        match self.call(dest, req, timeout).await {
            Ok(v) => match v.as_tuple_n::<2>() {
                Some([tag, reason]) if tag.is_atom("badrpc") => Err(badrpc(reason)),
                _ => Ok(v),
            },
            Err(CallError::Timeout) => Err(RpcError::Timeout),
            Err(CallError::NodeDown(n)) => Err(RpcError::NodeDown(n)),
            Err(CallError::NoProc(_)) => Err(RpcError::NodeDown(node.to_string())),
            Err(CallError::Exit(r)) => Err(RpcError::BadRpc(r)),
        }
    }

    /// `rpc:cast(Node, Module, Function, Args)`: runs it there, answers nothing.
    pub fn cast(
        &self,
        node: &str,
        module: &str,
        function: &str,
        args: Vec<Term>,
    ) -> Result<(), crate::Error> {
        let req = Term::tuple(vec![
            Term::atom("cast"),
            Term::atom(module),
            Term::atom(function),
            Term::List(args),
            Term::atom("user"),
        ]);
        let msg = Term::tuple(vec![Term::atom("$gen_cast"), req]);
        let mb = self.mailbox()?;
        mb.send(
            Dest::Remote {
                name: Atom::new("rex"),
                node: Atom::new(node),
            },
            msg,
        )
    }

    /// Evaluates Erlang expressions (`"X = 1, X + 1."`) on `node` with `erl_eval`, as
    /// `erl_call -e` does, and returns the value of the last one. A missing final `.` is
    /// added. `timeout` applies to each of the three RPCs (scan, parse, evaluate).
    pub async fn eval(&self, node: &str, exprs: &str, timeout: Duration) -> Result<Term, EvalError> {
        let mut text = exprs.trim_end().to_string();
        if !text.ends_with('.') {
            text.push('.');
        }
        text.push(' ');
        let scanned = self
            .rpc(node, "erl_scan", "string", vec![Term::charlist(&text)], timeout)
            .await?;
        let tokens = match scanned.as_tuple() {
            Some([ok, tokens, _]) if ok.is_atom("ok") => tokens.clone(),
            _ => return Err(EvalError::Scan(scanned)),
        };
        let parsed = self
            .rpc(node, "erl_parse", "parse_exprs", vec![tokens], timeout)
            .await?;
        let exprs = match parsed.as_tuple() {
            Some([ok, exprs]) if ok.is_atom("ok") => exprs.clone(),
            _ => return Err(EvalError::Parse(parsed)),
        };
        let value = self
            .rpc(node, "erl_eval", "exprs", vec![exprs, Term::nil()], timeout)
            .await?;
        match value.as_tuple() {
            Some([tag, v, _bindings]) if tag.is_atom("value") => Ok(v.clone()),
            _ => Err(EvalError::Rpc(RpcError::BadRpc(value))),
        }
    }

    /// `net_adm:ping(Node)`: `Pong` when the node is reachable and accepts us (its
    /// net_kernel answers `{is_auth, ..}` with `yes`), `Pang` otherwise. Connects when
    /// needed, as the BEAM does.
    pub async fn ping(&self, node: &str) -> Ping {
        let dest = Dest::Remote {
            name: Atom::new("net_kernel"),
            node: Atom::new(node),
        };
        let req = Term::tuple(vec![Term::atom("is_auth"), Term::Atom(self.name().clone())]);
        match self.call(dest, req, Duration::from_secs(30)).await {
            Ok(v) if v.is_atom("yes") => Ping::Pong,
            _ => Ping::Pang,
        }
    }
}

fn badrpc(reason: &Term) -> RpcError {
    if reason.is_atom("nodedown") {
        return RpcError::NodeDown(String::new());
    }
    if reason.is_atom("timeout") {
        return RpcError::Timeout;
    }
    match reason.as_tuple_n::<2>() {
        Some([tag, x]) if tag.is_atom("EXIT") => RpcError::Exit(x.clone()),
        _ => RpcError::BadRpc(reason.clone()),
    }
}
