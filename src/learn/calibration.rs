//! Honest confidence: temperature scaling of a head's logits, fitted on held-out items, and the
//! expected calibration error (ECE) that says how far "90% sure" is from being right 90% of the
//! time.

/// Bins of equal width over the top label's confidence, as in Guo et al., "On Calibration of
/// Modern Neural Networks" (2017).
pub const ECE_BINS: usize = 15;

/// The logits of held-out items for one label column, with their true class.
#[derive(Debug, Clone, Default)]
pub struct HeldOut {
    /// One row of logits (`classes` long) per item.
    pub logits: Vec<Vec<f32>>,
    pub truth: Vec<usize>,
}

impl HeldOut {
    pub fn push(&mut self, logits: Vec<f32>, truth: usize) {
        self.logits.push(logits);
        self.truth.push(truth);
    }

    /// The items of several folds as one.
    pub fn joined<'a>(folds: impl Iterator<Item = &'a HeldOut>) -> HeldOut {
        let mut out = HeldOut::default();
        for f in folds {
            out.logits.extend(f.logits.iter().cloned());
            out.truth.extend(&f.truth);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.truth.len()
    }

    pub fn is_empty(&self) -> bool {
        self.truth.is_empty()
    }

    /// Mean negative log-likelihood of the true classes at temperature `t`.
    pub fn nll(&self, t: f32) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .logits
            .iter()
            .zip(&self.truth)
            .map(|(z, &y)| {
                let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let lse = z
                    .iter()
                    .map(|&v| ((v - max) / t).exp() as f64)
                    .sum::<f64>()
                    .ln();
                lse - ((z[y] - max) / t) as f64
            })
            .sum();
        sum / self.len() as f64
    }

    /// The temperature with the lowest held-out NLL, between 1/20 and 20 (golden-section search
    /// on its logarithm: the NLL is convex in 1/t, so unimodal on the way).
    pub fn fit_temperature(&self) -> f32 {
        if self.is_empty() {
            return 1.0;
        }
        let f = |log_t: f64| self.nll(log_t.exp() as f32);
        let (mut a, mut b) = ((0.05f64).ln(), (20.0f64).ln());
        let g = (5f64.sqrt() - 1.0) / 2.0;
        let (mut c, mut d) = (b - g * (b - a), a + g * (b - a));
        let (mut fc, mut fd) = (f(c), f(d));
        for _ in 0..60 {
            if fc < fd {
                (b, d, fd) = (d, c, fc);
                c = b - g * (b - a);
                fc = f(c);
            } else {
                (a, c, fc) = (c, d, fd);
                d = a + g * (b - a);
                fd = f(d);
            }
        }
        ((a + b) / 2.0).exp() as f32
    }

    /// The temperature that makes these items' confidence most honest: the lowest ECE among the
    /// NLL-fitted temperature, 1 (no change) and a grid from 1/4 to 8. Minimising NLL alone can
    /// leave a column under-confident when its accuracy is uneven across confidence levels.
    pub fn choose_temperature(&self) -> f32 {
        let grid = (0..=40).map(|i| 0.25 * 32f32.powf(i as f32 / 40.0));
        std::iter::once(self.fit_temperature())
            .chain(std::iter::once(1.0))
            .chain(grid)
            .map(|t| (ece(&self.top(t)), t))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map_or(1.0, |(_, t)| t)
    }

    /// The top label's confidence and whether it is right, per item, at temperature `t`.
    pub fn top(&self, t: f32) -> Vec<(f32, bool)> {
        self.logits
            .iter()
            .zip(&self.truth)
            .map(|(z, &y)| {
                let p = softmax_t(z, t);
                let (best, conf) = p
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, &c)| (i, c))
                    .unwrap_or((0, 0.0));
                (conf, best == y)
            })
            .collect()
    }
}

/// Softmax of `z / t`.
pub fn softmax_t(z: &[f32], t: f32) -> Vec<f32> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = z.iter().map(|&v| ((v - max) / t).exp()).collect();
    let sum: f32 = e.iter().sum();
    e.into_iter().map(|v| v / sum).collect()
}

