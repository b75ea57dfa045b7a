//! The start screen's file chooser: a window listing one folder's subfolders and the files a
//! field accepts (recordings, models, cards), so a path is picked rather than typed. It runs
//! inside the app, so it works the same on every desktop and under Xvfb.

use std::path::{Path, PathBuf};

/// Which field a chosen file goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The recording to replay.
    Recording,
    /// The speller's TRCA model or network card.
    SpellerModel,
    /// SSVEP decoding's TRCA model or network card.
    SsvepModel,
    /// The neural spindle detector's card.
    SpindleCard,
    /// A fitted motor-imagery model or network card.
    MiModel,
}

impl Field {
    /// File name endings the field accepts (with or without the dot, any case).
    pub fn extensions(self) -> &'static [&'static str] {
        match self {
            Field::Recording => &neuroloop_formats::EXTENSIONS,
            Field::SpellerModel | Field::SsvepModel | Field::MiModel => &["json", "toml"],
            Field::SpindleCard => &["toml"],
        }
    }

    /// What the window asks for.
    pub fn title(self) -> &'static str {
        match self {
            Field::Recording => "Choose a recording to replay",
            Field::SpellerModel => {
                "Choose the speller's TRCA model (.json) or network card (.toml)"
            }
            Field::SsvepModel => "Choose a TRCA model (.json) or SSVEP network card (.toml)",
            Field::SpindleCard => "Choose a spindle network card (.toml)",
            Field::MiModel => "Choose a motor-imagery model (.json) or network card (.toml)",
        }
    }
}

/// An open chooser.
#[derive(Debug, Clone)]
pub struct Browser {
    /// The field it fills.
    pub field: Field,
    folder: PathBuf,
    /// Subfolders, then the accepted files, sorted by name; or why the folder cannot be read.
    entries: Result<Vec<(String, bool)>, String>,
}

/// What the user did in the chooser this frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Still choosing.
    Open,
    /// A file was chosen.
    Chosen(PathBuf),
    /// Closed without a choice.
    Cancelled,
}

impl Browser {
    /// A chooser for `field` opened on the folder of `current` (the field's path), else on
    /// the working folder.
    pub fn new(field: Field, current: &str) -> Browser {
        let current = PathBuf::from(current.trim());
        let start = current
            .parent()
            .filter(|p| !p.as_os_str().is_empty() && p.is_dir())
            .map(Path::to_path_buf)
            .or_else(|| current.is_dir().then(|| current.clone()))
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut b = Browser {
            field,
            folder: PathBuf::new(),
            entries: Ok(Vec::new()),
        };
        b.enter(start);
        b
    }

    /// The folder shown.
    #[cfg(test)]
    pub fn folder(&self) -> &Path {
        &self.folder
    }

    /// Shows `folder` (made absolute).
    fn enter(&mut self, folder: PathBuf) {
        self.folder = std::fs::canonicalize(&folder).unwrap_or(folder);
        self.entries = list(&self.folder, self.field.extensions());
    }

    /// Draws the chooser; what the user chose.
    pub fn ui(&mut self, ctx: &egui::Context) -> Choice {
        let mut choice = Choice::Open;
        let mut open = true;
        egui::Window::new(self.field.title())
            .open(&mut open)
            .collapsible(false)
            .default_size([640.0, 420.0])
            .show(ctx, |ui| choice = self.contents(ui));
        if !open {
            choice = Choice::Cancelled;
        }
        choice
    }

    fn contents(&mut self, ui: &mut egui::Ui) -> Choice {
        let mut choice = Choice::Open;
        let mut go = None;
        ui.horizontal(|ui| {
            if ui.button("up").clicked()
                && let Some(parent) = self.folder.parent()
            {
                go = Some(parent.to_path_buf());
            }
            ui.label(self.folder.display().to_string());
        });
        ui.label(
            egui::RichText::new(format!(
                "showing folders and {}",
                self.field
                    .extensions()
                    .iter()
                    .map(|e| format!(".{}", e.trim_start_matches('.')))
                    .collect::<Vec<_>>()
                    .join(" ")
            ))
            .weak(),
        );
        ui.separator();
        egui::ScrollArea::vertical()
            .max_height(320.0)
            .show(ui, |ui| match &self.entries {
                Err(e) => {
                    ui.colored_label(egui::Color32::RED, e);
                }
                Ok(entries) if entries.is_empty() => {
                    ui.label("no folder or matching file here");
                }
                Ok(entries) => {
                    for (name, is_dir) in entries {
                        let text = if *is_dir {
                            format!("{name}/")
                        } else {
                            name.clone()
                        };
                        if ui.selectable_label(false, text).clicked() {
                            let path = self.folder.join(name);
                            if *is_dir {
                                go = Some(path);
                            } else {
                                choice = Choice::Chosen(path);
                            }
                        }
                    }
                }
            });
        ui.separator();
        if ui.button("Cancel").clicked() {
            choice = Choice::Cancelled;
        }
        if let Some(folder) = go {
            self.enter(folder);
        }
        choice
    }
}

/// The subfolders of `folder` (hidden ones left out) and its files ending in one of
/// `extensions`, each sorted by name, folders first.
fn list(folder: &Path, extensions: &[&str]) -> Result<Vec<(String, bool)>, String> {
    let read = std::fs::read_dir(folder)
        .map_err(|e| format!("{} cannot be read: {e}", folder.display()))?;
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in read.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            dirs.push((name, true));
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
            extensions
                .iter()
                .any(|x| x.trim_start_matches('.').eq_ignore_ascii_case(e))
        }) {
            files.push((name, false));
        }
    }
    dirs.sort();
    files.sort();
    dirs.extend(files);
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_lists_its_subfolders_then_the_files_the_field_accepts() {
        let dir = std::env::temp_dir().join(format!("neuroloop-browse-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("night2")).unwrap();
        std::fs::create_dir_all(dir.join(".hidden")).unwrap();
        for f in ["b.EDF", "a.xdf", "notes.txt", "card.toml", "r.vhdr"] {
            std::fs::write(dir.join(f), b"").unwrap();
        }
        let names =
            |field: Field| -> Vec<(String, bool)> { list(&dir, field.extensions()).unwrap() };
        assert_eq!(
            names(Field::Recording),
            vec![
                ("night2".to_string(), true),
                ("a.xdf".to_string(), false),
                ("b.EDF".to_string(), false),
                ("r.vhdr".to_string(), false),
            ]
        );
        assert_eq!(
            names(Field::SpindleCard),
            vec![
                ("night2".to_string(), true),
                ("card.toml".to_string(), false)
            ]
        );
        // Opened on the folder of the field's current path.
        let b = Browser::new(Field::Recording, dir.join("a.xdf").to_str().unwrap());
        assert_eq!(b.folder(), std::fs::canonicalize(&dir).unwrap());
        assert!(
            list(&dir.join("missing"), &["xdf"])
                .unwrap_err()
                .contains("cannot be read")
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
