//! Distribution capability flags (`DFLAG_*`), exchanged in the handshake.
//!
//! Each node announces what it implements; both sides then use the intersection. Some
//! flags are mandatory: OTP 26 refuses peers that lack them, and so does beamlink.

use std::fmt;
use std::ops::{BitAnd, BitOr, BitOrAssign, Not};

/// A set of distribution capability flags: the 64-bit `Flags` field of the handshake.
///
/// The constants are the bits of OTP's `dist.hrl`. Unknown bits are kept as they are (a
/// newer peer may announce capabilities we do not know), and [`fmt::Display`] prints
/// them in hexadecimal.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DistFlags(u64);

macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident = $value:expr;)*) => {
        impl DistFlags {
            $($(#[$doc])* pub const $name: DistFlags = DistFlags($value);)*
        }
        /// Every named flag with its name, lowest bit first, for printing.
        const NAMES: &[(DistFlags, &str)] = &[$((DistFlags::$name, stringify!($name)),)*];
    };
}

flags! {
    /// The node is visible (part of the global name space); absent for hidden nodes.
    PUBLISHED = 0x1;
    /// Obsolete atom cache.
    ATOM_CACHE = 0x2;
    /// Extended (3 x 32 bit) references. Mandatory.
    EXTENDED_REFERENCES = 0x4;
    /// Distributed process monitors (MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT).
    DIST_MONITOR = 0x8;
    /// Separate tags for funs. Mandatory.
    FUN_TAGS = 0x10;
    /// Monitors of registered names.
    DIST_MONITOR_NAME = 0x20;
    /// Obsolete hidden-node atom cache.
    HIDDEN_ATOM_CACHE = 0x40;
    /// `NEW_FUN_EXT`. Mandatory.
    NEW_FUN_TAGS = 0x80;
    /// Extended pids and ports. Mandatory.
    EXTENDED_PIDS_PORTS = 0x100;
    /// `EXPORT_EXT`. Mandatory.
    EXPORT_PTR_TAG = 0x200;
    /// `BIT_BINARY_EXT`. Mandatory.
    BIT_BINARIES = 0x400;
    /// `NEW_FLOAT_EXT`. Mandatory.
    NEW_FLOATS = 0x800;
    /// Unicode I/O (not used by the protocol itself).
    UNICODE_IO = 0x1000;
    /// The atom cache in the distribution header (tag 68).
    DIST_HDR_ATOM_CACHE = 0x2000;
    /// `SMALL_ATOM_EXT`.
    SMALL_ATOM_TAGS = 0x4000;
    /// UTF-8 atoms. Mandatory.
    UTF8_ATOMS = 0x10000;
    /// `MAP_EXT`. Mandatory.
    MAP_TAG = 0x20000;
    /// 32-bit creations (`NEW_PID_EXT` and friends). Mandatory.
    BIG_CREATION = 0x40000;
    /// `SEND_SENDER` instead of `SEND`.
    SEND_SENDER = 0x80000;
    /// Any term as a seq_trace label.
    BIG_SEQTRACE_LABELS = 0x100000;
    /// `PAYLOAD_EXIT*` and `PAYLOAD_MONITOR_P_EXIT` instead of the old exit messages.
    EXIT_PAYLOAD = 0x400000;
    /// Fragmented messages (tags 69 and 70).
    FRAGMENTS = 0x800000;
    /// The version 6 handshake of OTP 23. Mandatory.
    HANDSHAKE_23 = 0x1000000;
    /// The new link protocol (`UNLINK_ID`, `UNLINK_ID_ACK`). Mandatory since OTP 26.
    UNLINK_ID = 0x2000000;
    /// Shorthand for every flag OTP 25 made mandatory.
    ///
    /// This is bit 26 (`16#4000000`), as in OTP's `dist.hrl` and `dist.h`; the protocol
    /// document's `1 bsl 36` is a misprint.
    MANDATORY_25_DIGEST = 0x4000000;
    /// `SPAWN_REQUEST` and `SPAWN_REPLY`.
    SPAWN = 1 << 32;
    /// Dynamic node name: a request to be named by the accepting node, not a capability.
    NAME_ME = 1 << 33;
    /// Node containers version 4 (full 32-bit pid fields, 64-bit ports, 5-word
    /// references). Mandatory since OTP 26.
    V4_NC = 1 << 34;
    /// Process aliases (`ALIAS_SEND`).
    ALIAS = 1 << 35;
    /// OTP 28: alternate activation signals (`ALTACT_SIG_SEND`).
    ALTACT_SIG = 1 << 37;
}

impl DistFlags {
    /// No flag.
    pub const EMPTY: DistFlags = DistFlags(0);

    /// The flags that OTP 25 made mandatory, which [`DistFlags::MANDATORY_25_DIGEST`]
    /// stands for.
    pub const MANDATORY_25: DistFlags = DistFlags(
        Self::EXTENDED_REFERENCES.0
            | Self::FUN_TAGS.0
            | Self::EXTENDED_PIDS_PORTS.0
            | Self::NEW_FUN_TAGS.0
            | Self::EXPORT_PTR_TAG.0
            | Self::BIT_BINARIES.0
            | Self::NEW_FLOATS.0
            | Self::UTF8_ATOMS.0
            | Self::MAP_TAG.0
            | Self::BIG_CREATION.0
            | Self::HANDSHAKE_23.0,
    );

    /// Every flag a peer must have (after expanding [`DistFlags::MANDATORY_25_DIGEST`]):
    /// the OTP 25 set plus `UNLINK_ID` and `V4_NC`, as OTP 26 requires.
    pub const REQUIRED: DistFlags = DistFlags(Self::MANDATORY_25.0 | Self::UNLINK_ID.0 | Self::V4_NC.0);

    /// What beamlink always announces: [`DistFlags::REQUIRED`] plus the digest flag.
    pub const MANDATORY: DistFlags = DistFlags(Self::REQUIRED.0 | Self::MANDATORY_25_DIGEST.0);

    /// Optional capabilities this crate implements by itself (frame level): the atom
    /// cache in the distribution header and fragments. The node layer adds the flags of
    /// the signals it implements (DIST_MONITOR, ALIAS, SPAWN, ...).
    pub const CONNECTION_DEFAULT: DistFlags = DistFlags(Self::DIST_HDR_ATOM_CACHE.0 | Self::FRAGMENTS.0);

    /// The optional capabilities a node may choose to announce (on top of
    /// [`DistFlags::MANDATORY`]). `PUBLISHED` and `NAME_ME` are not among them: they
    /// follow from the node being visible or dynamically named.
    pub const OPTIONAL: DistFlags = DistFlags(
        Self::DIST_MONITOR.0
            | Self::DIST_MONITOR_NAME.0
            | Self::DIST_HDR_ATOM_CACHE.0
            | Self::SMALL_ATOM_TAGS.0
            | Self::SEND_SENDER.0
            | Self::BIG_SEQTRACE_LABELS.0
            | Self::EXIT_PAYLOAD.0
            | Self::FRAGMENTS.0
            | Self::SPAWN.0
            | Self::ALIAS.0
            | Self::UNICODE_IO.0,
    );

    /// The flags from their wire value.
    pub const fn from_bits(bits: u64) -> DistFlags {
        DistFlags(bits)
    }

    /// The wire value.
    pub const fn bits(self) -> u64 {
        self.0
    }

    /// `true` when every flag of `other` is set in `self`.
    pub const fn contains(self, other: DistFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `true` when at least one flag of `other` is set in `self`.
    pub const fn intersects(self, other: DistFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` without the flags of `other`.
    pub const fn without(self, other: DistFlags) -> DistFlags {
        DistFlags(self.0 & !other.0)
    }

    /// The flags a peer really has: [`DistFlags::MANDATORY_25_DIGEST`] stands for every
    /// flag of [`DistFlags::MANDATORY_25`], so it is expanded into them.
    pub const fn expand_digest(self) -> DistFlags {
        if self.0 & Self::MANDATORY_25_DIGEST.0 != 0 {
            DistFlags(self.0 | Self::MANDATORY_25.0)
        } else {
            self
        }
    }

    /// The flags of [`DistFlags::REQUIRED`] missing from these peer flags (after
    /// expanding the digest flag). Empty when the peer may connect.
    pub const fn missing_required(self) -> DistFlags {
        DistFlags(Self::REQUIRED.0 & !self.expand_digest().0)
    }

    /// `true` when the peer is a visible node.
    pub const fn is_published(self) -> bool {
        self.0 & Self::PUBLISHED.0 != 0
    }
}

impl BitOr for DistFlags {
    type Output = DistFlags;
    fn bitor(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 | rhs.0)
    }
}

impl BitOrAssign for DistFlags {
    fn bitor_assign(&mut self, rhs: DistFlags) {
        self.0 |= rhs.0;
    }
}

impl BitAnd for DistFlags {
    type Output = DistFlags;
    fn bitand(self, rhs: DistFlags) -> DistFlags {
        DistFlags(self.0 & rhs.0)
    }
}

impl Not for DistFlags {
    type Output = DistFlags;
    fn not(self) -> DistFlags {
        DistFlags(!self.0)
    }
}

/// Prints the flag names joined with `|` (`EXTENDED_REFERENCES|FUN_TAGS`), unknown
/// bits in hexadecimal, and `0` for the empty set.
impl fmt::Display for DistFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0");
        }
        let mut rest = self.0;
        let mut first = true;
        for (flag, name) in NAMES {
            if rest & flag.0 != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !flag.0;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for DistFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistFlags({:#x}: {self})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_bit_26_and_expands_to_the_otp_25_set() {
        assert_eq!(DistFlags::MANDATORY_25_DIGEST.bits(), 0x0400_0000);
        let peer = DistFlags::MANDATORY_25_DIGEST | DistFlags::UNLINK_ID | DistFlags::V4_NC;
        assert!(peer.missing_required().bits() == 0);
        assert!(peer.expand_digest().contains(DistFlags::MANDATORY_25));
    }

    #[test]
    fn missing_required_names_what_is_absent() {
        let peer = DistFlags::MANDATORY_25;
        assert_eq!(peer.missing_required(), DistFlags::UNLINK_ID | DistFlags::V4_NC);
        assert_eq!(peer.missing_required().to_string(), "UNLINK_ID|V4_NC");
    }

    #[test]
    fn mandatory_holds_every_flag_otp_26_requires() {
        assert_eq!(DistFlags::MANDATORY.missing_required(), DistFlags::EMPTY);
        assert!(!DistFlags::MANDATORY.is_published());
    }

    #[test]
    fn display_prints_unknown_bits_in_hex() {
        let f = DistFlags::PUBLISHED | DistFlags::from_bits(1 << 60);
        assert_eq!(f.to_string(), "PUBLISHED|0x1000000000000000");
        assert_eq!(DistFlags::EMPTY.to_string(), "0");
    }
}
