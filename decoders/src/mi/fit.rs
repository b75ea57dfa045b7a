//! The learning steps behind the motor-imagery methods (allocating, offline): common spatial
//! patterns, shrinkage LDA and L2 logistic regression. Each follows the estimator the
//! Python reference uses (pyRiemann's `CSP`, scikit-learn's `LinearDiscriminantAnalysis`
//! with `solver="lsqr", shrinkage="auto"`, and `LogisticRegression`) so that the numbers can
//! be compared on the same folds.

use faer::linalg::solvers::Solve;
use faer::{Mat, Side};

use super::MiError;
use super::spd::{inv_sqrtm, mean_euclid};

/// A linear scorer: class scores `W x + b`, one row of `W` per class; probabilities are
/// their softmax.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Linear {
    /// Row-major `classes × features` weights.
    pub weights: Vec<f64>,
    /// One intercept per class.
    pub intercepts: Vec<f64>,
    /// Features per input.
    pub features: usize,
}

impl Linear {
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.intercepts.len()
    }

    /// Class scores of `x` into `out`. Real-time safe.
    pub fn scores(&self, x: &[f64], out: &mut [f64]) {
        for (k, o) in out.iter_mut().enumerate() {
            let w = &self.weights[k * self.features..(k + 1) * self.features];
            *o = self.intercepts[k] + w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

/// Turns scores into probabilities in place (numerically stable softmax).
pub fn softmax(v: &mut [f64]) {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// CSP filters (`filters × channels`, row-major) from per-class mean covariances.
///
/// Two classes: generalised eigenvectors of `(C₁, C₀ + C₁)`, the `per_class` ones whose
/// eigenvalues lie furthest from ½ (pyRiemann's CSP with `nfilter = per_class`). More
/// classes: for each class, the same against the mean of the others (one versus rest),
/// `per_class` filters each.
pub fn csp_filters(class_means: &[Mat<f64>], per_class: usize) -> Result<Vec<f64>, MiError> {
    let n = class_means[0].nrows();
    let per_class = per_class.min(n);
    let pairs: Vec<(Mat<f64>, Mat<f64>)> = if class_means.len() == 2 {
        vec![(class_means[1].clone(), &class_means[0] + &class_means[1])]
    } else {
        (0..class_means.len())
            .map(|k| {
                let rest: Vec<Mat<f64>> = class_means
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != k)
                    .map(|(_, m)| m.clone())
                    .collect();
                let a = class_means[k].clone();
                let b = &a + mean_euclid(&rest);
                (a, b)
            })
            .collect()
    };
    let mut filters = Vec::with_capacity(pairs.len() * per_class * n);
    for (a, b) in pairs {
        let w = inv_sqrtm(b.as_ref(), "the sum of the class mean covariances")?;
        let m = &w * &a * &w;
        let eig = m
            .self_adjoint_eigen(Side::Lower)
            .map_err(|_| MiError::NotPositiveDefinite {
                what: "the whitened class covariance",
            })?;
        let (u, s) = (eig.U(), eig.S().column_vector());
        let v = &w * u;
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| (s[j] - 0.5).abs().total_cmp(&(s[i] - 0.5).abs()));
        for &col in order.iter().take(per_class) {
            filters.extend((0..n).map(|r| v[(r, col)]));
        }
    }
    Ok(filters)
}

fn class_priors(labels: &[usize], classes: usize) -> Vec<f64> {
    let mut p = vec![0.0; classes];
    for &y in labels {
        p[y] += 1.0;
    }
    p.iter().map(|c| c / labels.len() as f64).collect()
}

/// Ledoit-Wolf shrunk covariance of standardised rows, rescaled (scikit-learn's
/// `_cov(X, shrinkage="auto")`).
fn ledoit_wolf_standardized(rows: &[&[f64]]) -> Mat<f64> {
    let (n, p) = (rows.len(), rows[0].len());
    let mean: Vec<f64> = (0..p)
        .map(|j| rows.iter().map(|r| r[j]).sum::<f64>() / n as f64)
        .collect();
    let scale: Vec<f64> = (0..p)
        .map(|j| {
            let var = rows.iter().map(|r| (r[j] - mean[j]).powi(2)).sum::<f64>() / n as f64;
            if var > 0.0 { var.sqrt() } else { 1.0 }
        })
        .collect();
    // Standardised data; Ledoit-Wolf centres it again (a no-op up to rounding).
    let x = Mat::from_fn(n, p, |i, j| (rows[i][j] - mean[j]) / scale[j]);
    let emp = x.transpose() * &x * faer::Scale(1.0 / n as f64);
    let x2 = Mat::from_fn(n, p, |i, j| x[(i, j)] * x[(i, j)]);
    let trace: f64 = (0..p).map(|j| emp[(j, j)]).sum();
    let mu = trace / p as f64;
    let beta_sum: f64 = {
        let g = x2.transpose() * &x2;
        (0..p)
            .flat_map(|i| (0..p).map(move |j| (i, j)))
            .map(|(i, j)| g[(i, j)])
            .sum()
    };
    let delta_sum: f64 = (0..p)
        .flat_map(|i| (0..p).map(move |j| (i, j)))
        .map(|(i, j)| (emp[(i, j)] * n as f64).powi(2))
        .sum::<f64>()
        / (n * n) as f64;
    let beta = (beta_sum / n as f64 - delta_sum) / (p * n) as f64;
    let delta = (delta_sum - 2.0 * mu * trace + p as f64 * mu * mu) / p as f64;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 { 0.0 } else { beta / delta };
    Mat::from_fn(p, p, |i, j| {
        let s = (1.0 - shrinkage) * emp[(i, j)] + if i == j { shrinkage * mu } else { 0.0 };
        s * scale[i] * scale[j]
    })
}

/// Linear discriminant analysis with Ledoit-Wolf shrinkage of the pooled within-class
/// covariance (priors = class frequencies).
pub fn lda(features: &[Vec<f64>], labels: &[usize], classes: usize) -> Result<Linear, MiError> {
    let p = features[0].len();
    let priors = class_priors(labels, classes);
    let mut cov = Mat::<f64>::zeros(p, p);
    let mut means = Mat::<f64>::zeros(classes, p);
    for k in 0..classes {
        let rows: Vec<&[f64]> = features
            .iter()
            .zip(labels)
            .filter(|&(_, &y)| y == k)
            .map(|(f, _)| f.as_slice())
            .collect();
        for j in 0..p {
            means[(k, j)] = rows.iter().map(|r| r[j]).sum::<f64>() / rows.len() as f64;
        }
        cov += ledoit_wolf_standardized(&rows) * faer::Scale(priors[k]);
    }
    // Solve cov · Wᵀ = meansᵀ through the pseudo-inverse (cov is symmetric PSD).
    let eig = cov
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| MiError::NotPositiveDefinite {
            what: "the within-class feature covariance",
        })?;
    let (u, s) = (eig.U(), eig.S().column_vector());
    let smax = (0..p).map(|k| s[k]).fold(0.0, f64::max);
    let pinv = Mat::from_fn(p, p, |i, j| {
        (0..p)
            .filter(|&k| s[k] > smax * 1e-12)
            .map(|k| u[(i, k)] * u[(j, k)] / s[k])
            .sum::<f64>()
    });
    let w = &means * &pinv;
    let mut weights = Vec::with_capacity(classes * p);
    let mut intercepts = Vec::with_capacity(classes);
    for k in 0..classes {
        let mut dot = 0.0;
        for j in 0..p {
            weights.push(w[(k, j)]);
            dot += w[(k, j)] * means[(k, j)];
        }
        intercepts.push(-0.5 * dot + priors[k].ln());
    }
    Ok(Linear {
        weights,
        intercepts,
        features: p,
    })
}

