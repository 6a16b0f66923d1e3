//! The integer dot product behind int8 search, compiled for the widest instructions of each CPU
//! family and picked once at run time.

/// Integer dot product with the best instructions this CPU has, picked once at run time: AVX-512
/// VNNI (four byte products summed per lane in one instruction), else the same portable loop
/// compiled for AVX-512, AVX2 or SSE2.
pub fn dot_i8(a: &[i8], b: &[i8]) -> i32 {
    (dot_i8_impl())(a, b)
}

pub(super) type DotI8 = fn(&[i8], &[i8]) -> i32;

pub(super) fn dot_i8_impl() -> DotI8 {
    static BEST: std::sync::OnceLock<DotI8> = std::sync::OnceLock::new();
    *BEST.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512vnni")
                && std::is_x86_feature_detected!("avx512bw")
            {
                // SAFETY: the CPU has AVX-512 F, BW and VNNI (checked just above).
                return |a, b| unsafe { dot_i8_vnni(a, b) };
            }
            if std::is_x86_feature_detected!("avx512bw") {
                // SAFETY: the CPU has AVX-512 F and BW (checked just above).
                return |a, b| unsafe { dot_i8_avx512(a, b) };
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2 (checked just above).
                return |a, b| unsafe { dot_i8_avx2(a, b) };
            }
        }
        dot_i8_portable
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn dot_i8_avx512(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

/// VNNI multiplies unsigned by signed bytes, so `a` is shifted into unsigned range (`a + 128`,
/// a flip of the sign bit) and `128 * sum(b)`, summed by the same instruction, taken off again.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
fn dot_i8_vnni(a: &[i8], b: &[i8]) -> i32 {
    use std::arch::x86_64::*;
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
    let tail: i32 = a[whole..n]
        .iter()
        .zip(&b[whole..n])
        .map(|(&x, &y)| x as i32 * y as i32)
        .sum();
    _mm512_reduce_add_epi32(acc) - 128 * _mm512_reduce_add_epi32(sum_b) + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_i8_avx2(a: &[i8], b: &[i8]) -> i32 {
    dot_i8_portable(a, b)
}

/// Written so the compiler emits packed multiply-adds of 16-bit pairs into 32-bit lanes.
#[inline(always)]
fn dot_i8_portable(a: &[i8], b: &[i8]) -> i32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_dot_products_are_exact_at_any_length() {
        for len in [0, 1, 63, 64, 100, 1280] {
            let a: Vec<i8> = (0..len).map(|i| ((i * 37) % 255) as i8).collect();
            let b: Vec<i8> = (0..len).map(|i| (127 - (i * 11) % 255) as i8).collect();
            let naive: i32 = a.iter().zip(&b).map(|(&x, &y)| x as i32 * y as i32).sum();
            assert_eq!(dot_i8(&a, &b), naive, "length {len}");
            assert_eq!(dot_i8_portable(&a, &b), naive, "length {len}");
            #[cfg(target_arch = "x86_64")]
            if std::is_x86_feature_detected!("avx512vnni") {
                // SAFETY: the CPU has VNNI (checked just above); it implies AVX-512 F and BW here.
                assert_eq!(unsafe { dot_i8_vnni(&a, &b) }, naive, "length {len}");
                let extremes = vec![i8::MIN; len as usize];
                let naive = len * 128 * 128;
                assert_eq!(
                    unsafe { dot_i8_vnni(&extremes, &extremes) },
                    naive,
                    "length {len}"
                );
            }
        }
    }
}
