//! Who gets the next free KV slot.
//!
//! Interactive requests and batch rows wait in separate first-in, first-out
//! queues. A free slot goes to the oldest interactive request; a batch row
//! gets one only when no interactive request waits and batch rows hold
//! fewer than `max_batch - interactive_slots` slots. Batch rows therefore
//! fill what interactive demand leaves, and a burst of interactive requests
//! never queues behind a batch job, however many rows it has.

use std::collections::VecDeque;

use crate::request::Priority;

/// Requests waiting for a KV slot, by priority.
#[derive(Debug)]
pub(crate) struct WaitQueue<T> {
    interactive: VecDeque<T>,
    batch: VecDeque<T>,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        Self {
            interactive: VecDeque::new(),
            batch: VecDeque::new(),
        }
    }
}

/// Slot counts the admission decision depends on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slots {
    pub(crate) max_batch: usize,
    pub(crate) interactive_slots: usize,
}

impl Slots {
    /// Slots batch rows may hold at once: at least one, so a batch job
    /// always progresses.
    pub(crate) fn batch_limit(self) -> usize {
        let reserved = self.interactive_slots.min(self.max_batch.saturating_sub(1));
        self.max_batch.saturating_sub(reserved).max(1)
    }
}

impl<T> WaitQueue<T> {
    pub(crate) fn push(&mut self, item: T, priority: Priority) {
        match priority {
            Priority::Interactive => self.interactive.push_back(item),
            Priority::Batch => self.batch.push_back(item),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.interactive.len() + self.batch.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes every waiting request out, interactive ones first.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = (T, Priority)> + '_ {
        let interactive = self
            .interactive
            .drain(..)
            .map(|t| (t, Priority::Interactive));
        let batch = self.batch.drain(..).map(|t| (t, Priority::Batch));
        interactive.chain(batch)
    }

    /// The request that gets the next free slot, if any may, given how many
    /// running sequences are batch rows. The caller checks that a slot is
    /// free at all.
    pub(crate) fn next(&mut self, running_batch: usize, slots: Slots) -> Option<(T, Priority)> {
        if let Some(item) = self.interactive.pop_front() {
            return Some((item, Priority::Interactive));
        }
        if running_batch < slots.batch_limit() {
            return self.batch.pop_front().map(|t| (t, Priority::Batch));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Priority::{Batch, Interactive};

    const SLOTS: Slots = Slots {
        max_batch: 4,
        interactive_slots: 1,
    };

    /// Fills free slots the way the scheduler does and returns who got them.
    fn admit(
        queue: &mut WaitQueue<&'static str>,
        running: &mut Vec<Priority>,
    ) -> Vec<&'static str> {
        let mut admitted = Vec::new();
        while running.len() < SLOTS.max_batch {
            let batch = running.iter().filter(|&&p| p == Batch).count();
            let Some((item, priority)) = queue.next(batch, SLOTS) else {
                break;
            };
            running.push(priority);
            admitted.push(item);
        }
        admitted
    }

    #[test]
    fn interactive_requests_are_admitted_before_older_batch_rows() {
        let mut queue = WaitQueue::default();
        for row in ["row1", "row2", "row3", "row4", "row5"] {
            queue.push(row, Batch);
        }
        queue.push("chat1", Interactive);
        queue.push("chat2", Interactive);
        let mut running = Vec::new();
        assert_eq!(
            admit(&mut queue, &mut running),
            ["chat1", "chat2", "row1", "row2"]
        );
        assert_eq!(queue.len(), 3);
    }

    #[test]
    fn batch_rows_leave_the_reserved_slots_free() {
        let mut queue = WaitQueue::default();
        for row in ["row1", "row2", "row3", "row4", "row5"] {
            queue.push(row, Batch);
        }
        let mut running = Vec::new();
        assert_eq!(admit(&mut queue, &mut running), ["row1", "row2", "row3"]);
        // The fourth slot stays free for whoever comes next...
        assert_eq!(admit(&mut queue, &mut running), Vec::<&str>::new());
        queue.push("chat", Interactive);
        // ...and an interactive request takes it at once.
        assert_eq!(admit(&mut queue, &mut running), ["chat"]);
        // A finished batch row makes room for the next one.
        running.retain(|&p| p == Interactive);
        running.push(Batch);
        assert_eq!(admit(&mut queue, &mut running), ["row4", "row5"]);
    }

    #[test]
    fn interactive_requests_may_use_every_slot() {
        let mut queue = WaitQueue::default();
        queue.push("row", Batch);
        for chat in ["a", "b", "c", "d", "e"] {
            queue.push(chat, Interactive);
        }
        let mut running = Vec::new();
        assert_eq!(admit(&mut queue, &mut running), ["a", "b", "c", "d"]);
        // The batch row waits while interactive requests still wait.
        running.pop();
        assert_eq!(admit(&mut queue, &mut running), ["e"]);
        running.pop();
        assert_eq!(admit(&mut queue, &mut running), ["row"]);
    }

    #[test]
    fn batches_always_get_one_slot() {
        let one = Slots {
            max_batch: 1,
            interactive_slots: 5,
        };
        assert_eq!(one.batch_limit(), 1);
        let none_reserved = Slots {
            max_batch: 8,
            interactive_slots: 0,
        };
        assert_eq!(none_reserved.batch_limit(), 8);
        assert_eq!(SLOTS.batch_limit(), 3);
    }
}
