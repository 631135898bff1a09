//! The cost model: `time ≈ launch + bytes / bandwidth + flops / throughput`, fitted per
//! (device, op class) from a few measured sizes, so shapes never measured still get an
//! estimate grounded in measurements rather than a guess.
//!
//! The fit is a non-negative least-squares over the three terms, weighted by `1/time` so a
//! 20 µs point counts as much as a 20 ms one (relative error is what a plan comparison
//! cares about). With three unknowns and two or three points the exact NNLS is cheap: try
//! every subset of terms, solve its normal equations, keep the best fit whose coefficients
//! are all non-negative. Collinear subsets (decode matmul: bytes ∝ flops) are skipped,
//! which leaves whichever single term explains the data.

use super::class::Work;

/// A fitted per-class model. Units chosen so the numbers read directly.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CostModel {
    /// Fixed time per op (dispatch, thread wake-up), µs.
    pub launch_us: f64,
    /// µs per megabyte moved (1 / bandwidth in MB/µs, i.e. TB/s).
    pub us_per_mb: f64,
    /// µs per GFLOP.
    pub us_per_gflop: f64,
}

impl CostModel {
    /// Estimated time for `work`, µs.
    pub fn predict_us(&self, work: Work) -> f64 {
        self.launch_us + self.us_per_mb * work.bytes / 1e6 + self.us_per_gflop * work.flops / 1e9
    }

    /// Bandwidth the model implies, GB/s (infinite when bytes cost nothing).
    pub fn bandwidth_gbps(&self) -> f64 {
        1e3 / self.us_per_mb
    }

    /// Arithmetic throughput the model implies, GFLOP/s.
    pub fn gflops(&self) -> f64 {
        1e6 / self.us_per_gflop
    }
}

/// One measured point: the work done and the time it took (fastest of a few runs).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// Work of the measured op.
    pub work: Work,
    /// Time, µs.
    pub time_us: f64,
}

/// Fits a [`CostModel`] to `samples`; `None` without a single positive sample.
pub fn fit(samples: &[Sample]) -> Option<CostModel> {
    let rows: Vec<([f64; 3], f64)> = samples
        .iter()
        .filter(|s| s.time_us.is_finite() && s.time_us > 0.0)
        .map(|s| {
            let w = 1.0 / s.time_us;
            (
                [w, w * s.work.bytes / 1e6, w * s.work.flops / 1e9],
                1.0, // time_us * w
            )
        })
        .collect();
    if rows.is_empty() {
        return None;
    }
    let mut best: Option<([f64; 3], f64)> = None;
    for mask in 1u8..8 {
        let terms: Vec<usize> = (0..3).filter(|t| mask & (1 << t) != 0).collect();
        if terms.len() > rows.len() {
            continue;
        }
        let Some(coef) = solve_subset(&rows, &terms) else {
            continue;
        };
        if coef.iter().any(|c| *c < 0.0 || !c.is_finite()) {
            continue;
        }
        let mut full = [0.0; 3];
        for (t, c) in terms.iter().zip(&coef) {
            full[*t] = *c;
        }
        let sse: f64 = rows
            .iter()
            .map(|(x, y)| {
                let p: f64 = x.iter().zip(&full).map(|(a, b)| a * b).sum();
                (p - y) * (p - y)
            })
            .sum();
        // Prefer fewer terms on ties: a simpler model extrapolates more safely.
        if best.as_ref().is_none_or(|(_, b)| sse < b - 1e-12) {
            best = Some((full, sse));
        }
    }
    best.map(|(c, _)| CostModel {
        launch_us: c[0],
        us_per_mb: c[1],
        us_per_gflop: c[2],
    })
}

/// Least squares on the chosen columns via the normal equations; `None` when singular.
fn solve_subset(rows: &[([f64; 3], f64)], terms: &[usize]) -> Option<Vec<f64>> {
    let k = terms.len();
    let mut a = vec![vec![0.0; k + 1]; k];
    for (x, y) in rows {
        for i in 0..k {
            for j in 0..k {
                a[i][j] += x[terms[i]] * x[terms[j]];
            }
            a[i][k] += x[terms[i]] * y;
        }
    }
    let scale: f64 = (0..k).map(|i| a[i][i].abs()).fold(0.0, f64::max);
    for col in 0..k {
        let pivot = (col..k).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() <= 1e-9 * scale.max(f64::MIN_POSITIVE) {
            return None;
        }
        a.swap(col, pivot);
        for r in 0..k {
            if r != col {
                let f = a[r][col] / a[col][col];
                let pivot_row = a[col].clone();
                for (x, p) in a[r].iter_mut().zip(&pivot_row).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..k).map(|i| a[i][k] / a[i][i]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(bytes: f64, flops: f64, m: &CostModel) -> Sample {
        let work = Work { bytes, flops };
        Sample {
            work,
            time_us: m.predict_us(work),
        }
    }

    #[test]
    fn recovers_a_three_term_model_from_independent_sizes() {
        let truth = CostModel {
            launch_us: 50.0,
            us_per_mb: 40.0,
            us_per_gflop: 200.0,
        };
        let s = [
            sample(1e6, 1e8, &truth),
            sample(1e6, 4e9, &truth),
            sample(8e6, 2e9, &truth),
        ];
        let m = fit(&s).unwrap();
        assert!((m.launch_us - 50.0).abs() < 1e-6, "{m:?}");
        assert!((m.us_per_mb - 40.0).abs() < 1e-6, "{m:?}");
        assert!((m.us_per_gflop - 200.0).abs() < 1e-6, "{m:?}");
    }

    #[test]
    fn collinear_points_still_predict_within_the_class() {
        // decode matmul: flops = 2 * elements, bytes ∝ elements.
        let truth = CostModel {
            launch_us: 10.0,
            us_per_mb: 100.0,
            us_per_gflop: 0.0,
        };
        let s: Vec<Sample> = [1e6, 4e6, 16e6]
            .iter()
            .map(|&e| sample(0.56 * e, 2.0 * e, &truth))
            .collect();
        let m = fit(&s).unwrap();
        let w = Work {
            bytes: 0.56 * 64e6,
            flops: 128e6,
        };
        let rel = (m.predict_us(w) - truth.predict_us(w)).abs() / truth.predict_us(w);
        assert!(
            rel < 1e-6,
            "{m:?} predicts {} vs {}",
            m.predict_us(w),
            truth.predict_us(w)
        );
    }

    #[test]
    fn coefficients_are_never_negative() {
        // Noisy points where plain least squares would want a negative launch term.
        let s = [
            Sample {
                work: Work {
                    bytes: 1e6,
                    flops: 0.0,
                },
                time_us: 5.0,
            },
            Sample {
                work: Work {
                    bytes: 2e6,
                    flops: 0.0,
                },
                time_us: 30.0,
            },
            Sample {
                work: Work {
                    bytes: 4e6,
                    flops: 0.0,
                },
                time_us: 70.0,
            },
        ];
        let m = fit(&s).unwrap();
        assert!(m.launch_us >= 0.0 && m.us_per_mb >= 0.0 && m.us_per_gflop >= 0.0);
        // The best non-negative model is a compromise, never off by 70 % or more.
        for x in &s {
            let rel = (m.predict_us(x.work) - x.time_us) / x.time_us;
            assert!(rel.abs() < 0.7, "{m:?} at {x:?}");
        }
        assert!(fit(&[]).is_none());
    }
}
