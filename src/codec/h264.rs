//! H.264 parameter sets and slice headers (ITU-T H.264 §7.3).
