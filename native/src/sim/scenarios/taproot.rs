//! taproot workload.

use super::Sim;

/// One round.
pub async fn run(_sim: &Sim, _round: u32) {}
