//! The `lookalike` command: index a catalog folder, query it with a photo, measure it.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // `lookalike dups | head` should end quietly like other command-line tools, not panic on a
    // closed pipe: restore the default SIGPIPE action that the Rust runtime ignores.
    // SAFETY: called first thing, before any other thread exists; SIG_DFL is a valid handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // The library reports what it skips (a cache it could not save, ...) through `log`: warnings
    // and errors are shown by default, RUST_LOG=debug shows more.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .format(|out, record| {
            use std::io::Write;
            writeln!(
                out,
                "lookalike: {}: {}",
                record.level().as_str().to_lowercase(),
                record.args()
            )
        })
        .init();
    match cli::run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lookalike: {}", describe(&e));
            ExitCode::from(1)
        }
    }
}

/// The error and its causes on one line, each cause once: library errors already quote their
/// source in their message, so a cause whose text is already there is not repeated.
pub(crate) fn describe(e: &anyhow::Error) -> String {
    let mut msg = e.to_string();
    for cause in e.chain().skip(1) {
        let text = cause.to_string();
        if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}
