//! Shared test fixtures: the real model, real photos, and catalogs written into temp folders.
#![allow(dead_code)]

pub mod pg;
pub mod scenes;
pub mod transform;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use lookalike::embed::{Embedder, EngineOptions};
use lookalike::model::default_model;

/// The project folder.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Photos with known ImageNet classes, unpacked from the scikit-image wheel by `./run setup`.
pub fn known_photo(name: &str) -> PathBuf {
    let p = project().join(".cache/photos").join(name);
    assert!(
        p.is_file(),
        "{} is missing: run ./run setup first",
        p.display()
    );
    p
}

/// The demo catalog: ../shared/data/fashion-products (or $LOOKALIKE_DEMO).
pub fn demo_catalog() -> PathBuf {
    let p = std::env::var_os("LOOKALIKE_DEMO")
        .map(PathBuf::from)
        .unwrap_or_else(|| project().join("../shared/data/fashion-products"));
    assert!(
        p.join("images").is_dir(),
        "demo catalog not found at {}",
        p.display()
    );
    p
}

/// The `n` first demo photos (sorted by name), as paths.
pub fn demo_photos(n: usize) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(demo_catalog().join("images"))
        .expect("demo images")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v.truncate(n);
    v
}

/// One embedder per test binary: loading the model once keeps the tests quick.
pub fn embedder() -> &'static Embedder {
    static E: OnceLock<Embedder> = OnceLock::new();
    E.get_or_init(|| {
        let m = default_model().expect("a real model: run ./run setup first");
        Embedder::start(m, EngineOptions::default()).expect("the model loads")
    })
}

/// Copy photos into `dir` (created), keeping their names; returns the new paths.
pub fn copy_photos(photos: &[PathBuf], dir: &Path) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).expect("mkdir");
    photos
        .iter()
        .map(|p| {
            let to = dir.join(p.file_name().expect("name"));
            std::fs::copy(p, &to).expect("copy");
            to
        })
        .collect()
}

/// The `lookalike` binary, with its data folder in `data`.
pub fn lookalike(data: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_lookalike"));
    c.env("LOOKALIKE_DATA_DIR", data)
        .env_remove("LOOKALIKE_MODEL");
    c
}

/// Index `root` into `db` with the `lookalike` command; panics with its error output on failure.
pub fn cli_index(data: &Path, root: &Path, db: &Path) {
    cli_index_with(data, root, db, &[]);
}

/// [`cli_index`] with extra `index` arguments (e.g. `--model NAME`).
pub fn cli_index_with(data: &Path, root: &Path, db: &Path, extra: &[&str]) {
    stdout_of(
        lookalike(data)
            .args(["index", "--quiet"])
            .args(extra)
            .arg(root)
            .arg("--index")
            .arg(db),
    );
}

