//! What the window remembers between runs (eframe persistence): the last catalog, K, the theme, the
//! size of the cards and what they show.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub const MIN_K: usize = 1;
pub const MAX_K: usize = 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub last_folder: Option<PathBuf>,
    /// The shared catalog opened last (its address without a password).
    pub last_shared: Option<PathBuf>,
    /// How many look-alikes to show.
    pub k: usize,
    pub dark: bool,
    /// Rank in the style space learned from the catalog's labels (when it has a head).
    pub style_aware: bool,
    /// Keep results to the query's predicted category (when the catalog has a head).
    pub same_category: bool,
    /// Weight of colour in the ranking: 0 shape only, 1 colour only.
    pub colour: f32,
    /// The cards' size against the size that fits the window (1: fit; Ctrl+wheel changes it).
    pub card_zoom: f32,
    /// The label columns a look-alike's card shows under its title (empty: its colour and the
    /// catalog's main label).
    pub card_fields: Vec<String>,
    /// Whether the map is shown beside the look-alikes.
    pub map_shown: bool,
    /// How the map places the items.
    pub map_layout: crate::map::MapLayout,
    /// Catalogs opened before, the latest first: folders and shared catalogs' addresses (without
    /// passwords).
    pub recent: Vec<PathBuf>,
}

/// How many catalogs the Recent menu keeps.
const RECENT_KEPT: usize = 8;

impl Settings {
    /// Put `catalog` first among the recent ones.
    pub fn opened(&mut self, catalog: &std::path::Path) {
        self.recent.retain(|p| p != catalog);
        self.recent.insert(0, catalog.to_path_buf());
        self.recent.truncate(RECENT_KEPT);
    }
}

pub const MIN_CARD_ZOOM: f32 = 0.5;
pub const MAX_CARD_ZOOM: f32 = 2.5;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            last_folder: None,
            last_shared: None,
            k: 12,
            dark: true,
            style_aware: false,
            same_category: false,
            colour: crate::search::colour::DEFAULT_COLOUR_WEIGHT,
            card_zoom: 1.0,
            card_fields: Vec::new(),
            map_shown: true,
            map_layout: crate::map::MapLayout::default(),
            recent: Vec::new(),
        }
    }
}
