//! Catalog thumbnails as textures: read from the index and decoded on a `thumbnails` thread, cached
//! by item id. Cards larger than the stored thumbnails get sharper ones, made from the photo files
//! on a `photos` thread (a few hundred kept; a photo that cannot be read keeps its small one).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use crossbeam_channel::{Sender, unbounded};
use egui::{ColorImage, TextureHandle, TextureOptions};

use super::jobs::{Msg, Outbox};
use crate::catalog::CatalogStore;

pub struct Thumbs {
    textures: HashMap<i64, TextureHandle>,
    requested: HashSet<i64>,
    requests: Sender<(Arc<dyn CatalogStore>, i64)>,
    /// Thumbnails of [`LARGE_SIDE`] made from the photos, the oldest first out.
    large: HashMap<i64, TextureHandle>,
    large_order: VecDeque<i64>,
    large_requested: HashSet<i64>,
    large_requests: Sender<(PathBuf, i64)>,
    /// Thumbnails asked for whose answer has not come yet.
    waiting: usize,
}

/// The longest side of the sharper thumbnails made from the photo files.
pub const LARGE_SIDE: u32 = 400;
/// How many of them are kept (about 600 kB each).
const LARGE_KEPT: usize = 240;

impl Thumbs {
    pub fn new(outbox: Outbox) -> Self {
        let photos = outbox.clone();
        let (tx, rx) = unbounded::<(Arc<dyn CatalogStore>, i64)>();
        let spawned = std::thread::Builder::new()
            .name("thumbnails".into())
            .spawn(move || {
                for (store, id) in rx {
                    let image = store
                        .thumbnail(id)
                        .ok()
                        .flatten()
                        .and_then(|jpeg| decode(&jpeg));
                    outbox.send(Msg::Thumb { id, image });
                }
            });
        if let Err(e) = spawned {
            log::error!("no thumbnail thread, the grid shows no thumbnails: {e}");
        }
        let (large_tx, large_rx) = unbounded::<(PathBuf, i64)>();
        let spawned = std::thread::Builder::new()
            .name("photos".into())
            .spawn(move || {
                for (path, id) in large_rx {
                    let image = crate::embed::load_photo(&path)
                        .map_err(|e| log::debug!("{}: {e}", path.display()))
                        .ok()
                        .map(|p| super::jobs::color_image(&p.rgb, LARGE_SIDE));
                    photos.send(Msg::LargeThumb { id, image });
                }
            });
        if let Err(e) = spawned {
            log::error!("no photos thread, large cards show the small thumbnails: {e}");
        }
        Thumbs {
            textures: HashMap::new(),
            requested: HashSet::new(),
            requests: tx,
            large: HashMap::new(),
            large_order: VecDeque::new(),
            large_requested: HashSet::new(),
            large_requests: large_tx,
            waiting: 0,
        }
    }

    /// A sharper thumbnail of item `id` (from its photo file at `path`) if made; otherwise asks
    /// for it once and gives the small one meanwhile (or for good, when the file cannot be read).
    pub fn get_large(
        &mut self,
        store: &Arc<dyn CatalogStore>,
        id: i64,
        path: impl FnOnce() -> PathBuf,
    ) -> Option<&TextureHandle> {
        if !self.large.contains_key(&id)
            && self.large_requested.insert(id)
            && self.large_requests.send((path(), id)).is_ok()
        {
            self.waiting += 1;
        }
        if self.large.contains_key(&id) {
            return self.large.get(&id);
        }
        self.get(store, id)
    }

    /// An answer came for a thumbnail asked for (none when it could not be made).
    pub fn answered(&mut self) {
        self.waiting = self.waiting.saturating_sub(1);
    }

    /// Whether thumbnails asked for are still on their way.
    pub fn pending(&self) -> bool {
        self.waiting > 0
    }

    pub fn arrived_large(&mut self, ctx: &egui::Context, id: i64, image: ColorImage) {
        let tex = ctx.load_texture(format!("photo-{id}"), image, TextureOptions::LINEAR);
        self.large.insert(id, tex);
        self.large_order.push_back(id);
        while self.large_order.len() > LARGE_KEPT {
            if let Some(old) = self.large_order.pop_front() {
                self.large.remove(&old);
                self.large_requested.remove(&old);
            }
        }
    }

    /// The thumbnail of item `id` if loaded; otherwise asks for it once.
    pub fn get(&mut self, store: &Arc<dyn CatalogStore>, id: i64) -> Option<&TextureHandle> {
        if !self.textures.contains_key(&id)
            && self.requested.insert(id)
            && self.requests.send((Arc::clone(store), id)).is_ok()
        {
            self.waiting += 1;
        }
        self.textures.get(&id)
    }

    pub fn arrived(&mut self, ctx: &egui::Context, id: i64, image: ColorImage) {
        let tex = ctx.load_texture(format!("thumb-{id}"), image, TextureOptions::LINEAR);
        self.textures.insert(id, tex);
    }

    /// How many thumbnails are ready to draw.
    pub fn loaded(&self) -> usize {
        self.textures.len()
    }

    /// Forget everything (another catalog was opened: ids mean other items).
    pub fn clear(&mut self) {
        self.textures.clear();
        self.requested.clear();
        self.large.clear();
        self.large_order.clear();
        self.large_requested.clear();
        self.waiting = 0;
    }
}

fn decode(jpeg: &[u8]) -> Option<ColorImage> {
    let img = image::load_from_memory(jpeg).ok()?.into_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Some(ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}
