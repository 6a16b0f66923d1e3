//! Labels of catalog items: the parent folder's name, and the columns of a `labels.csv` beside the catalog.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

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
    /// What was wrong with the file (rows skipped, no columns found), for the user.
    pub warnings: Vec<String>,
}

/// Problems reported one by one before the rest are counted.
const WARNINGS_SHOWN: usize = 5;

/// Read `labels.csv` in `root` if there is one. Commas, semicolons or tabs separate its columns
/// (the most frequent in the header line wins); a row that is not UTF-8 text or cannot be parsed
/// is skipped with a warning, and the other rows are read.
pub fn load_labels(root: &Path) -> Result<LabelSource> {
    let path = root.join("labels.csv");
    if !path.is_file() {
        return Ok(LabelSource::default());
    }
    let err = |source| Error::Labels {
        path: path.clone(),
        source,
    };
    let first_line = {
        use std::io::BufRead;
        let mut line = Vec::new();
        let file = std::fs::File::open(&path).map_err(crate::error::io_err(&path))?;
        std::io::BufReader::new(file)
            .take(1 << 16)
            .read_until(b'\n', &mut line)
            .map_err(crate::error::io_err(&path))?;
        line
    };
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (first_line.iter().filter(|b| *b == d).count(), *d == b','))
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_path(&path)
        .map_err(err)?;
    let headers: Vec<String> = reader
        .byte_headers()
        .map_err(err)?
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let key_col = headers
        .iter()
        .position(|h| KEY_COLUMNS.contains(&h.to_ascii_lowercase().as_str()))
        .unwrap_or(0);
    let mut rows = HashMap::new();
    let mut skipped = Vec::new();
    for (n, record) in reader.byte_records().enumerate() {
        // Row numbers as a spreadsheet shows them: the header is row 1.
        let row = n + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                skipped.push(format!("row {row}: {e}"));
                continue;
            }
        };
        let Ok(record) = csv::StringRecord::from_byte_record(record) else {
            skipped.push(format!("row {row}: not UTF-8 text"));
            continue;
        };
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
    let mut warnings = Vec::new();
    if !skipped.is_empty() {
        let more = skipped.len().saturating_sub(WARNINGS_SHOWN);
        let mut shown = skipped[..skipped.len().min(WARNINGS_SHOWN)].join("; ");
        if more > 0 {
            shown += &format!("; and {more} more");
        }
        warnings.push(format!(
            "{}: {} row(s) skipped ({shown}); the other rows were read",
            path.display(),
            skipped.len()
        ));
    }
    if headers.len() < 2 {
        warnings.push(format!(
            "{}: no label columns found (the header line has one column); separate columns with commas, e.g. `id,articleType,baseColour`",
            path.display()
        ));
    }
    let columns = headers
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != key_col)
        .map(|(_, h)| h)
        .collect();
    Ok(LabelSource {
        columns,
        rows,
        warnings,
    })
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

/// An item's label fields, sorted by name. Names and values are shared between items (a million
/// items hold a handful of distinct categories), so a large catalog keeps one copy of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<(Arc<str>, Arc<str>)>);

impl Labels {
    /// The value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|(k, _)| (**k).cmp(name))
            .ok()
            .map(|i| &*self.0[i].1)
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Fields in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::ops::Index<&str> for Labels {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        self.get(name)
            .unwrap_or_else(|| panic!("no label field {name:?}"))
    }
}

impl serde::Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Makes [`Labels`] that share their strings.
#[derive(Default)]
pub struct LabelInterner(foldhash::HashSet<Arc<str>>);

impl LabelInterner {
    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.0.insert(shared.clone());
        shared
    }

    /// Labels from the JSON object the index stores (none when it is not one).
    pub fn from_json(&mut self, json: &str) -> Labels {
        // Borrowed strings when nothing is escaped; owned ones otherwise.
        let owned: Vec<(String, String)> = match serde_json::from_str::<Pairs<&str>>(json) {
            Ok(Pairs(pairs)) => return self.from_pairs(pairs),
            Err(_) => serde_json::from_str::<Pairs<String>>(json)
                .map(|p| p.0)
                .unwrap_or_default(),
        };
        self.from_pairs(owned.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Labels from name and value pairs.
    pub fn from_pairs<'a>(
        &mut self,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Labels {
        let mut fields: Vec<(Arc<str>, Arc<str>)> = pairs
            .into_iter()
            .map(|(k, v)| (self.intern(k), self.intern(v)))
            .collect();
        // A name given twice keeps its last value, as a JSON object read into a map does.
        fields.reverse();
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        fields.dedup_by(|a, b| a.0 == b.0);
        Labels(fields)
    }
}

/// A JSON object's string fields in the order written, read without building a map (a million
/// items are opened this way).
struct Pairs<S>(Vec<(S, S)>);

impl<'de, S: serde::Deserialize<'de>> serde::Deserialize<'de> for Pairs<S> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Fields<S>(std::marker::PhantomData<S>);
        impl<'de, S: serde::Deserialize<'de>> serde::de::Visitor<'de> for Fields<S> {
            type Value = Pairs<S>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object of label fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Pairs<S>, A::Error> {
                let mut fields = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Pairs(fields))
            }
        }
        d.deserialize_map(Fields(std::marker::PhantomData))
    }
}
