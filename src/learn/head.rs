//! A trained head: centring, a linear projection to the style space, and a softmax per label column.

use ndarray::{Array1, Array2, ArrayView1, Axis};
use serde::{Deserialize, Serialize};

use crate::embed::l2_normalize;

/// A predicted label of a photo.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    pub column: String,
    pub label: String,
    /// Softmax probability of `label`, 0..1.
    pub confidence: f32,
}

/// One label column the head predicts.
#[derive(Debug, Clone)]
pub struct HeadColumn {
    pub name: String,
    pub classes: Vec<String>,
    /// `proj_dims x classes`.
    pub weights: Array2<f32>,
    pub bias: Array1<f32>,
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

    /// Class probabilities of each column.
    pub fn probabilities(&self, v: &[f32]) -> Vec<Array1<f32>> {
        let z = self.style_raw(v);
        self.columns
            .iter()
            .map(|c| softmax(z.dot(&c.weights) + &c.bias))
            .collect()
    }

    /// The most probable label of each column, with its probability.
    pub fn predict(&self, v: &[f32]) -> Vec<Prediction> {
        self.probabilities(v)
            .into_iter()
            .zip(&self.columns)
            .map(|(p, c)| {
                let (best, conf) = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, &c)| (i, c))
                    .unwrap_or((0, 0.0));
                Prediction {
                    column: c.name.clone(),
                    label: c.classes.get(best).cloned().unwrap_or_default(),
                    confidence: conf,
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
        for (name, classes) in l.columns {
            let k = classes.len();
            let weights = Array2::from_shape_vec((l.proj_dims, k), take(l.proj_dims * k)?).ok()?;
            let bias = Array1::from(take(k)?);
            columns.push(HeadColumn {
                name,
                classes,
                weights,
                bias,
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
