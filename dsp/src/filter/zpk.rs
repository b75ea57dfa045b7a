//! Zeros, poles and gain: analog prototypes, frequency transformations, the bilinear transform
//! and grouping into second-order sections.
//!
//! Everything here works on frequencies normalised to Nyquist (`wn = 2 f / fs`, so 1.0 is
//! Nyquist) and uses an internal sampling rate of 2, which is how `scipy.signal.iirfilter`
//! normalises its designs; following the same arithmetic keeps the coefficients within a few
//! ulps of scipy's.

use std::f64::consts::PI;

use realfft::num_complex::Complex64;

/// A transfer function as zeros, poles and gain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Zpk {
    pub z: Vec<Complex64>,
    pub p: Vec<Complex64>,
    pub k: f64,
}

/// The internal sampling rate of normalised designs (Nyquist = 1).
const FS_NORM: f64 = 2.0;

impl Zpk {
    /// Butterworth analog low-pass prototype of order `n` (cutoff 1 rad/s): poles equally spaced
    /// on the left half of the unit circle, no zeros, unit gain.
    pub fn butterworth_prototype(n: usize) -> Zpk {
        let p = (0..n)
            .map(|i| {
                // m runs over -n+1, -n+3, ..., n-1; m = 0 (odd n) gives the exactly real pole -1.
                let m = 2.0 * i as f64 - (n as f64 - 1.0);
                let theta = PI * m / (2.0 * n as f64);
                if m == 0.0 {
                    Complex64::new(-1.0, 0.0)
                } else {
                    Complex64::new(-theta.cos(), -theta.sin())
                }
            })
            .collect();
        Zpk {
            z: Vec::new(),
            p,
            k: 1.0,
        }
    }

