//! Global pooling of a CNN feature map into one unit-length vector per image.

use crate::model::Pooling;

/// GeM's exponent; 3 is the usual choice for retrieval.
const GEM_P: f32 = 3.0;

/// Pool `[n, c, hw]` feature maps into `n` L2-normalised vectors of length `c`.
pub fn pool_feature_map(
    data: &[f32],
    n: usize,
    c: usize,
    hw: usize,
    pooling: Pooling,
) -> Vec<Vec<f32>> {
    assert_eq!(data.len(), n * c * hw, "feature map size");
    (0..n)
        .map(|i| {
            let mut v: Vec<f32> = (0..c)
                .map(|ch| {
                    let cell = &data[(i * c + ch) * hw..(i * c + ch + 1) * hw];
                    match pooling {
                        Pooling::Avg => cell.iter().sum::<f32>() / hw as f32,
                        Pooling::Max => cell.iter().copied().fold(f32::NEG_INFINITY, f32::max),
                        Pooling::Gem => {
                            let m = cell.iter().map(|x| x.max(1e-6).powf(GEM_P)).sum::<f32>()
                                / hw as f32;
                            m.powf(1.0 / GEM_P)
                        }
                    }
                })
                .collect();
            l2_normalize(&mut v);
            v
        })
        .collect()
}

/// Scale a vector to unit length (left as is when it is all zeros).
/// Whether `v` is what the index stores and searches: finite, of unit length. A damaged value
/// (one infinity would put an item first for every query) fails this.
pub fn is_unit_vector(v: &[f32]) -> bool {
    let norm2: f32 = v.iter().map(|x| x * x).sum();
    norm2.is_finite() && (norm2 - 1.0).abs() < 1e-3
}

pub fn l2_normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_kinds_differ_as_expected() {
        // one image, two channels, four cells
        let fm = [1.0, 1.0, 1.0, 5.0, 2.0, 2.0, 2.0, 2.0];
        let avg = pool_feature_map(&fm, 1, 2, 4, Pooling::Avg);
        let max = pool_feature_map(&fm, 1, 2, 4, Pooling::Max);
        let gem = pool_feature_map(&fm, 1, 2, 4, Pooling::Gem);
        // avg: [2, 2] -> equal; max: [5, 2] -> first larger; gem lies between
        assert!((avg[0][0] - avg[0][1]).abs() < 1e-6);
        assert!(max[0][0] > max[0][1]);
        assert!(gem[0][0] > avg[0][0] && gem[0][0] < max[0][0]);
        for v in [&avg[0], &max[0], &gem[0]] {
            let n: f32 = v.iter().map(|x| x * x).sum();
            assert!((n - 1.0).abs() < 1e-5);
        }
    }
}
