//! A bounded map that keeps what is used: CLOCK (second chance) eviction.
//!
//! Every entry has a "used" bit, set by each hit. When the map is full,
//! a hand sweeps the slots in order: a used entry loses its bit and
//! stays, the first unused one is replaced. Hot entries therefore
//! survive any number of one-off inserts (a stream of statements with
//! fresh literals), unlike clearing everything at the bound; a hit costs
//! one hash lookup and one store. Bounded by entries and by the bytes of
//! the keys, which clients choose.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

struct Slot<V> {
    key: Arc<str>,
    value: V,
    used: bool,
}

pub struct ClockCache<V> {
    /// Keyed by text a client chose: foldhash, seeded at random per map
    /// (a quarter of SipHash's cost on statement texts).
    index: foldhash::HashMap<Arc<str>, usize>,
    slots: Vec<Slot<V>>,
    hand: usize,
    key_bytes: usize,
    max_entries: usize,
    max_key_bytes: usize,
}

impl<V: Clone> ClockCache<V> {
    pub fn new(max_entries: usize, max_key_bytes: usize) -> ClockCache<V> {
        ClockCache {
            index: HashMap::default(),
            slots: Vec::new(),
            hand: 0,
            key_bytes: 0,
            max_entries: max_entries.max(1),
            max_key_bytes,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.len()
    }

    /// The value for `key`, marking it used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<V>
    where
        Arc<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let &i = self.index.get(key)?;
        let slot = &mut self.slots[i];
        slot.used = true;
        Some(slot.value.clone())
    }

    /// Inserts or replaces `key`, evicting unused entries while over a
    /// bound. A key longer than the byte bound is not stored.
    pub fn insert(&mut self, key: Arc<str>, value: V) {
        if key.len() > self.max_key_bytes {
            return;
        }
        if let Some(&i) = self.index.get(&key) {
            self.slots[i].value = value;
            return;
        }
        while !self.slots.is_empty()
            && (self.slots.len() >= self.max_entries
                || self.key_bytes + key.len() > self.max_key_bytes)
        {
            self.evict_one();
        }
        self.key_bytes += key.len();
        self.index.insert(key.clone(), self.slots.len());
        // New entries start unused: one that is never hit again goes first.
        self.slots.push(Slot {
            key,
            value,
            used: false,
        });
    }

    /// Removes the first unused entry from the hand on, clearing the used
    /// bits it passes; the last slot moves into the freed place.
    fn evict_one(&mut self) {
        loop {
            if self.hand >= self.slots.len() {
                self.hand = 0;
            }
            let slot = &mut self.slots[self.hand];
            if slot.used {
                slot.used = false;
                self.hand += 1;
                continue;
            }
            let removed = self.slots.swap_remove(self.hand);
            self.index.remove(&removed.key);
            self.key_bytes -= removed.key.len();
            if let Some(moved) = self.slots.get(self.hand) {
                self.index.insert(moved.key.clone(), self.hand);
            }
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Arc<str> {
        Arc::from(s)
    }

    #[test]
    fn hot_entries_survive_a_stream_of_one_off_inserts() {
        let mut c = ClockCache::new(8, 1 << 20);
        for i in 0..4 {
            c.insert(key(&format!("hot{i}")), i);
        }
        for n in 0..10_000 {
            for i in 0..4 {
                assert_eq!(c.get(format!("hot{i}").as_str()), Some(i), "round {n}");
            }
            c.insert(key(&format!("cold{n}")), 100);
            assert!(c.len() <= 8);
        }
    }

    #[test]
    fn bounded_by_entries_and_key_bytes() {
        let mut c = ClockCache::new(100, 64);
        for n in 0..1000 {
            c.insert(key(&format!("{n:016}")), n);
            assert!(c.len() <= 4, "{} entries of 16 bytes in 64", c.len());
        }
        // The newest is always there; a key over the bound is never stored.
        assert_eq!(c.get("0000000000000999"), Some(999));
        c.insert(key(&"x".repeat(65)), 1);
        assert_eq!(c.get("x".repeat(65).as_str()), None);
    }

    #[test]
    fn replacing_and_evicting() {
        let mut c = ClockCache::new(2, 1 << 10);
        c.insert(key("a"), 1);
        c.insert(key("a"), 2);
        assert_eq!((c.len(), c.get("a")), (1, Some(2)));
        c.insert(key("b"), 3);
        c.insert(key("c"), 4);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("c"), Some(4));
        assert_eq!(c.index.len(), c.slots.len());
    }
}
