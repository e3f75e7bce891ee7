//! Reposts: identical bytes seen again in one run are analysed once. The first sight of a
//! content hash claims it; a repost waits for that image's record and copies it.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};

use crate::report::Record;

/// Content hashes seen in this run, each with its first path and record (`None` while
/// that image is being analysed), oldest first.
#[derive(Default)]
pub(super) struct Reposts {
    state: Mutex<RepostTable>,
    done: Condvar,
}

#[derive(Default)]
struct RepostTable {
    seen: HashMap<[u8; 32], (String, Option<Arc<Record>>)>,
    order: VecDeque<[u8; 32]>,
}

pub(super) enum Claim<'a> {
    /// First sight of these bytes: analyse them, then [`FirstSight::publish`].
    First(FirstSight<'a>),
    /// Seen before: the first image's path and record.
    Repost(String, Arc<Record>),
}

/// The right to analyse some bytes first. Dropped without publishing (a panic), it frees
/// the hash so a waiting repost is analysed instead of waiting forever.
pub(super) struct FirstSight<'a> {
    reposts: &'a Reposts,
    hash: [u8; 32],
    published: bool,
}

impl FirstSight<'_> {
    pub(super) fn publish(mut self, record: &Record) {
        if let Ok(mut t) = self.reposts.state.lock() {
            if let Some(slot) = t.seen.get_mut(&self.hash) {
                slot.1 = Some(Arc::new(record.clone()));
            }
        }
        self.published = true;
        self.reposts.done.notify_all();
    }
}

impl Drop for FirstSight<'_> {
    fn drop(&mut self) {
        if !self.published {
            if let Ok(mut t) = self.reposts.state.lock() {
                t.seen.remove(&self.hash);
            }
            self.reposts.done.notify_all();
        }
    }
}

impl Reposts {
    /// Claims `hash` for `path`, or waits until the image that claimed it first is done.
    /// `None` when the table is unusable (a poisoned lock): analyse without it.
    pub(super) fn claim(&self, hash: [u8; 32], path: &str, memory: usize) -> Option<Claim<'_>> {
        let mut t = self.state.lock().ok()?;
        loop {
            match t.seen.get(&hash) {
                Some((first, Some(record))) => {
                    return Some(Claim::Repost(first.clone(), Arc::clone(record)))
                }
                Some((_, None)) => t = self.done.wait(t).ok()?,
                None => break,
            }
        }
        t.seen.insert(hash, (path.to_string(), None));
        t.order.push_back(hash);
        // Forget the oldest finished images beyond the memory (those in flight stay).
        let mut looked = 0;
        while t.seen.len() > memory.max(1) && looked < t.order.len() {
            let Some(old) = t.order.pop_front() else {
                break;
            };
            looked += 1;
            match t.seen.get(&old) {
                Some((_, Some(_))) => {
                    t.seen.remove(&old);
                }
                Some((_, None)) => t.order.push_back(old),
                None => {}
            }
        }
        Some(Claim::First(FirstSight {
            reposts: self,
            hash,
            published: false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::Duration;

    fn record(path: &str) -> Record {
        Record::failed(path.into(), "x".into(), BTreeMap::new())
    }

    fn first(claim: Option<Claim<'_>>) -> FirstSight<'_> {
        match claim {
            Some(Claim::First(f)) => f,
            _ => panic!("expected a first sight"),
        }
    }

    #[test]
    fn a_repost_waits_for_the_first_and_gets_its_record() {
        let reposts = Reposts::default();
        let a = first(reposts.claim([1; 32], "a.png", 8));
        std::thread::scope(|s| {
            let waiter = s.spawn(|| match reposts.claim([1; 32], "b.png", 8) {
                Some(Claim::Repost(path, r)) => (path, r.path.clone()),
                _ => panic!("expected a repost"),
            });
            std::thread::sleep(Duration::from_millis(50));
            assert!(!waiter.is_finished(), "waits while the first is analysed");
            a.publish(&record("a.png"));
            let got = waiter.join().expect("waiter");
            assert_eq!(got, ("a.png".to_string(), "a.png".to_string()));
        });
    }

    #[test]
    fn a_first_sight_lost_to_a_panic_frees_the_hash() {
        let reposts = Reposts::default();
        drop(first(reposts.claim([2; 32], "a.png", 8)));
        first(reposts.claim([2; 32], "b.png", 8)).publish(&record("b.png"));
    }

    #[test]
    fn the_oldest_finished_images_are_forgotten_first() {
        let reposts = Reposts::default();
        first(reposts.claim([1; 32], "a.png", 2)).publish(&record("a.png"));
        let in_flight = first(reposts.claim([2; 32], "b.png", 2));
        first(reposts.claim([3; 32], "c.png", 2)).publish(&record("c.png"));
        // Over memory: a (finished, oldest) goes; b stays while in flight.
        first(reposts.claim([1; 32], "a2.png", 2)).publish(&record("a2.png"));
        in_flight.publish(&record("b.png"));
        assert!(matches!(
            reposts.claim([2; 32], "b2.png", 2),
            Some(Claim::Repost(p, _)) if p == "b.png"
        ));
    }
}
