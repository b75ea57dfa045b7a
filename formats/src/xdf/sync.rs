//! Time-stamp post-processing: clock-offset correction, clock-reset handling and dejittering.
//!
//! The behaviour follows the published description of the reference Python importer's
//! defaults, so that a stream loaded here and there has the same time stamps:
//!
//! * Clock offsets are split into segments at clock resets. A reset is a step backwards in
//!   measurement time, or an interval between measurements *and* an offset jump that are both
//!   far (in seconds and in robust standard deviations) from their medians.
//! * Within each segment the offset is modelled as a straight line in stream time, fitted with
//!   a Huber loss (quadratic for residuals below the winsor threshold, linear beyond it, so
//!   that single bad measurements barely move the fit). The fit is solved by ADMM.
//! * Each sample is assigned to the clock segment whose measurement times it is closest to,
//!   and its time stamp `t` becomes `t + a + b·t`.
//! * Dejittering replaces the time stamps of regularly sampled streams, separately in every
//!   run between large gaps, by the least-squares line through (sample index, time stamp).

use super::{ReadOptions, SampleRange, XdfStream};

pub(super) fn post_process(streams: &mut [XdfStream], options: &ReadOptions) {
    for stream in streams {
        if options.synchronize_clocks {
            if options.truncate_corrupted_offsets {
                truncate_corrupted_offsets(stream);
            }
            synchronize(stream, options);
        }
        if options.dejitter_timestamps {
            dejitter(stream, options);
        } else {
            measure_rate_without_dejitter(stream);
        }
    }
}

/// Median as numpy defines it (mean of the two middle values for even lengths); 0 for no data.
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// A stream's clock offsets as two series: collection times and offsets.
fn offset_series(stream: &XdfStream) -> (Vec<f64>, Vec<f64>) {
    stream
        .clock_offsets
        .iter()
        .map(|offset| (offset.collection_time_s, offset.offset_s))
        .unzip()
}

fn differences(values: &[f64]) -> Vec<f64> {
    values.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

/// Some LSL outlets, when destroyed while an inlet is connected, deliver one extra sample and a
/// garbage final clock offset. That case is recognised only when both symptoms are present:
/// more samples than the footer counts, and a final offset that is an outlier in time or value.
fn truncate_corrupted_offsets(stream: &mut XdfStream) {
    let Some(footer_count) = stream
        .footer
        .as_ref()
        .and_then(|footer| footer.sample_count)
    else {
        return;
    };
    let Ok(footer_count) = usize::try_from(footer_count) else {
        return;
    };
    if stream.timestamps_s.len() <= footer_count || stream.clock_offsets.len() < 3 {
        return;
    }
    let (times, values) = offset_series(stream);
    let intervals = differences(&times);
    let (Some((&last_interval, earlier_intervals)), Some((&last_value, earlier_values))) =
        (intervals.split_last(), values.split_last())
    else {
        return;
    };
    let median_interval = median(earlier_intervals);
    let last_interval = last_interval.abs();
    let time_ratio = if median_interval > 0.0 {
        last_interval / median_interval
    } else if last_interval > 0.0 {
        f64::INFINITY
    } else {
        1.0
    };
    let median_value = median(earlier_values);
    let deviations: Vec<f64> = earlier_values
        .iter()
        .map(|value| (value - median_value).abs())
        .collect();
    let mad = median(&deviations);
    // 1.4826 scales a median absolute deviation to a standard deviation for normal data.
    let value_z = if mad > f64::EPSILON {
        (last_value - median_value).abs() / (1.4826 * mad)
    } else {
        0.0
    };
    if time_ratio > 10.0 || value_z > 10.0 {
        stream.clock_offsets.pop();
        stream.timestamps_s.truncate(footer_count);
        let keep_values = footer_count.saturating_mul(stream.channel_count());
        truncate_values(&mut stream.values, keep_values);
    }
}

fn truncate_values(values: &mut super::XdfValues, keep: usize) {
    use super::XdfValues as V;
    match values {
        V::Int8(v) => v.truncate(keep),
        V::Int16(v) => v.truncate(keep),
        V::Int32(v) => v.truncate(keep),
        V::Int64(v) => v.truncate(keep),
        V::Float32(v) => v.truncate(keep),
        V::Double64(v) => v.truncate(keep),
        V::String(v) => v.truncate(keep),
    }
}

/// Marks differences that are outliers both relative to the spread of all differences (in
/// median absolute deviations) and in absolute terms (seconds).
fn glitches(diffs: &[f64], threshold_stds: f64, threshold_s: f64) -> Vec<bool> {
    let center = median(diffs);
    let shifted: Vec<f64> = diffs.iter().map(|diff| diff - center).collect();
    let absolute: Vec<f64> = shifted.iter().map(|value| value.abs()).collect();
    // The epsilon keeps the scale positive when most differences are identical.
    let mad = median(&absolute) + f64::EPSILON;
    shifted
        .iter()
        .map(|value| (value / mad).abs() > threshold_stds && value.abs() > threshold_s)
        .collect()
}

/// Inclusive index ranges between breaks; `breaks[i]` separates element `i` from `i + 1`.
fn ranges_between(breaks: &[bool]) -> Vec<SampleRange> {
    let mut ranges = Vec::new();
    let mut first = 0;
    for (index, &is_break) in breaks.iter().enumerate() {
        if is_break {
            ranges.push(SampleRange { first, last: index });
            first = index + 1;
        }
    }
    ranges.push(SampleRange {
        first,
        last: breaks.len(),
    });
    ranges
}

fn clock_reset_ranges(times: &[f64], values: &[f64], options: &ReadOptions) -> Vec<SampleRange> {
    let time_diffs = differences(times);
    let value_diffs = differences(values);
    let time_glitch = glitches(
        &time_diffs,
        options.clock_reset_threshold_stds,
        options.clock_reset_threshold_s,
    );
    let value_glitch = glitches(
        &value_diffs,
        options.clock_reset_threshold_offset_stds,
        options.clock_reset_threshold_offset_s,
    );
    let breaks: Vec<bool> = time_diffs
        .iter()
        .zip(time_glitch.iter().zip(&value_glitch))
        .map(|(&diff, (&time, &value))| diff < 0.0 || (time && value))
        .collect();
    ranges_between(&breaks)
}

/// Intercept and slope of the offset model `offset = a + b·t`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Line {
    intercept: f64,
    slope: f64,
}

