//! ImageNet class names (`imagenet-classes.txt`, written by the set-up step), to read a model's logits.

use crate::error::{Error, Result};
use crate::paths::model_dirs;

/// The 1000 ImageNet class names, in logit order.
pub fn imagenet_classes() -> Result<Vec<String>> {
    for dir in model_dirs() {
        let path = dir.join("imagenet-classes.txt");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Ok(text.lines().map(str::to_string).collect());
        }
    }
    let searched = model_dirs()
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::Io {
        path: "imagenet-classes.txt".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("not found in {searched}. {}", crate::paths::SETUP_HINT),
        ),
    })
}

/// The `n` most likely classes with their softmax probabilities, best first.
pub fn top_classes(logits: &[f32], n: usize) -> Vec<(usize, f32)> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|x| (x - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| exp[b].total_cmp(&exp[a]));
    idx.into_iter().take(n).map(|i| (i, exp[i] / sum)).collect()
}
