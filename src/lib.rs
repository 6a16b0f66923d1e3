//! lookalike: find look-alike fashion items by photo.
//!
//! The library is the whole engine: decoding and preprocessing photos ([`embed::preprocess`]),
//! running an ImageNet CNN through ONNX Runtime on a thread of its own ([`embed::Embedder`]),
//! the catalog index in SQLite ([`catalog`]) and exact cosine search ([`search`]).
//! The core never touches a window: the command line and the window (`app`, behind the `gui`
//! feature) both call it.

#[cfg(feature = "gui")]
pub mod app;
pub mod catalog;
pub mod cpu;
pub mod dups;
pub mod embed;
pub mod error;
pub mod eval;
pub mod learn;
pub mod map;
pub mod model;
pub mod paths;
pub mod query;
pub mod search;

pub use error::{Error, Result};

/// Open the catalog at `index` for searching, with the head learned from its labels when one was
/// saved: what the command line and the window open.
pub fn open_catalog(index: &std::path::Path) -> Result<catalog::Catalog> {
    let mut catalog = catalog::Catalog::open(index)?;
    learn::attach_stored_head(&mut catalog)?;
    Ok(catalog)
}