/// Fits `values ≈ a + b·times` with a Huber loss whose threshold is `winsor_s`.
///
/// Both variables are divided by the threshold so the Huber kink sits at 1, and the times are
/// shifted to start at 0 to keep the 2×2 normal equations well conditioned. The problem
/// `min Σ huber(A·x − y)` is split as `A·x − y = z` and solved by ADMM with penalty 1 for a
/// fixed 1000 iterations. Returns `None` when the normal equations are singular (all
/// measurements at one time).
fn huber_line(times: &[f64], values: &[f64], winsor_s: f64) -> Option<Line> {
    const ITERATIONS: usize = 1000;
    const RHO: f64 = 1.0;
    let scaled: Vec<f64> = times.iter().map(|time| time / winsor_s).collect();
    let shift = scaled.iter().copied().fold(f64::INFINITY, f64::min);
    let a: Vec<f64> = scaled.iter().map(|value| value - shift).collect();
    let y: Vec<f64> = values.iter().map(|value| value / winsor_s).collect();
    let n = a.len() as f64;
    let sum_a: f64 = a.iter().sum();
    let sum_aa: f64 = a.iter().map(|value| value * value).sum();
    // Cholesky factor of AᵀA = [[n, Σa], [Σa, Σa²]].
    let l11 = n.sqrt();
    let l21 = sum_a / l11;
    let l22_squared = sum_aa - l21 * l21;
    if !(l11 > 0.0 && l22_squared > 0.0 && l22_squared.is_finite()) {
        return None;
    }
    let l22 = l22_squared.sqrt();
    let solve = |b0: f64, b1: f64| {
        let w0 = b0 / l11;
        let w1 = (b1 - l21 * w0) / l22;
        let x1 = w1 / l22;
        let x0 = (w0 - l21 * x1) / l11;
        (x0, x1)
    };
    let aty0: f64 = y.iter().sum();
    let aty1: f64 = a.iter().zip(&y).map(|(ai, yi)| ai * yi).sum();
    let mut z = vec![0.0; y.len()];
    let mut u = vec![0.0; y.len()];
    let mut x = (0.0, 0.0);
    for _ in 0..ITERATIONS {
        let (mut b0, mut b1) = (aty0, aty1);
        for ((ai, zi), ui) in a.iter().zip(&z).zip(&u) {
            b0 += zi - ui;
            b1 += ai * (zi - ui);
        }
        x = solve(b0, b1);
        for (((ai, yi), zi), ui) in a.iter().zip(&y).zip(z.iter_mut()).zip(u.iter_mut()) {
            let d = x.0 + x.1 * ai - yi + *ui;
            // Proximal step of the Huber function: shrink large residuals towards the
            // threshold, scale small ones.
            let inverse = if d == 0.0 { 0.0 } else { 1.0 / d };
            let shrink = (1.0 - (1.0 + 1.0 / RHO) * inverse.abs()).max(0.0);
            *zi = RHO / (1.0 + RHO) * d + 1.0 / (1.0 + RHO) * shrink * d;
            *ui = d - *zi;
        }
    }
    let intercept_scaled = x.0 - x.1 * shift;
    Some(Line {
        intercept: intercept_scaled * winsor_s,
        slope: x.1,
    })
}

