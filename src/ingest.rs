//! Ingest: turn the paths a user gave into a stream of image files, in a stable order.
//!
//! Folders are walked recursively (sorted by name, symlinks followed with loop detection);
//! entries that cannot be read become [`Input::Unreadable`] so the scan can report them
//! and go on.

use std::path::{Path, PathBuf};

/// File extensions picked up when walking a folder. Files named explicitly are always taken.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "webp", "gif", "bmp", "tif", "tiff"];

/// One item to analyse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file to decode.
    File(PathBuf),
    /// A path the walk could not read (permission, loop, vanished entry).
    Unreadable { path: PathBuf, message: String },
}

impl Input {
    pub fn path(&self) -> &Path {
        match self {
            Input::File(p) => p,
            Input::Unreadable { path, .. } => path,
        }
    }
}

fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        .unwrap_or(false)
}

/// Lazily walks `roots` in order. Memory stays flat however many files there are.
pub fn walk(roots: &[PathBuf]) -> impl Iterator<Item = Input> + '_ {
    roots.iter().flat_map(|root| walk_one(root))
}

fn walk_one(root: &Path) -> Box<dyn Iterator<Item = Input> + Send + '_> {
    match std::fs::metadata(root) {
        Err(e) => Box::new(std::iter::once(Input::Unreadable {
            path: root.to_path_buf(),
            message: format!("cannot read path: {e}"),
        })),
        Ok(meta) if !meta.is_dir() => Box::new(std::iter::once(Input::File(root.to_path_buf()))),
        Ok(_) => Box::new(
            walkdir::WalkDir::new(root)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_map(|entry| match entry {
                    Ok(e) if e.file_type().is_dir() => None,
                    Ok(e) if has_image_extension(e.path()) => Some(Input::File(e.into_path())),
                    Ok(_) => None,
                    Err(e) => {
                        let path = e.path().map(Path::to_path_buf).unwrap_or_default();
                        let message = if e.loop_ancestor().is_some() {
                            "symlink loop: folder links back to one of its ancestors".to_string()
                        } else {
                            format!("cannot read folder entry: {e}")
                        };
                        Some(Input::Unreadable { path, message })
                    }
                }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_folders_sorted_and_keeps_explicit_files() {
        let dir = std::env::temp_dir().join(format!("leakshot-ingest-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["b.png", "a.jpg", "notes.txt", "sub/c.webp"] {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        let explicit = dir.join("notes.txt");
        let found: Vec<_> = walk(&[dir.clone(), explicit.clone()])
            .map(|i| i.path().strip_prefix(&dir).unwrap().to_path_buf())
            .collect();
        let expect: Vec<PathBuf> = ["a.jpg", "b.png", "sub/c.webp", "notes.txt"]
            .iter()
            .map(PathBuf::from)
            .collect();
        assert_eq!(found, expect);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_path_is_reported_not_fatal() {
        let items: Vec<_> = walk(&[PathBuf::from("/nonexistent/leakshot/x")]).collect();
        assert!(matches!(items.as_slice(), [Input::Unreadable { .. }]));
    }
}