/// L2-penalised logistic regression (objective `½‖W‖² + C Σᵢ loss`, intercepts not
/// penalised) fitted by Newton's method with backtracking: binary for two classes (one
/// weight vector, as scikit-learn), multinomial otherwise.
///
/// When there are more features than trials the weights lie in the span of the trials
/// (representer theorem), so the problem is solved exactly in that span: the size of the
/// Newton system depends on the number of trials, not of features.
pub fn logistic_regression(
    features: &[Vec<f64>],
    labels: &[usize],
    classes: usize,
    c: f64,
) -> Result<Linear, MiError> {
    let (n, d) = (features.len(), features[0].len());
    let x = Mat::from_fn(n, d, |i, j| features[i][j]);
    // Basis of the span of the trials when it is smaller than the feature space.
    let basis: Option<Mat<f64>> = (d > n).then(|| x.transpose().qr().compute_thin_Q());
    let z = match &basis {
        Some(q) => &x * q,
        None => x.clone(),
    };
    let r = z.ncols();
    let free = if classes == 2 { 1 } else { classes };
    let v = newton_logistic(&z, labels, free, c)?;
    // Back to feature space; binary → rows [0; w] so that softmax equals the sigmoid.
    let mut weights = vec![0.0; classes * d];
    let mut intercepts = vec![0.0; classes];
    for m in 0..free {
        let k = if classes == 2 { 1 } else { m };
        let coef = &v[m * (r + 1)..m * (r + 1) + r];
        intercepts[k] = v[m * (r + 1) + r];
        for j in 0..d {
            weights[k * d + j] = match &basis {
                Some(q) => (0..r).map(|t| q[(j, t)] * coef[t]).sum(),
                None => coef[j],
            };
        }
    }
    Ok(Linear {
        weights,
        intercepts,
        features: d,
    })
}