fn synchronize(stream: &mut XdfStream, options: &ReadOptions) {
    if stream.timestamps_s.is_empty() || stream.clock_offsets.is_empty() {
        return;
    }
    let (times, values) = offset_series(stream);
    let ranges = if options.handle_clock_resets && times.len() > 1 {
        clock_reset_ranges(&times, &values, options)
    } else {
        vec![SampleRange {
            first: 0,
            last: times.len() - 1,
        }]
    };
    let lines: Vec<Line> = ranges
        .iter()
        .map(|range| {
            if range.first == range.last {
                Line {
                    intercept: values[range.first],
                    slope: 0.0,
                }
            } else {
                let span = range.first..range.last + 1;
                // A segment whose offsets cannot be fitted leaves its time stamps unchanged.
                huber_line(
                    &times[span.clone()],
                    &values[span],
                    options.winsor_threshold_s,
                )
                .unwrap_or(Line {
                    intercept: 0.0,
                    slope: 0.0,
                })
            }
        })
        .collect();
    let timestamps = &mut stream.timestamps_s;
    let sample_count = timestamps.len();
    let apply = |slice: &mut [f64], line: Line| {
        for timestamp in slice {
            *timestamp += line.intercept + line.slope * *timestamp;
        }
    };
    if let ([line], [_]) = (lines.as_slice(), ranges.as_slice()) {
        apply(timestamps, *line);
        stream.clock_segments.push(SampleRange {
            first: 0,
            last: sample_count - 1,
        });
        return;
    }
    // Time stamps are assumed to increase; each clock segment takes samples until the first
    // one that is closer to the next segment's first measurement than to its own last one.
    let mut start = 0;
    for (line, range) in lines.iter().zip(&ranges) {
        let next = range.last + 1;
        let stop = match (times.get(range.last), times.get(next)) {
            (Some(&current_end), Some(&next_start)) => timestamps[start..]
                .iter()
                .position(|t| (t - current_end).abs() >= (t - next_start).abs())
                .map_or(sample_count, |position| start + position),
            _ => sample_count,
        };
        if stop > start {
            stream.clock_segments.push(SampleRange {
                first: start,
                last: stop - 1,
            });
            apply(&mut timestamps[start..stop], *line);
            start = stop;
        }
    }
}

fn dejitter(stream: &mut XdfStream, options: &ReadOptions) {
    stream.effective_srate_hz = 0.0;
    let count = stream.timestamps_s.len();
    if count == 0 {
        return;
    }
    let rate_hz = stream.header.nominal_srate_hz;
    let whole = SampleRange {
        first: 0,
        last: count - 1,
    };
    if rate_hz == 0.0 {
        stream.segments = vec![whole];
        return;
    }
    if stream.header.can_drop_samples {
        // Regularising a stream that skips samples would squeeze the skipped intervals away.
        stream.segments = vec![whole];
        measure_rate(stream);
        return;
    }
    let threshold_s = options
        .jitter_break_threshold_s
        .max(options.jitter_break_threshold_samples / rate_hz);
    let breaks: Vec<bool> = differences(&stream.timestamps_s)
        .iter()
        .map(|diff| diff.abs() > threshold_s)
        .collect();
    let segments = ranges_between(&breaks);
    for segment in &segments {
        let Some(slice) = stream.timestamps_s.get_mut(segment.first..=segment.last) else {
            continue;
        };
        fit_line_in_place(slice, segment.first);
    }
    let mut intervals = 0usize;
    let mut duration_s = 0.0;
    for segment in &segments {
        intervals += segment.last - segment.first;
        duration_s += stream.timestamps_s[segment.last] - stream.timestamps_s[segment.first];
    }
    if intervals > 0 {
        stream.effective_srate_hz = intervals as f64 / duration_s;
    }
    stream.segments = segments;
}

