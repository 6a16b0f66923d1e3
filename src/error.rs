//! Errors of the library: each names the file or item it is about and keeps its source. A message
//! says what failed without repeating its source: [`describe`] prints the whole chain once.

use std::path::PathBuf;

/// Why one photo could not be turned into a model input.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("cannot read the file: {0}")]
    Unreadable(#[source] std::io::Error),
    #[error("the file is empty (0 bytes)")]
    Empty,
    #[error(
        "not an image: its content is not JPEG, PNG, WebP, GIF, BMP or TIFF (a wrong extension, or another kind of file)"
    )]
    NotAnImage,
    #[error(
        "the image says it is {width}x{height} pixels, larger than the {limit}x{limit} limit (a corrupt or malicious file?)"
    )]
    TooLarge { width: u32, height: u32, limit: u32 },
    #[error(
        "the image is {width}x{height} pixels: decoding it needs {needed_mb} MB, more than the {budget_mb} MB lookalike allows for photos (set LOOKALIKE_DECODE_BUDGET_MB to allow more)"
    )]
    TooBigToDecode {
        width: u32,
        height: u32,
        needed_mb: u64,
        budget_mb: u64,
    },
    #[error(
        "decoding it would need more memory than lookalike allows ({0}): a corrupt or malicious file?"
    )]
    DecoderLimit(String),
    #[error(
        "the file is {} MB, larger than the {} MB lookalike reads as a photo", bytes >> 20, limit >> 20
    )]
    FileTooLarge { bytes: u64, limit: u64 },
    #[error("the image says it is {width}x{height} pixels: it has no picture (a damaged file?)")]
    NoPixels { width: u32, height: u32 },
    #[error("the image decoder failed on it (a damaged or hostile file?)")]
    DecoderFailed,
    #[error("it is {kind}, not a photo file")]
    NotAFile { kind: &'static str },
    #[error(
        "the image is truncated (the file ends before the picture does): re-download or re-export it"
    )]
    Truncated,
    #[error("the image is damaged or truncated: {0}")]
    Corrupt(#[source] image::ImageError),
    #[error("unsupported image variant: {0}")]
    Unsupported(#[source] image::ImageError),
}

/// Why a region cannot be searched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionError {
    #[error("a region is X,Y,W,H (four numbers separated by commas), not {0:?}")]
    Syntax(String),
    #[error("the region {0} has no area: give it a width and a height above zero")]
    Empty(String),
    #[error(
        "the region {0} has a negative or non-finite number: X,Y,W,H count from the top-left corner"
    )]
    Negative(String),
    #[error("the region {region} lies outside the photo ({width} x {height} pixels)")]
    Outside {
        region: String,
        width: u32,
        height: u32,
    },
}

