//! H.265 parameter sets and slice headers (ITU-T H.265 §7.3).
