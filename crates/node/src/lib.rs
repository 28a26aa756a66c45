#![warn(missing_docs)]
//! beamlink: a hidden Erlang node in Rust.
//!
//! A [`Node`] joins an Erlang/Elixir cluster: BEAM nodes ping it, list it in
//! `nodes(hidden)`, send to its processes, link to and monitor them, `GenServer.call`
//! them and `rpc:call` into Rust functions; Rust calls into the BEAM the same ways.
//!
//! * [`NodeBuilder`]: name (long, short or dynamic), cookie (explicit, file,
//!   `~/.erlang.cookie` as `erl` reads it, environment, per peer), hidden or visible, EPMD
//!   (the host's, embedded, or none with a fixed port), listen address and port range,
//!   `net_ticktime`.
//! * [`Mailbox`]: a local process. `send` to a pid, a name on any node or an alias;
//!   `recv`, `recv_timeout`, selective `recv_match`; `link`/`unlink` (the UNLINK_ID
//!   protocol), `monitor`/`demonitor` by pid or name, `trap_exit`, `exit/2`; dropping it
//!   ends the process with reason `normal`, [`Mailbox::close`] with any reason.
//! * Connections: at most one per peer, set up on demand by a send (or
//!   [`Node::connect`]), closed by [`Node::disconnect`]; [`Node::monitor_nodes`] reports
//!   [`NodeEvent`]s; [`Node::nodes`] / [`Node::nodes_hidden`] list the peers. A connection
//!   going down fires `noconnection` for every link and monitor across it.
//! * System processes: `net_kernel` answers pings; `rex` and `erpc` spawn requests run
//!   the functions given to [`Node::register_rpc`]; on a visible node,
//!   `global_name_server` takes part in OTP's `global` as a node that owns no global
//!   names (so `global:sync/0`, name registration and `global:trans/2` keep working on
//!   the BEAM nodes; [`Node::whereis_global`]); [`gen_server`] parses calls and
//!   replies in every form OTP 25 to 28 uses.
//! * Calling the BEAM: [`Node::ping`], [`Node::call`] (gen_server:call semantics with
//!   typed [`CallError`]s), [`Node::rpc`] / [`Node::cast`], [`Node::eval`] (Erlang
//!   expressions, evaluated by `erl_eval` on the peer as `erl_call -e` does).
//!
//! Processes' state is kept per process behind a small lock; signals between local
//! processes are carried out at once, in the sender's thread; each connection has one
//! task that forwards queued signals and hands received ones to the node.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use beamlink::gen_server::GenMessage;
//! use beamlink::{Node, Term};
//! use std::time::Duration;
//!
//! let node = Node::builder("rust@127.0.0.1").cookie("secret").start().await?;
//! node.register_rpc("rust_math", "add", |args| match args.as_slice() {
//!     [Term::Int(a), Term::Int(b)] => Ok(Term::Int(a + b)),
//!     _ => Err(Term::atom("badarg")),
//! });
//! // gen_server:call({echo, 'rust@127.0.0.1'}, Req) from Erlang gets {echo, Req}.
//! let mut echo = node.mailbox_named("echo")?;
//! tokio::spawn(async move {
//!     while let Ok(msg) = echo.recv().await {
//!         if let GenMessage::Call(call) = GenMessage::parse(msg) {
//!             let reply = Term::tuple(vec![Term::atom("echo"), call.request.clone()]);
//!             let _ = call.reply(&echo, reply);
//!         }
//!     }
//! });
//! let v = node.eval("app@127.0.0.1", "lists:seq(1, 3).", Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```

mod builder;
mod call;
mod connections;
mod cookie;
mod error;
pub mod gen_server;
mod global;
mod inbound;
pub mod link;
mod listener;
mod mailbox;
pub mod monitor;
mod name;
mod net_kernel;
mod node;
mod outgoing;
mod peer_stats;
mod process;
mod queue;
mod registry;
mod rex;
mod rpc;
pub mod signal;

pub use beamlink_term::{Atom, Pid, Reference, Term};
pub use builder::{Config, EpmdMode, NodeBuilder};
pub use call::CallError;
pub use connections::NodeEvent;
pub use cookie::{Cookie, CookieError};
pub use error::{Error, RecvError};
pub use mailbox::Mailbox;
pub use name::{NameError, NodeName};
pub use node::{Dest, Node};
pub use peer_stats::{ConnectionStats, PeerStats};
pub use rex::{Outcome, RpcFunction};
pub use rpc::{EvalError, Ping, RpcError};