    /// Chebyshev type I analog low-pass prototype of order `n` with `ripple_db` of pass-band
    /// ripple: poles on an ellipse; even orders have a DC gain of `-ripple_db`.
    pub fn chebyshev1_prototype(n: usize, ripple_db: f64) -> Zpk {
        let eps = (10f64.powf(0.1 * ripple_db) - 1.0).sqrt();
        let mu = 1.0 / n as f64 * (1.0 / eps).asinh();
        let p: Vec<Complex64> = (0..n)
            .map(|i| {
                let m = 2.0 * i as f64 - (n as f64 - 1.0);
                let theta = PI * m / (2.0 * n as f64);
                -Complex64::new(mu, theta).sinh()
            })
            .collect();
        let mut k = p
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, &x| acc * -x)
            .re;
        if n.is_multiple_of(2) {
            k /= (1.0 + eps * eps).sqrt();
        }
        Zpk {
            z: Vec::new(),
            p,
            k,
        }
    }

    /// Poles minus zeros.
    fn degree(&self) -> usize {
        self.p.len().saturating_sub(self.z.len())
    }

    /// Product of `-x` over `xs`, in order.
    fn prod_neg(xs: &[Complex64]) -> Complex64 {
        xs.iter().fold(Complex64::new(1.0, 0.0), |acc, &x| acc * -x)
    }

    /// Low-pass prototype to low-pass with cutoff `wo` (rad/s).
    pub fn to_lowpass(&self, wo: f64) -> Zpk {
        Zpk {
            z: self.z.iter().map(|&z| z * wo).collect(),
            p: self.p.iter().map(|&p| p * wo).collect(),
            k: self.k * wo.powi(self.degree() as i32),
        }
    }

    /// Low-pass prototype to high-pass with cutoff `wo`: poles and zeros are inverted, and
    /// zeros at infinity land at the origin.
    pub fn to_highpass(&self, wo: f64) -> Zpk {
        let mut z: Vec<Complex64> = self.z.iter().map(|&z| wo / z).collect();
        z.extend(std::iter::repeat_n(Complex64::new(0.0, 0.0), self.degree()));
        Zpk {
            z,
            p: self.p.iter().map(|&p| wo / p).collect(),
            k: self.k * (Self::prod_neg(&self.z) / Self::prod_neg(&self.p)).re,
        }
    }

    /// Low-pass prototype to band-pass centred on `wo` with bandwidth `bw`: every root splits
    /// into two, shifted towards `+wo` and `-wo`.
    pub fn to_bandpass(&self, wo: f64, bw: f64) -> Zpk {
        let split = |roots: &[Complex64]| -> Vec<Complex64> {
            let scaled: Vec<Complex64> = roots.iter().map(|&r| r * bw / 2.0).collect();
            let mut out: Vec<Complex64> = scaled
                .iter()
                .map(|&r| r + (r * r - wo * wo).sqrt())
                .collect();
            out.extend(scaled.iter().map(|&r| r - (r * r - wo * wo).sqrt()));
            out
        };
        let degree = self.degree();
        let mut z = split(&self.z);
        z.extend(std::iter::repeat_n(Complex64::new(0.0, 0.0), degree));
        Zpk {
            z,
            p: split(&self.p),
            k: self.k * bw.powi(degree as i32),
        }
    }

    /// Low-pass prototype to band-stop centred on `wo` with bandwidth `bw`: the prototype is
    /// inverted to a high-pass, split as for a band-pass, and zeros at infinity move to `±j wo`.
    pub fn to_bandstop(&self, wo: f64, bw: f64) -> Zpk {
        let split = |roots: &[Complex64]| -> Vec<Complex64> {
            let inverted: Vec<Complex64> = roots.iter().map(|&r| (bw / 2.0) / r).collect();
            let mut out: Vec<Complex64> = inverted
                .iter()
                .map(|&r| r + (r * r - wo * wo).sqrt())
                .collect();
            out.extend(inverted.iter().map(|&r| r - (r * r - wo * wo).sqrt()));
            out
        };
        let degree = self.degree();
        let mut z = split(&self.z);
        z.extend(std::iter::repeat_n(Complex64::new(0.0, wo), degree));
        z.extend(std::iter::repeat_n(Complex64::new(0.0, -wo), degree));
        Zpk {
            z,
            p: split(&self.p),
            k: self.k * (Self::prod_neg(&self.z) / Self::prod_neg(&self.p)).re,
        }
    }

    /// Bilinear transform at the internal sampling rate: analog roots map into the unit disc,
    /// zeros at infinity map to Nyquist (z = -1).
    pub fn bilinear(&self) -> Zpk {
        let fs2 = Complex64::new(2.0 * FS_NORM, 0.0);
        let map = |r: Complex64| (fs2 + r) / (fs2 - r);
        let mut z: Vec<Complex64> = self.z.iter().map(|&r| map(r)).collect();
        z.extend(std::iter::repeat_n(
            Complex64::new(-1.0, 0.0),
            self.degree(),
        ));
        let num = self
            .z
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, &r| acc * (fs2 - r));
        let den = self
            .p
            .iter()
            .fold(Complex64::new(1.0, 0.0), |acc, &r| acc * (fs2 - r));
        Zpk {
            z,
            p: self.p.iter().map(|&r| map(r)).collect(),
            k: self.k * (num / den).re,
        }
    }
}

/// Pre-warps a normalised digital frequency (1.0 = Nyquist) to the analog frequency that the
/// bilinear transform at the internal rate maps back onto it.
pub(crate) fn prewarp(wn: f64) -> f64 {
    2.0 * FS_NORM * (PI * wn / FS_NORM).tan()
}

/// A root of a real polynomial: either real, or one member (positive imaginary part) of a
/// conjugate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Root {
    Real(f64),
    Pair(Complex64),
}

impl Root {
    fn value(self) -> Complex64 {
        match self {
            Root::Real(r) => Complex64::new(r, 0.0),
            Root::Pair(c) => c,
        }
    }
    fn is_real(self) -> bool {
        matches!(self, Root::Real(_))
    }
}

