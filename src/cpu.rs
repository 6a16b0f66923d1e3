//! The processor this runs on, in the words speed figures need: its name and the instruction sets
//! that int8 inference and search use (AVX2, AVX-512, VNNI, AMX).

/// The CPU's model name and the int8-relevant instruction sets it has, e.g.
/// "AMD EPYC (avx2 avx512f avx512bw avx512vl avx512vnni)".
pub fn describe() -> String {
    let name = model_name().unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let flags = int8_flags();
    if flags.is_empty() {
        name
    } else {
        format!("{name} ({})", flags.join(" "))
    }
}

/// The model name from /proc/cpuinfo (Linux), if there is one.
fn model_name() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

/// The instruction sets int8 inference and search use, as this process sees them.
pub fn int8_flags() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut found = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! check {
            ($($f:tt),*) => {$(
                if std::is_x86_feature_detected!($f) {
                    found.push($f);
                }
            )*};
        }
        check!(
            "avx2",
            "avxvnni",
            "avx512f",
            "avx512bw",
            "avx512vl",
            "avx512vnni"
        );
        if amx_int8() {
            found.push("amx-int8");
        }
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("dotprod") {
            found.push("dotprod");
        }
    }
    found
}

/// AMX int8 tiles, from /proc/cpuinfo (std cannot detect AMX on stable Rust).
fn amx_int8() -> bool {
    std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
        info.lines()
            .any(|l| l.starts_with("flags") && l.split_whitespace().any(|f| f == "amx_int8"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_the_cpu_and_its_flags() {
        let d = super::describe();
        assert!(!d.is_empty());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            d.contains("avx2"),
            std::is_x86_feature_detected!("avx2"),
            "{d}"
        );
    }
}
