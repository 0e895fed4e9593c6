//! The data folder is the owner's only: it holds password hashes, every
//! message and the token-signing secret. Folders are made `0700`, files
//! `0600`; a folder left looser (by an older version, or by hand) is
//! tightened at start (its own entries only: other files in it are the
//! user's business). `douyin-local` also sets its umask to `077`
//! ([`owner_only_umask`]), so what the engines create later (SQLite's
//! journal files, S3 objects and their metadata) is born private.

use std::io;
use std::path::Path;

/// Makes new files and folders of this process private to its user
/// (umask `077`). Process-wide: called by `douyin-local` at start, never by
/// the library (a test process keeps its own).
pub fn owner_only_umask() {
    #[cfg(unix)]
    {
        rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o077));
    }
}

/// Creates `dir` (and missing parents) readable by the owner only.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Takes every permission of group and others away from `dir` itself and
/// from the entries directly in it that `ours` names, with everything under
/// them (symbolic links are not followed); other entries are left alone (a
/// data folder pointed at a folder of the user's must not rewrite its
/// modes). Returns how many entries were changed.
pub fn tighten(dir: &Path, ours: impl Fn(&str) -> bool) -> io::Result<usize> {
    let mut changed = tighten_one(dir)?;
    let mut stack = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(&ours) {
            stack.push(entry.path());
        }
    }
    while let Some(path) = stack.pop() {
        changed += tighten_one(&path)?;
        if std::fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.is_dir()) {
            for entry in std::fs::read_dir(&path)? {
                stack.push(entry?.path());
            }
        }
    }
    Ok(changed)
}

/// Takes group's and others' permissions away from `path` (not following a
/// link); 1 when it changed something.
fn tighten_one(path: &Path) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = match std::fs::symlink_metadata(path) {
            Ok(metadata) => metadata,
            // Gone meanwhile (an engine's temporary file).
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(error) => return Err(error),
        };
        let mode = metadata.permissions().mode();
        if metadata.file_type().is_symlink() || mode & 0o077 == 0 {
            return Ok(0);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !0o077))?;
        Ok(1)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(0)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn our_loose_entries_are_tightened_others_and_links_are_not() {
        let outside = tempfile::tempdir().unwrap();
        let shared_file = outside.path().join("shared.txt");
        std::fs::write(&shared_file, "x").unwrap();
        std::fs::set_permissions(&shared_file, std::fs::Permissions::from_mode(0o644)).unwrap();

        let root = tempfile::tempdir().unwrap();
        let top = root.path().join("a");
        let data = top.join("b");
        create_dir(&data).unwrap();
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        let file = data.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&top, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&shared_file, data.join("link")).unwrap();
        let theirs = top.join("notes.txt");
        std::fs::write(&theirs, "x").unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o644)).unwrap();

        assert_eq!(tighten(&top, |name| name == "b").unwrap(), 3);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&top), mode(&data), mode(&file)), (0o700, 0o700, 0o600));
        assert_eq!(mode(&shared_file), 0o644);
        assert_eq!(mode(&theirs), 0o644);
        assert_eq!(tighten(&top, |name| name == "b").unwrap(), 0);
    }
}
