use super::*;

/// Power of one frequency over a segment (single-bin DFT), normalised per sample.
fn tone_power(x: &[f64], freq_hz: f64, fs: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let ph = TAU * freq_hz * i as f64 / fs;
        re += v * ph.cos();
        im += v * ph.sin();
    }
    (re * re + im * im) / (x.len() as f64).powi(2)
}

fn run(cfg: SimConfig, frames: usize) -> (Vec<f32>, Vec<TruthEvent>) {
    let mut sim = Simulator::new(cfg).unwrap();
    let n = sim.channels();
    let mut out = vec![0.0f32; frames * n];
    sim.generate(&mut out);
    let mut truth = Vec::new();
    sim.drain_truth(|e| truth.push(e));
    (out, truth)
}

fn channel(data: &[f32], n: usize, c: usize, range: std::ops::Range<usize>) -> Vec<f64> {
    range.map(|f| f64::from(data[f * n + c])).collect()
}

/// Mu-band (10-12 Hz) power of channel `c` of 8-channel 250 Hz `data` over `range` frames.
fn mu_power(data: &[f32], c: usize, range: std::ops::Range<usize>) -> f64 {
    let x = channel(data, 8, c, range);
    (10.0..=12.0)
        .step_by_f(0.5)
        .into_iter()
        .map(|f| tone_power(&x, f, 250.0))
        .sum::<f64>()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ssvep_cfg() -> SimConfig {
    SimConfig {
        scenario: Scenario::Ssvep(SsvepScenario::default()),
        ..SimConfig::default()
    }
}

#[test]
fn same_config_gives_bit_identical_output_whatever_the_chunking() {
    let cfg = ssvep_cfg();
    let (whole, truth_whole) = run(cfg.clone(), 3000);
    let mut sim = Simulator::new(cfg).unwrap();
    let n = sim.channels();
    let mut pieces = Vec::new();
    let mut buf = vec![0.0f32; 7 * n];
    while pieces.len() < whole.len() {
        let want = ((whole.len() - pieces.len()) / n).min(7);
        sim.generate(&mut buf[..want * n]);
        pieces.extend_from_slice(&buf[..want * n]);
    }
    assert_eq!(whole, pieces);
    let mut truth = Vec::new();
    sim.drain_truth(|e| truth.push(e));
    assert_eq!(truth_whole, truth);
}

#[test]
fn different_seeds_differ() {
    let (a, _) = run(SimConfig::default(), 100);
    let (b, _) = run(
        SimConfig {
            seed: 2,
            ..SimConfig::default()
        },
        100,
    );
    assert_ne!(a, b);
}

#[test]
fn background_level_is_as_configured() {
    let cfg = SimConfig {
        alpha: None,
        line_noise: None,
        ..SimConfig::default()
    };
    let (data, _) = run(cfg, 250 * 60);
    let x = channel(&data, 8, 0, 0..250 * 60);
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    let rms = (x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / x.len() as f64).sqrt();
    assert!((7.0..14.0).contains(&rms), "background RMS {rms} µV");
}

#[test]
fn background_falls_off_like_one_over_f() {
    let cfg = SimConfig {
        alpha: None,
        line_noise: None,
        sample_rate_hz: 250.0,
        ..SimConfig::default()
    };
    let fs = 250.0;
    let (data, _) = run(cfg, 250 * 120);
    let x = channel(&data, 8, 2, 0..250 * 120);
    // Average power in two bands an octave-and-more apart: 1/f means ~3 dB per octave.
    let band = |lo: f64, hi: f64| {
        let mut p = 0.0;
        let mut k = 0;
        let mut f = lo;
        while f < hi {
            for seg in x.chunks(2500) {
                p += tone_power(seg, f, fs);
            }
            k += 1;
            f += 0.5;
        }
        p / k as f64
    };
    let low = band(2.0, 4.0);
    let high = band(32.0, 34.0);
    let ratio_db = 10.0 * (low / high).log10();
    // 4 octaves at 3 dB each is 12 dB; accept a broad range (the shape is approximate).
    assert!(
        (6.0..20.0).contains(&ratio_db),
        "2-4 Hz vs 32-34 Hz: {ratio_db} dB"
    );
}

#[test]
fn alpha_is_posterior_and_line_noise_is_present() {
    let (data, _) = run(SimConfig::default(), 250 * 40);
    let oz = channel(&data, 8, 6, 0..250 * 40);
    let fz = channel(&data, 8, 0, 0..250 * 40);
    let p = |x: &[f64], f| x.chunks(500).map(|s| tone_power(s, f, 250.0)).sum::<f64>();
    assert!(
        p(&oz, 10.0) > 4.0 * p(&fz, 10.0),
        "alpha should be occipital"
    );
    assert!(p(&oz, 10.0) > 4.0 * p(&oz, 15.0), "alpha should be a peak");
    assert!(
        p(&fz, 50.0) > 10.0 * p(&fz, 45.0),
        "line noise should be a peak"
    );
}

#[test]
fn ssvep_trials_carry_their_frequency_on_occipital_channels() {
    let cfg = ssvep_cfg();
    let Scenario::Ssvep(s) = &cfg.scenario else {
        unreachable!()
    };
    let targets = s.targets.clone();
    let (data, truth) = run(cfg, 250 * 60);
    assert!(truth.len() >= 10, "{} trials in 60 s", truth.len());
    let mut correct = 0;
    for e in &truth {
        let TruthKind::SsvepTarget { index, freq_hz } = e.kind else {
            panic!("unexpected truth {e:?}")
        };
        assert_eq!(f64::from(freq_hz), targets[index as usize].freq_hz);
        let start = ((e.onset + 0.5) * 250.0) as usize;
        let end = ((e.onset + e.duration_secs) * 250.0) as usize;
        if end > 250 * 60 {
            continue;
        }
        let oz = channel(&data, 8, 6, start..end);
        let powers: Vec<f64> = targets
            .iter()
            .map(|t| tone_power(&oz, t.freq_hz, 250.0) + tone_power(&oz, 2.0 * t.freq_hz, 250.0))
            .collect();
        let best = powers
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        correct += usize::from(best == index as usize);
    }
    assert!(
        correct as f64 >= 0.8 * truth.len() as f64 - 1.0,
        "{correct}/{}",
        truth.len()
    );
}

#[test]
fn trials_follow_the_cue_schedule() {
    let (_, truth) = run(ssvep_cfg(), 250 * 30);
    // Rest 1 s, trial 4 s: onsets at 1, 6, 11, ...
    for (i, e) in truth.iter().enumerate() {
        assert!((e.onset - (1.0 + 5.0 * i as f64)).abs() < 1e-9, "{e:?}");
        assert_eq!(e.duration_secs, 4.0);
    }
    // Each block of 4 trials visits every target once.
    let mut seen: Vec<u16> = truth[..4]
        .iter()
        .map(|e| match e.kind {
            TruthKind::SsvepTarget { index, .. } => index,
            _ => unreachable!(),
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, vec![0, 1, 2, 3]);
}

#[test]
fn motor_imagery_desynchronises_the_contralateral_mu_rhythm() {
    let cfg = SimConfig {
        scenario: Scenario::MotorImagery(MiScenario::default()),
        alpha: None,
        ..SimConfig::default()
    };
    let (data, truth) = run(cfg, 250 * 120);
    let (c3, c4) = (1, 3);
    let mu = |c: usize, range: std::ops::Range<usize>| mu_power(&data, c, range);
    let (mut lr, mut rr) = (Vec::new(), Vec::new());
    for e in &truth {
        let TruthKind::MotorImagery { class } = e.kind else {
            panic!()
        };
        let start = ((e.onset + 1.0) * 250.0) as usize;
        let end = ((e.onset + e.duration_secs) * 250.0) as usize;
        if end > 250 * 120 {
            continue;
        }
        // Lateralisation index: C4 power relative to C3 power.
        let ratio = mu(c4, start..end) / mu(c3, start..end);
        match class {
            MiClass::LeftHand => lr.push(ratio),
            MiClass::RightHand => rr.push(ratio),
            _ => panic!("default classes are left and right"),
        }
    }
    let (l, r) = (median(&mut lr), median(&mut rr));
    assert!(l < 0.7 && r > 1.4, "C4/C3 mu power: left {l}, right {r}");
}

#[test]
fn motor_imagery_follows_a_paradigms_intent() {
    let intent = Arc::new(Attention::new());
    let cfg = SimConfig {
        scenario: Scenario::MotorImagery(MiScenario {
            intent: Some(Arc::clone(&intent)),
            ..MiScenario::default()
        }),
        alpha: None,
        ..SimConfig::default()
    };
    let mut sim = Simulator::new(cfg).unwrap();
    let fs = 250usize;
    let mut data = vec![0.0f32; 8 * fs * 60];
    let mut at = 0usize;
    let mut cued = Vec::new();
    // 10 trials: 4 s of imagery (alternating right, left), 2 s of nothing.
    for trial in 0..10 {
        let class = (trial + 1) % 2;
        intent.attend(class, at as f64 / fs as f64);
        cued.push((at, class));
        sim.generate(&mut data[at * 8..(at + 4 * fs) * 8]);
        at += 4 * fs;
        intent.release();
        sim.generate(&mut data[at * 8..(at + 2 * fs) * 8]);
        at += 2 * fs;
    }
    let mut truth = Vec::new();
    sim.drain_truth(|e| truth.push(e));
    assert_eq!(truth.len(), 10, "one truth event per imagery period");
    let (c3, c4) = (1, 3);
    let mu = |c: usize, range: std::ops::Range<usize>| mu_power(&data, c, range);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for ((start, class), e) in cued.iter().zip(&truth) {
        assert!((e.onset - *start as f64 / fs as f64).abs() < 1e-9);
        let expected = [MiClass::LeftHand, MiClass::RightHand][*class];
        assert_eq!(e.kind, TruthKind::MotorImagery { class: expected });
        let range = start + fs..start + 4 * fs;
        let ratio = mu(c4, range.clone()) / mu(c3, range);
        [&mut left, &mut right][*class].push(ratio);
    }
    let (l, r) = (median(&mut left), median(&mut right));
    assert!(l < 0.8 && r > 1.25, "C4/C3 mu power: left {l}, right {r}");
}

trait StepBy {
    fn step_by_f(self, step: f64) -> Vec<f64>;
}
impl StepBy for std::ops::RangeInclusive<f64> {
    fn step_by_f(self, step: f64) -> Vec<f64> {
        let mut v = Vec::new();
        let mut x = *self.start();
        while x <= *self.end() + 1e-9 {
            v.push(x);
            x += step;
        }
        v
    }
}

#[test]
fn sleep_has_spindles_and_slow_oscillations_as_reported() {
    let cfg = SimConfig {
        scenario: Scenario::Sleep(SleepScenario::default()),
        alpha: None,
        line_noise: None,
        ..SimConfig::default()
    };
    let fs = 250.0;
    let secs = 600;
    let (data, truth) = run(cfg, 250 * secs);
    let spindles: Vec<_> = truth
        .iter()
        .filter(|e| matches!(e.kind, TruthKind::Spindle { .. }))
        .collect();
    let waves: Vec<_> = truth
        .iter()
        .filter(|e| matches!(e.kind, TruthKind::SlowOscillation { .. }))
        .collect();
    // 4/min and 6/min over 10 minutes (coupled spindles add to the former).
    assert!(
        (25..=90).contains(&spindles.len()),
        "{} spindles",
        spindles.len()
    );
    assert!(
        (35..=90).contains(&waves.len()),
        "{} slow waves",
        waves.len()
    );
    let cz = 2;
    let mut inside = 0.0;
    let mut outside = 0.0;
    for e in &spindles {
        let TruthKind::Spindle { freq_hz, .. } = e.kind else {
            unreachable!()
        };
        assert!((11.0..=16.0).contains(&freq_hz));
        assert!((0.5..=2.0 + 1e-9).contains(&e.duration_secs));
        let start = (e.onset * fs) as usize;
        let len = (e.duration_secs * fs) as usize;
        if start + 3 * len > data.len() / 8 {
            continue;
        }
        let x = channel(&data, 8, cz, start..start + len);
        inside += tone_power(&x, f64::from(freq_hz), fs);
        // The same frequency a little later, usually outside a spindle.
        let y = channel(&data, 8, cz, start + 2 * len..start + 3 * len);
        outside += tone_power(&y, f64::from(freq_hz), fs);
    }
    assert!(
        inside > 5.0 * outside,
        "sigma power in {inside} vs out {outside}"
    );
    for e in &waves {
        let TruthKind::SlowOscillation {
            freq_hz,
            up_state_peak,
        } = e.kind
        else {
            unreachable!()
        };
        assert!((0.5..=1.5).contains(&freq_hz));
        assert!(up_state_peak > e.onset && up_state_peak < e.onset + e.duration_secs);
        // The signal at the up-state peak is positive and large on Fz.
        let peak = (up_state_peak * fs).round() as usize;
        if peak < data.len() / 8 {
            assert!(data[peak * 8] > 20.0, "Fz at up-state {}", data[peak * 8]);
        }
    }
}

#[test]
fn invalid_configs_are_rejected_with_a_reason() {
    let bad_rate = SimConfig {
        sample_rate_hz: 0.0,
        ..SimConfig::default()
    };
    assert_eq!(
        Simulator::new(bad_rate).err(),
        Some(SimError::BadSampleRate(0.0))
    );
    let no_channels = SimConfig {
        channel_labels: vec![],
        ..SimConfig::default()
    };
    assert_eq!(
        Simulator::new(no_channels).err(),
        Some(SimError::NoChannels)
    );
    let mut s = SsvepScenario::default();
    s.targets[0].freq_hz = 200.0;
    let err = Simulator::new(SimConfig {
        scenario: Scenario::Ssvep(s),
        ..SimConfig::default()
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("Nyquist"), "{err}");
}

#[test]
fn labels_for_many_channels() {
    assert_eq!(SimConfig::labels_for(3), vec!["Fz", "C3", "Cz"]);
    let l = SimConfig::labels_for(70);
    assert_eq!(l.len(), 70);
    assert_eq!(l[0], "FC5");
    assert_eq!(l[69], "E70");
}
