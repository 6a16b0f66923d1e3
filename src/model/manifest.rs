//! A model manifest: one small TOML file per model in `models/`, so adding a model is adding a file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::paths::model_dirs;

/// How a photo is fitted into the model's square input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizePolicy {
    /// Scale the shorter side, then cut the centre square (ImageNet's usual way; cuts off heads and shoes).
    CenterCrop,
    /// Scale the longer side and pad to a square with white (keeps the whole garment).
    Letterbox,
}

/// How the last feature map `[C, h, w]` becomes one `C`-dimensional vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pooling {
    Avg,
    Max,
    /// Generalised mean, (mean x^p)^(1/p), p = 3: between average and max.
    Gem,
}

/// Everything the app needs to know to run one model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// Short identifier, recorded in every index made with this model.
    pub name: String,
    /// What the window and the command line show.
    pub display_name: String,
    /// The ONNX file, relative to the manifest's folder.
    pub file: PathBuf,
    /// Side of the square input, in pixels.
    pub input_size: u32,
    /// Per-channel mean and standard deviation on the 0..255 scale: x' = (x - mean) / std.
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub resize: ResizePolicy,
    /// For `center-crop`: the shorter side is scaled to `input_size / crop_fraction` first.
    #[serde(default = "default_crop_fraction")]
    pub crop_fraction: f32,
    pub input_name: String,
    /// Output holding the last feature map `[N, C, h, w]`.
    pub feature_output: String,
    /// Output holding ImageNet logits `[N, 1000]`.
    pub logits_output: String,
    pub pooling: Pooling,
    /// Embedding length (= channels of the feature map).
    pub dims: usize,
    /// False for graphs with random weights: usable for speed tests, never for search.
    pub real_weights: bool,
    /// The folder the manifest was read from (set on load).
    #[serde(skip)]
    pub dir: PathBuf,
}

fn default_crop_fraction() -> f32 {
    0.875
}

impl ModelManifest {
    /// Read one manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(crate::error::io_err(path))?;
        let mut m: ModelManifest = toml::from_str(&text).map_err(|source| Error::Manifest {
            path: path.to_path_buf(),
            source,
        })?;
        m.dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        Ok(m)
    }

    /// Full path of the ONNX file.
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }

    /// Whether the weights file is present.
    pub fn is_installed(&self) -> bool {
        self.model_path().is_file()
    }

    /// The label shown next to results: "EfficientNet-Lite0 (1280-d)".
    pub fn label(&self) -> String {
        format!(
            "{} ({}-d, {} pooling)",
            self.display_name,
            self.dims,
            self.pooling.name()
        )
    }

    /// The same model with another pooling or resize policy (for evaluation).
    pub fn with_variant(&self, pooling: Pooling, resize: ResizePolicy) -> Self {
        let mut m = self.clone();
        m.pooling = pooling;
        m.resize = resize;
        m
    }
}

impl ResizePolicy {
    pub fn name(self) -> &'static str {
        match self {
            ResizePolicy::CenterCrop => "center-crop",
            ResizePolicy::Letterbox => "letterbox",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        [ResizePolicy::CenterCrop, ResizePolicy::Letterbox]
            .into_iter()
            .find(|p| p.name() == s)
    }
}

impl Pooling {
    pub fn from_name(s: &str) -> Option<Self> {
        [Pooling::Avg, Pooling::Max, Pooling::Gem]
            .into_iter()
            .find(|p| p.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Pooling::Avg => "avg",
            Pooling::Max => "max",
            Pooling::Gem => "gem",
        }
    }
}

/// All manifests found in the model folders; a name found twice is taken from the first folder.
pub fn available_models() -> Result<Vec<ModelManifest>> {
    let mut out: Vec<ModelManifest> = Vec::new();
    for dir in model_dirs() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let m = ModelManifest::load(&f)?;
            if !out.iter().any(|o| o.name == m.name) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// The manifest of the named model, checked to be real and installed.
pub fn find_model(name: &str) -> Result<ModelManifest> {
    let all = available_models()?;
    if all.is_empty() {
        return Err(no_models());
    }
    let Some(m) = all.iter().find(|m| m.name == name) else {
        let available = all
            .iter()
            .map(|m| m.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::UnknownModel {
            name: name.to_string(),
            available,
        });
    };
    if !m.is_installed() {
        return Err(Error::ModelMissing {
            name: m.name.clone(),
            path: m.model_path(),
        });
    }
    Ok(m.clone())
}

/// The model used when none is named: `$LOOKALIKE_MODEL`, else the first installed real model in
/// order of preference (ResNet-50 as the product asks, when its weights were given; else EfficientNet-Lite0).
pub fn default_model() -> Result<ModelManifest> {
    if let Ok(name) = std::env::var("LOOKALIKE_MODEL") {
        return find_model(&name);
    }
    let all = available_models()?;
    let preference = ["resnet50", "efficientnet-lite0"];
    for name in preference {
        if let Some(m) = all
            .iter()
            .find(|m| m.name == name && m.is_installed() && m.real_weights)
        {
            return Ok(m.clone());
        }
    }
    if let Some(m) = all.iter().find(|m| m.is_installed() && m.real_weights) {
        return Ok(m.clone());
    }
    match all.iter().find(|m| m.real_weights) {
        Some(m) => Err(Error::ModelMissing {
            name: m.name.clone(),
            path: m.model_path(),
        }),
        None => Err(no_models()),
    }
}

fn no_models() -> Error {
    let searched = model_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Error::NoModels { searched }
}
