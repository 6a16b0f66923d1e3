//! Frames per second while the map pans, in a real window: the window of `lookalike gui --index
//! FILE` wrapped by this benchmark, which moves the map's view a little every frame once the
//! catalog and its map are shown, then prints the rate and closes. Needs a display (Xvfb):
//!
//!   xvfb-run -a -s "-screen 0 1400x900x24" cargo bench --bench pan -- --index FILE [--frames 300]
//!       [--zoom F]
//!
//! `--zoom F` zooms the map in F times about its centre first, so that the pan goes over photos,
//! not dots where the items in view are few and far enough apart; it reports how many frames showed them.
//!
//! `LOOKALIKE_RENDERER=wgpu` measures wgpu instead of glow.

use std::path::PathBuf;
use std::time::Instant;

use lookalike::app::{AppConfig, LookalikeApp};

/// The window, panned every frame once its map is shown.
struct Panning {
    app: LookalikeApp,
    frames: u64,
    done: u64,
    started: Option<Instant>,
    points: usize,
    zoom: f32,
    /// Frames that showed photos.
    with_photos: u64,
}

impl eframe::App for Panning {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        self.app.ui(ui, frame);
        if self.app.map_is_shown() {
            if self.started.is_none() && self.zoom > 1.0 {
                self.app.zoom_map(self.zoom);
            }
            let started = *self.started.get_or_insert_with(Instant::now);
            self.points = self.app.catalog().map_or(0, |c| c.len());
            self.done += 1;
            self.with_photos += u64::from(self.app.map_photo_side().is_some());
            self.app.pan_map(0.004);
            if self.done == self.frames {
                let secs = started.elapsed().as_secs_f64();
                println!(
                    "map panning: {} frames with {} points in {secs:.2} s = {:.1} frames/s; zoom {}x, photos shown in {} frames",
                    self.frames,
                    self.points,
                    self.frames as f64 / secs,
                    self.zoom,
                    self.with_photos
                );
                ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
            }
        }
        ui.ctx().request_repaint();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut index, mut frames, mut zoom) = (None, 300u64, 1.0f32);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--index" => index = args.next().map(PathBuf::from),
            "--frames" => frames = args.next().ok_or("--frames N")?.parse()?,
            "--zoom" => zoom = args.next().ok_or("--zoom F")?.parse()?,
            // cargo bench passes --bench to every benchmark binary.
            "--bench" => {}
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    let index = index.ok_or("give the index to open: --index FILE")?;
    let config = AppConfig {
        index_file: Some(index),
        ..Default::default()
    };
    let options = eframe::NativeOptions {
        renderer: lookalike::app::renderer_from_env(),
        viewport: egui::ViewportBuilder::default()
            .with_title("lookalike: panning benchmark")
            .with_inner_size([1400.0, 860.0]),
        ..Default::default()
    };
    eframe::run_native(
        "lookalike-pan",
        options,
        Box::new(move |cc| {
            Ok(Box::new(Panning {
                app: LookalikeApp::new(cc, config),
                frames,
                done: 0,
                started: None,
                points: 0,
                zoom,
                with_photos: 0,
            }))
        }),
    )?;
    Ok(())
}
