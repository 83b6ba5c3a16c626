//! Finding the PostgreSQL server and client programs.

use super::*;

/// Finds the directory holding the server binaries `initdb`, `pg_ctl` and `postgres`:
/// `$ACTGATE_PG_BIN_DIR` if set, else the first `initdb` on `PATH` (following symlinks to
/// the real installation), else the newest `/usr/lib/postgresql/<version>/bin`.
pub fn find_bin_dir() -> Result<PathBuf, LaunchError> {
    if let Some(dir) = std::env::var_os(BIN_DIR_ENV) {
        let dir = PathBuf::from(dir);
        return if has_server_binaries(&dir) {
            Ok(dir)
        } else {
            Err(LaunchError::BinariesNotFound {
                searched: format!("{BIN_DIR_ENV}={}", dir.display()),
            })
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let initdb = dir.join("initdb");
            if !is_executable(&initdb) {
                continue;
            }
            // Prefer the real installation directory behind a symlink farm; skip wrappers
            // (e.g. Debian's pg_wrapper) that are not initdb itself.
            if let Ok(real) = fs::canonicalize(&initdb)
                && real.file_name() == Some(OsStr::new("initdb"))
                && let Some(parent) = real.parent()
                && has_server_binaries(parent)
            {
                return Ok(parent.to_path_buf());
            }
            if dir.is_absolute() && has_server_binaries(&dir) {
                return Ok(dir);
            }
        }
    }
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(VERSIONED_ROOT)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_str()?.to_owned();
            let version = name
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_server_binaries(bin))
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| LaunchError::BinariesNotFound {
            searched: SEARCHED.to_owned(),
        })
}

pub(super) fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|name| is_executable(&dir.join(name)))
}

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub(super) fn find_on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

/// A client program from `bin_dir`, else from `PATH`.
pub(super) fn find_client(bin_dir: &Path, program: &'static str) -> Result<PathBuf, LaunchError> {
    let local = bin_dir.join(program);
    if is_executable(&local) {
        return Ok(local);
    }
    find_on_path(program).ok_or_else(|| LaunchError::ProgramNotFound {
        program,
        searched: format!("{} and PATH", bin_dir.display()),
    })
}

/// Parses the major version out of `postgres (PostgreSQL) 15.18 (Debian ...)`; 0 if odd.
pub(super) fn server_version_major(postgres_bin: &Path) -> Result<u32, LaunchError> {
    let output = Command::new(postgres_bin)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| LaunchError::io(format!("running {} --version", postgres_bin.display()), e))?;
    if !output.status.success() {
        return Err(command_failed(
            &[postgres_bin.as_os_str().to_owned(), "--version".into()],
            &output,
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Ok(text
        .split_whitespace()
        .skip_while(|word| *word != "(PostgreSQL)")
        .nth(1)
        .and_then(|version| version.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|major| major.parse().ok())
        .unwrap_or(0))
}
