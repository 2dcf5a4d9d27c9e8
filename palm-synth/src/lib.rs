//! `hast-palm-synth`: test tooling for `hast-palm`, used by its tests, the end-to-end
//! tests and the benchmarks (never by a binary that serves).
//!
//! - [`synth`]: the **tuning style**, synthetic palms with known lines, which the engine's
//!   constants are set on.
//! - [`synth_heldout`]: the **held-out style**, a second generator sharing no drawing code
//!   with [`synth`] (only the truth's data types), which the engine is reported on and
//!   never tuned on.
//! - [`evaluation`]: scoring measured lines against either style's truth, and the seeded
//!   evaluation sets (`docs/analysis-quality.md`).

pub mod evaluation;
pub mod synth;
pub mod synth_heldout;