/// Errors of the lookalike library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", path.display())]
    Photo {
        path: PathBuf,
        #[source]
        source: PhotoError,
    },
    #[error(
        "ONNX Runtime (libonnxruntime.so) was not found; looked in: {searched}. {}, or point ORT_DYLIB_PATH at the library",
        crate::paths::SETUP_HINT
    )]
    RuntimeMissing { searched: String },
    #[error("could not load ONNX Runtime from {}: {message}", path.display())]
    RuntimeLoad { path: PathBuf, message: String },
    #[error(
        "no model manifests (*.toml) found; looked in: {searched}. {}",
        crate::paths::SETUP_HINT
    )]
    NoModels { searched: String },
    #[error("unknown model '{name}'; available: {available}")]
    UnknownModel { name: String, available: String },
    #[error("model '{name}': its weights {} are missing. {}", path.display(), crate::paths::MODEL_HINT)]
    ModelMissing { name: String, path: PathBuf },
    #[error(
        "model '{name}' has random weights (for shape and speed tests only) and cannot be used for search; pick a real model"
    )]
    NotARealModel { name: String },
    #[error("model manifest {}", path.display())]
    Manifest {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("model '{name}' does not match its manifest: {message}")]
    ModelShape { name: String, message: String },
    #[error("ONNX Runtime failed")]
    Ort(#[from] ort::Error),
    #[error("the embedding thread has stopped")]
    EngineStopped,
    #[error("{}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog index {}", path.display())]
    Db {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{} is not a lookalike index (or was made by an incompatible version): {message}", path.display())]
    BadIndex { path: PathBuf, message: String },
    #[error(
        "the index {} is damaged; `lookalike index FOLDER --index {} --rebuild` makes it again from the photos",
        path.display(), path.display()
    )]
    DamagedIndex {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "cannot change the index {}: its folder is read-only; copy it to a writable folder, or index into another file with --index",
        path.display()
    )]
    IndexReadOnly { path: PathBuf },
    #[error(
        "{} is being changed by another lookalike ({holder}): wait until it has finished, or stop it",
        path.display()
    )]
    IndexBusy { path: PathBuf, holder: String },
    #[error("{location} is not a PostgreSQL address: {message}")]
    BadServerUrl { location: String, message: String },
    #[error(
        "cannot reach the shared catalog at {location}: check that the server runs and the address (host, port) is right"
    )]
    ServerUnreachable {
        location: String,
        #[source]
        source: postgres::Error,
    },
    #[error(
        "the server at {location} refused user '{user}': give the password in PGPASSWORD or a line of ~/.pgpass (host:port:database:user:password)"
    )]
    ServerAuth {
        location: String,
        user: String,
        #[source]
        source: postgres::Error,
    },
    #[error(
        "no secure connection to the shared catalog at {location}: {problem} (sslmode=require encrypts without checking the certificate; verify-ca and verify-full check it against sslrootcert=FILE or the system's certificates)"
    )]
    ServerTls {
        location: String,
        problem: String,
        #[source]
        source: postgres::Error,
    },
    #[error("shared catalog {location}")]
    Server {
        location: String,
        #[source]
        source: postgres::Error,
    },
    #[error(
        "the database at {location} has no pgvector extension: a shared catalog needs PostgreSQL 15 or later with pgvector installed (ask its administrator to run CREATE EXTENSION vector)"
    )]
    NoPgvector { location: String },
    #[error(
        "the shared catalog at {location} was made by a newer lookalike (schema {found}, this one knows up to {known}): update lookalike"
    )]
    NewerSchema {
        location: String,
        found: u32,
        known: u32,
    },
    #[error(
        "{} already holds {items} items: pass --replace to overwrite it, or copy into an empty catalog",
        location.display()
    )]
    TargetNotEmpty { location: PathBuf, items: usize },
    #[error("labels file {}", path.display())]
    Labels {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("no label column '{asked}'; the catalog has: {available}")]
    UnknownLabelField { asked: String, available: String },
    #[error(transparent)]
    BadExclusion(#[from] crate::catalog::BadPattern),
    #[error("catalog folder {} does not exist or is not a folder", path.display())]
    NoCatalog { path: PathBuf },
    #[error(
        "no item has a '{column}' label: evaluation needs a labelled catalog (a labels.csv with that column, or `folder` for folder names)"
    )]
    NoLabels { column: String },
    #[error(
        "{}: no label column with repeated labels to learn from: put a labels.csv beside the photos (or sort them into folders by label) and index the folder again",
        root.display()
    )]
    NothingToLearn { root: PathBuf },
    #[error(transparent)]
    Region(#[from] RegionError),
    #[error("cancelled")]
    Cancelled,
}

impl From<ort::Error<ort::session::builder::SessionBuilder>> for Error {
    fn from(e: ort::Error<ort::session::builder::SessionBuilder>) -> Self {
        Error::Ort(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path to an I/O error.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}

/// An error and its causes on one line ("catalog index i.sqlite: database is locked"), each cause
/// once: what the command line prints and the window shows.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        cause = c.source();
    }
    msg
}
