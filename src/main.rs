//! The `lookalike` command: index a catalog folder, query it with a photo, measure it.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lookalike: {e:#}");
            ExitCode::from(1)
        }
    }
}
