//! The offline engine: measure, then interpret. Built once per process (the landmark
//! model is loaded once) and shared across threads.

use std::sync::Arc;

use image::RgbImage;

use crate::features::Features;
use crate::interpret::RuleInterpreter;
use crate::measure::landmarks::LandmarkModel;
use crate::measure::OfflineMeasure;
use crate::reading::Reading;
use crate::{HandSide, Interpret, Measure};

/// Why the engine could not run at all (a bad photo is not an error: it yields a
/// reading with `quality.usable = false`).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the hand-landmark model could not be loaded: {0}")]
    Model(String),
}

/// Measure + interpret.
#[derive(Debug)]
pub struct Engine {
    measure: OfflineMeasure,
    interpret: RuleInterpreter,
}

impl Engine {
    /// The offline engine with the embedded hand-landmark model.
    pub fn offline() -> Result<Self, EngineError> {
        let model = LandmarkModel::embedded()?;
        Ok(Self::with_model(Some(Arc::new(model))))
    }

    /// The process-wide offline engine, built on first use (loading and optimising the
    /// model takes a moment; every worker in the process shares it).
    pub fn shared() -> Result<Arc<Self>, EngineError> {
        static SHARED: std::sync::OnceLock<Arc<Engine>> = std::sync::OnceLock::new();
        if let Some(engine) = SHARED.get() {
            return Ok(engine.clone());
        }
        let engine = Arc::new(Self::offline()?);
        Ok(SHARED.get_or_init(|| engine).clone())
    }

    /// The offline engine with a given model (`None`: segmentation only).
    pub fn with_model(model: Option<Arc<LandmarkModel>>) -> Self {
        Self {
            measure: OfflineMeasure::new(model),
            interpret: RuleInterpreter,
        }
    }

    /// Reads one photo (upright RGB, at the working size).
    pub fn read(&self, image: &RgbImage, side: Option<HandSide>) -> (Features, Reading) {
        let features = self.measure.measure(image, side);
        let reading = self.interpret.interpret(&features);
        (features, reading)
    }

    /// [`Self::read`], stopping between its stages once `stop()` says so (`None`): a
    /// caller whose deadline passed or whose job was cancelled gets its thread back.
    pub fn read_unless(
        &self,
        image: &RgbImage,
        side: Option<HandSide>,
        stop: &dyn Fn() -> bool,
    ) -> Option<(Features, Reading)> {
        if stop() {
            return None;
        }
        let features = self.measure.measure(image, side);
        if stop() {
            return None;
        }
        let reading = self.interpret.interpret(&features);
        Some((features, reading))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    /// A stop asked for while the first stage runs ends the read before the second.
    #[test]
    fn a_read_stops_between_its_stages() {
        let engine = Engine::with_model(None);
        let image = RgbImage::from_pixel(64, 80, image::Rgb([200, 160, 140]));
        let checks = Cell::new(0);
        let stop_after_the_first_stage = || {
            checks.set(checks.get() + 1);
            checks.get() > 1
        };
        assert!(engine
            .read_unless(&image, None, &stop_after_the_first_stage)
            .is_none());
        assert_eq!(checks.get(), 2, "checked before and after measuring");
        assert!(engine.read_unless(&image, None, &|| false).is_some());
    }
}
