//! The mains frequency a recording shows: 50 or 60 Hz, whichever line stands out of its
//! neighbourhood on most EEG channels, measured on the recording's first seconds before it
//! is replayed, so that the front end can notch the right line without the user saying.

/// Seconds of the recording examined.
pub const DETECT_SECS: f64 = 20.0;

/// Power of `x` at `freq_hz` (Goertzel; `rate_hz` sampling), normalised by the length.
fn power_at(x: &[f64], freq_hz: f64, rate_hz: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq_hz / rate_hz;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &v in x {
        let s0 = v + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2).max(0.0) / x.len().max(1) as f64
}

/// How far the line at `line_hz` stands out of the median power 3 to 8 Hz away on either
/// side (one side near Nyquist), or `None` when the rate cannot show it.
fn prominence(x: &[f64], line_hz: f64, rate_hz: f64) -> Option<f64> {
    let nyquist = rate_hz / 2.0;
    if line_hz + 1.0 >= nyquist {
        return None;
    }
    let mut around: Vec<f64> = [-8.0, -6.5, -5.0, -3.5, 3.5, 5.0, 6.5, 8.0]
        .iter()
        .map(|d| line_hz + d)
        .filter(|&f| f > 0.0 && f < nyquist)
        .map(|f| power_at(x, f, rate_hz))
        .collect();
    if around.len() < 3 {
        return None;
    }
    around.sort_by(f64::total_cmp);
    let floor = around[around.len() / 2];
    (floor > 0.0).then(|| power_at(x, line_hz, rate_hz) / floor)
}

/// The mains frequency `channels` (each a run of samples at `rate_hz`, the EEG ones of a
/// recording) show: for 50 and 60 Hz, the upper quartile over channels of how far the line
/// stands out of its neighbourhood; the larger one when it is at least 4, else `None`
/// (a line-free recording, or one already notched).
pub fn detect_mains(channels: &[&[f64]], rate_hz: f64) -> Option<f64> {
    let n = ((DETECT_SECS * rate_hz) as usize).max(1);
    [50.0, 60.0]
        .into_iter()
        .filter_map(|line| {
            let mut ratios: Vec<f64> = channels
                .iter()
                .filter_map(|x| {
                    let x = &x[..x.len().min(n)];
                    let finite = x.iter().all(|v| v.is_finite());
                    finite.then(|| prominence(x, line, rate_hz)).flatten()
                })
                .collect();
            if ratios.is_empty() {
                return None;
            }
            ratios.sort_by(f64::total_cmp);
            Some((line, ratios[(ratios.len() * 3 / 4).min(ratios.len() - 1)]))
        })
        .filter(|&(_, r)| r >= 4.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(line, _)| line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signal(line_hz: Option<f64>, rate_hz: f64, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..(10.0 * rate_hz) as usize)
            .map(|i| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                let noise = ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 20.0;
                let t = i as f64 / rate_hz;
                noise + line_hz.map_or(0.0, |f| 15.0 * (2.0 * std::f64::consts::PI * f * t).sin())
            })
            .collect()
    }

    #[test]
    fn the_line_that_stands_out_is_found_and_none_is_invented() {
        for (line, rate) in [
            (Some(50.0), 250.0),
            (Some(60.0), 160.0),
            (Some(60.0), 1000.0),
        ] {
            let chans: Vec<Vec<f64>> = (0..6).map(|s| signal(line, rate, s)).collect();
            let refs: Vec<&[f64]> = chans.iter().map(Vec::as_slice).collect();
            assert_eq!(detect_mains(&refs, rate), line, "{line:?} at {rate} Hz");
        }
        let clean: Vec<Vec<f64>> = (0..6).map(|s| signal(None, 250.0, s)).collect();
        let refs: Vec<&[f64]> = clean.iter().map(Vec::as_slice).collect();
        assert_eq!(detect_mains(&refs, 250.0), None);
        // 50 Hz sampling cannot show either line.
        assert_eq!(detect_mains(&refs, 50.0), None);
    }
}