/// Newton's method on `m` weight vectors (each `r` weights + intercept). `m == 1` is the
/// binary model with class 1 as positive.
fn newton_logistic(x: &Mat<f64>, labels: &[usize], m: usize, c: f64) -> Result<Vec<f64>, MiError> {
    let problem = LogisticProblem::new(x, labels, m, c);
    let mut theta = vec![0.0; problem.dim];
    let mut p = Vec::with_capacity(m);
    let mut f = problem.objective(&theta);
    for _ in 0..200 {
        let (g, h) = problem.gradient_and_hessian(&theta, &mut p);
        let gnorm = g.iter().map(|v| v.abs()).fold(0.0, f64::max);
        if gnorm < 1e-10 * (1.0 + c * problem.n as f64) {
            break;
        }
        let gm = Mat::from_fn(problem.dim, 1, |i, _| g[i]);
        let step = h
            .llt(Side::Lower)
            .map_err(|_| MiError::NotPositiveDefinite {
                what: "the logistic-regression Hessian",
            })?
            .solve(&gm);
        let t = problem.backtrack(&mut theta, &mut f, &g, &step);
        if t < 1e-10 {
            break;
        }
    }
    Ok(theta)
}

/// The penalised logistic objective of [`newton_logistic`] over the trials `x` (one row
/// each): `m` weight vectors of `r` weights plus an intercept, laid out one after another.
struct LogisticProblem<'a> {
    x: &'a Mat<f64>,
    labels: &'a [usize],
    /// Weight vectors: 1 for the binary model, one per class otherwise.
    m: usize,
    /// Inverse regularisation strength.
    c: f64,
    /// Trials.
    n: usize,
    /// Weights per vector, without the intercept.
    r: usize,
    /// `r + 1`: weights and intercept of one vector.
    stride: usize,
    /// All parameters: `m × stride`.
    dim: usize,
}

impl<'a> LogisticProblem<'a> {
    /// The problem for trials `x` labelled `labels`.
    fn new(x: &'a Mat<f64>, labels: &'a [usize], m: usize, c: f64) -> Self {
        let (n, r) = (x.nrows(), x.ncols());
        LogisticProblem {
            x,
            labels,
            m,
            c,
            n,
            r,
            stride: r + 1,
            dim: m * (r + 1),
        }
    }

    /// Entry `j` of trial `i` with a trailing 1 for the intercept.
    fn row(&self, i: usize, j: usize) -> f64 {
        if j < self.r { self.x[(i, j)] } else { 1.0 }
    }

    /// Score of weight vector `k` for trial `i`.
    fn score(&self, theta: &[f64], i: usize, k: usize) -> f64 {
        (0..self.stride)
            .map(|j| theta[k * self.stride + j] * self.row(i, j))
            .sum()
    }

