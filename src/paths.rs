//! Where lookalike looks for its runtime, its models and its indexes, in a documented order.
//!
//! Models and the ONNX Runtime library are searched in:
//! 1. `$LOOKALIKE_MODELS` (a folder), and for the runtime `$ORT_DYLIB_PATH` (a file) first of all;
//! 2. `models/` beside the executable, then `../share/lookalike/models` (an installed package);
//! 3. `models/` of the source tree the binary was built from (a developer checkout); not in packaged
//!    builds (`LOOKALIKE_PACKAGED=1` at build time), which must find everything they ship.
//!
//! Indexes live in the platform data folder (`~/.local/share/lookalike` on Linux), or in
//! `$LOOKALIKE_DATA_DIR` when set.

use std::path::{Path, PathBuf};

/// Built by `packaging/build-deb`: look only where the package puts things.
const PACKAGED: bool = option_env!("LOOKALIKE_PACKAGED").is_some();

/// What to do when the runtime or a model is missing.
pub const SETUP_HINT: &str = if PACKAGED {
    "Reinstall the lookalike package: it ships the runtime and the model"
} else {
    "Run `./run setup` in the lookalike checkout"
};

/// What to do when a model's weights are missing.
pub const MODEL_HINT: &str = if PACKAGED {
    SETUP_HINT
} else {
    "Run `./run setup` in the lookalike checkout (`./run setup-backbones` also makes the int8 versions of EfficientNet-Lite1 and Lite2)"
};

/// Folders that may hold model manifests and weights, most specific first, deduplicated.
pub fn model_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("LOOKALIKE_MODELS") {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(exe_dir.join("models"));
        dirs.push(exe_dir.join("../share/lookalike/models"));
    }
    if !PACKAGED {
        dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("models"));
    }
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let key = d.canonicalize().unwrap_or_else(|_| d.clone());
        let fresh = !seen.contains(&key);
        seen.push(key);
        fresh
    });
    dirs
}

/// Candidate locations of the ONNX Runtime shared library, in search order.
pub fn runtime_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        out.push(PathBuf::from(p));
    }
    for dir in model_dirs() {
        out.push(dir.join("libonnxruntime.so"));
        out.push(dir.join("libonnxruntime.so.1.32.0"));
    }
    out
}

/// The folder where indexes and app state live.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("LOOKALIKE_DATA_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "lookalike")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".lookalike"))
}

/// The default index file for a catalog folder: one per folder, named after it.
pub fn default_index_for(root: &Path) -> PathBuf {
    let abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let name: String = abs
        .file_name()
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect()
        })
        .unwrap_or_default();
    let hash = blake3::hash(abs.as_os_str().as_encoded_bytes()).to_hex();
    data_dir()
        .join("catalogs")
        .join(format!("{name}-{}.sqlite", &hash[..8]))
}

/// The file that remembers the last catalog index used, so `query` works without `--index`.
pub fn last_index_marker() -> PathBuf {
    data_dir().join("last-index")
}

/// The demo catalog, when this machine has one: `$LOOKALIKE_DEMO`, the shared fashion-products
/// folder beside the source tree, or `../share/lookalike/demo` beside the executable.
pub fn demo_catalog() -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("LOOKALIKE_DEMO") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/fashion-products"));
    if let Some(exe_dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(exe_dir.join("../share/lookalike/demo"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_dir())
        .map(|p| p.canonicalize().unwrap_or(p))
}
