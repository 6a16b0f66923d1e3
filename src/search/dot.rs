//! The f32 dot product behind exact search, with fused multiply-adds on 256-bit registers where
//! the CPU has them (AVX2 + FMA: nearly every x86-64 laptop since 2013), picked once at run time.

type Dot = fn(&[f32], &[f32]) -> f32;

/// Dot product of two equally long vectors (cosine similarity of unit vectors).
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    (best())(a, b)
}

fn best() -> Dot {
    static BEST: std::sync::OnceLock<Dot> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return |a, b| unsafe { dot_fma(a, b) };
        }
        dot_portable
    })
}

/// Written so the compiler vectorises it (eight independent accumulators): SSE2 on any x86-64.
fn dot_portable(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Four 8-lane accumulators of fused multiply-adds, 32 products per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn dot_fma(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let n = a.len().min(b.len());
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY: every load reads 8 floats at i + 8 * j + 8 <= n, inside both slices.
    unsafe {
        while i + 32 <= n {
            for (j, acc) in acc.iter_mut().enumerate() {
                let x = _mm256_loadu_ps(pa.add(i + 8 * j));
                let y = _mm256_loadu_ps(pb.add(i + 8 * j));
                *acc = _mm256_fmadd_ps(x, y, *acc);
            }
            i += 32;
        }
        while i + 8 <= n {
            acc[0] = _mm256_fmadd_ps(
                _mm256_loadu_ps(pa.add(i)),
                _mm256_loadu_ps(pb.add(i)),
                acc[0],
            );
            i += 8;
        }
        let sum = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let mut lanes = [0.0f32; 8];
        _mm256_storeu_ps(lanes.as_mut_ptr(), sum);
        lanes.iter().sum::<f32>()
            + a[i..n]
                .iter()
                .zip(&b[i..n])
                .map(|(x, y)| x * y)
                .sum::<f32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_gives_the_same_dot_product() {
        let mut rng = fastrand::Rng::with_seed(7);
        for n in [0, 1, 7, 8, 31, 32, 33, 1280, 1283] {
            let a: Vec<f32> = (0..n).map(|_| rng.f32() - 0.5).collect();
            let b: Vec<f32> = (0..n).map(|_| rng.f32() - 0.5).collect();
            let exact: f64 = a.iter().zip(&b).map(|(x, y)| *x as f64 * *y as f64).sum();
            let close = |v: f32| (v as f64 - exact).abs() < 1e-4;
            assert!(close(dot_portable(&a, &b)), "portable, n = {n}");
            assert!(close(dot(&a, &b)), "best kernel, n = {n}");
        }
    }
}
