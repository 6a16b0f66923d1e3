//! lookalike: find look-alike fashion items by photo.
//!
//! The library is the whole engine: decoding and preprocessing photos ([`embed::preprocess`]),
//! running an ImageNet CNN through ONNX Runtime on a thread of its own ([`embed::Embedder`]),
//! the catalog and where it is kept ([`catalog`]), search ([`search`], [`query`]), and what is
//! computed from a catalog: its map ([`map`]), a head learned from its labels ([`learn`]),
//! duplicate groups ([`dups`]).
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
pub mod indexer;
pub mod learn;
pub mod map;
pub mod model;
pub mod paths;
pub mod query;
pub mod search;

pub use error::{Error, Result};
