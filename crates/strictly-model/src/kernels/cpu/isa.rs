//! Run-time choice of instruction set.
//!
//! The binary is built for baseline x86-64 (or any other target), so the SIMD
//! kernels are compiled with `#[target_feature]` and picked here once, after
//! asking the CPU. The scalar kernels run everywhere and are what the SIMD
//! ones are tested against.

use std::sync::OnceLock;

/// An instruction set the kernels are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Isa {
    /// Portable Rust; the reference for the others.
    Scalar,
    /// x86-64 AVX2 + FMA + F16C (`maddubs` products).
    Avx2,
    /// x86-64 AVX-512 F/BW/VL + VNNI (`vpdpbusd` products).
    Avx512Vnni,
}

impl Isa {
    /// The best instruction set this CPU supports (detected once).
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| Isa::available().into_iter().max().unwrap_or(Isa::Scalar))
    }

    /// Every instruction set this CPU supports, scalar first.
    pub fn available() -> Vec<Isa> {
        let mut isas = vec![Isa::Scalar];
        if Isa::Avx2.is_supported() {
            isas.push(Isa::Avx2);
        }
        if Isa::Avx512Vnni.is_supported() {
            isas.push(Isa::Avx512Vnni);
        }
        isas
    }

    /// Whether this CPU can run kernels for `self`.
    pub fn is_supported(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni => {
                Isa::Avx2.is_supported()
                    && std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512vnni")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}
