//! Background work of the window, each on a named thread that reports over a channel and wakes the UI.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, unbounded};
use egui::ColorImage;

use super::file_picker::Purpose;
use crate::catalog::Catalog;
use crate::embed::{Embedder, EngineOptions, Photo, read_photo_file};
use crate::error::describe;
use crate::indexer::{IndexOptions, IndexReport, Progress, index_folder};
use crate::learn::{StyleSpace, TrainOptions, TrainProgress, train_head};
use crate::map::{CatalogMap, NeighbourMap};
use crate::model::ModelManifest;
use crate::query::{
    Answer, EmbeddedRegion, LabelFilter, LookupOptions, Rect, RegionArg, RegionMode,
    decode_query_photo, embed_regions, search_regions,
};

/// Longest side of the query photo shown in the window.
pub const PREVIEW_SIDE: u32 = 480;

/// What a query is made from.
#[derive(Debug, Clone)]
pub enum QueryInput {
    /// A photo file: dropped, picked, or pasted as a path.
    File(PathBuf),
    /// Pixels from the clipboard.
    Pixels(Arc<image::RgbImage>),
    /// A catalog item (its index): excluded from its own look-alikes.
    Item(usize),
    /// The current query's photo again, searched in another region (`None`: back to the whole photo
    /// and, for a scene, its automatic regions).
    Region {
        photo: Arc<Photo>,
        region: Option<Rect>,
        own: Option<usize>,
    },
    /// The current query's regions again (K or the filter changed).
    Again(Arc<Vec<EmbeddedRegion>>, Option<usize>),
}

/// A finished query.
pub struct QueryOutcome {
    /// The photo, upright (None for a catalog item whose file cannot be read).
    pub photo: Option<Arc<Photo>>,
    /// The regions searched, the leading one at `answer.lead`.
    pub regions: Arc<Vec<EmbeddedRegion>>,
    /// The region the user gave, if any.
    pub given: Option<Rect>,
    pub answer: Answer,
    pub preview: Option<ColorImage>,
    pub own_item: Option<usize>,
    /// None when nothing was embedded (the same query again).
    pub embed_ms: Option<f64>,
    pub search_ms: f64,
}

/// What a query searches: the open catalog, and the style space learned from its labels.
pub struct Searched {
    pub catalog: Arc<Catalog>,
    pub style: Option<Arc<StyleSpace>>,
}

/// A catalog opened for the window, with what is kept beside it.
pub struct Opened {
    pub catalog: Arc<Catalog>,
    /// The head learned from its labels, with the catalog in its style space.
    pub style: Option<Arc<StyleSpace>>,
    /// Its map, when it has one for every item.
    pub map: Option<CatalogMap>,
    /// Its neighbourhood layout, when it has one.
    pub neighbourhoods: Option<NeighbourMap>,
    /// Its label columns a head can learn.
    pub learnable: Vec<String>,
}

/// Messages from the background threads to the window.
pub enum Msg {
    Engine {
        model: Box<ModelManifest>,
        result: Result<Arc<Embedder>, String>,
    },
    Catalog {
        index: PathBuf,
        result: Result<Opened, String>,
    },
    IndexProgress(Progress),
    /// How far the neighbourhood layout of the catalog at `index` is (0 to 1).
    LayoutProgress {
        index: PathBuf,
        done: f32,
    },
    /// The neighbourhood layout of the catalog at `index` of `items` items.
    LayoutDone {
        index: PathBuf,
        items: usize,
        result: Result<NeighbourMap, String>,
    },
    IndexDone(Result<IndexReport, String>),
    Query {
        id: u64,
        result: Result<QueryOutcome, String>,
    },
    Thumb {
        id: i64,
        image: Option<ColorImage>,
    },
    /// Something changed in the watched catalog folder.
    FolderChanged(PathBuf),
    /// A sharper thumbnail made from the photo file (None: the file could not be read).
    LargeThumb {
        id: i64,
        image: Option<ColorImage>,
    },
    PickedFolder(PathBuf),
    PickedPhoto(PathBuf),
    /// Candidate duplicate pairs of the catalog at `index`.
    DupCandidates {
        index: PathBuf,
        /// Items of the catalog they were measured on.
        items: usize,
        pairs: Arc<Vec<crate::dups::Candidate>>,
    },
    DupsFailed(String),
    /// A background job's thread could not be started: whatever waited for it stops waiting.
    JobNotStarted(String),
    PickedExportFile(PathBuf),
    /// The system's file dialog could not open: the window shows its own picker.
    PickerUnavailable(super::file_picker::Purpose),
    /// A compared item's photo at full size (or its thumbnail and why), or why it cannot be shown.
    ComparePhoto {
        item: usize,
        image: Result<(ColorImage, Option<String>), String>,
    },
    /// Training the head: the share done (0..1).
    TrainProgress(f32),
    TrainDone(Result<PathBuf, String>),
    /// The map view was written to this file (or why not).
    MapExported(Result<PathBuf, String>),
}

