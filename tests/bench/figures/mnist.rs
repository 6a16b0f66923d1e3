//! Fashion-MNIST from Debian's dataset-fashion-mnist: gzipped IDX files of 28x28 greyscale images.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rayon::prelude::*;

const DIR: &str = "/usr/share/datasets/fashion-mnist";
const CLASSES: [&str; 10] = [
    "T-shirt",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

pub struct MnistImage {
    pub pixels: Vec<u8>,
    pub label: u8,
}

fn read_gz(name: &str) -> Result<Vec<u8>> {
    let path = Path::new(DIR).join(name);
    let file = std::fs::File::open(&path).with_context(|| format!("{}", path.display()))?;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .with_context(|| format!("{}", path.display()))?;
    Ok(out)
}

/// Up to `n` images, training set first.
pub fn load(n: usize) -> Result<Vec<MnistImage>> {
    let mut out = Vec::new();
    for (images, labels) in [
        ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    ] {
        let img = read_gz(images)?;
        let lab = read_gz(labels)?;
        if img.len() < 16 || u32::from_be_bytes([img[0], img[1], img[2], img[3]]) != 2051 {
            bail!("{images} is not an IDX image file");
        }
        let count = u32::from_be_bytes([img[4], img[5], img[6], img[7]]) as usize;
        for i in 0..count {
            if out.len() == n {
                return Ok(out);
            }
            out.push(MnistImage {
                pixels: img[16 + i * 784..16 + (i + 1) * 784].to_vec(),
                label: lab[8 + i],
            });
        }
    }
    Ok(out)
}

/// Where image `i` is written: one folder per class, so the folder is its label.
pub fn rel_path(i: usize, label: u8) -> PathBuf {
    PathBuf::from(CLASSES[label as usize % 10]).join(format!("{i:05}.png"))
}

/// Write images as PNG files; returns how many.
pub fn write_pngs(images: &[MnistImage], dir: &Path) -> Result<usize> {
    for c in CLASSES {
        std::fs::create_dir_all(dir.join(c))?;
    }
    images
        .par_iter()
        .enumerate()
        .try_for_each(|(i, im)| -> Result<()> {
            let path = dir.join(rel_path(i, im.label));
            if !path.exists() {
                let img = image::GrayImage::from_raw(28, 28, im.pixels.clone()).context("28x28")?;
                img.save(&path)?;
            }
            Ok(())
        })?;
    Ok(images.len())
}
