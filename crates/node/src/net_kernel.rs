//! `net_kernel`: the system process peers ask `{is_auth, Node}` (what `net_adm:ping/1`
//! and `Node.ping/1` do). Answering `yes` makes the ping return `pong`.

use crate::gen_server::GenMessage;
use crate::mailbox::Mailbox;
use crate::node::Node;
use crate::rex::reply_from;
use beamlink_term::Term;

/// The `net_kernel` process: answers `{is_auth, Node}` with `yes`; other requests get
/// no answer (the BEAM's other net_kernel calls are for local use only).
pub(crate) async fn serve(node: Node, mut mailbox: Mailbox) {
    while let Ok(msg) = mailbox.recv().await {
        if let GenMessage::Call(call) = GenMessage::parse(msg) {
            match call.request.as_tuple_n::<2>() {
                Some([tag, _]) if tag.is_atom("is_auth") => {
                    reply_from(&node, mailbox.pid(), &call, Term::atom("yes"));
                }
                _ => tracing::debug!(request = %call.request, "net_kernel: unsupported call ignored"),
            }
        }
    }
}
