//! Finding a stream as users expect: its type compared without regard to case (tools write
//! `EEG`, `eeg` or `Eeg`), the channels' own types and units read from its description, and a
//! stream of the asked name with another type named as such rather than reported missing.

use neuroloop_acquisition::lsl_io::{LslInletConfig, LslSource, MarkerOutlet, SignalOutlet};
use neuroloop_acquisition::{ChannelKind, Source, SourceError, StreamMeta};
use neuroloop_tests::{init_lsl, unique_name};

fn inlet(name: &str) -> LslInletConfig {
    LslInletConfig {
        name: Some(name.to_string()),
        resolve_timeout_secs: 5.0,
        ..LslInletConfig::default()
    }
}

#[test]
fn an_eeg_stream_is_found_whatever_the_case_of_its_type() {
    init_lsl();
    let name = unique_name("nl-lower-eeg");
    let meta = StreamMeta {
        name: name.clone(),
        content_type: "eeg".into(),
        channel_labels: vec!["Cz".into(), "ECG".into()],
        channel_kinds: vec![ChannelKind::Eeg, ChannelKind::Ecg],
        sample_rate_hz: 100.0,
        source_id: format!("{name}-src"),
        hostname: String::new(),
        line_hz: None,
        line_source: "",
        set_aside: Vec::new(),
    };
    let _outlet = SignalOutlet::new(&meta, 10).unwrap();
    let source = LslSource::open(inlet(&name)).expect("found with type EEG asked");
    assert_eq!(source.meta().content_type, "eeg");
    // The outlet described each channel's type; the inlet reads them back.
    assert_eq!(
        source.meta().channel_kinds,
        vec![ChannelKind::Eeg, ChannelKind::Ecg]
    );
}

#[test]
fn a_stream_of_the_asked_name_with_another_type_is_named_as_such() {
    init_lsl();
    let name = unique_name("nl-markers-not-eeg");
    let _outlet = MarkerOutlet::new(&name, &format!("{name}-src")).unwrap();
    let err = LslSource::open(inlet(&name))
        .err()
        .expect("not an EEG stream");
    match &err {
        SourceError::WrongType { found, .. } => assert_eq!(found, "Markers"),
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(text.contains("has type `Markers`, not `EEG`"), "{text}");
}
