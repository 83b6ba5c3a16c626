//! Cancel keys. Each agent session gets its own BackendKeyData; a
//! CancelRequest carrying it is mapped to the upstream backend's key.

use std::collections::HashMap;
use std::sync::Mutex;
use subtle::ConstantTimeEq;

/// Where a cancel for one session must go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamKey {
    pub process_id: i32,
    pub secret_key: i32,
}

struct Entry {
    secret_key: i32,
    upstream: UpstreamKey,
}

/// Live sessions' cancel keys, by the process id actgate handed out.
#[derive(Default)]
pub struct CancelRegistry {
    entries: Mutex<HashMap<i32, Entry>>,
}

impl CancelRegistry {
    /// Allocates a fresh (process id, secret) pair for a session.
    pub fn register(&self, upstream: UpstreamKey) -> CancelGuard<'_> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let process_id = loop {
            // Positive, like real backend pids, and unique among live sessions.
            let pid = (rand::random::<u32>() >> 1) as i32;
            if pid != 0 && !entries.contains_key(&pid) {
                break pid;
            }
        };
        let secret_key = rand::random::<i32>();
        entries.insert(
            process_id,
            Entry {
                secret_key,
                upstream,
            },
        );
        CancelGuard {
            registry: self,
            process_id,
            secret_key,
        }
    }

    /// The upstream key for a cancel request, if the secret matches.
    pub fn lookup(&self, process_id: i32, secret_key: i32) -> Option<UpstreamKey> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let entry = entries.get(&process_id)?;
        let ok: bool = entry
            .secret_key
            .to_be_bytes()
            .ct_eq(&secret_key.to_be_bytes())
            .into();
        ok.then(|| entry.upstream.clone())
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes a session's key when the session ends.
pub struct CancelGuard<'a> {
    registry: &'a CancelRegistry,
    pub process_id: i32,
    pub secret_key: i32,
}

impl Drop for CancelGuard<'_> {
    fn drop(&mut self) {
        self.registry
            .entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.process_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_requires_the_secret() {
        let reg = CancelRegistry::default();
        let key = UpstreamKey {
            process_id: 10,
            secret_key: 20,
        };
        let guard = reg.register(key.clone());
        assert_eq!(reg.lookup(guard.process_id, guard.secret_key), Some(key));
        assert_eq!(
            reg.lookup(guard.process_id, guard.secret_key.wrapping_add(1)),
            None
        );
        let pid = guard.process_id;
        drop(guard);
        assert!(reg.is_empty());
        assert_eq!(reg.lookup(pid, 0), None);
    }
}
