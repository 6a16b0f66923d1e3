//! A trained head: centring, a linear projection to the style space, and a softmax per label column.

use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::embed::l2_normalize;

/// A predicted label of a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub column: String,
    pub label: String,
    /// Calibrated probability of `label`, 0..1.
    pub confidence: f32,
    /// The next most probable labels, most probable first (two at most).
    pub alternatives: Vec<Alternative>,
}

/// A label the head finds less probable than its prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    pub label: String,
    pub confidence: f32,
}

/// Labels shown per column: the prediction and its runners-up.
pub const SHOWN_LABELS: usize = 3;

/// One label column the head predicts.
#[derive(Debug, Clone)]
pub struct HeadColumn {
    pub name: String,
    pub classes: Vec<String>,
    /// `proj_dims x classes`.
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
    /// Logits are divided by it before the softmax (temperature scaling, fitted on held-out
    /// items); 1 when the head was not calibrated.
    pub temperature: f32,
    /// Share of held-out items whose label the head predicted right, when cross-validated.
    pub accuracy: Option<f32>,
}

/// What calibration measured of a column, stored in the layout.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ColumnCalibration {
    temperature: f32,
    accuracy: Option<f32>,
}

/// The head: `style = normalise(((x - mean) * scale) . projection)`, then per column
/// `softmax(style_raw . weights + bias)`.
#[derive(Debug, Clone)]
pub struct Head {
    /// Which embeddings it was trained on ("model|pooling|resize|dims"): a head is only valid for those.
    pub embedding_key: String,
    pub mean: Array1<f32>,
    pub scale: f32,
    /// `dims x proj_dims`.
    pub projection: Array2<f32>,
    pub columns: Vec<HeadColumn>,
}

/// The shapes and names of a head, stored as JSON beside its weights.
#[derive(Serialize, Deserialize)]
struct Layout {
    embedding_key: String,
    dims: usize,
    proj_dims: usize,
    scale: f32,
    columns: Vec<(String, Vec<String>)>,
    /// One per column; missing in heads stored before calibration (temperature 1).
    #[serde(default)]
    calibration: Vec<ColumnCalibration>,
}

impl Head {
    pub fn dims(&self) -> usize {
        self.projection.nrows()
    }

    pub fn proj_dims(&self) -> usize {
        self.projection.ncols()
    }

    /// The un-normalised style vector of an embedding.
    fn style_raw(&self, v: &[f32]) -> Array1<f32> {
        let x = (&ArrayView1::from(v) - &self.mean) * self.scale;
        x.dot(&self.projection)
    }

    /// The embedding's point in the style space, unit length (for cosine search).
    pub fn style(&self, v: &[f32]) -> Vec<f32> {
        let mut s = self.style_raw(v).to_vec();
        l2_normalize(&mut s);
        s
    }

    /// Style vectors of `n x dims` row-major embeddings, `n x proj_dims`, unit rows.
    pub fn style_all(&self, embeddings: &[f32]) -> Vec<f32> {
        let n = embeddings.len() / self.dims().max(1);
        let x = ndarray::ArrayView2::from_shape((n, self.dims()), embeddings)
            .expect("embeddings are n x dims");
        let z = ((&x - &self.mean.view().insert_axis(Axis(0))) * self.scale).dot(&self.projection);
        let mut out = z
            .as_standard_layout()
            .into_owned()
            .into_raw_vec_and_offset()
            .0;
        for row in out.chunks_mut(self.proj_dims()) {
            l2_normalize(row);
        }
        out
    }

    /// Raw logits of each column (before the temperature).
    pub fn logits(&self, v: &[f32]) -> Vec<Array1<f32>> {
        let z = self.style_raw(v);
        self.columns
            .iter()
            .map(|c| z.dot(&c.weights) + &c.bias)
            .collect()
    }

    /// Calibrated class probabilities of each column.
    pub fn probabilities(&self, v: &[f32]) -> Vec<Array1<f32>> {
        self.logits(v)
            .into_iter()
            .zip(&self.columns)
            .map(|(z, c)| softmax(z / c.temperature.max(1e-3)))
            .collect()
    }

    /// The most probable label of each column with its probability, and the runners-up.
    pub fn predict(&self, v: &[f32]) -> Vec<Prediction> {
        self.probabilities(v)
            .into_iter()
            .zip(&self.columns)
            .map(|(p, c)| {
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
                let label = |i: usize| c.classes.get(i).cloned().unwrap_or_default();
                let best = order.first().copied().unwrap_or(0);
                Prediction {
                    column: c.name.clone(),
                    label: label(best),
                    confidence: p.get(best).copied().unwrap_or(0.0),
                    alternatives: order
                        .iter()
                        .skip(1)
                        .take(SHOWN_LABELS - 1)
                        .map(|&i| Alternative {
                            label: label(i),
                            confidence: p[i],
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// Serialise: a JSON layout and the weights as little-endian f32 (mean, projection, then each
    /// column's weights and bias).
    pub fn to_bytes(&self) -> (String, Vec<u8>) {
        let layout = Layout {
            embedding_key: self.embedding_key.clone(),
            dims: self.dims(),
            proj_dims: self.proj_dims(),
            scale: self.scale,
            columns: self
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.classes.clone()))
                .collect(),
            calibration: self
                .columns
                .iter()
                .map(|c| ColumnCalibration {
                    temperature: c.temperature,
                    accuracy: c.accuracy,
                })
                .collect(),
        };
        let mut floats: Vec<f32> = self.mean.to_vec();
        floats.extend(self.projection.iter());
        for c in &self.columns {
            floats.extend(c.weights.iter());
            floats.extend(c.bias.iter());
        }
        let json = serde_json::to_string(&layout).expect("a layout serialises");
        (json, crate::catalog::f32_bytes(&floats))
    }

    /// Read what [`Head::to_bytes`] wrote; `None` when it does not fit together.
    pub fn from_bytes(json: &str, bytes: &[u8]) -> Option<Self> {
        let l: Layout = serde_json::from_str(json).ok()?;
        let floats: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let mut rest = floats.as_slice();
        let mut take = |n: usize| -> Option<Vec<f32>> {
            (rest.len() >= n).then(|| {
                let (a, b) = rest.split_at(n);
                rest = b;
                a.to_vec()
            })
        };
        let mean = Array1::from(take(l.dims)?);
        let projection =
            Array2::from_shape_vec((l.dims, l.proj_dims), take(l.dims * l.proj_dims)?).ok()?;
        let mut columns = Vec::new();
        for (c, (name, classes)) in l.columns.into_iter().enumerate() {
            let k = classes.len();
            let weights = Array2::from_shape_vec((l.proj_dims, k), take(l.proj_dims * k)?).ok()?;
            let bias = Array1::from(take(k)?);
            let cal = l.calibration.get(c);
            columns.push(HeadColumn {
                name,
                classes,
                weights,
                bias,
                temperature: cal.map_or(1.0, |c| c.temperature),
                accuracy: cal.and_then(|c| c.accuracy),
            });
        }
        rest.is_empty().then_some(Head {
            embedding_key: l.embedding_key,
            mean,
            scale: l.scale,
            projection,
            columns,
        })
    }
}

pub(crate) fn softmax(mut z: Array1<f32>) -> Array1<f32> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    z.mapv_inplace(|v| (v - max).exp());
    let sum = z.sum();
    z / sum
}
