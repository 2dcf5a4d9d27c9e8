//! Event-stream slots per user (`SSE_STREAMS_PER_USER`), counted in this API process: an
//! open stream holds a task and a KV watch, so one user must not open them without end.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The open streams of every user.
#[derive(Debug, Clone)]
pub struct StreamSlots {
    max_per_user: usize,
    open: Arc<Mutex<HashMap<String, usize>>>,
}

/// One open stream; dropping it frees the slot.
#[derive(Debug)]
pub struct StreamSlot {
    open: Arc<Mutex<HashMap<String, usize>>>,
    user: String,
}

impl StreamSlots {
    /// At most `max_per_user` streams per user at once.
    pub fn new(max_per_user: usize) -> Self {
        Self {
            max_per_user,
            open: Arc::default(),
        }
    }

    /// A slot for one more stream of `user`, if they have one left.
    pub fn try_open(&self, user: &str) -> Option<StreamSlot> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(user.to_owned()).or_default();
        if *count >= self.max_per_user {
            return None;
        }
        *count += 1;
        Some(StreamSlot {
            open: self.open.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.user) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_the_slots_and_a_freed_one_comes_back() {
        let slots = StreamSlots::new(2);
        let first = slots.try_open("ana");
        let second = slots.try_open("ana");
        assert!(first.is_some() && second.is_some());
        assert!(slots.try_open("ana").is_none(), "a third is refused");
        assert!(
            slots.try_open("ben").is_some(),
            "another user is not affected"
        );
        drop(first);
        assert!(
            slots.try_open("ana").is_some(),
            "a freed slot is usable again"
        );
    }
}