    /// Probabilities of the classes each weight vector scores, for trial `i`, into `out`.
    fn probs(&self, theta: &[f64], i: usize, out: &mut Vec<f64>) {
        out.clear();
        for k in 0..self.m {
            out.push(self.score(theta, i, k));
        }
        if self.m == 1 {
            out[0] = 1.0 / (1.0 + (-out[0]).exp());
        } else {
            softmax(out);
        }
    }

    /// 1 when trial `i` belongs to the class weight vector `k` scores, else 0.
    fn target(&self, i: usize, k: usize) -> f64 {
        let y = self.labels[i];
        f64::from(u8::from(if self.m == 1 { y == 1 } else { y == k }))
    }

    /// `½‖W‖² + C Σᵢ loss` at `theta`.
    fn objective(&self, theta: &[f64]) -> f64 {
        let (m, r, stride) = (self.m, self.r, self.stride);
        let mut f = 0.0;
        for k in 0..m {
            f += 0.5 * (0..r).map(|j| theta[k * stride + j].powi(2)).sum::<f64>();
        }
        for i in 0..self.n {
            let zs: Vec<f64> = (0..m).map(|k| self.score(theta, i, k)).collect();
            let loss = if m == 1 {
                // log(1 + e^z) − y z, stably.
                let z = zs[0];
                z.max(0.0) + (-z.abs()).exp().ln_1p() - self.target(i, 0) * z
            } else {
                let max = zs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = max + zs.iter().map(|z| (z - max).exp()).sum::<f64>().ln();
                lse - zs[self.labels[i]]
            };
            f += self.c * loss;
        }
        f
    }

    /// Gradient and Hessian of the objective at `theta`; `p` is scratch for one trial's
    /// probabilities.
    fn gradient_and_hessian(&self, theta: &[f64], p: &mut Vec<f64>) -> (Vec<f64>, Mat<f64>) {
        let (m, r, stride, c) = (self.m, self.r, self.stride, self.c);
        let mut g = vec![0.0; self.dim];
        let mut h = Mat::<f64>::zeros(self.dim, self.dim);
        for k in 0..m {
            for j in 0..r {
                g[k * stride + j] = theta[k * stride + j];
                h[(k * stride + j, k * stride + j)] = 1.0;
            }
            // The multinomial model's intercepts are free up to a common shift.
            h[(k * stride + r, k * stride + r)] = if m == 1 { 0.0 } else { 1e-10 };
        }
        for i in 0..self.n {
            self.probs(theta, i, p);
            for k in 0..m {
                let resid = p[k] - self.target(i, k);
                for a in 0..stride {
                    g[k * stride + a] += c * resid * self.row(i, a);
                }
                for l in 0..m {
                    let wkl = if m == 1 {
                        p[0] * (1.0 - p[0])
                    } else {
                        p[k] * (f64::from(u8::from(k == l)) - p[l])
                    };
                    if wkl == 0.0 {
                        continue;
                    }
                    self.add_outer(&mut h, i, k, l, c * wkl);
                }
            }
        }
        (g, h)
    }

    /// Adds `scale · xᵢ xᵢᵀ` (with the intercept's 1) to the Hessian block of weight vectors
    /// `k` and `l`.
    fn add_outer(&self, h: &mut Mat<f64>, i: usize, k: usize, l: usize, scale: f64) {
        let stride = self.stride;
        for a in 0..stride {
            let xa = scale * self.row(i, a);
            for b in 0..stride {
                h[(k * stride + a, l * stride + b)] += xa * self.row(i, b);
            }
        }
    }