/// Expected calibration error of (confidence, right) pairs: the mean gap between confidence and
/// accuracy over [`ECE_BINS`] bins, weighted by how many items fall in each.
pub fn ece(top: &[(f32, bool)]) -> f64 {
    if top.is_empty() {
        return 0.0;
    }
    let mut bins = [(0usize, 0.0f64, 0usize); ECE_BINS];
    for &(conf, right) in top {
        let b = ((conf as f64 * ECE_BINS as f64) as usize).min(ECE_BINS - 1);
        bins[b].0 += 1;
        bins[b].1 += conf as f64;
        bins[b].2 += right as usize;
    }
    bins.iter()
        .filter(|b| b.0 > 0)
        .map(|&(_, conf, right)| (conf - right as f64).abs())
        .sum::<f64>()
        / top.len() as f64
}

/// What calibrating one column gives, measured honestly: each fold's temperature is chosen on the
/// other folds' held-out items ([`HeldOut::choose_temperature`]), and its own items are scored
/// with it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibrated {
    /// Fitted on every held-out item: the one the stored head uses.
    pub temperature: f32,
    pub ece_before: f64,
    pub ece_after: f64,
}

/// Calibrate a column from its held-out logits, one [`HeldOut`] per fold.
pub fn calibrate(folds: &[HeldOut]) -> Calibrated {
    let all = HeldOut::joined(folds.iter());
    let mut after = Vec::with_capacity(all.len());
    for (i, fold) in folds.iter().enumerate() {
        let others = HeldOut::joined(
            folds
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, f)| f),
        );
        after.extend(fold.top(others.choose_temperature()));
    }
    Calibrated {
        temperature: all.choose_temperature(),
        ece_before: ece(&all.top(1.0)),
        ece_after: ece(&after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Over-confident logits: the right class wins 70% of the time, but by a margin that a
    /// softmax reads as about 99% sure.
    fn over_confident(n: usize, seed: u64) -> HeldOut {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut h = HeldOut::default();
        for _ in 0..n {
            let truth = rng.usize(..4);
            let winner = if rng.f32() < 0.7 {
                truth
            } else {
                (truth + 1 + rng.usize(..3)) % 4
            };
            let z: Vec<f32> = (0..4)
                .map(|c| if c == winner { 6.0 } else { 0.0 } + rng.f32())
                .collect();
            h.push(z, truth);
        }
        h
    }

    #[test]
    fn softmax_at_any_temperature_sums_to_one() {
        for t in [0.1, 1.0, 3.0, 20.0] {
            let p = softmax_t(&[2.0, -1.0, 0.5, 9.0], t);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5, "t {t}: {p:?}");
            assert!(p.iter().all(|&v| v >= 0.0));
        }
        // A higher temperature spreads the probabilities; the order stays.
        let (cold, warm) = (softmax_t(&[2.0, 1.0], 1.0), softmax_t(&[2.0, 1.0], 4.0));
        assert!(warm[0] < cold[0] && warm[0] > warm[1]);
    }

    #[test]
    fn an_over_confident_column_is_cooled_and_its_ece_falls() {
        let h = over_confident(2000, 3);
        let before = ece(&h.top(1.0));
        assert!(
            before > 0.2,
            "the test data are over-confident: ECE {before}"
        );
        let t = h.fit_temperature();
        assert!(t > 1.5, "temperature {t}");
        let after = ece(&h.top(t));
        assert!(after < 0.05, "ECE {before:.3} -> {after:.3}");
        assert!(h.nll(t) < h.nll(1.0));
    }

    #[test]
    fn held_out_folds_are_scored_with_a_temperature_fitted_without_them() {
        let folds: Vec<HeldOut> = (0..5).map(|f| over_confident(300, 10 + f)).collect();
        let c = calibrate(&folds);
        assert!(c.ece_after < c.ece_before / 3.0, "{c:?}");
        assert!(c.temperature > 1.5);
    }

    #[test]
    fn a_well_calibrated_column_keeps_a_temperature_near_one() {
        // Logits drawn so the softmax is honest: sample the truth from the softmax itself.
        let mut rng = fastrand::Rng::with_seed(5);
        let mut h = HeldOut::default();
        for _ in 0..4000 {
            let z: Vec<f32> = (0..3).map(|_| rng.f32() * 4.0).collect();
            let p = softmax_t(&z, 1.0);
            let u = rng.f32();
            let truth = if u < p[0] {
                0
            } else if u < p[0] + p[1] {
                1
            } else {
                2
            };
            h.push(z, truth);
        }
        let t = h.fit_temperature();
        assert!((0.8..1.25).contains(&t), "temperature {t}");
        assert!(ece(&h.top(1.0)) < 0.05);
    }
}
