//! Jobs: the kinds the platform knows, their status document, the KV status store,
//! the message envelope, and submission (used by the API and the ops CLI); for
//! operators, dead letters ([`dlq`]), queues to pause ([`queues`]), listings
//! ([`listing`]) and retries ([`retry`]).
//!
//! A kind is a subject `jobs.<kind>` with a durable consumer `worker-<kind>`, and a
//! payload type implementing [`Job`]. [`Kind`] is the one list of kinds: [`KINDS`] (what
//! the API, bootstrap and the runner read) is derived from it, and the worker builds its
//! handlers with an exhaustive `match` on it, so a kind cannot exist without a handler.

pub mod dlq;
pub mod envelope;
pub mod job;
pub mod listing;
pub mod owner_index;
pub mod payloads;
pub mod pools;
pub mod queues;
pub mod retry;
pub mod status;
pub mod store;
pub mod submit;

pub use envelope::JobEnvelope;
pub use job::{Job, KindSpec};
pub use owner_index::{owner_token, OwnerIndex};
pub use pools::{Concurrency, WorkerPools};
pub use status::{JobFailure, JobState, JobStatus};
pub use store::{StatusError, StatusStore};
pub use submit::{NewJob, SubmitError, Submitted, Submitter};

/// Declares [`Kind`] and [`KINDS`] from one list of `Variant(PayloadType)`.
macro_rules! job_kinds {
    ($($variant:ident($job:ty)),+ $(,)?) => {
        /// A job kind. Adding a variant is adding a kind: the worker's `register` then
        /// fails to compile until the kind has a handler.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind {
            $($variant),+
        }

        impl Kind {
            /// Every kind, in the order of [`KINDS`].
            pub const ALL: &'static [Kind] = &[$(Kind::$variant),+];
        }

        /// Every job kind's spec, in the order of [`Kind::ALL`].
        pub const KINDS: &[KindSpec] = &[$(KindSpec::of::<$job>()),+];
    };
}

job_kinds! {
    Analysis(payloads::analysis::AnalysisPayload),
    Chat(payloads::chat::ChatPayload),
    Echo(payloads::echo::EchoPayload),
    Health(payloads::health::HealthPayload),
    Thumbnail(payloads::thumbnail::ThumbnailPayload),
}

impl Kind {
    /// This kind's spec.
    pub const fn spec(self) -> &'static KindSpec {
        &KINDS[self as usize]
    }

    /// This kind's name (`jobs.<name>`).
    pub const fn name(self) -> &'static str {
        self.spec().name
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|k| k.name() == name)
    }

    /// The names of every kind.
    pub fn names() -> Vec<&'static str> {
        KINDS.iter().map(|k| k.name).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_spec_and_name() {
        assert_eq!(Kind::ALL.len(), KINDS.len());
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(*kind));
        }
        assert_eq!(
            Kind::names(),
            ["analysis", "chat", "echo", "health", "thumbnail"]
        );
        assert_eq!(Kind::Echo.spec().name, "echo");
        assert!(Kind::Echo.spec().public && Kind::Echo.spec().development_only);
        assert!(!Kind::Analysis.spec().public);
    }
}
