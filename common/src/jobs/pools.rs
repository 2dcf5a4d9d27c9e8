//! Which job kinds a worker runs, and how many of each at once (`WORKER_KINDS`,
//! `WORKER_CONCURRENCY`).
//!
//! Each kind a worker runs is a pool of its own: its own slots, its own pull loop. A
//! kind's default size comes from its type's [`Concurrency`] ([`super::Job::CONCURRENCY`]): CPU-bound
//! kinds get about one slot per core, I/O-bound kinds far more. So one worker can run
//! hundreds of light jobs while its analyses never outnumber its cores, and operators
//! can run the analysis pool in processes (hosts, compose services) of its own.

use std::collections::BTreeMap;

use super::Kind;

/// How many jobs of a kind one worker runs at once, by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concurrency {
    /// This many per core of the host (CPU-bound work).
    PerCore(usize),
    /// This many, whatever the host (work that mostly waits on I/O).
    Fixed(usize),
}

impl Concurrency {
    /// The number of slots on a host with `cores` cores (at least 1).
    pub fn slots(self, cores: usize) -> usize {
        match self {
            Self::PerCore(n) => n.saturating_mul(cores.max(1)),
            Self::Fixed(n) => n,
        }
        .max(1)
    }
}

/// Why `WORKER_KINDS` or `WORKER_CONCURRENCY` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolsError {
    #[error("{0:?} is not a job kind (known: {known})", known = super::Kind::names().join(", "))]
    UnknownKind(String),
    #[error("{0:?} is not a job count of at least 1")]
    BadCount(String),
    #[error("no kinds given")]
    Empty,
    #[error("{0:?} is set for a kind this worker does not run")]
    NotRun(String),
}

/// The kinds one worker runs, each with its number of slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerPools {
    slots: BTreeMap<Kind, usize>,
}

impl WorkerPools {
    /// Every kind at its default size on a host with `cores` cores.
    pub fn all(cores: usize) -> Self {
        Self {
            slots: Kind::ALL
                .iter()
                .map(|k| (*k, k.spec().concurrency.slots(cores)))
                .collect(),
        }
    }

    /// Parses `WORKER_KINDS` (comma-separated kind names; `None` or empty: every kind)
    /// and `WORKER_CONCURRENCY` (comma-separated `kind=N` entries, and at most one bare
    /// `N` that applies to every kind not named). A count for a kind this worker does
    /// not run is refused: it is a typo or a mistaken deployment.
    pub fn parse(
        kinds: Option<&str>,
        concurrency: Option<&str>,
        cores: usize,
    ) -> Result<Self, PoolsError> {
        let mut pools = Self::all(cores);
        if let Some(raw) = kinds.filter(|raw| !raw.trim().is_empty()) {
            let mut chosen = BTreeMap::new();
            for name in raw.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let kind = Kind::from_name(name)
                    .ok_or_else(|| PoolsError::UnknownKind(name.to_owned()))?;
                chosen.insert(kind, pools.slots[&kind]);
            }
            if chosen.is_empty() {
                return Err(PoolsError::Empty);
            }
            pools.slots = chosen;
        }
        let entries = concurrency
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let count = |raw: &str| match raw.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(PoolsError::BadCount(raw.trim().to_owned())),
        };
        let mut named = BTreeMap::new();
        for entry in entries {
            match entry.split_once('=') {
                None => {
                    let n = count(entry)?;
                    for slots in pools.slots.values_mut() {
                        *slots = n;
                    }
                }
                Some((name, n)) => {
                    let name = name.trim();
                    let kind = Kind::from_name(name)
                        .ok_or_else(|| PoolsError::UnknownKind(name.to_owned()))?;
                    if !pools.slots.contains_key(&kind) {
                        return Err(PoolsError::NotRun(name.to_owned()));
                    }
                    named.insert(kind, count(n)?);
                }
            }
        }
        // Named counts win over a bare one, wherever they stand in the list.
        pools.slots.extend(named);
        Ok(pools)
    }

    /// The kinds this worker runs.
    pub fn kinds(&self) -> impl Iterator<Item = Kind> + '_ {
        self.slots.keys().copied()
    }

    /// Whether this worker runs the kind named `kind`.
    pub fn runs(&self, kind: &str) -> bool {
        self.slots(kind).is_some()
    }

    /// The slots of the kind named `kind`, if this worker runs it.
    pub fn slots(&self, kind: &str) -> Option<usize> {
        self.slots.get(&Kind::from_name(kind)?).copied()
    }

    /// Each kind's name with its slots.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        self.slots.iter().map(|(k, n)| (k.name(), *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_a_worker_runs_every_kind_at_its_own_size() {
        let pools = WorkerPools::parse(None, None, 2).unwrap();
        assert_eq!(
            pools.kinds().map(Kind::name).collect::<Vec<_>>(),
            ["analysis", "chat", "echo", "health", "thumbnail"]
        );
        // CPU-bound analysis: one per core; I/O-bound echo: far more.
        assert_eq!(pools.slots("analysis"), Some(2));
        assert!(pools.slots("echo").unwrap() >= 100);
        assert_eq!(
            WorkerPools::parse(None, None, 8).unwrap().slots("analysis"),
            Some(8)
        );
    }

    #[test]
    fn a_worker_runs_only_the_kinds_it_is_given() {
        let pools = WorkerPools::parse(Some(" analysis, thumbnail ,"), None, 4).unwrap();
        assert_eq!(
            pools.kinds().map(Kind::name).collect::<Vec<_>>(),
            ["analysis", "thumbnail"]
        );
        assert!(!pools.runs("echo"));
        assert_eq!(
            WorkerPools::parse(Some(""), None, 4).unwrap(),
            WorkerPools::all(4)
        );
    }

    #[test]
    fn counts_can_be_set_per_kind_or_for_all() {
        let pools = WorkerPools::parse(None, Some("analysis=3, 40"), 2).unwrap();
        assert_eq!(pools.slots("analysis"), Some(3));
        assert_eq!(pools.slots("echo"), Some(40));
        assert_eq!(pools.slots("chat"), Some(40));
    }

    #[test]
    fn mistakes_are_refused() {
        assert_eq!(
            WorkerPools::parse(Some("analysis,palmistry"), None, 2),
            Err(PoolsError::UnknownKind("palmistry".into()))
        );
        assert_eq!(
            WorkerPools::parse(Some(" , "), None, 2),
            Err(PoolsError::Empty)
        );
        assert_eq!(
            WorkerPools::parse(None, Some("echo=0"), 2),
            Err(PoolsError::BadCount("0".into()))
        );
        assert_eq!(
            WorkerPools::parse(None, Some("many"), 2),
            Err(PoolsError::BadCount("many".into()))
        );
        assert_eq!(
            WorkerPools::parse(Some("echo"), Some("analysis=2"), 2),
            Err(PoolsError::NotRun("analysis".into()))
        );
    }
}
