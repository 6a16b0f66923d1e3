//! lookalike's benchmarks (figures, not timed tests), outside the shipped binary:
//!
//!   cargo bench --bench figures -- throughput [--catalog DIR] [--mnist 70000] [--million 1000000] ...
//!                                              model speed, indexing, query latency, open time, memory
//!   cargo bench --bench figures -- dups [--originals 500] [--copies 160] [--czkawka-result FILE]
//!                                              the duplicate finder on transformed copies of real photos
//!   cargo bench --bench figures -- backbones [--catalog DIR] [--model NAME]...
//!                                              every installed backbone: speed, retrieval quality,
//!                                              the learned head, flip and zoom test-time augmentation
//!   cargo bench --bench figures -- postgres [--items 100000] [--url postgres://...]
//!                                              a shared catalog: indexing into it, HNSW recall and latency
//!
//! `./run bench` runs the Python peer first and passes `throughput --peer FILE`.

#[path = "../common/mod.rs"]
mod common;
#[path = "figures/dups.rs"]
mod dups;
#[path = "figures/postgres.rs"]
mod postgres;
#[path = "figures/throughput.rs"]
mod throughput;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "figures", about = "lookalike's benchmarks")]
struct Figures {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Indexing throughput, model speed, query latency, open time and memory, beside the Python peer.
    Throughput(throughput::BenchArgs),
    /// The duplicate finder on transformed copies of real photos (precision, recall, F1, time).
    Dups(dups::BenchDupsArgs),
    /// Every installed backbone on one labelled catalog: speed, P@10 and mAP@10, the learned head,
    /// test-time augmentation (the default backbone is chosen on these figures).
    Backbones(throughput::backbones::BackboneArgs),
    /// A shared catalog in PostgreSQL with pgvector: indexing into it, HNSW recall and latency.
    Postgres(postgres::PgArgs),
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench` to every bench target: drop it.
    let args = std::env::args().filter(|a| a != "--bench");
    let run = match Figures::parse_from(args).bench {
        Bench::Throughput(a) => throughput::run(a),
        Bench::Dups(a) => dups::run(a),
        Bench::Backbones(a) => throughput::backbones::run(a),
        Bench::Postgres(a) => postgres::run(a),
    };
    match run {
        Ok(code) => code,
        Err(e) => {
            eprintln!("figures: {e:#}");
            ExitCode::from(1)
        }
    }
}
