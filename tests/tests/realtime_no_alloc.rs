//! The real-time path allocates nothing after start-up: the simulator source, the sample
//! ring, the worker's hot loop (front-end filters, decoders, decision hand-off, latency
//! statistics) and the display feed are run under an allocation counter.

use std::sync::Arc;
use std::time::Duration;

use neuroloop_acquisition::ring::{RingShape, sample_ring};
use neuroloop_acquisition::sim::{Scenario, SimConfig, SsvepScenario};
use neuroloop_acquisition::source::SimSource;
use neuroloop_acquisition::{Pacing, ReadStatus, Source};
use neuroloop_decoders::Decoder;
use neuroloop_decoders::mi::{MiDecoder, MiDecoderConfig, MiMethod};
use neuroloop_decoders::ssvep::{SsvepCcaConfig, SsvepCcaDecoder};
use neuroloop_runtime::FrontEnd;
use neuroloop_runtime::record::record_feed;
use neuroloop_runtime::worker::{PipelineStats, ScopeFeed, Worker};
use neuroloop_tests::alloc_counter::{CountingAllocator, count_allocations};
use ringbuf::traits::Consumer;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Deterministic noise in [-0.5, 0.5) (xorshift64).
fn xorshift(state: &mut u64) -> f32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

#[test]
fn counter_sees_allocations() {
    let (v, n) = count_allocations(|| vec![1u8; 100]);
    assert_eq!(v.len(), 100);
    assert!(n >= 1, "the counter must notice an allocation");
}

