//! The style space: every catalog item projected by the learned head, a second space to search in
//! where items of the same labels sit closer. It belongs to one catalog's embeddings and is kept
//! beside the catalog, not in it.

use std::sync::Arc;

use super::{Head, Prediction, embedding_key};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::search::compact::Int8Rows;
use crate::search::{F32Rows, VectorIndex, Vectors};

/// A learned head and the catalog's items in its style space.
pub struct StyleSpace {
    head: Arc<Head>,
    /// `items x head.proj_dims()` unit vectors: f32, or int8 for a compact catalog.
    vectors: Vectors,
}

impl StyleSpace {
    /// Project every item of `catalog` with `head` (int8 rows when the catalog's are compact).
    pub fn new(head: Arc<Head>, catalog: &Catalog) -> Self {
        let embeddings = catalog.vectors();
        let vectors: Vectors = match embeddings.as_f32() {
            Some(data) => Box::new(F32Rows::new(head.proj_dims(), head.style_all(data))),
            None => {
                let mut rows = Int8Rows::empty(head.proj_dims());
                embeddings.for_each_block(|block| rows.extend_from(&head.style_all(block)));
                Box::new(rows)
            }
        };
        StyleSpace { head, vectors }
    }

    /// The head saved with `catalog`, put to use; None when there is none or it was trained on
    /// other embeddings (the folder was indexed again with another model).
    pub fn stored(catalog: &Catalog) -> Result<Option<StyleSpace>> {
        Ok(catalog
            .store()
            .load_head()?
            .and_then(|stored| Head::from_bytes(&stored.layout, &stored.weights))
            .filter(|head| head.embedding_key == embedding_key(catalog))
            .map(|head| StyleSpace::new(Arc::new(head), catalog)))
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The label columns the head predicts, most important first.
    pub fn column_names(&self) -> Vec<String> {
        self.head.columns.iter().map(|c| c.name.clone()).collect()
    }

    /// The catalog's items in the style space.
    pub fn vectors(&self) -> &dyn VectorIndex {
        self.vectors.as_ref()
    }

    /// An embedding in the style space (a unit vector).
    pub fn project(&self, v: &[f32]) -> Vec<f32> {
        self.head.style(v)
    }

    /// The predicted label of each column, with its confidence.
    pub fn predict(&self, v: &[f32]) -> Vec<Prediction> {
        self.head.predict(v)
    }
}
