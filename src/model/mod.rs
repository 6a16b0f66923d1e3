//! Models: what each one is (its manifest in `models/*.toml`) and the ONNX Runtime that runs them.

mod classes;
mod manifest;
mod runtime;

pub use classes::{imagenet_classes, top_classes};
pub use manifest::{
    ModelManifest, Pooling, ResizePolicy, available_models, default_model, find_model,
};
pub use runtime::{environment, runtime_path};
