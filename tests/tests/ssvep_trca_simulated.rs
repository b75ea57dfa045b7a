//! TRCA and ensemble TRCA on phase-locked SSVEP: the simulator's 40-target JFPM set (the
//! benchmark speller's codes), calibration on the first blocks, held-out blocks scored with
//! 1-s windows from stimulus onset, beside FBCCA on the same windows. The Kalunga recordings
//! cannot show this (their LEDs are not locked to the trial onset, so templates average out).

use neuroloop_acquisition::event::TruthKind;
use neuroloop_acquisition::sim::{Scenario, SimConfig, Simulator, SsvepScenario, SsvepTarget};
use neuroloop_decoders::ssvep::cca::CcaScorer;
use neuroloop_decoders::ssvep::trca::{TrcaKind, TrcaModel, TrcaScorer};
use neuroloop_dsp::filterbank::{FilterBank, fbcca_weights};
use neuroloop_stimuli::flicker::benchmark_codes;

const FS: f64 = 250.0;
const BLOCKS: usize = 6;
const TRAIN_BLOCKS: usize = 4;

/// Filtered bands (one interleaved array each), the channel count and the trials (onset
/// frame, target).
fn simulate() -> (Vec<Vec<f32>>, usize, Vec<(usize, usize)>) {
    let targets: Vec<SsvepTarget> = benchmark_codes()
        .iter()
        .map(|c| SsvepTarget {
            freq_hz: c.freq_hz,
            phase_rad: c.phase_rad,
        })
        .collect();
    let n_targets = targets.len();
    let mut sim = Simulator::new(SimConfig {
        sample_rate_hz: FS,
        scenario: Scenario::Ssvep(SsvepScenario {
            targets,
            trial_secs: 1.2,
            rest_secs: 0.5,
            // At 6 uV FBCCA reaches about half of the 1-s trials, near what it does on the
            // benchmark data set's real 40-target recordings.
            amplitude_uv: 6.0,
            ..SsvepScenario::default()
        }),
        ..SimConfig::default()
    })
    .unwrap();
    let ch = sim.channels();
    let frames = ((BLOCKS * n_targets) as f64 * 1.7 * FS) as usize + 500;
    let mut raw = vec![0.0f32; frames * ch];
    let mut done = 0;
    while done < frames {
        let n = sim.generate(&mut raw[done * ch..]);
        done += n;
    }
    let origin = sim.frame_time(0);
    let mut trials = Vec::new();
    sim.drain_truth(|t| {
        if let TruthKind::SsvepTarget { index, .. } = t.kind {
            trials.push((
                ((t.onset - origin) * FS).round() as usize,
                usize::from(index),
            ));
        }
    });
    let mut bank = FilterBank::fbcca(5, 4);
    bank.prepare(FS, ch, 250).unwrap();
    let mut bands: Vec<Vec<f32>> = (0..5).map(|_| Vec::with_capacity(raw.len())).collect();
    for block in raw.chunks(250 * ch) {
        bank.process_interleaved(block).unwrap();
        for (b, o) in bands.iter_mut().enumerate() {
            o.extend_from_slice(bank.band_output(b));
        }
    }
    (bands, ch, trials)
}

#[test]
fn trca_decodes_forty_phase_locked_targets_from_one_second() {
    let (bands, ch, trials) = simulate();
    let n = FS as usize;
    let frames = bands[0].len() / ch;
    let trials: Vec<(usize, usize)> = trials
        .into_iter()
        .filter(|&(onset, _)| onset + n <= frames)
        .collect();
    assert!(trials.len() >= BLOCKS * 40 - 1, "{} trials", trials.len());
    let window = |onset: usize| -> Vec<f32> {
        let mut w = Vec::with_capacity(bands.len() * ch * n);
        for band in &bands {
            for c in 0..ch {
                w.extend((0..n).map(|i| band[(onset + i) * ch + c]));
            }
        }
        w
    };
    let windows: Vec<Vec<f32>> = trials.iter().map(|&(o, _)| window(o)).collect();
    let split = TRAIN_BLOCKS * 40;
    let train: Vec<&[f32]> = windows[..split].iter().map(Vec::as_slice).collect();
    let labels: Vec<usize> = trials[..split].iter().map(|t| t.1).collect();
    let weights = fbcca_weights(5, 1.25, 0.25);
    let model = TrcaModel::fit(&train, &labels, 40, ch, n, &weights).unwrap();
    let freqs: Vec<f64> = benchmark_codes().iter().map(|c| c.freq_hz).collect();
    let mut cca = CcaScorer::new(ch, n, FS, &freqs, 3).unwrap();
    let mut accuracy = Vec::new();
    for kind in [Some(TrcaKind::Plain), Some(TrcaKind::Ensemble), None] {
        let mut scorer = kind.map(|k| TrcaScorer::new(model.clone(), k));
        let mut correct = 0;
        let mut scores = vec![0.0; 40];
        let mut rho = vec![0.0; 40];
        for (w, &(_, label)) in windows[split..].iter().zip(&trials[split..]) {
            match scorer.as_mut() {
                Some(s) => s.score(w, &mut scores),
                None => {
                    scores.fill(0.0);
                    for (b, band) in w.chunks(ch * n).enumerate() {
                        cca.score(band, &mut rho);
                        for (s, r) in scores.iter_mut().zip(&rho) {
                            *s += weights[b] * r * r;
                        }
                    }
                }
            }
            let best = (0..40)
                .max_by(|&a, &b| scores[a].total_cmp(&scores[b]))
                .unwrap();
            correct += usize::from(best == label);
        }
        let acc = correct as f64 / (trials.len() - split) as f64;
        println!("{kind:?}: {:.1} % of {}", 100.0 * acc, trials.len() - split);
        accuracy.push(acc);
    }
    let (trca, etrca, fbcca) = (accuracy[0], accuracy[1], accuracy[2]);
    // Measured: TRCA 64 %, ensemble TRCA 84 %, FBCCA 49 % (chance 2.5 %).
    assert!(etrca >= 0.75, "ensemble TRCA {etrca}");
    assert!(trca >= 0.5, "TRCA {trca}");
    assert!(
        etrca > fbcca + 0.2,
        "ensemble TRCA {etrca} vs FBCCA {fbcca}"
    );
}
