//! When the signer sends its answers over signer-bridge: a pure, clock-free
//! queue that decides which answers go out in which call (`Reply` for one,
//! `ReplyBatch` for several), so that the signer loop (the wasm crate's
//! `connection`) only does I/O.
//!
//! Rules:
//! * An answer goes out **at once** while fewer than `max_in_flight` calls
//!   are open: a lone answer never waits for anything.
//! * While `max_in_flight` calls are open, new answers wait; when a call
//!   completes, everything waiting (up to `max_batch` answers and
//!   `max_batch_bytes` encoded bytes) leaves in **one** call. Under load the
//!   number of HTTP requests therefore stays near `max_in_flight` per
//!   round trip instead of one per answer.
//! * An answer larger than `max_batch_bytes` always travels alone.
//! * Order is kept: answers leave in the order they were pushed.
//! * The waiting line is bounded: [`ReplyQueue::has_room`] turns false once
//!   `max_waiting` answers or `max_waiting_bytes` encoded bytes wait, and
//!   the signer loop then stops reading requests from the stream until a
//!   call completes (the transport stops reading the body, and the bridge
//!   and lnd see back-pressure instead of the tab growing without limit).
//!   An answer is always accepted, so one answer larger than the byte bound
//!   still waits and leaves alone.
//! * [`ReplyQueue::disable_batching`] (the bridge does not know `ReplyBatch`,
//!   or refused a batch as too large) makes every later call carry one
//!   answer; [`ReplyQueue::requeue_front`] puts a refused batch's answers
//!   back at the head of the line.
//!
//! The module depends on `std` only; its unit tests run natively.

use std::collections::VecDeque;

/// Bounds of a [`ReplyQueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Calls open at the same time (at least 1).
    pub max_in_flight: usize,
    /// Answers in one call (at least 1).
    pub max_batch: usize,
    /// Encoded answer bytes in one batch call (an answer over this goes
    /// alone).
    pub max_batch_bytes: usize,
    /// Answers waiting for a call before [`ReplyQueue::has_room`] is false
    /// (at least 1).
    pub max_waiting: usize,
    /// Encoded bytes of the waiting answers before
    /// [`ReplyQueue::has_room`] is false.
    pub max_waiting_bytes: usize,
}

/// One call to start: the answers it carries (one = `Reply`, more =
/// `ReplyBatch`), in order.
#[derive(Debug, PartialEq, Eq)]
pub struct Outgoing<T> {
    /// The answers.
    pub items: Vec<T>,
}

/// The queue (see the module documentation).
#[derive(Debug)]
pub struct ReplyQueue<T> {
    limits: QueueLimits,
    waiting: VecDeque<(T, usize)>,
    waiting_bytes: usize,
    in_flight: usize,
    batching: bool,
}

impl<T> ReplyQueue<T> {
    /// An empty queue; limits below 1 are raised to 1.
    pub fn new(limits: QueueLimits) -> Self {
        Self {
            limits: QueueLimits {
                max_in_flight: limits.max_in_flight.max(1),
                max_batch: limits.max_batch.max(1),
                max_batch_bytes: limits.max_batch_bytes,
                max_waiting: limits.max_waiting.max(1),
                max_waiting_bytes: limits.max_waiting_bytes,
            },
            waiting: VecDeque::new(),
            waiting_bytes: 0,
            in_flight: 0,
            batching: true,
        }
    }

    /// Adds an answer of `len` encoded bytes; returns the call to start now,
    /// if a call slot is free.
    pub fn push(&mut self, item: T, len: usize) -> Option<Outgoing<T>> {
        self.waiting_bytes = self.waiting_bytes.saturating_add(len);
        self.waiting.push_back((item, len));
        self.next()
    }

    /// Whether more answers should be produced now: false while
    /// `max_waiting` answers or `max_waiting_bytes` bytes wait for a call.
    /// The caller stops reading requests until a call completes. An empty
    /// line always has room.
    pub fn has_room(&self) -> bool {
        self.waiting.is_empty()
            || (self.waiting.len() < self.limits.max_waiting
                && self.waiting_bytes < self.limits.max_waiting_bytes)
    }

    /// Encoded bytes of the answers waiting for a call.
    pub fn waiting_bytes(&self) -> usize {
        self.waiting_bytes
    }

