//! The embedding engine: one named thread owns the ONNX Runtime session and runs batches sent to it.

use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

use super::pool::pool_feature_map;
use super::preprocess::{Photo, load_photo_for, model_input};
use crate::error::{Error, Result};
use crate::model::{ModelManifest, environment};

/// Settings of the ONNX session.
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineOptions {
    /// Threads inside one operator; 0 lets ONNX Runtime use every core.
    pub intra_threads: usize,
}

/// What a batch gives back: one unit vector per image, and its ImageNet logits.
#[derive(Debug, Clone)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub logits: Vec<Vec<f32>>,
}

/// What runs on the embedding thread: `count` preprocessed images (`count * 3 * S * S` floats) in,
/// their embeddings out. The manifest's ONNX model, or (tests that need no model) any function.
pub type Network = Box<dyn FnMut(&[f32], usize) -> Result<Embeddings> + Send>;

struct Job {
    input: Vec<f32>,
    count: usize,
    reply: Sender<Result<Embeddings>>,
}

/// A handle to the embedding thread. Cheap to share behind an `Arc`; dropping the last handle stops it.
pub struct Embedder {
    manifest: Arc<ModelManifest>,
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Embedder {
    /// Load the model on a new thread named `embedder`; returns once the session is ready or failed.
    pub fn start(manifest: ModelManifest, options: EngineOptions) -> Result<Self> {
        if !manifest.real_weights {
            return Err(Error::NotARealModel {
                name: manifest.name.clone(),
            });
        }
        Self::start_any(manifest, options)
    }

    /// Like [`Embedder::start`], but also accepts graphs with random weights (speed and shape tests).
    pub fn start_any(manifest: ModelManifest, options: EngineOptions) -> Result<Self> {
        let model_path = manifest.model_path();
        if !model_path.is_file() {
            return Err(Error::ModelMissing {
                name: manifest.name.clone(),
                path: model_path,
            });
        }
        let env = environment()?;
        let m = Arc::new(manifest.clone());
        Self::spawn(manifest, move || {
            let mut session = open_session(env, &m, options)?;
            let network: Network =
                Box::new(move |input, count| run_batch(&mut session, &m, input, count));
            Ok(network)
        })
    }

    /// An embedder that runs `network` instead of the manifest's model (which need not exist):
    /// the seam that lets tests of the window and the indexer run without ONNX Runtime. The
    /// network must give `manifest.dims`-long unit vectors.
    pub fn with_network(manifest: ModelManifest, network: Network) -> Result<Self> {
        Self::spawn(manifest, move || Ok(network))
    }

    /// Start the embedding thread; `open` makes its network there, before the first batch.
    fn spawn(
        manifest: ModelManifest,
        open: impl FnOnce() -> Result<Network> + Send + 'static,
    ) -> Result<Self> {
        let manifest = Arc::new(manifest);
        let (jobs_tx, jobs_rx) = unbounded::<Job>();
        let (ready_tx, ready_rx) = bounded::<Result<()>>(1);
        let thread = std::thread::Builder::new()
            .name("embedder".into())
            .spawn(move || match open() {
                Ok(mut network) => {
                    let _ = ready_tx.send(Ok(()));
                    for job in jobs_rx {
                        let out = network(&job.input, job.count);
                        let _ = job.reply.send(out);
                    }
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            })
            .map_err(|e| Error::Io {
                path: "embedder thread".into(),
                source: e,
            })?;
        ready_rx.recv().map_err(|_| Error::EngineStopped)??;
        Ok(Embedder {
            manifest,
            jobs: Some(jobs_tx),
            thread: Some(thread),
        })
    }

    pub fn manifest(&self) -> &ModelManifest {
        &self.manifest
    }

    /// Queue a batch of `count` preprocessed images (`count * 3 * S * S` floats); the answer arrives on the receiver.
    pub fn submit(&self, input: Vec<f32>, count: usize) -> Result<Receiver<Result<Embeddings>>> {
        let (reply, rx) = bounded(1);
        self.jobs
            .as_ref()
            .ok_or(Error::EngineStopped)?
            .send(Job {
                input,
                count,
                reply,
            })
            .map_err(|_| Error::EngineStopped)?;
        Ok(rx)
    }

    /// Run a batch and wait for it.
    pub fn run(&self, input: Vec<f32>, count: usize) -> Result<Embeddings> {
        self.submit(input, count)?
            .recv()
            .map_err(|_| Error::EngineStopped)?
    }

    /// Embed one decoded photo.
    pub fn embed_photo(&self, photo: &Photo) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut out = self.run(model_input(photo, &self.manifest), 1)?;
        Ok((out.vectors.swap_remove(0), out.logits.swap_remove(0)))
    }

    /// Decode and embed one photo file.
    pub fn embed_file(&self, path: &Path) -> Result<(Vec<f32>, Vec<f32>)> {
        let photo = load_photo_for(path, &self.manifest).map_err(|source| Error::Photo {
            path: path.to_path_buf(),
            source,
        })?;
        self.embed_photo(&photo)
    }
}

impl Drop for Embedder {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn open_session(
    env: &ort::environment::Environment,
    m: &ModelManifest,
    options: EngineOptions,
) -> Result<Session> {
    let mut builder =
        Session::builder(env)?.with_optimization_level(GraphOptimizationLevel::Level3)?;
    if options.intra_threads > 0 {
        builder = builder.with_intra_threads(options.intra_threads)?;
    }
    let session = builder.commit_from_file(m.model_path())?;
    for name in [&m.input_name] {
        if !session.inputs().iter().any(|i| i.name() == name) {
            return Err(Error::ModelShape {
                name: m.name.clone(),
                message: format!("no input named '{name}'"),
            });
        }
    }
    for name in [&m.feature_output, &m.logits_output] {
        if !session.outputs().iter().any(|o| o.name() == name) {
            return Err(Error::ModelShape {
                name: m.name.clone(),
                message: format!("no output named '{name}'"),
            });
        }
    }
    Ok(session)
}

fn run_batch(
    session: &mut Session,
    m: &ModelManifest,
    input: &[f32],
    count: usize,
) -> Result<Embeddings> {
    let s = m.input_size as usize;
    let tensor = TensorRef::from_array_view(([count, 3, s, s], input))?;
    let outputs = session.run(ort::inputs![m.input_name.as_str() => tensor])?;
    let (shape, features) = outputs[m.feature_output.as_str()].try_extract_tensor::<f32>()?;
    if shape.len() != 4 || shape[1] as usize != m.dims {
        return Err(Error::ModelShape {
            name: m.name.clone(),
            message: format!(
                "feature map has shape {shape:?}, expected [N, {}, h, w]",
                m.dims
            ),
        });
    }
    let hw = (shape[2] * shape[3]) as usize;
    let vectors = pool_feature_map(features, count, m.dims, hw, m.pooling);
    let (lshape, logits) = outputs[m.logits_output.as_str()].try_extract_tensor::<f32>()?;
    let classes = lshape.last().copied().unwrap_or(0) as usize;
    let logits = logits.chunks(classes.max(1)).map(<[f32]>::to_vec).collect();
    Ok(Embeddings { vectors, logits })
}