/// Run `cmd`, fail the test with its error output unless it succeeds, and give its output.
pub fn stdout_of(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Write a labels.csv into `root` with the demo catalog's rows for `photos`; returns its lines.
pub fn write_demo_labels(photos: &[PathBuf], root: &Path) -> Vec<String> {
    let csv = std::fs::read_to_string(demo_catalog().join("labels.csv")).expect("labels.csv");
    let ids: Vec<String> = photos
        .iter()
        .map(|p| p.file_stem().expect("stem").to_string_lossy().into_owned())
        .collect();
    let mut lines = csv.lines();
    let mut rows = vec![lines.next().expect("header").to_string()];
    rows.extend(
        lines
            .filter(|l| ids.iter().any(|id| l.starts_with(&format!("{id},"))))
            .map(str::to_string),
    );
    std::fs::write(root.join("labels.csv"), rows.join("\n")).expect("write labels.csv");
    rows
}

/// Run `cmd`, fail the test with its error output unless it succeeds, and parse its output as JSON.
pub fn json_output(cmd: &mut std::process::Command) -> serde_json::Value {
    serde_json::from_str(&stdout_of(cmd)).expect("JSON output")
}

/// QEMU's user-mode x86-64 emulator, to run a command on an emulated CPU without AVX-512 or VNNI:
/// `$LOOKALIKE_QEMU`, the one `./run setup` unpacks into .cache/qemu, or qemu-x86_64(-static) on PATH.
pub fn x86_emulator() -> PathBuf {
    let candidates = std::env::var_os("LOOKALIKE_QEMU")
        .map(PathBuf::from)
        .into_iter()
        .chain([project().join(".cache/qemu/qemu-x86_64-static")])
        .chain(std::env::var_os("PATH").into_iter().flat_map(|p| {
            std::env::split_paths(&p)
                .flat_map(|d| [d.join("qemu-x86_64-static"), d.join("qemu-x86_64")])
                .collect::<Vec<_>>()
        }));
    candidates.into_iter().find(|p| p.is_file()).expect(
        "QEMU's x86-64 emulator not found: run ./run setup (or apt-get install qemu-user-static)",
    )
}

/// Share of `exact`'s items found in `approx` (recall@k when both hold k hits).
pub fn recall(exact: &[lookalike::search::Hit], approx: &[lookalike::search::Hit]) -> f64 {
    if exact.is_empty() {
        return 1.0;
    }
    let found = exact
        .iter()
        .filter(|e| approx.iter().any(|a| a.index == e.index))
        .count();
    found as f64 / exact.len() as f64
}

/// A catalog of `n` demo photos copied into a temp folder and indexed with the command line.
pub struct Indexed {
    /// The temp folder (also the data folder of every `lookalike` run); removed when dropped.
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub photos: Vec<PathBuf>,
    pub db: PathBuf,
}

/// See [`Indexed`].
pub fn indexed_catalog(n: usize) -> Indexed {
    let tmp = tempfile::tempdir().expect("temp dir");
    let root = tmp.path().join("catalog");
    let photos = copy_photos(&demo_photos(n), &root);
    let db = tmp.path().join("i.sqlite");
    cli_index(tmp.path(), &root, &db);
    Indexed {
        tmp,
        root,
        photos,
        db,
    }
}

/// Run `cmd`, require it to exit with `code`, and return what it wrote to stderr.
pub fn fails_with(cmd: &mut std::process::Command, code: i32) -> String {
    let out = cmd.output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

/// Peak resident memory in MB of this process (`libc::RUSAGE_SELF`) or of the largest child
/// process waited for so far (`libc::RUSAGE_CHILDREN`).
pub fn peak_rss_mb(who: i32) -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(who, usage.as_mut_ptr());
        usage.assume_init()
    };
    usage.ru_maxrss as u64 / 1024
}

/// An embedder without a model or ONNX Runtime: a photo's embedding is its colours on a 16x16 grid
/// (the preprocessed pixels averaged per cell and channel), centred and of unit length, in the
/// first 768 of the manifest's dimensions. The same photo gives the same vector and similar photos
/// near ones: enough for tests about the window rather than about the model.
pub fn fake_embedder(
    manifest: lookalike::model::ModelManifest,
) -> lookalike::Result<lookalike::embed::Embedder> {
    const GRID: usize = 16;
    let (s, dims) = (manifest.input_size as usize, manifest.dims);
    assert!(
        dims >= 3 * GRID * GRID,
        "the fake needs {} dimensions",
        3 * GRID * GRID
    );
    let network = move |input: &[f32], count: usize| {
        let mut vectors = Vec::with_capacity(count);
        for image in input.chunks_exact(3 * s * s).take(count) {
            let mut v = vec![0.0f32; dims];
            for (c, plane) in image.chunks_exact(s * s).enumerate() {
                for (i, px) in plane.iter().enumerate() {
                    let (y, x) = (i / s * GRID / s, i % s * GRID / s);
                    v[c * GRID * GRID + y * GRID + x] += px;
                }
            }
            let used = 3 * GRID * GRID;
            let mean = v[..used].iter().sum::<f32>() / used as f32;
            v[..used].iter_mut().for_each(|x| *x -= mean);
            lookalike::embed::l2_normalize(&mut v);
            vectors.push(v);
        }
        Ok(lookalike::embed::Embeddings {
            logits: vec![vec![0.0; 1000]; vectors.len()],
            vectors,
        })
    };
    lookalike::embed::Embedder::with_network(manifest, Box::new(network))
}
