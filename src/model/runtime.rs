//! The process-wide ONNX Runtime environment, loaded from a shared library found at run time.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::paths::runtime_candidates;

static ENVIRONMENT: OnceLock<std::result::Result<ort::environment::Environment, String>> =
    OnceLock::new();
static RUNTIME_PATH: OnceLock<PathBuf> = OnceLock::new();

/// The first ONNX Runtime library that exists, in the documented search order.
pub fn runtime_path() -> Result<PathBuf> {
    // An explicit setting that points nowhere is a mistake to report, not to work around.
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from) {
        return if p.is_file() {
            Ok(p)
        } else {
            Err(Error::RuntimeMissing {
                searched: format!("{} (from ORT_DYLIB_PATH)", p.display()),
            })
        };
    }
    let candidates = runtime_candidates();
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| Error::RuntimeMissing {
            searched: candidates
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The ONNX Runtime environment; loads the library on first use. ONNX Runtime allows one per process.
pub fn environment() -> Result<&'static ort::environment::Environment> {
    let path = runtime_path()?;
    let env = ENVIRONMENT.get_or_init(|| {
        let _ = RUNTIME_PATH.set(path.clone());
        ort::init_from(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| b.with_name("lookalike").build().map_err(|e| e.to_string()))
    });
    env.as_ref().map_err(|message| Error::RuntimeLoad {
        path: RUNTIME_PATH.get().cloned().unwrap_or(path),
        message: message.clone(),
    })
}
