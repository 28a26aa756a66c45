#![warn(missing_docs)]
//! beamlink: a hidden Erlang node in Rust.
//!
//! A [`Node`] joins an Erlang/Elixir cluster. Its processes are [`Mailbox`]es: each has a
//! pid, can be registered under a name, sends and receives Erlang terms, links to and
//! monitors other processes (local or remote) with Erlang's exact semantics.
//!
//! ```no_run
//! # async fn demo() -> Result<(), beamlink::Error> {
//! let node = beamlink::Node::builder("rust@127.0.0.1").cookie("secret").start().await?;
//! let mut mb = node.mailbox_named("echo")?;
//! let msg = mb.recv().await;
//! # Ok(()) }
//! ```

mod builder;
mod call;
mod connections;
mod cookie;
mod error;
pub mod gen_server;
mod inbound;
pub mod link;
mod listener;
mod mailbox;
pub mod monitor;
mod name;
mod net_kernel;
mod node;
mod outgoing;
mod process;
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
pub use rex::{Outcome, RpcFunction};
pub use rpc::{EvalError, Ping, RpcError};
