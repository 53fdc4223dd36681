//! `profile_tier_level()`: ITU-T H.265 §7.3.3 / §7.4.4.

use super::bits::Bits;
use super::SyntaxError;

/// A level as §A.4 writes it: `general_level_idc` is 30 × the level (93 is
/// level 3.1).
pub fn level_name(general_level_idc: u32) -> String {
    super::super::level_number(f64::from(general_level_idc) / 30.0)
}

/// The general profile, tier and level of a VPS or SPS (ITU-T H.265 §7.4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProfileTierLevel {
    /// `general_profile_space` (0 in every profile of Annex A).
    pub profile_space: u8,
    /// `general_tier_flag`: false Main tier, true High tier.
    pub tier_flag: bool,
    /// `general_profile_idc`: 1 Main, 2 Main 10, 3 Main Still Picture,
    /// 4 format range extensions (Annex A.3).
    pub profile_idc: u8,
    /// `general_profile_compatibility_flag[j]`, bit 31 − j set for profile j.
    pub compatibility_flags: u32,
    /// `general_level_idc`: 30 × the level number (Annex A.4), e.g. 93 for 3.1.
    pub level_idc: u8,
}

impl ProfileTierLevel {
    /// Parses `profile_tier_level(1, max_sub_layers_minus1)`, skipping the
    /// sub-layer entries (§7.3.3).
    pub fn parse(bits: &mut Bits, max_sub_layers_minus1: u8) -> Result<Self, SyntaxError> {
        let profile_space = bits.u(2)? as u8;
        let tier_flag = bits.flag()?;
        let profile_idc = bits.u(5)? as u8;
        let compatibility_flags = bits.u(32)?;
        // progressive/interlaced/non-packed/frame-only flags, 43 constraint
        // bits and general_inbld_flag/reserved bit: 4 + 43 + 1.
        bits.skip(48)?;
        let level_idc = bits.u(8)? as u8;
        let mut present = [(false, false); 7];
        for entry in present.iter_mut().take(usize::from(max_sub_layers_minus1)) {
            *entry = (bits.flag()?, bits.flag()?);
        }
        if max_sub_layers_minus1 > 0 {
            bits.skip(2 * (8 - u32::from(max_sub_layers_minus1)))?;
        }
        for &(profile, level) in present.iter().take(usize::from(max_sub_layers_minus1)) {
            if profile {
                bits.skip(88)?;
            }
            if level {
                bits.skip(8)?;
            }
        }
        Ok(ProfileTierLevel {
            profile_space,
            tier_flag,
            profile_idc,
            compatibility_flags,
            level_idc,
        })
    }

    /// The profile the stream conforms to: `general_profile_idc`, or when it
    /// is 0, the highest `j` whose compatibility flag is set (what FFmpeg
    /// reports for such streams).
    pub fn effective_profile_idc(&self) -> u8 {
        if self.profile_idc != 0 {
            return self.profile_idc;
        }
        // Flag j is bit 31 - j; the highest j is the lowest set bit.
        let flags = self.compatibility_flags & !(1 << 31);
        if flags == 0 {
            0
        } else {
            31 - flags.trailing_zeros() as u8
        }
    }

    /// The profile name as ffprobe prints it (Annex A.3): `Main`, `Main 10`,
    /// `Main Still Picture`, `Rext`; `None` for profiles FFmpeg 5.1 does
    /// not name.
    pub fn profile_name(&self) -> Option<&'static str> {
        match self.effective_profile_idc() {
            1 => Some("Main"),
            2 => Some("Main 10"),
            3 => Some("Main Still Picture"),
            4 => Some("Rext"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ptl(profile_idc: u8, flags: u32) -> ProfileTierLevel {
        ProfileTierLevel {
            profile_space: 0,
            tier_flag: false,
            profile_idc,
            compatibility_flags: flags,
            level_idc: 93,
        }
    }

    #[test]
    fn levels_read_as_the_standard_writes_them() {
        for (idc, name) in [(60, "2"), (93, "3.1"), (156, "5.2")] {
            assert_eq!(level_name(idc), name, "{idc}");
        }
    }

    #[test]
    fn profile_names_follow_ffprobe() {
        assert_eq!(ptl(1, 0x6000_0000).profile_name(), Some("Main"));
        assert_eq!(ptl(2, 0x2000_0000).profile_name(), Some("Main 10"));
        assert_eq!(ptl(3, 0).profile_name(), Some("Main Still Picture"));
        assert_eq!(ptl(4, 0).profile_name(), Some("Rext"));
        assert_eq!(ptl(9, 0).profile_name(), None);
        // profile_idc 0: the highest compatible profile (flags 1 and 2 -> 2).
        assert_eq!(ptl(0, 0x6000_0000).profile_name(), Some("Main 10"));
        assert_eq!(ptl(0, 0).profile_name(), None);
    }

    #[test]
    fn parses_general_fields_and_skips_sub_layers() {
        // space 1, tier 1, idc 2; flags 0x20000000; 48 skipped bits; level 120;
        // one sub-layer (max_sub_layers_minus1 = 1) with profile and level
        // present: 2 flag bits + 14 reserved bits + 88 + 8 bits, then a marker.
        let mut data = vec![0b0110_0010, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 120];
        data.push(0b1100_0000);
        data.push(0);
        data.extend([0u8; 12]);
        data.push(0xff);
        let mut bits = Bits::new(&data, "test");
        let parsed = ProfileTierLevel::parse(&mut bits, 1).unwrap();
        assert_eq!(
            parsed,
            ProfileTierLevel {
                profile_space: 1,
                tier_flag: true,
                profile_idc: 2,
                compatibility_flags: 0x2000_0000,
                level_idc: 120,
            }
        );
        assert_eq!(bits.u(8).unwrap(), 0xff);
    }
}
