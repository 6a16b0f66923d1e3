//! Which catalog items a search may return, by their labels: `gender = Men` keeps the items whose
//! gender is exactly "Men" (not "Women"), a plain word keeps the items with a label word that starts
//! with it ("shirt" keeps "Shirts", not "Tshirts"; "men" keeps "Men", not "Women"). Terms are
//! separated by commas and all must hold: `gender = Men, blue`.
//!
//! Column names are compared without case, spaces or punctuation, so "Article type" is
//! `articleType`; values are compared without case.

use crate::catalog::Labels;

/// A parsed filter; the empty filter keeps everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LabelFilter {
    terms: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq)]
enum Term {
    /// The label in `column` (normalised: see [`column_key`]) is `value`, without case.
    Exact { column: String, value: String },
    /// Some label has a word starting with this (lower case).
    Word(String),
}

impl LabelFilter {
    /// `gender = Men, blue shirt`: terms separated by commas; `column = value` is exact, other
    /// text is words, each of which must start a word of some label.
    pub fn parse(text: &str) -> LabelFilter {
        let mut terms = Vec::new();
        for part in text.split(',') {
            match part.split_once('=') {
                Some((column, value)) if !column.trim().is_empty() => terms.push(Term::Exact {
                    column: column_key(column),
                    value: value.trim().to_string(),
                }),
                _ => terms.extend(
                    part.split(|c: char| !c.is_alphanumeric())
                        .filter(|w| !w.is_empty())
                        .map(|w| Term::Word(w.to_lowercase())),
                ),
            }
        }
        LabelFilter { terms }
    }

    /// `column = value` exactly (what a pick from the list of values gives).
    pub fn exact(column: &str, value: &str) -> LabelFilter {
        LabelFilter {
            terms: vec![Term::Exact {
                column: column_key(column),
                value: value.to_string(),
            }],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether an item with these labels passes.
    pub fn matches(&self, labels: &Labels) -> bool {
        self.terms.iter().all(|t| match t {
            Term::Exact { column, value } => labels
                .iter()
                .any(|(k, v)| same_column(k, column) && same_text(v.trim(), value)),
            Term::Word(w) => labels.iter().any(|(_, v)| has_word_starting(v, w)),
        })
    }

    /// The columns the filter names that none of `columns` is (a typing slip the window shows).
    pub fn unknown_columns<'a>(
        &self,
        columns: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Vec<String> {
        self.terms
            .iter()
            .filter_map(|t| match t {
                Term::Exact { column, .. }
                    if !columns.clone().into_iter().any(|c| same_column(c, column)) =>
                {
                    Some(column.clone())
                }
                _ => None,
            })
            .collect()
    }
}

/// A label column and its values, most common first (what the window offers to pick from).
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub values: Vec<(String, usize)>,
}

/// Columns with at most this many distinct values are offered as lists (a product's name is not).
const MAX_LISTED_VALUES: usize = 60;

/// The catalog's label columns whose values can be listed (at most [`MAX_LISTED_VALUES`] distinct
/// ones), by name, each value with how many items have it.
pub fn listed_columns(items: &[crate::catalog::Item]) -> Vec<Column> {
    let mut counts: std::collections::BTreeMap<&str, foldhash::HashMap<&str, usize>> =
        Default::default();
    for item in items {
        for (k, v) in item.labels.iter() {
            let values = counts.entry(k).or_default();
            if values.len() <= MAX_LISTED_VALUES && !v.trim().is_empty() {
                *values.entry(v).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .filter(|(_, values)| values.len() > 1 && values.len() <= MAX_LISTED_VALUES)
        .map(|(name, values)| {
            let mut values: Vec<(String, usize)> = values
                .into_iter()
                .map(|(v, n)| (v.to_string(), n))
                .collect();
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            Column {
                name: name.to_string(),
                values,
            }
        })
        .collect()
}

/// A label column's name in words: "articleType" is "Article type", "baseColour" "Colour",
/// "productDisplayName" "Name"; other names are split at capitals and underscores.
pub fn human_column(name: &str) -> String {
    match column_key(name).as_str() {
        "basecolour" | "basecolor" | "colour" | "color" => return "Colour".into(),
        "productdisplayname" | "name" | "title" => return "Name".into(),
        "mastercategory" => return "Category".into(),
        "subcategory" => return "Subcategory".into(),
        _ => {}
    }
    let mut words = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == ' ' {
            words.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            words.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        words.extend(c.to_lowercase());
    }
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A column's name as filters compare it: lower case, letters and digits only.
fn column_key(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether column `name` is the normalised `key`, without allocating.
fn same_column(name: &str, key: &str) -> bool {
    let mut a = name
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase);
    let mut b = key.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x == y => {}
            _ => return false,
        }
    }
}

/// Whether `a` and `b` are the same text but for case (any script), without allocating.
fn same_text(a: &str, b: &str) -> bool {
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}

/// Whether a word of `text` (split at anything but letters and digits) starts with `prefix` (lower
/// case), without allocating.
fn has_word_starting(text: &str, prefix: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|word| {
        let mut w = word.chars().flat_map(char::to_lowercase);
        prefix.chars().all(|p| w.next() == Some(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::LabelInterner;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        LabelInterner::default().from_pairs(pairs.iter().copied())
    }

    #[test]
    fn a_column_and_value_is_exact_and_a_word_must_start_a_label_word() {
        let women = labels(&[("gender", "Women"), ("articleType", "Tshirts")]);
        let men = labels(&[
            ("gender", "Men"),
            ("articleType", "Shirts"),
            ("baseColour", "Navy Blue"),
        ]);
        let f = LabelFilter::parse("gender = Men");
        assert!(f.matches(&men) && !f.matches(&women), "Men is not Women");
        let f = LabelFilter::parse("men");
        assert!(
            f.matches(&men) && !f.matches(&women),
            "the word men does not start Women"
        );
        let f = LabelFilter::parse("shirt");
        assert!(
            f.matches(&men) && !f.matches(&women),
            "shirt does not start Tshirts"
        );
        assert!(
            LabelFilter::parse("blue").matches(&men),
            "a later word of a label counts"
        );
        assert!(
            LabelFilter::parse("Article type = shirts").matches(&men),
            "human column names"
        );
        assert!(LabelFilter::parse("").matches(&women) && LabelFilter::parse(" , ").is_empty());
    }

    #[test]
    fn column_names_read_as_words() {
        assert_eq!(human_column("articleType"), "Article type");
        assert_eq!(human_column("baseColour"), "Colour");
        assert_eq!(human_column("productDisplayName"), "Name");
        assert_eq!(human_column("usage"), "Usage");
        assert_eq!(human_column("fit_type"), "Fit type");
    }

    #[test]
    fn every_term_must_hold() {
        let item = labels(&[("gender", "Men"), ("baseColour", "Red")]);
        assert!(LabelFilter::parse("gender=men, red").matches(&item));
        assert!(!LabelFilter::parse("gender=men, blue").matches(&item));
        assert!(
            !LabelFilter::parse("colour=red").matches(&item),
            "an unknown column keeps nothing"
        );
        assert_eq!(
            LabelFilter::parse("colour=red, gender=Men").unknown_columns(["gender", "baseColour"]),
            vec!["colour".to_string()]
        );
        assert!(LabelFilter::exact("base colour", "RED").matches(&item));
    }
}
