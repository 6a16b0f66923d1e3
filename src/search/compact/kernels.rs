//! The integer dot product behind int8 search: one kernel per instruction set, picked once at run
//! time (the best this CPU has), or forced with `LOOKALIKE_SIMD` so each can be measured and tested
//! on any machine that has it. Every kernel gives exactly the same integers.

use std::fmt;

/// An int8 dot-product kernel.
pub type DotI8 = fn(&[i8], &[i8]) -> i32;

/// The instruction sets there is an int8 kernel for, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simd {
    /// AVX-512 VNNI: 64 byte products summed into 16 lanes per instruction (`vpdpbusd`).
    Avx512Vnni,
    /// AVX-VNNI: the same on 256-bit registers (recent Intel and AMD laptop chips).
    AvxVnni,
    /// AVX-512 F + BW without VNNI: bytes widened to 16 bits, `vpmaddwd` on 512-bit registers.
    Avx512,
    /// AVX2: bytes widened to 16 bits, `vpmaddwd` on 256-bit registers.
    Avx2,
    /// Any CPU: a loop the compiler vectorises for the target's baseline (SSE2, NEON).
    Portable,
}

impl Simd {
    pub const ALL: [Simd; 5] = [
        Simd::Avx512Vnni,
        Simd::AvxVnni,
        Simd::Avx512,
        Simd::Avx2,
        Simd::Portable,
    ];

    /// The name `LOOKALIKE_SIMD` takes.
    pub fn name(self) -> &'static str {
        match self {
            Simd::Avx512Vnni => "avx512vnni",
            Simd::AvxVnni => "avxvnni",
            Simd::Avx512 => "avx512",
            Simd::Avx2 => "avx2",
            Simd::Portable => "portable",
        }
    }

    pub fn from_name(name: &str) -> Option<Simd> {
        Simd::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Whether this CPU has the instructions.
    pub fn is_supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            use std::is_x86_feature_detected as has;
            match self {
                Simd::Avx512Vnni => has!("avx512f") && has!("avx512bw") && has!("avx512vnni"),
                Simd::AvxVnni => has!("avx2") && has!("avxvnni"),
                Simd::Avx512 => has!("avx512f") && has!("avx512bw"),
                Simd::Avx2 => has!("avx2"),
                Simd::Portable => true,
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Simd::Portable
        }
    }

    /// The kernels this CPU can run, best first.
    pub fn available() -> Vec<Simd> {
        Simd::ALL.into_iter().filter(|s| s.is_supported()).collect()
    }

    /// The best kernel this CPU can run.
    pub fn best() -> Simd {
        Simd::ALL
            .into_iter()
            .find(|s| s.is_supported())
            .unwrap_or(Simd::Portable)
    }

    /// The kernel's dot product. Only kernels this CPU supports are ever returned: any other
    /// falls back to the portable one.
    pub fn dot(self) -> DotI8 {
        if !self.is_supported() {
            return dot_portable;
        }
        match self {
            // SAFETY (each arm): `is_supported` checked above that the CPU has the instructions
            // the kernel is compiled for.
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512Vnni => |a, b| unsafe { x86::dot_avx512vnni(a, b) },
            #[cfg(target_arch = "x86_64")]
            Simd::AvxVnni => |a, b| unsafe { x86::dot_avxvnni(a, b) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx512 => |a, b| unsafe { x86::dot_avx512(a, b) },
            #[cfg(target_arch = "x86_64")]
            Simd::Avx2 => |a, b| unsafe { x86::dot_avx2(a, b) },
            _ => dot_portable,
        }
    }
}

impl fmt::Display for Simd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why `LOOKALIKE_SIMD` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimdError {
    #[error("LOOKALIKE_SIMD={asked} is not a kernel: use one of {}", names(&Simd::ALL))]
    Unknown { asked: String },
    #[error(
        "LOOKALIKE_SIMD={asked}: this CPU ({cpu}) does not have those instructions; it can run {}",
        names(&Simd::available())
    )]
    Unsupported { asked: Simd, cpu: String },
}

fn names(kernels: &[Simd]) -> String {
    kernels
        .iter()
        .map(|s| s.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kernel `LOOKALIKE_SIMD` names (`value`), or the best one when it is unset or empty.
pub fn kernel_for(value: Option<&str>) -> Result<Simd, SimdError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(Simd::best()),
        Some(v) => {
            let asked = Simd::from_name(v).ok_or_else(|| SimdError::Unknown { asked: v.into() })?;
            if asked.is_supported() {
                Ok(asked)
            } else {
                Err(SimdError::Unsupported {
                    asked,
                    cpu: crate::cpu::describe(),
                })
            }
        }
    }
}

