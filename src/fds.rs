//! File descriptors: the process's open-file limit, raised at start, and
//! the spare descriptor with which the accept loop can still answer a
//! login when that limit is reached.

use crate::config::Limits;
use std::fs::File;
use tracing::{info, warn};

/// Descriptors one agent session holds: its own socket and the upstream one.
pub const FDS_PER_SESSION: u64 = 2;

/// Descriptors set aside for everything but sessions: standard streams,
/// the async runtime, the listeners, the audit log, rules and key files
/// being read, webhook and catalog connections, the spare descriptor.
pub const FDS_RESERVED: u64 = 64;

/// Descriptors actgate may need at once under `limits`: every session
/// slot and every slot for a connection waiting to log in taken.
pub fn fds_needed(limits: &Limits) -> u64 {
    FDS_PER_SESSION * limits.max_connections as u64
        + limits.max_unauthenticated_connections as u64
        + FDS_RESERVED
}

/// Raises the soft open-file limit (RLIMIT_NOFILE) to the hard limit and
/// warns when `limits` cannot fit in the result. Returns the limit now in
/// force (`None` where it cannot be read). Call once, at start: the limit
/// is the whole process's.
pub fn raise_open_file_limit(limits: &Limits) -> Option<u64> {
    let limit = raise_soft_limit()?;
    let needed = fds_needed(limits);
    if limit < needed {
        warn!(
            limit,
            needed,
            max_connections = limits.max_connections,
            max_unauthenticated_connections = limits.max_unauthenticated_connections,
            "the open-file limit cannot hold max_connections sessions: raise the hard limit (ulimit -Hn, systemd LimitNOFILE=) or lower max_connections"
        );
    }
    Some(limit)
}

#[cfg(unix)]
fn raise_soft_limit() -> Option<u64> {
    let (soft, hard) = match rlimit::Resource::NOFILE.get() {
        Ok(v) => v,
        Err(e) => {
            warn!(error = %e, "cannot read the open-file limit");
            return None;
        }
    };
    if soft >= hard {
        return Some(soft);
    }
    match rlimit::increase_nofile_limit(hard) {
        Ok(raised) => {
            info!(from = soft, to = raised, "open-file limit raised");
            Some(raised)
        }
        Err(e) => {
            warn!(error = %e, soft, hard, "cannot raise the open-file limit");
            Some(soft)
        }
    }
}

#[cfg(not(unix))]
fn raise_soft_limit() -> Option<u64> {
    None
}

/// Whether an accept error means the process (EMFILE) or the system
/// (ENFILE) has no descriptor left. (The numbers are the same on Linux,
/// macOS and the BSDs.)
pub fn is_fd_exhaustion(e: &std::io::Error) -> bool {
    const ENFILE: i32 = 23;
    const EMFILE: i32 = 24;
    cfg!(unix) && matches!(e.raw_os_error(), Some(ENFILE | EMFILE))
}

#[cfg(unix)]
const NULL_DEVICE: &str = "/dev/null";
#[cfg(not(unix))]
const NULL_DEVICE: &str = "NUL";

/// One descriptor held in reserve (an open null device). When accepting
/// fails for want of descriptors, the accept loop gives it up, so that the
/// waiting connection can be accepted and told why it cannot be served
/// instead of hanging in the backlog; then it takes it back.
#[derive(Debug)]
pub struct SpareFd {
    state: Spare,
}

#[derive(Debug)]
enum Spare {
    Held {
        _file: File,
    },
    /// Given up: the next accepted connection uses it and is refused.
    Released,
    /// Not held (it could not be opened, or its connection is still being
    /// refused): [`SpareFd::refill`] tries again.
    Missing,
}

impl SpareFd {
    pub fn new() -> SpareFd {
        let mut spare = SpareFd {
            state: Spare::Missing,
        };
        spare.refill();
        spare
    }

    /// Opens the spare again if it is missing (quietly failing while
    /// descriptors are still short).
    pub fn refill(&mut self) {
        if matches!(self.state, Spare::Missing)
            && let Ok(f) = File::open(NULL_DEVICE)
        {
            self.state = Spare::Held { _file: f };
        }
    }

    /// Closes the spare for the next accept; `false` when none was held.
    pub fn release(&mut self) -> bool {
        if matches!(self.state, Spare::Held { .. }) {
            self.state = Spare::Released;
            true
        } else {
            false
        }
    }

    /// After an accept: whether this connection took the released spare's
    /// place, and so must be refused (the spare is reopened once a
    /// descriptor is free again).
    pub fn take_released(&mut self) -> bool {
        if matches!(self.state, Spare::Released) {
            self.state = Spare::Missing;
            true
        } else {
            false
        }
    }

    pub fn is_held(&self) -> bool {
        matches!(self.state, Spare::Held { .. })
    }
}

impl Default for SpareFd {
    fn default() -> Self {
        SpareFd::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_unauthenticated_connections: usize) -> Limits {
        let mut l = crate::config::Config::from_toml(
            "[upstream]\nuser = \"a\"\n",
            std::path::Path::new("t.toml"),
            std::path::Path::new("/"),
        )
        .unwrap()
        .limits;
        l.max_connections = max_connections;
        l.max_unauthenticated_connections = max_unauthenticated_connections;
        l
    }

    #[test]
    fn a_session_needs_two_descriptors_and_a_waiting_connection_one() {
        assert_eq!(fds_needed(&limits(500, 128)), 1000 + 128 + FDS_RESERVED);
        assert_eq!(fds_needed(&limits(1, 1)), 3 + FDS_RESERVED);
    }

    #[test]
    fn the_spare_is_released_once_and_refilled_after_its_connection() {
        let mut spare = SpareFd::new();
        assert!(spare.is_held());
        assert!(!spare.take_released(), "nothing was released");
        assert!(spare.release());
        assert!(!spare.release(), "only one spare");
        spare.refill();
        assert!(!spare.is_held(), "kept free for the waiting connection");
        assert!(spare.take_released());
        assert!(!spare.take_released());
        spare.refill();
        assert!(spare.is_held());
    }

    #[cfg(unix)]
    #[test]
    fn only_emfile_and_enfile_are_fd_exhaustion() {
        assert!(is_fd_exhaustion(&std::io::Error::from_raw_os_error(24)));
        assert!(is_fd_exhaustion(&std::io::Error::from_raw_os_error(23)));
        assert!(!is_fd_exhaustion(&std::io::Error::from_raw_os_error(103)));
        assert!(!is_fd_exhaustion(&std::io::ErrorKind::Other.into()));
    }
}