/// Replaces `timestamps` by their least-squares line over sample indices `first..`. Centring
/// both variables keeps the arithmetic exact enough at time stamps of 10^6 s.
fn fit_line_in_place(timestamps: &mut [f64], first: usize) {
    let n = timestamps.len();
    if n < 2 {
        return;
    }
    let mean_index = first as f64 + (n - 1) as f64 / 2.0;
    let mean_time = timestamps.iter().sum::<f64>() / n as f64;
    let mut covariance = 0.0;
    let mut variance = 0.0;
    for (offset, timestamp) in timestamps.iter().enumerate() {
        let di = (first + offset) as f64 - mean_index;
        covariance += di * (timestamp - mean_time);
        variance += di * di;
    }
    let slope = covariance / variance;
    for (offset, timestamp) in timestamps.iter_mut().enumerate() {
        let di = (first + offset) as f64 - mean_index;
        *timestamp = mean_time + slope * di;
    }
}

fn measure_rate(stream: &mut XdfStream) {
    let count = stream.timestamps_s.len();
    if let (Some(first), Some(last)) = (stream.timestamps_s.first(), stream.timestamps_s.last()) {
        let duration_s = last - first;
        if count > 1 && duration_s > 0.0 {
            stream.effective_srate_hz = (count - 1) as f64 / duration_s;
        }
    }
}

fn measure_rate_without_dejitter(stream: &mut XdfStream) {
    stream.effective_srate_hz = 0.0;
    let count = stream.timestamps_s.len();
    if let (Some(first), Some(last)) = (stream.timestamps_s.first(), stream.timestamps_s.last()) {
        // The sign is kept (a clock reset can make it negative) so the number agrees with
        // what the reference importer reports for undejittered streams.
        let duration_s = last - first;
        if stream.header.nominal_srate_hz != 0.0 && count > 1 && duration_s != 0.0 {
            stream.effective_srate_hz = (count - 1) as f64 / duration_s;
        }
    }
    if let Some(last) = stream.timestamps_s.len().checked_sub(1) {
        stream.segments = vec![SampleRange { first: 0, last }];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huber_line_recovers_an_exact_line() {
        let times: Vec<f64> = (0..20).map(|i| 1000.0 + f64::from(i) * 5.0).collect();
        let values: Vec<f64> = times.iter().map(|t| -0.25 + 1e-6 * t).collect();
        let line = huber_line(&times, &values, 1e-4).unwrap();
        assert!((line.intercept + 0.25).abs() < 1e-9, "{line:?}");
        assert!((line.slope - 1e-6).abs() < 1e-12, "{line:?}");
    }

    #[test]
    fn huber_line_ignores_one_outlier() {
        let times: Vec<f64> = (0..20).map(|i| f64::from(i) * 5.0).collect();
        let mut values = vec![0.010; 20];
        values[7] = 0.5;
        let line = huber_line(&times, &values, 1e-4).unwrap();
        assert!((line.intercept - 0.010).abs() < 1e-4, "{line:?}");
    }

    #[test]
    fn huber_line_rejects_single_time() {
        assert_eq!(huber_line(&[3.0, 3.0], &[1.0, 2.0], 1e-4), None);
    }

    #[test]
    fn ranges_split_after_breaks() {
        let ranges = ranges_between(&[false, true, false]);
        assert_eq!(
            ranges,
            vec![
                SampleRange { first: 0, last: 1 },
                SampleRange { first: 2, last: 3 }
            ]
        );
    }

    #[test]
    fn median_matches_numpy_definition() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