/// The sending side: every message wakes the UI.
#[derive(Clone)]
pub struct Outbox {
    tx: Sender<Msg>,
    ctx: egui::Context,
}

impl Outbox {
    pub fn new(ctx: egui::Context) -> (Self, Receiver<Msg>) {
        let (tx, rx) = unbounded();
        (Outbox { tx, ctx }, rx)
    }

    /// The window's context (to change its theme, ...).
    pub fn ctx(&self) -> &egui::Context {
        &self.ctx
    }

    pub fn send(&self, msg: Msg) {
        // The window may be closing: then nobody listens, and that is fine.
        let _ = self.tx.send(msg);
        self.ctx.request_repaint();
    }

    fn spawn(&self, name: &str, work: impl FnOnce(Outbox) + Send + 'static) {
        let outbox = self.clone();
        if let Err(e) = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || work(outbox))
        {
            log::error!("cannot start thread {name}: {e}");
            self.send(Msg::JobNotStarted(format!(
                "Could not start the {name} job ({e}): close other programs and try again."
            )));
        }
    }

    /// Load the model on its own thread.
    pub fn start_engine(&self, model: ModelManifest, factory: Option<super::EmbedderFactory>) {
        self.spawn("engine-start", move |out| {
            let result = match &factory {
                Some(make) => make(model.clone()),
                None => Embedder::start(model.clone(), EngineOptions::default()),
            }
            .map(Arc::new)
            .map_err(|e| describe(&e));
            out.send(Msg::Engine {
                model: Box::new(model),
                result,
            });
        });
    }

    /// Read item `i`'s photo for the large compare; when its file cannot be read here (moved, or
    /// a shared catalog's file on another machine), its thumbnail, saying why.
    pub fn load_compare_photo(&self, catalog: Arc<Catalog>, i: usize) {
        self.spawn("compare-photo", move |out| {
            let path = catalog.abs_path(i);
            let image = match crate::embed::load_photo(&path) {
                Ok(photo) => Ok((color_image(&photo.rgb, super::compare::PHOTO_SIDE), None)),
                Err(e) => {
                    let why = format!("{}: {e}", path.display());
                    match catalog.thumbnail(i) {
                        Ok(Some(jpeg)) => crate::embed::decode_photo(&jpeg)
                            .map(|t| {
                                (
                                    color_image(&t.rgb, super::compare::PHOTO_SIDE),
                                    Some(format!("its thumbnail: {why}")),
                                )
                            })
                            .map_err(|_| why),
                        _ => Err(why),
                    }
                }
            };
            out.send(Msg::ComparePhoto { item: i, image });
        });
    }

    /// Open an index for searching.
    pub fn load_catalog(&self, index: PathBuf) {
        self.spawn("catalog-load", move |out| {
            let result = Catalog::open(&index)
                .map(|catalog| {
                    // Without its head or its map the catalog is still searched: say why, go on.
                    let style = StyleSpace::stored(&catalog).unwrap_or_else(|e| {
                        log::warn!("the learned head is left out: {}", describe(&e));
                        None
                    });
                    let map = CatalogMap::load(&catalog).unwrap_or_else(|e| {
                        log::warn!("the map is left out: {}", describe(&e));
                        None
                    });
                    let neighbourhoods = NeighbourMap::load(&catalog).unwrap_or_else(|e| {
                        log::warn!("the neighbourhood layout is left out: {}", describe(&e));
                        None
                    });
                    // The colours the ranking blends in, read now rather than by the first query.
                    catalog.palettes();
                    Opened {
                        neighbourhoods,
                        learnable: crate::learn::learnable_columns(&catalog),
                        catalog: Arc::new(catalog),
                        style: style.map(Arc::new),
                        map,
                    }
                })
                .map_err(|e| describe(&e));
            out.send(Msg::Catalog { index, result });
        });
    }

    /// Fit the neighbourhood layout of `catalog` (opened from `index`) and save it with it.
    pub fn lay_out(&self, index: PathBuf, catalog: Arc<Catalog>) {
        self.spawn("map-layout", move |out| {
            let last = std::sync::Mutex::new(0.0f32);
            let progress = |done: f32| {
                let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
                if done - *last >= 0.02 || done >= 1.0 {
                    *last = done;
                    out.send(Msg::LayoutProgress {
                        index: index.clone(),
                        done,
                    });
                }
            };
            let result = NeighbourMap::compute(&catalog, &progress).map_err(|e| describe(&e));
            out.send(Msg::LayoutDone {
                index: index.clone(),
                items: catalog.len(),
                result,
            });
        });
    }

    /// Bring the index of `folder` up to date.
    pub fn index(
        &self,
        folder: PathBuf,
        index: PathBuf,
        embedder: Arc<Embedder>,
        cancel: Arc<AtomicBool>,
    ) {
        self.spawn("indexer", move |out| {
            let progress = out.clone();
            let result = index_folder(
                &folder,
                &index,
                &embedder,
                &IndexOptions::default(),
                &cancel,
                |p| {
                    progress.send(Msg::IndexProgress(*p));
                },
            )
            .map_err(|e| describe(&e));
            out.send(Msg::IndexDone(result));
        });
    }

    /// Embed a query and search the catalog.
    pub fn query(
        &self,
        id: u64,
        input: QueryInput,
        embedder: Arc<Embedder>,
        searched: Searched,
        opts: LookupOptions,
        filter: LabelFilter,
    ) {
        self.spawn("query", move |out| {
            let (catalog, style) = (&searched.catalog, searched.style.as_deref());
            let result = run_query(input, &embedder, catalog, style, &opts, &filter);
            out.send(Msg::Query { id, result });
        });
    }

    /// Learn a head from the catalog's labels and store it in its index.
    pub fn train_head(&self, catalog: Arc<Catalog>, cancel: Arc<AtomicBool>) {
        self.spawn("train-head", move |out| {
            let opts = TrainOptions::default();
            let progress = out.clone();
            // Cross-validated, so the head's confidence is calibrated and its accuracy known.
            let folds = crate::learn::WINDOW_FOLDS;
            let steps = (opts.epochs * (folds + 1)).max(1) as f32;
            let result = train_head(&catalog, &[], &opts, Some(folds), &cancel, |p| {
                let done = match p {
                    TrainProgress::Fold(f, _, e) => f * e.epochs + e.epoch,
                    TrainProgress::Final(e) => folds * e.epochs + e.epoch,
                };
                progress.send(Msg::TrainProgress(done as f32 / steps));
            })
            .map(|_| catalog.location().to_path_buf())
            .map_err(|e| format!("Learning from the labels failed: {}", describe(&e)));
            out.send(Msg::TrainDone(result));
        });
    }

    /// Measure the candidate duplicate pairs of a catalog.
    pub fn dup_candidates(&self, catalog: Arc<Catalog>) {
        self.spawn(
            "duplicates",
            move |out| match crate::dups::catalog_candidates(&catalog, &Default::default()) {
                Ok(pairs) => out.send(Msg::DupCandidates {
                    index: catalog.location().to_path_buf(),
                    items: catalog.len(),
                    pairs: Arc::new(pairs),
                }),
                Err(e) => out.send(Msg::DupsFailed(format!(
                    "Cannot look for duplicates: {}",
                    describe(&e)
                ))),
            },
        );
    }

    pub fn pick_export_file(&self) {
        self.pick(Purpose::Export, || {
            rfd::FileDialog::new()
                .set_title("Export the marked items")
                .set_file_name("marked.csv")
                .add_filter("CSV", &["csv"])
                .save_file()
                .map(Msg::PickedExportFile)
        });
    }

    /// The system's folder and file pickers (rfd), off the UI thread.
    pub fn pick_folder(&self) {
        self.pick(Purpose::Folder, || {
            rfd::FileDialog::new()
                .set_title("Open a catalog folder")
                .pick_folder()
                .map(Msg::PickedFolder)
        });
    }

    pub fn pick_photo(&self) {
        self.pick(Purpose::Photo, || {
            let exts = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"];
            rfd::FileDialog::new()
                .set_title("Find look-alikes of a photo")
                .add_filter("Photos", &exts)
                .pick_file()
                .map(Msg::PickedPhoto)
        });
    }

    /// Run a system dialog; when it gives nothing at once it could not open (no desktop portal),
    /// and the window's own picker takes over.
    fn pick(&self, purpose: Purpose, dialog: impl FnOnce() -> Option<Msg> + Send + 'static) {
        self.spawn("file-dialog", move |out| {
            let asked = Instant::now();
            match dialog() {
                Some(msg) => out.send(msg),
                None if asked.elapsed() < SYSTEM_DIALOG_MIN => {
                    out.send(Msg::PickerUnavailable(purpose))
                }
                None => {} // the user cancelled
            }
        });
    }
}