    /// A call finished (successfully or not); returns the next call to
    /// start, if answers are waiting.
    pub fn done(&mut self) -> Option<Outgoing<T>> {
        self.in_flight = self.in_flight.saturating_sub(1);
        self.next()
    }

    /// Every later call carries a single answer.
    pub fn disable_batching(&mut self) {
        self.batching = false;
    }

    /// Whether calls may carry several answers.
    pub fn batching(&self) -> bool {
        self.batching
    }

    /// Puts `items` (with their lengths) back at the head of the line, in
    /// their order. Does not start a call: follow with [`Self::done`] for
    /// the call that returned them.
    pub fn requeue_front(&mut self, items: Vec<(T, usize)>) {
        for item in items.into_iter().rev() {
            self.waiting_bytes = self.waiting_bytes.saturating_add(item.1);
            self.waiting.push_front(item);
        }
    }

    /// Calls open now.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Answers waiting for a call slot.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    fn next(&mut self) -> Option<Outgoing<T>> {
        if self.in_flight >= self.limits.max_in_flight {
            return None;
        }
        let (first, first_len) = self.waiting.pop_front()?;
        self.waiting_bytes = self.waiting_bytes.saturating_sub(first_len);
        let mut items = vec![first];
        let mut bytes = first_len;
        if self.batching && first_len <= self.limits.max_batch_bytes {
            while items.len() < self.limits.max_batch {
                match self.waiting.front() {
                    Some(&(_, len)) if bytes.saturating_add(len) <= self.limits.max_batch_bytes => {
                        if let Some((item, len)) = self.waiting.pop_front() {
                            self.waiting_bytes = self.waiting_bytes.saturating_sub(len);
                            items.push(item);
                            bytes += len;
                        }
                    }
                    _ => break,
                }
            }
        }
        self.in_flight += 1;
        Some(Outgoing { items })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(in_flight: usize, batch: usize, bytes: usize) -> QueueLimits {
        QueueLimits {
            max_in_flight: in_flight,
            max_batch: batch,
            max_batch_bytes: bytes,
            max_waiting: usize::MAX,
            max_waiting_bytes: usize::MAX,
        }
    }

    fn items(s: Option<Outgoing<u32>>) -> Vec<u32> {
        s.map(|s| s.items).unwrap_or_default()
    }

    #[test]
    fn lone_answers_go_out_at_once() {
        let mut q = ReplyQueue::new(limits(1, 64, 1000));
        for i in 0..5 {
            // Idle queue: the answer leaves immediately, alone.
            assert_eq!(items(q.push(i, 10)), vec![i]);
            assert_eq!(q.in_flight(), 1);
            assert_eq!(items(q.done()), Vec::<u32>::new());
            assert_eq!(q.in_flight(), 0);
        }
    }

    #[test]
    fn answers_waiting_behind_open_calls_leave_together() {
        let mut q = ReplyQueue::new(limits(2, 64, 1000));
        assert_eq!(items(q.push(1, 10)), vec![1]);
        assert_eq!(items(q.push(2, 10)), vec![2], "second slot is free");
        for i in 3..=7 {
            assert!(q.push(i, 10).is_none(), "both slots busy: {i} waits");
        }
        assert_eq!(q.waiting(), 5);
        // One call finishes: all five leave in one batch, in order.
        assert_eq!(items(q.done()), vec![3, 4, 5, 6, 7]);
        assert_eq!(q.in_flight(), 2);
        assert_eq!(items(q.done()), Vec::<u32>::new());
        assert_eq!(items(q.done()), Vec::<u32>::new());
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let mut q = ReplyQueue::new(limits(1, 3, 100));
        assert_eq!(items(q.push(0, 10)), vec![0]);
        for i in 1..=7 {
            assert!(q.push(i, 10).is_none());
        }
        assert_eq!(items(q.done()), vec![1, 2, 3], "at most 3 per call");
        assert_eq!(items(q.done()), vec![4, 5, 6]);
        assert_eq!(items(q.done()), vec![7]);

        let mut q = ReplyQueue::new(limits(1, 64, 100));
        assert_eq!(items(q.push(0, 10)), vec![0]);
        for (i, len) in [(1, 40), (2, 40), (3, 40), (4, 150), (5, 10)] {
            assert!(q.push(i, len).is_none());
        }
        assert_eq!(items(q.done()), vec![1, 2], "80 bytes; a third makes 120");
        assert_eq!(items(q.done()), vec![3], "the next one is too big to join");
        assert_eq!(items(q.done()), vec![4], "over the byte bound: alone");
        assert_eq!(items(q.done()), vec![5]);
        assert!(q.done().is_none());
    }

