//! What every window of the app shares: opening one, screenshots for documentation and
//! display checks, and durations as a clock.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Opens an eframe window (glow renderer) titled `title` running `app` until it closes.
///
/// Ctrl-C (or SIGTERM) closes the window the way its close button does, so the app stops
/// its session in order and closes its recording ([`interrupted`]).
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
    let closed = Arc::new(AtomicBool::new(false));
    let watcher_closed = Arc::clone(&closed);
    let result = eframe::run_native(
        app_id,
        options,
        Box::new(move |cc| {
            close_on_interrupt(cc.egui_ctx.clone(), watcher_closed);
            Ok(Box::new(app))
        }),
    );
    closed.store(true, Ordering::Release);
    result
}

/// Whether Ctrl-C (SIGINT) or SIGTERM has arrived; the handler is installed by the first call.
/// A second signal while the first is being handled ends the process at once (exit code 130),
/// for a session that no longer responds.
pub fn interrupted() -> &'static AtomicBool {
    static FLAG: OnceLock<&'static AtomicBool> = OnceLock::new();
    FLAG.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let set = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::AcqRel) {
                eprintln!("neuroloop: interrupted twice, exiting without stopping in order");
                std::process::exit(130);
            }
        });
        if let Err(e) = set {
            eprintln!("neuroloop: Ctrl-C will not stop the session in order ({e})");
        }
        flag
    })
}

/// Watches [`interrupted`] on a thread while the window lives (until `closed`), and closes
/// the window through `ctx` when it is set.
fn close_on_interrupt(ctx: egui::Context, closed: Arc<AtomicBool>) {
    let flag = interrupted();
    let spawned = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            while !closed.load(Ordering::Acquire) {
                if flag.load(Ordering::Acquire) {
                    eprintln!("neuroloop: interrupted, stopping the session");
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                    ctx.request_repaint();
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    if let Err(e) = spawned {
        eprintln!("neuroloop: Ctrl-C will not close the window ({e})");
    }
}

/// The display server windows would open on, found by connecting to it (a `DISPLAY` or
/// `WAYLAND_DISPLAY` left set with no server behind it is no display): its name, or why there
/// is none.
pub fn display_server() -> Result<String, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut tried = Vec::new();
    if let Some(wayland) = var("WAYLAND_DISPLAY") {
        let path = if wayland.starts_with('/') {
            PathBuf::from(&wayland)
        } else {
            PathBuf::from(var("XDG_RUNTIME_DIR").unwrap_or_default()).join(&wayland)
        };
        match std::os::unix::net::UnixStream::connect(&path) {
            Ok(_) => return Ok(format!("Wayland {wayland}")),
            Err(e) => tried.push(format!("WAYLAND_DISPLAY={wayland}: {e}")),
        }
    }
    if let Some(x) = var("DISPLAY") {
        match connect_x11(&x) {
            Ok(()) => return Ok(format!("X11 {x}")),
            Err(e) => tried.push(format!("DISPLAY={x}: {e}")),
        }
    }
    if tried.is_empty() {
        Err("neither DISPLAY nor WAYLAND_DISPLAY is set".to_string())
    } else {
        Err(format!("no display server answers ({})", tried.join("; ")))
    }
}

/// Connects to the X server `display` names (`:N`, `unix:N`, `HOST:N`, each with an optional
/// `.SCREEN`): its local socket, or TCP port 6000 + N on a host.
fn connect_x11(display: &str) -> std::io::Result<()> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidInput, "not HOST:NUMBER");
    let (host, rest) = display.rsplit_once(':').ok_or_else(bad)?;
    let number: u16 = rest
        .split('.')
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(bad)?;
    if host.is_empty() || host == "unix" {
        std::os::unix::net::UnixStream::connect(format!("/tmp/.X11-unix/X{number}")).map(drop)
    } else {
        use std::net::ToSocketAddrs as _;
        let port = 6000u16.checked_add(number).ok_or_else(bad)?;
        let addr = (host, port).to_socket_addrs()?.next().ok_or_else(bad)?;
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map(drop)
    }
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
