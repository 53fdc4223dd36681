//! Exact ratios: frame rates, sample aspect ratios.

use std::fmt;

/// An exact ratio, e.g. a frame rate of 30000/1001.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    /// Numerator.
    pub num: u32,
    /// Denominator (never zero).
    pub den: u32,
}

impl Rational {
    /// `num/den`, or `None` when either is zero.
    pub fn new(num: u32, den: u32) -> Option<Rational> {
        (num != 0 && den != 0).then_some(Rational { num, den })
    }

    /// `num/den` in lowest terms; `None` when either is zero or the reduced
    /// terms do not fit 32 bits (timing information of H.264 §E.2.1 and
    /// H.265 §E.3.1 gives ratios of 32-bit values, times 2 in H.264).
    pub fn reduced(num: u64, den: u64) -> Option<Rational> {
        let (mut a, mut b) = (num, den);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if a == 0 {
            return None;
        }
        Rational::new(u32::try_from(num / a).ok()?, u32::try_from(den / a).ok()?)
    }

    /// The ratio as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_reduce_to_lowest_terms() {
        assert_eq!(Rational::reduced(60000, 2002), Rational::new(30000, 1001));
        assert_eq!(Rational::reduced(50, 2), Rational::new(25, 1));
        assert_eq!(Rational::reduced(0, 1), None);
        assert_eq!(Rational::reduced(1, 0), None);
        assert_eq!(Rational::reduced(1 << 33, 3), None);
        assert_eq!(Rational::reduced(1 << 33, 2), None);
        assert_eq!(
            Rational::reduced(u64::from(u32::MAX) * 2, 2),
            Rational::new(u32::MAX, 1)
        );
    }
}