impl Simd {
    /// The kernel int8 search uses: `LOOKALIKE_SIMD`'s when it names one this CPU has, else the
    /// best (the command line refuses a bad `LOOKALIKE_SIMD` before any search; see
    /// [`check_simd_env`]).
    pub fn chosen() -> Simd {
        static CHOSEN: std::sync::OnceLock<Simd> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| match check_simd_env() {
            Ok(s) => s,
            Err(e) => {
                log::warn!("{e}; using {}", Simd::best());
                Simd::best()
            }
        })
    }
}

/// `LOOKALIKE_SIMD` checked: the kernel it asks for, or why it cannot be had.
pub fn check_simd_env() -> Result<Simd, SimdError> {
    kernel_for(std::env::var("LOOKALIKE_SIMD").ok().as_deref())
}

/// Integer dot product with the kernel searches use.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    (Simd::chosen().dot())(a, b)
}

/// Written so the compiler emits packed multiply-adds of 16-bit pairs into 32-bit lanes.
#[inline(always)]
fn dot_portable(a: &[i8], b: &[i8]) -> i32 {
    let mut acc = [0i32; 32];
    let (ca, cb) = (a.chunks_exact(64), b.chunks_exact(64));
    let tail: i32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| x as i32 * y as i32)
        .sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..32 {
            let p0 = x[2 * i] as i16 * y[2 * i] as i16;
            let p1 = x[2 * i + 1] as i16 * y[2 * i + 1] as i16;
            acc[i] += p0 as i32 + p1 as i32;
        }
    }
    acc.iter().sum::<i32>() + tail
}

