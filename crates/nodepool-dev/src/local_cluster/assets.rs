//! Where the `kube-apiserver` and `etcd` binaries come from: `KUBEBUILDER_ASSETS` (the envtest
//! convention), or the cache that `scripts/control-plane` builds them into.

use std::path::{Path, PathBuf};

/// The envtest variable naming a folder that holds `kube-apiserver` and `etcd`.
pub const ASSETS_ENV: &str = "KUBEBUILDER_ASSETS";
/// Overrides the cache root of `scripts/control-plane`.
pub const CACHE_ENV: &str = "NODEPOOL_CONTROL_PLANE_CACHE";

/// A folder holding both binaries.
#[derive(Debug, Clone)]
pub struct Assets {
    pub dir: PathBuf,
}

impl Assets {
    pub fn kube_apiserver(&self) -> PathBuf {
        self.dir.join("kube-apiserver")
    }

    pub fn etcd(&self) -> PathBuf {
        self.dir.join("etcd")
    }

    fn complete(dir: &Path) -> bool {
        dir.join("kube-apiserver").is_file() && dir.join("etcd").is_file()
    }

    /// `explicit`, else `KUBEBUILDER_ASSETS`, else the newest build in the cache.
    pub fn locate(explicit: Option<&Path>) -> Result<Self, AssetsError> {
        let named = explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os(ASSETS_ENV).map(PathBuf::from));
        if let Some(dir) = named {
            return if Self::complete(&dir) {
                Ok(Self { dir })
            } else {
                Err(AssetsError::Incomplete(dir))
            };
        }
        let cache = cache_root().join("control-plane");
        let newest = std::fs::read_dir(&cache)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|dir| {
                dir.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("kube-") && !n.ends_with(".partial"))
                    && Self::complete(dir)
            })
            .max_by_key(|dir| dir.metadata().and_then(|m| m.modified()).ok());
        newest
            .map(|dir| Self { dir })
            .ok_or(AssetsError::NotBuilt(cache))
    }
}

impl Assets {
    /// Runs `scripts/control-plane` (its progress goes to stderr) and takes the folder it prints.
    pub fn build(script: &Path) -> Result<Self, AssetsError> {
        let output = std::process::Command::new(script)
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .map_err(|source| AssetsError::Build {
                script: script.to_path_buf(),
                reason: source.to_string(),
            })?;
        if !output.status.success() {
            return Err(AssetsError::Build {
                script: script.to_path_buf(),
                reason: output.status.to_string(),
            });
        }
        let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        Self::locate(Some(&dir))
    }
}

/// The cache root `scripts/control-plane` builds into.
pub fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("nodepool-operator")
}

#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error(
        "{0} does not hold both kube-apiserver and etcd (set {ASSETS_ENV} to a folder with both)"
    )]
    Incomplete(PathBuf),
    #[error(
        "no kube-apiserver and etcd found: {ASSETS_ENV} is unset and {0} holds no build; run scripts/control-plane to build them from source"
    )]
    NotBuilt(PathBuf),
    #[error("{script} failed ({reason}); its output above says why")]
    Build { script: PathBuf, reason: String },
}
