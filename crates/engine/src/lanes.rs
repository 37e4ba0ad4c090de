//! The two constants of byte-lane arithmetic (SWAR: eight bytes at a time in one `u64`), shared
//! by the hot loops that read text that way (`detect::windows`, `detect::context`,
//! `detect::secrets::prefilter`, `detect::toxicity::model`). Each loop keeps its own tests: what
//! it computes per lane differs.

/// 0x01 in every byte lane; times a byte, that byte in every lane.
pub(crate) const L: u64 = 0x0101_0101_0101_0101;
/// 0x80 in every byte lane: each lane's high bit.
pub(crate) const H: u64 = 0x8080_8080_8080_8080;