    #[test]
    fn disabled_batching_sends_one_per_call_and_requeue_keeps_order() {
        let mut q = ReplyQueue::new(limits(1, 64, 1000));
        assert_eq!(items(q.push(0, 10)), vec![0]);
        for i in 1..=3 {
            assert!(q.push(i, 10).is_none());
        }
        let batch = items(q.done());
        assert_eq!(batch, vec![1, 2, 3]);
        assert!(q.push(4, 10).is_none());
        // The bridge refused the batch: its answers go first, one by one.
        q.disable_batching();
        assert!(!q.batching());
        q.requeue_front(batch.into_iter().map(|i| (i, 10)).collect());
        let mut order = Vec::new();
        while let Some(s) = q.done() {
            assert_eq!(s.items.len(), 1);
            order.extend(s.items);
        }
        assert_eq!(order, vec![1, 2, 3, 4]);
        assert_eq!(q.in_flight(), 0);
    }

    #[test]
    fn zero_limits_are_raised_and_done_never_underflows() {
        let mut q = ReplyQueue::new(limits(0, 0, 0));
        assert_eq!(items(q.done()), Vec::<u32>::new());
        assert_eq!(q.in_flight(), 0);
        assert_eq!(items(q.push(1, 5)), vec![1]);
        assert!(q.push(2, 5).is_none());
        assert!(q.push(3, 5).is_none());
        assert_eq!(items(q.done()), vec![2], "max_batch raised to 1");
    }

    #[test]
    fn the_waiting_line_is_bounded_by_count_and_bytes() {
        // Calls that never complete (a stuck bridge): after `max_waiting`
        // answers the queue says stop.
        let mut q = ReplyQueue::new(QueueLimits {
            max_waiting: 4,
            max_waiting_bytes: 1000,
            ..limits(2, 64, 100)
        });
        assert!(q.has_room());
        assert_eq!(items(q.push(0, 10)), vec![0]);
        assert_eq!(items(q.push(1, 10)), vec![1]);
        for i in 2..6 {
            assert!(q.has_room(), "{i}");
            assert!(q.push(i, 10).is_none());
        }
        assert!(!q.has_room(), "4 answers wait");
        assert_eq!((q.waiting(), q.waiting_bytes()), (4, 40));
        // A call completes: the waiting answers leave, there is room again.
        assert_eq!(items(q.done()), vec![2, 3, 4, 5]);
        assert!(q.has_room());
        assert_eq!(q.waiting_bytes(), 0);

        // By bytes: one large answer fills the line alone; it is still
        // accepted and leaves alone.
        let mut q = ReplyQueue::new(QueueLimits {
            max_waiting: 100,
            max_waiting_bytes: 1000,
            ..limits(1, 64, 100)
        });
        assert_eq!(items(q.push(0, 10)), vec![0]);
        assert!(q.push(1, 600).is_none());
        assert!(q.has_room(), "600 of 1000 bytes");
        assert!(q.push(2, 500).is_none());
        assert!(!q.has_room(), "1100 bytes wait");
        assert_eq!(items(q.done()), vec![1]);
        assert!(q.has_room());
        assert_eq!(q.waiting_bytes(), 500);
        // A refused batch put back counts again.
        let back = items(q.done());
        assert_eq!(back, vec![2]);
        q.requeue_front(vec![(2, 500), (3, 700)]);
        assert!(!q.has_room());
        assert_eq!(q.waiting_bytes(), 1200);

        // Zero bounds: an empty line still has room (the loop can always
        // read), anything waiting fills it.
        let mut q = ReplyQueue::new(QueueLimits {
            max_waiting: 0,
            max_waiting_bytes: 0,
            ..limits(1, 1, 0)
        });
        assert!(q.has_room(), "nothing waits");
        assert_eq!(items(q.push(1, 0)), vec![1]);
        assert!(q.has_room(), "the answer left at once");
        assert!(q.push(2, 0).is_none());
        assert!(!q.has_room());
        assert_eq!(items(q.done()), vec![2]);
    }
}
