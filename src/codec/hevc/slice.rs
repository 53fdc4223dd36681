//! The start of `slice_segment_header()`: ITU-T H.265 §7.3.6.1, up to
//! `slice_pic_order_cnt_lsb`, which is all that picture order counts and
//! access-unit timing need.

use super::bits::Bits;
use super::params::ParameterSets;
use super::{nal_type, NalHeader, SyntaxError};

/// Bytes of a slice NAL unit unescaped for its header prefix: the fields
/// up to `slice_pic_order_cnt_lsb` take at most 20 bytes even with the
/// longest Exp-Golomb codes [`Bits::ue`] accepts.
const PREFIX_BYTES: usize = 64;

/// The picture-level fields of the first slice segment header of a picture
/// (ITU-T H.265 §7.3.6.1, §7.4.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceHeader {
    /// `slice_pic_parameter_set_id`.
    pub pps_id: u8,
    /// `pps_seq_parameter_set_id` of that PPS: the active SPS.
    pub sps_id: u8,
    /// `slice_type`: 0 B, 1 P, 2 I.
    pub slice_type: u8,
    /// `pic_output_flag` (1 when the PPS does not signal it).
    pub pic_output_flag: bool,
    /// `slice_pic_order_cnt_lsb` (0 for IDR pictures).
    pub pic_order_cnt_lsb: u32,
    /// `log2_max_pic_order_cnt_lsb_minus4 + 4` of the active SPS.
    pub log2_max_poc_lsb: u8,
}

impl SliceHeader {
    /// Parses the header of the first slice segment of a picture from its
    /// NAL unit (header included, as in the stream), looking up the PPS and
    /// SPS it refers to in `sets` (§7.4.2.4.2 activation).
    pub fn parse(nal: &[u8], sets: &ParameterSets) -> Result<SliceHeader, SyntaxError> {
        const WHAT: &str = "slice segment header";
        let header = NalHeader::parse(nal).ok_or(SyntaxError::Truncated(WHAT))?;
        let mut rbsp = Vec::with_capacity(PREFIX_BYTES);
        super::bits::unescape_into(nal, PREFIX_BYTES, &mut rbsp);
        let bits = &mut Bits::new(rbsp.get(2..).unwrap_or_default(), WHAT);
        if !bits.flag()? {
            return Err(SyntaxError::Invalid(format!(
                "{WHAT}: first_slice_segment_in_pic_flag is 0 in the first slice of a picture"
            )));
        }
        if (nal_type::BLA_W_LP..=23).contains(&header.nal_type) {
            bits.skip(1)?; // no_output_of_prior_pics_flag
        }
        let pps_id = bits.ue_max("slice_pic_parameter_set_id", 63)? as u8;
        let pps = sets.pps(pps_id).ok_or_else(|| {
            SyntaxError::MissingParameterSet(format!(
                "slice refers to picture parameter set {pps_id}, which was not seen before it"
            ))
        })?;
        let sps = sets.sps(pps.sps_id).ok_or_else(|| {
            SyntaxError::MissingParameterSet(format!(
                "picture parameter set {pps_id} refers to sequence parameter set {}, which was not seen before it",
                pps.sps_id
            ))
        })?;
        bits.skip(u32::from(pps.num_extra_slice_header_bits))?; // slice_reserved_flag
        let slice_type = bits.ue_max("slice_type", 2)? as u8;
        let pic_output_flag = !pps.output_flag_present || bits.flag()?;
        if sps.separate_colour_plane {
            bits.skip(2)?; // colour_plane_id
        }
        let pic_order_cnt_lsb = if header.is_idr() {
            0
        } else {
            bits.u(u32::from(sps.log2_max_poc_lsb))?
        };
        Ok(SliceHeader {
            pps_id,
            sps_id: pps.sps_id,
            slice_type,
            pic_output_flag,
            pic_order_cnt_lsb,
            log2_max_poc_lsb: sps.log2_max_poc_lsb,
        })
    }
}
