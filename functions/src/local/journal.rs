//! The ingests the local server owes: one empty file per upload whose PUT
//! arrived and whose ingest has not finished, under
//! `<data-dir>/ingest-pending/`. Written (and synced) before the S3 engine
//! stores the object, removed once its ingest has an outcome; what is still
//! there at start was cut off by a stop or a crash, or failed all its tries,
//! and is ingested again before the server answers. On AWS, S3's event and
//! Lambda's retries play this part.

use std::io;
use std::path::{Path, PathBuf};

/// The journal's folder in the data folder.
pub const FOLDER: &str = "ingest-pending";

/// The folder of owed ingests.
#[derive(Clone, Debug)]
pub struct Journal {
    dir: PathBuf,
}

/// Keys longer than this are not journaled (a file name holds 255 bytes, a
/// key is written in hex); no upload key comes near it.
const MAX_KEY_BYTES: usize = 120;

impl Journal {
    /// The journal of `data_dir`, created if missing.
    pub fn open(data_dir: &Path) -> io::Result<Journal> {
        let dir = data_dir.join(FOLDER);
        super::private::create_dir(&dir)?;
        Ok(Journal { dir })
    }

    fn entry(&self, key: &str) -> Option<PathBuf> {
        (key.len() <= MAX_KEY_BYTES).then(|| self.dir.join(key.bytes().map(|b| format!("{b:02x}")).collect::<String>()))
    }

    /// Records that `key`'s ingest is owed, durably.
    pub fn begin(&self, key: &str) -> io::Result<()> {
        let Some(path) = self.entry(key) else { return Ok(()) };
        std::fs::File::create(path)?.sync_all()?;
        sync_dir(&self.dir)
    }

    /// Records that `key`'s ingest has had its outcome.
    pub fn done(&self, key: &str) {
        let Some(path) = self.entry(key) else { return };
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => tracing::warn!(%error, path = %path.display(), "cannot clear an ingest from the journal"),
        }
    }

    /// The keys whose ingest is owed.
    pub fn pending(&self) -> io::Result<Vec<String>> {
        let mut keys = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            match name.to_str().and_then(decode) {
                Some(key) => keys.push(key),
                None => tracing::warn!(name = ?name, "unknown file in the ingest journal ignored"),
            }
        }
        keys.sort();
        Ok(keys)
    }
}

fn decode(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| hex.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect();
    String::from_utf8(bytes?).ok()
}

/// Makes a file's creation or removal in `dir` durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owed_ingests_survive_reopening_until_done() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path()).unwrap();
        journal.begin("uploads/12").unwrap();
        journal.begin("uploads/7 odd/ключ").unwrap();
        journal.begin(&"x".repeat(MAX_KEY_BYTES + 1)).unwrap();
        let reopened = Journal::open(dir.path()).unwrap();
        assert_eq!(reopened.pending().unwrap(), ["uploads/12", "uploads/7 odd/ключ"]);
        reopened.done("uploads/12");
        reopened.done("uploads/12");
        assert_eq!(journal.pending().unwrap(), ["uploads/7 odd/ключ"]);
    }
}
