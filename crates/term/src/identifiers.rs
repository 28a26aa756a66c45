//! Pids, ports, references and funs: the terms that name things on a node.

use crate::{Atom, Term};
use bytes::Bytes;

/// A process identifier: `<0.80.0>` on its own node.
///
/// `id` and `serial` are the two numbers a BEAM prints (`<N.id.serial>`); `creation`
/// tells incarnations of the same node name apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pid {
    pub node: Atom,
    pub id: u32,
    pub serial: u32,
    pub creation: u32,
}

/// A port identifier (`#Port<0.7>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Port {
    pub node: Atom,
    pub id: u64,
    pub creation: u32,
}

/// A reference (`#Ref<0.1.2.3>`): up to five 32-bit words, as NEWER_REFERENCE_EXT carries
/// them (first word first, as on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    pub node: Atom,
    pub creation: u32,
    pub id: Vec<u32>,
}

/// An external fun: `fun Module:Function/Arity` (EXPORT_EXT).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ExternalFun {
    pub module: Atom,
    pub function: Atom,
    pub arity: u8,
}

/// A local fun (NEW_FUN_EXT), kept as the bytes it arrived in so that it can be sent back
/// unchanged; the fields useful for printing and matching are decoded beside them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InternalFun {
    pub module: Atom,
    pub arity: u8,
    pub index: u32,
    pub uniq: [u8; 16],
    pub old_index: u32,
    pub old_uniq: u32,
    pub pid: Pid,
    pub free_vars: Vec<Term>,
    /// The encoded NEW_FUN_EXT, tag byte included, exactly as received.
    pub raw: Bytes,
}
