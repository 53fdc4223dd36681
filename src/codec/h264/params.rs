//! Sequence and picture parameter sets (ITU-T H.264 §7.3.2.1, §7.3.2.2),
//! parsed by the `h264-reader` crate.

use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::nal::{Nal, RefNal};
use h264_reader::Context;

use super::{reader_error, SyntaxError};

/// Parses a sequence parameter set NAL unit (header byte included, no start
/// code) (§7.3.2.1).
pub fn parse_sps(nal: &[u8]) -> Result<SeqParameterSet, SyntaxError> {
    if nal.is_empty() {
        return Err(SyntaxError::CutShort("sequence parameter set"));
    }
    let bits = RefNal::new(nal, &[], true).rbsp_bits();
    SeqParameterSet::from_bits(bits).map_err(|e| match e {
        h264_reader::nal::sps::SpsError::RbspReaderError(e) => {
            reader_error("sequence parameter set", &e)
        }
        other => SyntaxError::Invalid(format!("bad sequence parameter set: {other:?}")),
    })
}

/// Parses a picture parameter set NAL unit (header byte included, no start
/// code) against the SPSs of `ctx` (§7.3.2.2).
pub fn parse_pps(ctx: &Context, nal: &[u8]) -> Result<PicParameterSet, SyntaxError> {
    if nal.is_empty() {
        return Err(SyntaxError::CutShort("picture parameter set"));
    }
    let bits = RefNal::new(nal, &[], true).rbsp_bits();
    PicParameterSet::from_bits(ctx, bits).map_err(|e| match e {
        h264_reader::nal::pps::PpsError::RbspReaderError(e) => {
            reader_error("picture parameter set", &e)
        }
        h264_reader::nal::pps::PpsError::UnknownSeqParamSetId(id) => {
            SyntaxError::MissingParameterSet(format!(
                "picture parameter set refers to unknown SPS {}",
                id.id()
            ))
        }
        other => SyntaxError::Invalid(format!("bad picture parameter set: {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::nal_type;
    use crate::codec::h264::test_support::first_of_type;
    use crate::codec::nal::fixture_nal_units;

    #[test]
    fn broken_parameter_sets_are_errors() {
        assert_eq!(
            parse_sps(&[0x67]),
            Err(SyntaxError::CutShort("sequence parameter set"))
        );
        assert!(parse_sps(&[]).is_err());
        let nals = fixture_nal_units("h264_bframes.264");
        let sps = first_of_type(&nals, nal_type::SPS);
        for cut in 1..sps.len() - 1 {
            assert!(parse_sps(&sps[..cut]).is_err(), "cut at {cut}");
        }
        let ctx = Context::new();
        assert!(matches!(
            parse_pps(&ctx, first_of_type(&nals, nal_type::PPS)),
            Err(SyntaxError::MissingParameterSet(_))
        ));
    }
}