/// A system dialog that answers faster than this never showed: nobody cancels that fast.
const SYSTEM_DIALOG_MIN: std::time::Duration = std::time::Duration::from_millis(700);

fn run_query(
    input: QueryInput,
    embedder: &Embedder,
    catalog: &Catalog,
    style: Option<&StyleSpace>,
    opts: &LookupOptions,
    filter: &LabelFilter,
) -> Result<QueryOutcome, String> {
    let t0 = Instant::now();
    let preview_of = |photo: &Photo| Some(color_image(&photo.rgb, PREVIEW_SIDE));
    let embed = |photo: &Photo, mode: RegionMode| {
        embed_regions(embedder, photo, mode).map_err(|e| describe(&e))
    };
    let (photo, regions, given, preview, own_item) = match input {
        QueryInput::File(path) => {
            let bytes = read_photo_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let photo = decode_query_photo(&bytes, embedder.manifest())
                .map_err(|e| format!("{}: {e}", path.display()))?;
            let regions = embed(&photo, RegionMode::Auto)?;
            let preview = preview_of(&photo);
            (
                Some(Arc::new(photo)),
                regions,
                None,
                preview,
                catalog.find_path(&path),
            )
        }
        QueryInput::Pixels(rgb) => {
            let photo = Photo::from_rgb((*rgb).clone());
            let regions = embed(&photo, RegionMode::Auto)?;
            let preview = preview_of(&photo);
            (Some(Arc::new(photo)), regions, None, preview, None)
        }
        QueryInput::Item(i) if i < catalog.len() => {
            // The item's own vector, as indexed; its photo (when the file is here) for regions.
            let photo = read_photo_file(&catalog.abs_path(i))
                .ok()
                .and_then(|bytes| decode_query_photo(&bytes, embedder.manifest()).ok());
            let whole = photo
                .as_ref()
                .map_or(Rect::whole(1, 1), |p| Rect::whole(p.width, p.height));
            let regions = vec![EmbeddedRegion {
                rect: whole,
                vector: catalog.vector(i).to_vec(),
                automatic: false,
                colours: catalog
                    .palettes()
                    .and_then(|p| p[i].as_ref())
                    .map(|p| Box::new(p.histogram())),
            }];
            let preview = photo.as_ref().and_then(preview_of);
            (photo.map(Arc::new), regions, None, preview, Some(i))
        }
        QueryInput::Item(_) => return Err("that item is no longer in the catalog".into()),
        QueryInput::Region { photo, region, own } => {
            let mode = match region {
                Some(r) => RegionMode::Given(RegionArg::pixels(r)),
                None => RegionMode::Auto,
            };
            let regions = embed(&photo, mode)?;
            let given = region.and_then(|_| regions.first().map(|r| r.rect));
            (Some(photo), regions, given, None, own)
        }
        QueryInput::Again(regions, own) => {
            let regions = regions.as_ref().clone();
            (None, regions, None, None, own)
        }
    };
    let embed_ms = photo.is_some().then(|| t0.elapsed().as_secs_f64() * 1e3);
    if let Some(r) = regions.iter().find(|r| r.vector.len() != catalog.dims()) {
        return Err(format!(
            "the query has {} dims but the catalog {}: reopen the catalog",
            r.vector.len(),
            catalog.dims()
        ));
    }
    let t1 = Instant::now();
    let answer = search_regions(catalog, style, &regions, opts, &|i| {
        Some(i) != own_item && (filter.is_empty() || filter.matches(&catalog.item(i).labels))
    });
    Ok(QueryOutcome {
        photo,
        regions: Arc::new(regions),
        given,
        answer,
        preview,
        own_item,
        embed_ms,
        search_ms: t1.elapsed().as_secs_f64() * 1e3,
    })
}

/// The index file for a catalog folder, in `index_dir` when given.
pub fn index_path_for(folder: &Path, index_dir: Option<&Path>) -> PathBuf {
    let default = crate::paths::default_index_for(folder);
    match index_dir {
        Some(dir) => dir.join(default.file_name().unwrap_or_default()),
        None => default,
    }
}

/// A photo as a texture-ready image, at most `side` pixels on its longest side.
pub fn color_image(rgb: &image::RgbImage, side: u32) -> ColorImage {
    let (w, h) = rgb.dimensions();
    let scale = (side as f32 / w.max(h) as f32).min(1.0);
    let small = image::imageops::thumbnail(
        rgb,
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
    );
    ColorImage::from_rgb(
        [small.width() as usize, small.height() as usize],
        small.as_raw(),
    )
}
