//! Labels of catalog items: the parent folder's name, and the columns of a `labels.csv` beside the catalog.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::error::{Error, Result};

/// Column names that identify the photo a row of `labels.csv` is about.
const KEY_COLUMNS: [&str; 5] = ["id", "file", "filename", "image", "path"];
/// Columns preferred as the shown label, in order.
const PREFERRED_LABELS: [&str; 5] = ["label", "class", "category", "articletype", "type"];

/// Labels for the items of one catalog folder.
#[derive(Debug, Default, Clone)]
pub struct LabelSource {
    /// Non-key columns of labels.csv, in file order.
    pub columns: Vec<String>,
    rows: HashMap<String, BTreeMap<String, String>>,
}

/// Read `labels.csv` in `root` if there is one.
pub fn load_labels(root: &Path) -> Result<LabelSource> {
    let path = root.join("labels.csv");
    if !path.is_file() {
        return Ok(LabelSource::default());
    }
    let err = |source| Error::Labels {
        path: path.clone(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(&path)
        .map_err(err)?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(err)?
        .iter()
        .map(str::to_string)
        .collect();
    let key_col = headers
        .iter()
        .position(|h| KEY_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        .unwrap_or(0);
    let mut rows = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(err)?;
        let Some(key) = record.get(key_col) else {
            continue;
        };
        let fields = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != key_col)
            .filter_map(|(i, h)| {
                record
                    .get(i)
                    .filter(|v| !v.is_empty())
                    .map(|v| (h.clone(), v.to_string()))
            })
            .collect();
        rows.insert(key.to_string(), fields);
    }
    let columns = headers
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != key_col)
        .map(|(_, h)| h)
        .collect();
    Ok(LabelSource { columns, rows })
}

impl LabelSource {
    /// The labels of the photo at `rel` (relative to the catalog folder).
    pub fn labels_for(&self, rel: &Path) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(folder) = rel.parent().and_then(|p| p.file_name()) {
            out.insert("folder".to_string(), folder.to_string_lossy().into_owned());
        }
        let keys = [
            rel.to_string_lossy().into_owned(),
            rel.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            rel.file_stem()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ];
        if let Some(fields) = keys.iter().find_map(|k| self.rows.get(k)) {
            out.extend(fields.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }

    /// The field to show beside results: the one asked for, else a well-known label column, else the folder.
    pub fn default_field(&self, asked: Option<&str>) -> String {
        if let Some(a) = asked {
            return a.to_string();
        }
        for want in PREFERRED_LABELS {
            if let Some(c) = self.columns.iter().find(|c| c.eq_ignore_ascii_case(want)) {
                return c.clone();
            }
        }
        self.columns
            .first()
            .cloned()
            .unwrap_or_else(|| "folder".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_match_by_stem_and_folder_label_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("labels.csv"),
            "id,gender,articleType\n10,Men,Shirts\n11,Women,\n",
        )
        .unwrap();
        let src = load_labels(dir.path()).unwrap();
        let l = src.labels_for(Path::new("images/10.jpg"));
        assert_eq!(l.get("articleType").map(String::as_str), Some("Shirts"));
        assert_eq!(l.get("folder").map(String::as_str), Some("images"));
        assert!(
            !src.labels_for(Path::new("11.jpg"))
                .contains_key("articleType"),
            "empty cells are no label"
        );
        assert_eq!(src.default_field(None), "articleType");
    }
}
