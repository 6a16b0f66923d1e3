//! Embedding photos: preprocessing, the ONNX session on its own thread, pooling.

pub mod budget;
mod engine;
pub mod fingerprint;
mod jpeg;
mod pool;
pub mod preprocess;
pub mod trim;

pub use budget::read_photo_file;
pub use engine::{Embedder, Embeddings, EngineOptions, Network};
pub use pool::{is_unit_vector, l2_normalize, pool_feature_map};
pub use preprocess::{
    Photo, decode_photo, decode_photo_for, load_photo, load_photo_for, model_input,
};
