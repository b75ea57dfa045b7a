//! What every window of the app shares: opening one, screenshots for documentation and
//! display checks, and durations as a clock.

use std::path::PathBuf;

/// Opens an eframe window (glow renderer) titled `title` running `app` until it closes.
pub fn run_window(
    app_id: &str,
    title: &str,
    size: [f32; 2],
    app: impl eframe::App + 'static,
) -> Result<(), eframe::Error> {
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title)
            .with_inner_size(size),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(app_id, options, Box::new(move |_| Ok(Box::new(app))))
}

/// `h:mm:ss` for a duration in seconds.
pub fn clock_text(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// Takes the pending `screenshot` (path, seconds after the first frame) once `elapsed_secs`
/// has reached it ([`save_screenshot`]); leaves it pending before that.
pub fn screenshot_when_due(
    ctx: &egui::Context,
    screenshot: &mut Option<(PathBuf, f64)>,
    elapsed_secs: f64,
) {
    if screenshot
        .as_ref()
        .is_some_and(|(_, after)| elapsed_secs >= *after)
        && let Some((path, _)) = screenshot.take()
    {
        save_screenshot(ctx, path);
    }
}

/// Asks the window for a screenshot of its next frame and saves it to `path` as PNG,
/// reporting the outcome on standard error (for documentation and display checks).
pub fn save_screenshot(ctx: &egui::Context, path: PathBuf) {
    ctx.request_screenshot(move |image| {
        let [w, h] = image.size;
        let saved = image::RgbaImage::from_raw(w as u32, h as u32, image.as_raw().to_vec())
            .map(|img| img.save(&path));
        match saved {
            Some(Ok(())) => eprintln!("screenshot saved to {}", path.display()),
            Some(Err(e)) => eprintln!("saving the screenshot {} failed: {e}", path.display()),
            None => eprintln!("the screenshot had an unexpected size"),
        }
    });
}
