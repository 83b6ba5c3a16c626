//! A collection behind a lock whose length can be read without the lock.
//!
//! The relay's rarely used queues and maps (the markers of denials,
//! Describes awaiting their parameter types, row-limit expectations,
//! actgate's own batches, the statuses of actgate's own transactions) are
//! looked at on every ReadyForQuery and are nearly always empty:
//! [`Counted::nonempty`] locks one only when it holds something. The length is stored
//! by the guard every access goes through, when it is dropped and while
//! the lock is still held, so no change can leave it stale.

use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// A collection's number of entries.
pub(super) trait Len {
    fn len(&self) -> usize;
}

impl<T> Len for VecDeque<T> {
    fn len(&self) -> usize {
        VecDeque::len(self)
    }
}

impl<K, V, S> Len for HashMap<K, V, S> {
    fn len(&self) -> usize {
        HashMap::len(self)
    }
}

impl<K, S> Len for HashSet<K, S> {
    fn len(&self) -> usize {
        HashSet::len(self)
    }
}

/// `C` behind a lock, with its length beside it.
#[derive(Default)]
pub(super) struct Counted<C> {
    items: Mutex<C>,
    len: AtomicUsize,
}

impl<C: Len> Counted<C> {
    /// Locks the collection; its length is stored again when the guard
    /// goes.
    pub(super) fn lock(&self) -> Guard<'_, C> {
        Guard {
            items: self.items.lock().unwrap_or_else(|p| p.into_inner()),
            len: &self.len,
        }
    }

    /// Whether it was empty when last unlocked (without the lock).
    pub(super) fn is_empty(&self) -> bool {
        self.len.load(Ordering::Acquire) == 0
    }

    /// The locked collection, unless it is empty (then no lock is taken).
    pub(super) fn nonempty(&self) -> Option<Guard<'_, C>> {
        (!self.is_empty()).then(|| self.lock())
    }
}

/// The locked collection.
pub(super) struct Guard<'a, C: Len> {
    items: MutexGuard<'a, C>,
    len: &'a AtomicUsize,
}

impl<C: Len> Deref for Guard<'_, C> {
    type Target = C;

    fn deref(&self) -> &C {
        &self.items
    }
}

impl<C: Len> DerefMut for Guard<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        &mut self.items
    }
}

impl<C: Len> Drop for Guard<'_, C> {
    /// Runs before the lock is released (a struct's own `drop` comes
    /// before its fields').
    fn drop(&mut self) {
        self.len.store(self.items.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_length_follows_every_change_made_through_the_guard() {
        let queue: Counted<VecDeque<u32>> = Counted::default();
        assert!(queue.is_empty());
        queue.lock().push_back(1);
        assert!(!queue.is_empty());
        {
            let mut q = queue.lock();
            q.push_back(2);
            q.pop_front();
            q.pop_front();
        }
        assert!(queue.is_empty());
        let set: Counted<HashSet<u64>> = Counted::default();
        set.lock().extend([3, 4]);
        assert!(!set.is_empty());
        assert!(set.lock().remove(&3) && set.lock().remove(&4));
        assert!(set.is_empty());
    }
}
