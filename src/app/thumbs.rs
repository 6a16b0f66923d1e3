//! Catalog thumbnails as textures: read from the index and decoded on a `thumbnails` thread, cached by item id.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crossbeam_channel::{Sender, unbounded};
use egui::{ColorImage, TextureHandle, TextureOptions};

use super::jobs::{Msg, Outbox};
use crate::catalog::CatalogStore;

pub struct Thumbs {
    textures: HashMap<i64, TextureHandle>,
    requested: HashSet<i64>,
    requests: Sender<(Arc<dyn CatalogStore>, i64)>,
}

impl Thumbs {
    pub fn new(outbox: Outbox) -> Self {
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
        Thumbs {
            textures: HashMap::new(),
            requested: HashSet::new(),
            requests: tx,
        }
    }

    /// The thumbnail of item `id` if loaded; otherwise asks for it once.
    pub fn get(&mut self, store: &Arc<dyn CatalogStore>, id: i64) -> Option<&TextureHandle> {
        if !self.textures.contains_key(&id) && self.requested.insert(id) {
            let _ = self.requests.send((Arc::clone(store), id));
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
    }
}

fn decode(jpeg: &[u8]) -> Option<ColorImage> {
    let img = image::load_from_memory(jpeg).ok()?.into_rgba8();
    let size = [img.width() as usize, img.height() as usize];
    Some(ColorImage::from_rgba_unmultiplied(size, img.as_raw()))
}