/// The products past the last whole block, one at a time.
#[inline(always)]
fn tail(a: &[i8], b: &[i8]) -> i32 {
    a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::tail;

    /// VNNI multiplies unsigned by signed bytes, so `a` is shifted into unsigned range (`a + 128`,
    /// a flip of the sign bit) and `128 * sum(b)`, summed by the same instruction, taken off again.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub(super) fn dot_avx512vnni(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let whole = n - n % 64;
        let flip = _mm512_set1_epi8(i8::MIN);
        let ones = _mm512_set1_epi8(1);
        let (mut acc, mut sum_b) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for start in (0..whole).step_by(64) {
            // SAFETY: `start + 64 <= whole <= n`, the length of both slices; loads may be unaligned.
            let (x, y) = unsafe {
                (
                    _mm512_loadu_si512(a.as_ptr().add(start).cast()),
                    _mm512_loadu_si512(b.as_ptr().add(start).cast()),
                )
            };
            acc = _mm512_dpbusd_epi32(acc, _mm512_xor_si512(x, flip), y);
            sum_b = _mm512_dpbusd_epi32(sum_b, ones, y);
        }
        _mm512_reduce_add_epi32(acc) - 128 * _mm512_reduce_add_epi32(sum_b)
            + tail(&a[whole..n], &b[whole..n])
    }

    /// The AVX-512 VNNI kernel's trick on 256-bit registers (AVX-VNNI's `vpdpbusd`).
    #[target_feature(enable = "avx2,avxvnni")]
    pub(super) fn dot_avxvnni(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let whole = n - n % 64;
        let flip = _mm256_set1_epi8(i8::MIN);
        let ones = _mm256_set1_epi8(1);
        let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        let (mut sum0, mut sum1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for start in (0..whole).step_by(64) {
            // SAFETY: `start + 64 <= whole <= n`: both 32-byte halves are inside both slices.
            let (x0, y0, x1, y1) = unsafe {
                let (pa, pb) = (a.as_ptr().add(start), b.as_ptr().add(start));
                (
                    _mm256_loadu_si256(pa.cast()),
                    _mm256_loadu_si256(pb.cast()),
                    _mm256_loadu_si256(pa.add(32).cast()),
                    _mm256_loadu_si256(pb.add(32).cast()),
                )
            };
            acc0 = _mm256_dpbusd_avx_epi32(acc0, _mm256_xor_si256(x0, flip), y0);
            acc1 = _mm256_dpbusd_avx_epi32(acc1, _mm256_xor_si256(x1, flip), y1);
            sum0 = _mm256_dpbusd_avx_epi32(sum0, ones, y0);
            sum1 = _mm256_dpbusd_avx_epi32(sum1, ones, y1);
        }
        let acc = _mm256_add_epi32(acc0, acc1);
        let sum = _mm256_add_epi32(sum0, sum1);
        hsum256(acc) - 128 * hsum256(sum) + tail(&a[whole..n], &b[whole..n])
    }

    /// Bytes sign-extended to 16 bits, then `vpmaddwd`: pairs of 16-bit products summed into 32
    /// bits, which cannot overflow (2 x 128 x 128 < 2^31), on 512-bit registers.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub(super) fn dot_avx512(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let whole = n - n % 64;
        let (mut acc0, mut acc1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
        for start in (0..whole).step_by(64) {
            // SAFETY: `start + 64 <= whole <= n`: both 32-byte halves are inside both slices.
            let (x0, y0, x1, y1) = unsafe {
                let (pa, pb) = (a.as_ptr().add(start), b.as_ptr().add(start));
                (
                    _mm256_loadu_si256(pa.cast()),
                    _mm256_loadu_si256(pb.cast()),
                    _mm256_loadu_si256(pa.add(32).cast()),
                    _mm256_loadu_si256(pb.add(32).cast()),
                )
            };
            let p0 = _mm512_madd_epi16(_mm512_cvtepi8_epi16(x0), _mm512_cvtepi8_epi16(y0));
            let p1 = _mm512_madd_epi16(_mm512_cvtepi8_epi16(x1), _mm512_cvtepi8_epi16(y1));
            acc0 = _mm512_add_epi32(acc0, p0);
            acc1 = _mm512_add_epi32(acc1, p1);
        }
        _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1)) + tail(&a[whole..n], &b[whole..n])
    }

    /// The AVX-512 kernel's widening multiply-add on 256-bit registers.
    #[target_feature(enable = "avx2")]
    pub(super) fn dot_avx2(a: &[i8], b: &[i8]) -> i32 {
        let n = a.len().min(b.len());
        let whole = n - n % 32;
        let (mut acc0, mut acc1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
        for start in (0..whole).step_by(32) {
            // SAFETY: `start + 32 <= whole <= n`: both 16-byte halves are inside both slices.
            let (x0, y0, x1, y1) = unsafe {
                let (pa, pb) = (a.as_ptr().add(start), b.as_ptr().add(start));
                (
                    _mm_loadu_si128(pa.cast()),
                    _mm_loadu_si128(pb.cast()),
                    _mm_loadu_si128(pa.add(16).cast()),
                    _mm_loadu_si128(pb.add(16).cast()),
                )
            };
            let p0 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x0), _mm256_cvtepi8_epi16(y0));
            let p1 = _mm256_madd_epi16(_mm256_cvtepi8_epi16(x1), _mm256_cvtepi8_epi16(y1));
            acc0 = _mm256_add_epi32(acc0, p0);
            acc1 = _mm256_add_epi32(acc1, p1);
        }
        hsum256(_mm256_add_epi32(acc0, acc1)) + tail(&a[whole..n], &b[whole..n])
    }

    /// The sum of eight 32-bit lanes.
    #[target_feature(enable = "avx2")]
    fn hsum256(v: __m256i) -> i32 {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[i8], b: &[i8]) -> i32 {
        a.iter().zip(b).map(|(&x, &y)| x as i32 * y as i32).sum()
    }

    #[test]
    fn every_kernel_gives_the_scalar_kernels_integers_at_every_length_and_extreme() {
        let mut rng = fastrand::Rng::with_seed(21);
        let lengths: Vec<usize> = (0..=200).chain([255, 256, 257, 1279, 1280, 2048]).collect();
        let available = Simd::available();
        assert!(available.contains(&Simd::Portable));
        for &len in &lengths {
            let a: Vec<i8> = (0..len).map(|_| rng.i8(..)).collect();
            let b: Vec<i8> = (0..len).map(|_| rng.i8(..)).collect();
            let extremes: [(i8, i8); 4] = [(-128, -128), (-128, 127), (127, 127), (127, -128)];
            for &simd in &available {
                let dot = simd.dot();
                assert_eq!(dot(&a, &b), naive(&a, &b), "{simd}, length {len}");
                for (x, y) in extremes {
                    let (ea, eb) = (vec![x; len], vec![y; len]);
                    assert_eq!(
                        dot(&ea, &eb),
                        naive(&ea, &eb),
                        "{simd} {x}x{y}, length {len}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_kernel_the_cpu_lacks_or_an_unknown_name_is_refused_with_what_there_is() {
        assert_eq!(kernel_for(None), Ok(Simd::best()));
        assert_eq!(kernel_for(Some("")), Ok(Simd::best()));
        assert_eq!(kernel_for(Some("portable")), Ok(Simd::Portable));
        let unknown = kernel_for(Some("sse9")).unwrap_err().to_string();
        assert!(
            unknown.contains("sse9") && unknown.contains("avx2"),
            "{unknown}"
        );
        for simd in Simd::ALL {
            match kernel_for(Some(simd.name())) {
                Ok(s) => assert!(s == simd && simd.is_supported()),
                Err(e) => {
                    assert!(!simd.is_supported());
                    let m = e.to_string();
                    assert!(m.contains(simd.name()) && m.contains("portable"), "{m}");
                }
            }
        }
    }
}
