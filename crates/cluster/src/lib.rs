//! See the crate description; filled in by its issue.