/// Splits roots into conjugate pairs (kept once, positive imaginary part, averaged with the
/// conjugate of their partner) followed by real roots; pairs are ordered by real part then
/// imaginary part and reals ascending, so that ties are broken the same way every time.
fn split_roots(roots: &[Complex64]) -> Vec<Root> {
    let tol = 100.0 * f64::EPSILON;
    let mut reals = Vec::new();
    let mut upper = Vec::new();
    let mut lower = Vec::new();
    for &r in roots {
        if r.im.abs() <= tol * r.norm() {
            reals.push(r.re);
        } else if r.im > 0.0 {
            upper.push(r);
        } else {
            lower.push(r);
        }
    }
    reals.sort_by(f64::total_cmp);
    let key = |a: &Complex64, b: &Complex64| {
        a.re.total_cmp(&b.re)
            .then_with(|| a.im.abs().total_cmp(&b.im.abs()))
    };
    upper.sort_by(key);
    lower.sort_by(key);
    // Designs built here always produce exact conjugate pairs; pair each upper root with the
    // nearest conjugate of a lower one, and average away rounding differences between them.
    let mut pairs = Vec::with_capacity(upper.len());
    for u in upper {
        let best = lower
            .iter()
            .enumerate()
            .min_by(|(_, a), (_, b)| (u - a.conj()).norm().total_cmp(&(u - b.conj()).norm()))
            .map(|(i, _)| i);
        match best {
            Some(i) => {
                let l = lower.swap_remove(i);
                pairs.push(Root::Pair((u + l.conj()) / 2.0));
            }
            None => pairs.push(Root::Pair(u)),
        }
    }
    pairs.extend(reals.into_iter().map(Root::Real));
    pairs
}

/// Index of the root closest to the unit circle (first one on ties).
fn worst(roots: &[Root], filter: impl Fn(&Root) -> bool) -> Option<usize> {
    roots
        .iter()
        .enumerate()
        .filter(|(_, r)| filter(r))
        .min_by(|(_, a), (_, b)| {
            (1.0 - a.value().norm())
                .abs()
                .total_cmp(&(1.0 - b.value().norm()).abs())
        })
        .map(|(i, _)| i)
}

/// Index of the root nearest to `to` among those accepted by `filter` (first one on ties).
fn nearest(roots: &[Root], to: Complex64, filter: impl Fn(&Root) -> bool) -> Option<usize> {
    roots
        .iter()
        .enumerate()
        .filter(|(_, r)| filter(r))
        .min_by(|(_, a), (_, b)| (a.value() - to).norm().total_cmp(&(b.value() - to).norm()))
        .map(|(i, _)| i)
}

/// Monic quadratic (or lower) polynomial coefficients `[1, c1, c2]` with the given roots.
fn poly(roots: &[Complex64]) -> [f64; 3] {
    match roots {
        [] => [1.0, 0.0, 0.0],
        [a] => [1.0, -a.re, 0.0],
        [a, b] => {
            let sum = -*a - *b;
            let prod = *a * *b;
            [1.0, sum.re, prod.re]
        }
        _ => unreachable!("a second-order section has at most two roots"),
    }
}

/// One section `[b0, b1, b2, 1, a1, a2]` from its zeros and poles.
fn section(zeros: &[Complex64], poles: &[Complex64]) -> [f64; 6] {
    let b = poly(zeros);
    let a = poly(poles);
    // With fewer zeros than poles the numerator is right-aligned, i.e. delayed, exactly as
    // a polynomial in z^-1 of lower degree is stored in a second-order section.
    let shift = poles.len().saturating_sub(zeros.len());
    let mut out = [0.0, 0.0, 0.0, a[0], a[1], a[2]];
    let used = zeros.len() + 1;
    for (i, &c) in b.iter().take(used).enumerate() {
        out[i + shift] = c;
    }
    out
}

