//! Choosing the compute backend at run time.
//!
//! Burn 0.22 tensors are backend-erased: the [`Device`] decides where they
//! run. The pure-Rust CPU backend (`flex`) is always compiled in; `wgpu` is
//! available when the crate is built with the `wgpu` feature.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// A compute backend the user can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Burn's `flex` CPU backend (no system libraries needed).
    #[default]
    Cpu,
    /// Burn's `wgpu` backend (Vulkan, Metal, DirectX or a software driver).
    Wgpu,
}

/// The requested backend cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// The name is not a known backend.
    #[error("unknown backend {0:?}: expected cpu or wgpu")]
    Unknown(String),
    /// The backend was not compiled into this build.
    #[error("this build has no {0} backend; rebuild with `--features wgpu`")]
    NotCompiled(Backend),
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Cpu => "cpu",
            Backend::Wgpu => "wgpu",
        })
    }
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "cpu" | "flex" => Ok(Backend::Cpu),
            "wgpu" | "gpu" => Ok(Backend::Wgpu),
            _ => Err(BackendError::Unknown(s.to_owned())),
        }
    }
}

impl Backend {
    /// The device for this backend (the default adapter for wgpu).
    pub fn device(self) -> Result<Device, BackendError> {
        match self {
            Backend::Cpu => Ok(Device::flex()),
            Backend::Wgpu => wgpu_device(),
        }
    }
}

#[cfg(feature = "wgpu")]
fn wgpu_device() -> Result<Device, BackendError> {
    Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_device() -> Result<Device, BackendError> {
    Err(BackendError::NotCompiled(Backend::Wgpu))
}

/// Whether `device` is the CPU backend, whose buffers are plain host memory
/// (so no chunking of large matrices is needed).
pub fn is_cpu(device: &Device) -> bool {
    *device == Device::flex()
}

/// Sizes the CPU backend's worker pool (rayon's global pool, which the
/// backend's matrix products use) and returns the number of threads in use.
/// Only the first call in a process can choose; later ones just report.
pub fn init_cpu_threads(threads: Option<usize>) -> usize {
    if let Some(n) = threads.filter(|&n| n > 0) {
        // Fails only if the pool already exists, in which case its size stands.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global();
    }
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!("cpu".parse::<Backend>(), Ok(Backend::Cpu));
        assert_eq!("WGPU".parse::<Backend>(), Ok(Backend::Wgpu));
        assert!(matches!(
            "cuda".parse::<Backend>(),
            Err(BackendError::Unknown(_))
        ));
        assert!(is_cpu(&Backend::Cpu.device().unwrap()));
    }
}
