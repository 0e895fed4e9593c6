//! The data folder is the owner's only: it holds password hashes, every
//! message and the token-signing secret. Folders are made `0700`, files
//! `0600`; a folder left looser (by an older version, or by hand) is
//! tightened at start. `douyin-local` also sets its umask to `077`
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

/// Takes every permission of group and others away from `dir` and
/// everything under it (symbolic links are not followed); returns how many
/// entries were changed.
pub fn tighten(dir: &Path) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mut changed = 0;
        let mut stack = vec![dir.to_path_buf()];
        while let Some(path) = stack.pop() {
            let metadata = match std::fs::symlink_metadata(&path) {
                Ok(metadata) => metadata,
                // Gone meanwhile (an engine's temporary file).
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(error),
            };
            if metadata.file_type().is_symlink() {
                continue;
            }
            let mode = metadata.permissions().mode();
            if mode & 0o077 != 0 {
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & !0o077))?;
                changed += 1;
            }
            if metadata.is_dir() {
                for entry in std::fs::read_dir(&path)? {
                    stack.push(entry?.path());
                }
            }
        }
        Ok(changed)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(0)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn a_loose_tree_is_tightened_and_links_are_not_followed() {
        let outside = tempfile::tempdir().unwrap();
        let shared_file = outside.path().join("shared.txt");
        std::fs::write(&shared_file, "x").unwrap();
        std::fs::set_permissions(&shared_file, std::fs::Permissions::from_mode(0o644)).unwrap();

        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("a/b");
        create_dir(&data).unwrap();
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        let file = data.join("f");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o664)).unwrap();
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&shared_file, data.join("link")).unwrap();

        assert_eq!(tighten(&root.path().join("a")).unwrap(), 2);
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
        assert_eq!(std::fs::metadata(&shared_file).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(tighten(&root.path().join("a")).unwrap(), 0);
    }
}