#[test]
fn acquisition_and_worker_hot_loop_allocate_nothing() {
    let channels = 8;
    let cfg = SimConfig {
        sample_rate_hz: 250.0,
        channel_labels: SimConfig::labels_for(channels),
        scenario: Scenario::Ssvep(SsvepScenario::default()),
        ..SimConfig::default()
    };
    let mut source = SimSource::new(cfg, Pacing::Max, 10)
        .unwrap()
        .with_time_origin(0.0);
    let meta = source.meta().clone();
    let (mut writer, reader) = sample_ring(RingShape {
        channels,
        capacity_frames: 2500,
        max_chunk_frames: 10,
    });
    let stats = Arc::new(PipelineStats::new(Arc::clone(writer.stats()), 5));
    // Plain CCA and filter-bank CCA, and every motor-imagery method: all code paths run in
    // the measured loop.
    let mut decoders: Vec<Box<dyn Decoder>> = [0, 5]
        .into_iter()
        .map(|sub_bands| {
            Box::new(SsvepCcaDecoder::new(SsvepCcaConfig {
                window_secs: 1.0,
                step_secs: 0.1,
                sub_bands,
                ..SsvepCcaConfig::default()
            })) as Box<dyn Decoder>
        })
        .collect();
    for method in MiMethod::ALL {
        decoders.push(Box::new(
            MiDecoder::new(
                neuroloop_decoders::mi::MiModel::synthetic(
                    method,
                    &meta.channel_labels,
                    meta.sample_rate_hz,
                    1.0,
                )
                .unwrap(),
                MiDecoderConfig {
                    step_secs: 0.1,
                    ..MiDecoderConfig::default()
                },
            )
            .unwrap(),
        ));
    }
    let (scope, mut scope_rx) = ScopeFeed::new(channels, meta.sample_rate_hz);
    let front_end = FrontEnd {
        common_average: true,
        ..FrontEnd::default()
    };
    let (mut worker, mut output) = Worker::new(
        reader,
        &meta,
        &front_end,
        decoders,
        Arc::clone(&stats),
        Some(scope),
    )
    .unwrap();
    // A session recording is fed from the same loop (the recorder itself runs elsewhere).
    let (record, mut record_rx) = record_feed(channels, meta.sample_rate_hz, 1.0);
    worker.set_record_feed(record);
    let mut recorded = 0usize;
    let mut values = vec![0.0f32; 10 * channels];
    let mut stamps = vec![0.0f64; 10];
    let mut events = Vec::with_capacity(64);
    let mut outputs = 0usize;

    // One simulated minute: chunk by chunk, source → ring → worker → output ring.
    let mut run = |chunks: usize, events: &mut Vec<_>, outputs: &mut usize| {
        for _ in 0..chunks {
            let status = source
                .read(
                    &mut values,
                    &mut stamps,
                    &mut |e| {
                        writer.push_event(e);
                    },
                    Duration::ZERO,
                )
                .unwrap();
            let ReadStatus::Frames(n) = status else {
                panic!("the simulator always has data")
            };
            writer.push_chunk(&values[..n * channels], &stamps[..n], 0.0);
            worker.step();
            while let Some(e) = output.try_pop() {
                if events.len() < events.capacity() {
                    events.push(e);
                }
                *outputs += 1;
            }
            // The GUI side drains the display ring, the recorder the record ring.
            scope_rx.consumer.clear();
            recorded += record_rx.frames_waiting();
            record_rx.discard();
        }
    };
    // Warm-up: first windows fill, lazily initialised library state settles.
    run(300, &mut events, &mut outputs);
    let ((), allocations) = count_allocations(|| run(1500, &mut events, &mut outputs));
    assert_eq!(
        allocations, 0,
        "the real-time path allocated {allocations} times in 60 s of data"
    );
    // The loop really did the work: decisions every 0.1 s and ground-truth events.
    let decisions = stats.decisions.load(std::sync::atomic::Ordering::Relaxed);
    assert!(decisions >= 5 * 580, "{decisions} decisions");
    for (d, count) in stats.decisions_per_decoder.iter().enumerate() {
        let count = count.load(std::sync::atomic::Ordering::Relaxed);
        assert!(count >= 580, "decoder {d}: {count} decisions");
    }
    assert!(outputs >= 1200);
    assert_eq!(
        recorded,
        1800 * 10,
        "every raw frame reached the record ring"
    );
    assert_eq!(
        stats
            .record_dropped
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    assert_eq!(
        stats
            .ring
            .frames_dropped
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

/// Five simulated minutes of sleep (8 channels at 250 Hz, 25-frame chunks, after a 100 s
/// warm-up that fills the detectors' baselines) through `decoders`, each prepared for the
/// stream first. Returns the allocations counted during those five minutes and the decisions
/// each decoder made in them.
fn run_simulated_sleep(decoders: &mut [&mut dyn Decoder]) -> (u64, Vec<usize>) {
    use neuroloop_acquisition::sim::SleepScenario;
    use neuroloop_decoders::{DecisionBuffer, DecoderContext};
    let channels = 8;
    let cfg = SimConfig {
        sample_rate_hz: 250.0,
        channel_labels: SimConfig::labels_for(channels),
        scenario: Scenario::Sleep(SleepScenario::default()),
        ..SimConfig::default()
    };
    let mut source = SimSource::new(cfg, Pacing::Max, 25)
        .unwrap()
        .with_time_origin(0.0);
    let meta = source.meta().clone();
    let ctx = DecoderContext {
        sample_rate_hz: meta.sample_rate_hz,
        channel_labels: meta.channel_labels.clone(),
        max_block_frames: 25,
        eeg: Vec::new(),
    };
    for d in decoders.iter_mut() {
        d.prepare(&ctx).unwrap();
    }
    let mut out = DecisionBuffer::with_capacity(DecisionBuffer::DEFAULT_CAPACITY);
    let mut values = vec![0.0f32; 25 * channels];
    let mut stamps = vec![0.0f64; 25];
    let mut counts = vec![0usize; decoders.len()];
    let mut run = |chunks: usize, counts: &mut [usize]| {
        for _ in 0..chunks {
            let ReadStatus::Frames(n) = source
                .read(&mut values, &mut stamps, &mut |_| {}, Duration::ZERO)
                .unwrap()
            else {
                panic!("the simulator always has data")
            };
            out.clear();
            for (k, d) in decoders.iter_mut().enumerate() {
                out.set_decoder(k as u16);
                d.process(&values[..n * channels], &stamps[..n], &mut out);
            }
            for (k, _) in out.items() {
                counts[usize::from(*k)] += 1;
            }
        }
    };
    run(1000, &mut counts);
    counts.fill(0);
    let ((), allocations) = count_allocations(|| run(3000, &mut counts));
    (allocations, counts)
}

#[test]
fn sleep_decoders_allocate_nothing_while_detecting() {
    use neuroloop_decoders::sleep::{
        SoConfig, SoDecoder, SoDecoderConfig, SpindleDecoder, SpindleDecoderConfig,
    };
    let mut spindles = SpindleDecoder::new(SpindleDecoderConfig {
        channel: Some("Cz".into()),
        ..SpindleDecoderConfig::default()
    });
    // The simulator's isolated slow waves are small on the causal envelope: a low gate makes
    // the trigger fire.
    let mut so = SoDecoder::new(SoDecoderConfig {
        channel: Some("Fz".into()),
        trigger: SoConfig {
            min_amplitude_uv: 10.0,
            ..SoConfig::default()
        },
    });
    let (allocations, counts) = run_simulated_sleep(&mut [&mut spindles, &mut so]);
    assert_eq!(
        allocations, 0,
        "the sleep decoders allocated {allocations} times"
    );
    // Five simulated minutes at about 4 spindles and 6 slow oscillations a minute: onsets,
    // ends and phase triggers were declared.
    assert!(counts[0] >= 20, "{counts:?} decisions");
    assert!(counts[1] >= 5, "{} slow-oscillation triggers", counts[1]);
}

#[test]
fn audio_scheduler_allocates_nothing_in_the_callback() {
    use neuroloop_stimuli::audio::{
        BurstScheduler, Placement, SchedulerConfig, StimCommand, stim_queue,
    };
    let (mut tx, rx) = stim_queue(64);
    let mut scheduler = BurstScheduler::new(SchedulerConfig::default(), rx);
    let mut out = vec![0.0f32; 256 * 2];
    let mut placed = 0usize;
    let mut callback = |buffers: usize, first: usize, placed: &mut usize| {
        for b in first..first + buffers {
            let t = b as f64 * 256.0 / 48_000.0;
            // The worker side: a burst every 40 buffers, 20 ms ahead.
            if b % 40 == 0 {
                tx.send(StimCommand {
                    id: b as u64,
                    target_time: t + 0.02,
                    amplitude: 0.1,
                });
            }
            scheduler.render(&mut out, t);
            while let Some(r) = tx.try_report() {
                assert_eq!(r.placement, Placement::OnTime);
                *placed += 1;
            }
        }
    };
    callback(100, 0, &mut placed);
    let ((), allocations) = count_allocations(|| callback(4000, 100, &mut placed));
    assert_eq!(
        allocations, 0,
        "the audio path allocated {allocations} times"
    );
    assert!(placed >= 100, "{placed} bursts placed");
}

#[test]
fn stimulation_policy_and_audio_queue_allocate_nothing() {
    use neuroloop_decoders::Decision;
    use neuroloop_runtime::stimulation::{StimController, StimPolicy};
    use neuroloop_stimuli::audio::{BurstScheduler, SchedulerConfig, stim_queue};
    let (tx, rx) = stim_queue(64);
    let mut audio = BurstScheduler::new(SchedulerConfig::default(), rx);
    let mut controller = StimController::new(StimPolicy::default(), 1, 0, 0, Some(tx));
    let mut out = vec![0.0f32; 480 * 2];
    let block = vec![5.0f32; 25 * 8];
    let stamps: Vec<f64> = (0..25).map(|i| f64::from(i) / 250.0).collect();
    let mut events = 0usize;
    let mut run = |from: usize, to: usize, events: &mut usize| {
        for k in from..to {
            // 10 ms audio buffers; a slow-oscillation trigger every second, 50 ms ahead.
            let t = k as f64 * 0.01;
            controller.scan_block(&block, &stamps, 8);
            if k % 100 == 0 {
                let d = Decision {
                    class: 0,
                    score: 60.0,
                    confidence: 1.0,
                    confident: true,
                    sample_time: t,
                    window_start: t + 0.05,
                    window_secs: -0.05,
                };
                *events += usize::from(controller.on_decision(1, &d).is_some());
            }
            audio.render(&mut out, t);
            while controller.poll_onset().is_some() {
                *events += 1;
            }
        }
    };
    run(0, 1000, &mut events);
    let ((), allocations) = count_allocations(|| run(1000, 20_000, &mut events));
    assert_eq!(allocations, 0, "stimulation allocated {allocations} times");
    // 200 s with a trigger a second: 200 trigger events, and a burst (commanded on every
    // third trigger by the 2.5 s interval, capped at 12 a minute) makes an onset event.
    assert!(events > 230, "{events} events");
}

#[test]
fn neural_spindle_detector_allocates_nothing_per_window() {
    use neuroloop_decoders::onnx::{ModelCard, SPINDLE_NET_CARD, load_spindle_net};
    use neuroloop_decoders::sleep::{SpindleDecoder, SpindleEngine};
    if let Err(e) = neuroloop_decoders::onnx::init() {
        eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
        return;
    }
    let card = ModelCard::shipped(SPINDLE_NET_CARD).unwrap();
    let net = load_spindle_net(&card).unwrap();
    let mut decoder = SpindleDecoder::with_engine(Some("Cz".into()), SpindleEngine::Net(net));
    // Five simulated minutes: 6000 model calls.
    let (allocations, counts) = run_simulated_sleep(&mut [&mut decoder]);
    let SpindleEngine::Net(net) = decoder.engine() else {
        unreachable!()
    };
    assert_eq!(net.faults(), 0);
    assert_eq!(
        allocations, 0,
        "the neural spindle detector allocated {allocations} times in 6000 model calls"
    );
    assert!(counts[0] >= 10, "{} decisions", counts[0]);
}

/// Prepares `decoder` for a stream of `labels` at `fs` and feeds it 16-frame chunks of noise,
/// reporting a flicker onset every `onset_every_secs` when given: first until `warm_up`
/// decisions came (the network's first call sets up its arena), then one more minute with
/// allocations counted. Returns the allocations of that minute and every decision made.
fn network_minute_allocations(
    decoder: &mut dyn Decoder,
    labels: &[String],
    fs: f64,
    onset_every_secs: Option<f64>,
    warm_up: usize,
) -> (u64, usize) {
    use neuroloop_decoders::{DecisionBuffer, DecoderContext};
    let (n, chunk) = (labels.len(), 16usize);
    decoder
        .prepare(&DecoderContext {
            sample_rate_hz: fs,
            channel_labels: labels.to_vec(),
            max_block_frames: chunk,
            eeg: Vec::new(),
        })
        .unwrap();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0.0f32; chunk * n];
    let mut stamps = vec![0.0f64; chunk];
    let mut out = DecisionBuffer::with_capacity(16);
    let mut t = 0usize;
    let mut decisions = 0usize;
    let onset_frames = onset_every_secs.map(|secs| (secs * fs) as usize);
    let mut step = |decoder: &mut dyn Decoder, decisions: &mut usize| {
        for (k, s) in stamps.iter_mut().enumerate() {
            *s = (t + k) as f64 / fs;
            if onset_frames.is_some_and(|every| (t + k).is_multiple_of(every)) {
                decoder.stimulus_onset(*s);
            }
        }
        for v in block.iter_mut() {
            *v = xorshift(&mut state) * 20.0;
        }
        out.clear();
        decoder.process(&block, &stamps, &mut out);
        *decisions += out.items().len();
        t += chunk;
    };
    while decisions < warm_up {
        step(decoder, &mut decisions);
    }
    let ((), allocations) = count_allocations(|| {
        for _ in 0..(60.0 * fs) as usize / chunk {
            step(decoder, &mut decisions);
        }
    });
    (allocations, decisions)
}

/// The Rust side of the network decoder (filter, window, ONNX call through preallocated
/// tensors) allocates nothing per decision; what ONNX Runtime does inside is its own arena's
/// business and not counted here.
#[test]
fn neural_motor_imagery_decoder_allocates_nothing_per_decision() {
    use neuroloop_decoders::mi::MiNet;
    if let Err(e) = neuroloop_decoders::onnx::init() {
        eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
        return;
    }
    let net = MiNet::shipped().unwrap();
    let cfg = net.config().clone();
    let mut decoder = MiDecoder::with_net(net, MiDecoderConfig::default());
    // Warm-up: fill the window and run the network once; then one minute: 240 network calls.
    let (allocations, decisions) =
        network_minute_allocations(&mut decoder, &cfg.channels, cfg.sample_rate_hz, None, 2);
    assert_eq!(
        allocations, 0,
        "the motor-imagery network decoder allocated {allocations} times"
    );
    assert!(decisions > 230, "{decisions} decisions");
}

/// The onset-locked SSVEP network decoder (filter bank, ring windows, onset search, ONNX call
/// through preallocated tensors) allocates nothing per onset and decision on the Rust side.
#[test]
fn neural_ssvep_decoder_allocates_nothing_per_decision() {
    use neuroloop_decoders::ssvep::SsvepNet;
    use neuroloop_decoders::ssvep::onset::SsvepOnsetDecoder;
    if let Err(e) = neuroloop_decoders::onnx::init() {
        eprintln!("SKIPPED: ONNX Runtime is not installed here ({e}); run scripts/setup.sh");
        return;
    }
    let net = SsvepNet::shipped().unwrap();
    let cfg = net.config().clone();
    let mut decoder = SsvepOnsetDecoder::net(net, 0.2);
    // A flicker onset every 3 s; warm-up: the first trial's decision runs the network once;
    // then one minute: 20 onsets and decisions.
    let (allocations, decisions) = network_minute_allocations(
        &mut decoder,
        &cfg.channels,
        cfg.sample_rate_hz,
        Some(3.0),
        1,
    );
    assert_eq!(
        allocations, 0,
        "the SSVEP network decoder allocated {allocations} times"
    );
    assert!(decisions >= 20, "{decisions} decisions");
}

#[test]
fn trca_scoring_allocates_nothing() {
    use neuroloop_decoders::ssvep::trca::{TrcaKind, TrcaModel, TrcaScorer};
    // 40 classes, 9 channels, 1 s at 250 Hz, 5 bands: calibration trials of noise suffice to
    // exercise every path.
    let (classes, ch, n, bands) = (40, 9, 250, 5);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = move || xorshift(&mut state);
    let trials: Vec<Vec<f32>> = (0..2 * classes)
        .map(|_| (0..bands * ch * n).map(|_| noise()).collect())
        .collect();
    let refs: Vec<&[f32]> = trials.iter().map(Vec::as_slice).collect();
    let labels: Vec<usize> = (0..2 * classes).map(|i| i % classes).collect();
    let weights = neuroloop_dsp::filterbank::fbcca_weights(bands, 1.25, 0.25);
    let model = TrcaModel::fit(&refs, &labels, classes, ch, n, &weights).unwrap();
    for kind in [TrcaKind::Plain, TrcaKind::Ensemble] {
        let mut scorer = TrcaScorer::new(model.clone(), kind);
        let mut out = vec![0.0; classes];
        let window: Vec<f32> = (0..bands * ch * n).map(|_| noise()).collect();
        scorer.score(&window, &mut out); // warm-up
        let ((), allocations) = count_allocations(|| {
            for _ in 0..200 {
                scorer.score(&window, &mut out);
            }
        });
        assert_eq!(allocations, 0, "{kind:?}");
        assert!(out.iter().all(|v| v.is_finite()));
    }
}

#[test]
fn onset_locked_trca_decoder_allocates_nothing_and_ignores_chunking() {
    use neuroloop_acquisition::TruthKind;
    use neuroloop_acquisition::sim::Simulator;
    use neuroloop_decoders::DecoderContext;
    use neuroloop_decoders::decision::DecisionBuffer;
    use neuroloop_decoders::ssvep::onset::{SsvepOnsetDecoder, SsvepTrcaModel, TrcaFitConfig};
    let fs = 250.0;
    let targets = [8.0, 9.2, 11.6, 13.4];
    let mut sim = Simulator::new(SimConfig {
        scenario: Scenario::Ssvep(SsvepScenario {
            targets: targets
                .iter()
                .enumerate()
                .map(|(i, &f)| neuroloop_acquisition::sim::SsvepTarget {
                    freq_hz: f,
                    phase_rad: i as f64 * std::f64::consts::FRAC_PI_2,
                })
                .collect(),
            amplitude_uv: 6.0,
            ..SsvepScenario::default()
        }),
        ..SimConfig::default()
    })
    .unwrap();
    let ch = sim.channels();
    let labels = sim.meta().channel_labels.clone();
    let frames = (200.0 * fs) as usize;
    let mut data = vec![0.0f32; frames * ch];
    sim.generate(&mut data);
    let origin = sim.frame_time(0);
    let mut onsets = Vec::new();
    sim.drain_truth(|t| {
        if let TruthKind::SsvepTarget { index, .. } = t.kind {
            onsets.push((t.onset, usize::from(index)));
        }
    });
    // Fit on the first half, decode the second.
    let half = frames / 2;
    let trials: Vec<(usize, usize)> = onsets
        .iter()
        .map(|&(t, k)| (((t - origin) * fs).round() as usize, k))
        .filter(|&(f, _)| f < half)
        .collect();
    let picks: Vec<usize> = (0..ch).collect();
    let cfg = TrcaFitConfig {
        folds: 0,
        ..TrcaFitConfig::default()
    };
    let model = SsvepTrcaModel::fit(
        &data[..half * ch],
        &labels,
        fs,
        &picks,
        &trials,
        &targets,
        &cfg,
        "simulator",
    )
    .unwrap();
    let stamps: Vec<f64> = (0..frames).map(|i| origin + i as f64 / fs).collect();
    let run = |chunk: usize, out: &mut Vec<(u16, f64, bool)>, count: bool| -> u64 {
        let mut decoder = SsvepOnsetDecoder::trca(model.clone(), 0.2).unwrap();
        decoder
            .prepare(&DecoderContext {
                sample_rate_hz: fs,
                channel_labels: labels.clone(),
                max_block_frames: 64,
                eeg: Vec::new(),
            })
            .unwrap();
        let mut buffer = DecisionBuffer::with_capacity(64);
        let mut decisions = Vec::with_capacity(1000);
        let mut next_onset = onsets.iter().position(|&(t, _)| t >= stamps[half]).unwrap();
        let mut work = |decisions: &mut Vec<(u16, f64, bool)>| {
            let mut f = half;
            while f < frames {
                let n = chunk.min(frames - f);
                while next_onset < onsets.len() && onsets[next_onset].0 <= stamps[f + n - 1] {
                    decoder.stimulus_onset(onsets[next_onset].0);
                    next_onset += 1;
                }
                decoder.process(&data[f * ch..(f + n) * ch], &stamps[f..f + n], &mut buffer);
                for &(_, d) in buffer.items() {
                    decisions.push((d.class, d.sample_time, d.confident));
                }
                buffer.clear();
                f += n;
            }
        };
        let allocations = if count {
            count_allocations(|| work(&mut decisions)).1
        } else {
            work(&mut decisions);
            0
        };
        *out = decisions;
        allocations
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let allocations = run(25, &mut a, true);
    assert_eq!(allocations, 0);
    run(7, &mut b, false);
    // Same decisions for 25- and 7-frame chunks (stamps equal up to rounding).
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.0, x.2), (y.0, y.2));
        assert!((x.1 - y.1).abs() < 1e-9, "{x:?} vs {y:?}");
    }
    // Each held-out trial ends in a decision; the last of a trial is scored.
    let held_out: Vec<&(f64, usize)> = onsets.iter().filter(|o| o.0 >= stamps[half]).collect();
    let mut correct = 0;
    for (i, &&(t, k)) in held_out.iter().enumerate() {
        let end = held_out.get(i + 1).map_or(f64::INFINITY, |o| o.0);
        if let Some(last) = a.iter().rfind(|d| d.1 > t && d.1 < end) {
            correct += usize::from(usize::from(last.0) == k);
        }
    }
    println!("{correct}/{} held-out trials", held_out.len());
    assert!(correct as f64 >= 0.8 * held_out.len() as f64);
}