/// Groups a digital filter's roots into second-order sections with "nearest" pairing: the
/// poles closest to the unit circle are taken first and placed last in the cascade, each
/// with the zeros nearest to it, and the gain goes into the first section. This is the
/// ordering `scipy.signal.zpk2sos` uses by default for digital filters, which keeps the
/// intermediate signals of a cascade well scaled.
pub(crate) fn to_sos(zpk: &Zpk) -> Vec<[f64; 6]> {
    if zpk.z.is_empty() && zpk.p.is_empty() {
        return vec![[zpk.k, 0.0, 0.0, 1.0, 0.0, 0.0]];
    }
    let origin = Complex64::new(0.0, 0.0);
    let mut z = zpk.z.clone();
    let mut p = zpk.p.clone();
    // Equal numbers of poles and zeros, padded with roots at the origin (pure delays).
    while p.len() < z.len() {
        p.push(origin);
    }
    while z.len() < p.len() {
        z.push(origin);
    }
    let n_sections = p.len().div_ceil(2);
    if p.len() % 2 == 1 {
        p.push(origin);
        z.push(origin);
    }
    let mut zs = split_roots(&z);
    let mut ps = split_roots(&p);
    let mut sos = vec![[0.0; 6]; n_sections];
    for si in (0..n_sections).rev() {
        let Some(i1) = worst(&ps, |_| true) else {
            break;
        };
        let p1 = ps.remove(i1);
        let p1v = p1.value();
        let real_poles_left = ps.iter().filter(|r| r.is_real()).count();
        let real_zeros_left = zs.iter().filter(|r| r.is_real()).count();
        if p1.is_real() && real_poles_left == 0 {
            // The last real pole: pair it with the nearest real zero and pad with the origin.
            let zi = nearest(&zs, p1v, |r| r.is_real());
            let z1 = zi.map_or(origin, |i| zs.remove(i).value());
            sos[si] = section(&[z1, origin], &[p1v, origin]);
        } else if ps.len() + 1 == zs.len()
            && !p1.is_real()
            && real_poles_left == 1
            && real_zeros_left == 1
        {
            // One real pole and one real zero remain for a later section, so this complex
            // pole must take a complex zero pair.
            let zi = nearest(&zs, p1v, |r| !r.is_real());
            let z1 = zi.map_or(origin, |i| zs.remove(i).value());
            sos[si] = section(&[z1, z1.conj()], &[p1v, p1v.conj()]);
        } else {
            let p2v = if p1.is_real() {
                match worst(&ps, |r| r.is_real()) {
                    Some(i) => ps.remove(i).value(),
                    None => origin,
                }
            } else {
                p1v.conj()
            };
            match nearest(&zs, p1v, |_| true) {
                Some(i) => {
                    let z1 = zs.remove(i);
                    match z1 {
                        Root::Pair(c) => sos[si] = section(&[c, c.conj()], &[p1v, p2v]),
                        Root::Real(r) => {
                            let z1v = Complex64::new(r, 0.0);
                            match nearest(&zs, p1v, |r| r.is_real()) {
                                Some(j) => {
                                    let z2v = zs.remove(j).value();
                                    sos[si] = section(&[z1v, z2v], &[p1v, p2v]);
                                }
                                None => sos[si] = section(&[z1v], &[p1v, p2v]),
                            }
                        }
                    }
                }
                None => sos[si] = section(&[], &[p1v, p2v]),
            }
        }
    }
    for c in &mut sos[0][..3] {
        *c *= zpk.k;
    }
    sos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn butterworth_prototype_poles_lie_on_the_unit_circle_in_the_left_half_plane() {
        for n in 1..=9 {
            let zpk = Zpk::butterworth_prototype(n);
            assert_eq!(zpk.p.len(), n);
            for p in &zpk.p {
                assert!((p.norm() - 1.0).abs() < 1e-14);
                assert!(p.re < 0.0);
            }
        }
    }

    #[test]
    fn second_order_low_pass_has_the_textbook_coefficients() {
        // Order-2 Butterworth at a quarter of Nyquist against the closed-form bilinear design.
        let wn: f64 = 0.25;
        let zpk = Zpk::butterworth_prototype(2)
            .to_lowpass(prewarp(wn))
            .bilinear();
        let sos = to_sos(&zpk);
        assert_eq!(sos.len(), 1);
        let k = (PI * wn / 2.0).tan();
        let norm = 1.0 + std::f64::consts::SQRT_2 * k + k * k;
        let expect = [
            k * k / norm,
            2.0 * k * k / norm,
            k * k / norm,
            1.0,
            2.0 * (k * k - 1.0) / norm,
            (1.0 - std::f64::consts::SQRT_2 * k + k * k) / norm,
        ];
        for (a, b) in sos[0].iter().zip(expect) {
            assert!((a - b).abs() < 1e-14, "{:?} vs {:?}", sos[0], expect);
        }
    }

    #[test]
    fn odd_orders_end_with_a_first_order_section_padded_by_the_origin() {
        let zpk = Zpk::butterworth_prototype(3)
            .to_lowpass(prewarp(0.2))
            .bilinear();
        let sos = to_sos(&zpk);
        assert_eq!(sos.len(), 2);
        // As in scipy, the real pole shares a section with two zeros at Nyquist while the
        // complex pair takes the remaining zero and the origin.
        assert_eq!(sos.iter().filter(|s| s[2] == 0.0).count(), 1);
        assert_eq!(sos.iter().filter(|s| s[5] == 0.0).count(), 1);
    }
}
