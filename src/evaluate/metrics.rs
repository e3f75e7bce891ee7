//! Ranking metrics: ROC-AUC, the threshold at a false-positive rate, and counted rates.

use serde::Serialize;
use std::fmt;

/// ROC-AUC of `positives` over `negatives` as the Mann-Whitney statistic: the probability that a
/// random positive outscores a random negative, ties counting one half. `None` if a class is
/// empty.
pub fn roc_auc(positives: &[f64], negatives: &[f64]) -> Option<f64> {
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = positives
        .iter()
        .map(|&s| (s, true))
        .chain(negatives.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the positives' 1-based ranks, tied scores sharing their average rank.
    let mut rank_sum = 0.0;
    let mut start = 0;
    for group in all.chunk_by(|a, b| a.0 == b.0) {
        let mean_rank = (2 * start + group.len() + 1) as f64 / 2.0;
        rank_sum += mean_rank * group.iter().filter(|(_, pos)| *pos).count() as f64;
        start += group.len();
    }
    let (np, nn) = (positives.len() as f64, negatives.len() as f64);
    Some((rank_sum - np * (np + 1.0) / 2.0) / (np * nn))
}

/// The smallest score threshold at which at most `fpr` of the negatives score `>=` it: just
/// above the (k+1)-th highest negative, k = floor(fpr * n). With 60 negatives and 1% that is
/// just above the highest negative. `None` without negatives; `-inf` if all may pass.
pub fn threshold_at_fpr(negatives: &[f64], fpr: f64) -> Option<f64> {
    if negatives.is_empty() {
        return None;
    }
    // The epsilon keeps e.g. 0.29 * 100 = 28.999999999999996 from losing one allowed negative.
    let allowed = (fpr * negatives.len() as f64 + 1e-9).floor().max(0.0) as usize;
    let mut sorted = negatives.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    Some(
        sorted
            .get(allowed)
            .map_or(f64::NEG_INFINITY, |s| s.next_up()),
    )
}

/// `hits` out of `n`, with the rate precomputed for the JSON report (`None` when `n` is 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fraction {
    pub hits: usize,
    pub n: usize,
    pub rate: Option<f64>,
}

impl Fraction {
    pub fn new(hits: usize, n: usize) -> Self {
        let rate = (n > 0).then(|| hits as f64 / n as f64);
        Fraction { hits, n, rate }
    }

    pub(super) fn count<T>(items: &[T], hit: impl Fn(&T) -> bool) -> Self {
        Fraction::new(items.iter().filter(|x| hit(x)).count(), items.len())
    }
}

impl fmt::Display for Fraction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rate {
            Some(r) => write!(f, "{r:.3} ({}/{})", self.hits, self.n),
            None => f.write_str("-"),
        }
    }
}
