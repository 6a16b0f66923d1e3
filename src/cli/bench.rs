//! `lookalike bench`: figures, not a timed test.

use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct BenchArgs {}

pub fn run(_a: BenchArgs) -> Result<ExitCode> {
    Ok(ExitCode::SUCCESS)
}