    /// Backtracking line search along `-step` from `theta` (objective `f`, gradient `g`):
    /// halves the step until the Armijo condition holds or the step is below 1e-10, then
    /// moves `theta` and `f` there. Returns the step length taken.
    fn backtrack(&self, theta: &mut Vec<f64>, f: &mut f64, g: &[f64], step: &Mat<f64>) -> f64 {
        let dim = self.dim;
        let decrease: f64 = (0..dim).map(|i| g[i] * step[(i, 0)]).sum();
        let mut t = 1.0;
        loop {
            let cand: Vec<f64> = (0..dim).map(|i| theta[i] - t * step[(i, 0)]).collect();
            let fc = self.objective(&cand);
            if fc <= *f - 1e-4 * t * decrease || t < 1e-10 {
                *theta = cand;
                *f = fc;
                return t;
            }
            t *= 0.5;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> f64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }

    fn blobs(n: usize, d: usize, classes: usize, sep: f64) -> (Vec<Vec<f64>>, Vec<usize>) {
        let mut s = 7;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for i in 0..n {
            let y = i % classes;
            xs.push(
                (0..d)
                    .map(|j| lcg(&mut s) + if j % classes == y { sep } else { 0.0 })
                    .collect(),
            );
            ys.push(y);
        }
        (xs, ys)
    }

    fn accuracy(model: &Linear, xs: &[Vec<f64>], ys: &[usize]) -> f64 {
        let mut out = vec![0.0; model.classes()];
        let hits = xs
            .iter()
            .zip(ys)
            .filter(|(x, y)| {
                model.scores(x, &mut out);
                let best = (0..out.len()).max_by(|&a, &b| out[a].total_cmp(&out[b]));
                best == Some(**y)
            })
            .count();
        hits as f64 / ys.len() as f64
    }

    /// Gradient of the binary objective at the fitted model, for weights and intercept
    /// (stationarity: `w = C Σ (y − p) x` and `Σ (y − p) = 0`, with C = 1).
    fn binary_gradient(model: &Linear, xs: &[Vec<f64>], ys: &[usize]) -> (Vec<f64>, f64) {
        let d = model.features;
        let w = &model.weights[d..];
        let mut g = w.to_vec();
        let mut gb = 0.0;
        for (x, &y) in xs.iter().zip(ys) {
            let z = model.intercepts[1] + w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
            let p = 1.0 / (1.0 + (-z).exp());
            for j in 0..d {
                g[j] += (p - y as f64) * x[j];
            }
            gb += p - y as f64;
        }
        (g, gb)
    }

    #[test]
    fn logistic_regression_gradient_vanishes_at_the_solution() {
        let (xs, ys) = blobs(60, 4, 2, 0.4);
        let model = logistic_regression(&xs, &ys, 2, 1.0).unwrap();
        let (g, gb) = binary_gradient(&model, &xs, &ys);
        assert!(
            g.iter().all(|v| v.abs() < 1e-7) && gb.abs() < 1e-7,
            "{g:?} {gb}"
        );
        assert!(accuracy(&model, &xs, &ys) > 0.7);
    }

    #[test]
    fn logistic_regression_in_the_trial_span_equals_the_full_problem() {
        // 10 trials, 30 features: solved in the 10-dimensional span; check stationarity in
        // the full space.
        let (xs, ys) = blobs(10, 30, 2, 0.5);
        let model = logistic_regression(&xs, &ys, 2, 1.0).unwrap();
        let (g, gb) = binary_gradient(&model, &xs, &ys);
        assert!(
            g.iter().all(|v| v.abs() < 1e-7) && gb.abs() < 1e-7,
            "{g:?} {gb}"
        );
    }

    #[test]
    fn multinomial_and_lda_separate_three_classes() {
        let (xs, ys) = blobs(90, 6, 3, 0.8);
        let lr = logistic_regression(&xs, &ys, 3, 1.0).unwrap();
        assert!(accuracy(&lr, &xs, &ys) > 0.8);
        let l = lda(&xs, &ys, 3).unwrap();
        assert!(accuracy(&l, &xs, &ys) > 0.8);
    }

    #[test]
    fn csp_finds_the_discriminative_channel() {
        // Class 0 has power on channel 0, class 1 on channel 2.
        let diag = |v: [f64; 3]| Mat::from_fn(3, 3, |i, j| if i == j { v[i] } else { 0.0 });
        let means = [diag([4.0, 1.0, 1.0]), diag([1.0, 1.0, 4.0])];
        let f = csp_filters(&means, 2).unwrap();
        // The two filters pick channels 0 and 2 (either order, any sign).
        let picks: Vec<usize> = f
            .chunks(3)
            .map(|r| {
                (0..3)
                    .max_by(|&a, &b| r[a].abs().total_cmp(&r[b].abs()))
                    .unwrap()
            })
            .collect();
        let mut sorted = picks.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0, 2]);
    }
}
