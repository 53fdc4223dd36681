//! The H.265 syntax parsers on the NAL units of arbitrary bytes (split as
//! Annex B): NAL unit headers, VPS/SPS/PPS, the stream summary, first slice
//! segment headers and picture order counts, with the parameter sets of
//! earlier units in force, as a reader applies them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediatool::codec::hevc::{
    first_slice_segment_in_pic, NalHeader, ParameterSets, PocDecoder, Pps, SliceHeader, Sps,
    StreamParams, Vps,
};
use mediatool::codec::nal::annexb_ranges;

fuzz_target!(|data: &[u8]| {
    let mut sets = ParameterSets::new();
    let mut poc = PocDecoder::new();
    let nal_units: Vec<&[u8]> = annexb_ranges(data).map(|r| &data[r]).collect();
    for &nal in &nal_units {
        let _ = (Vps::from_nal(nal), Sps::from_nal(nal), Pps::from_nal(nal));
        let _ = sets.update(nal);
        let Some(header) = NalHeader::parse(nal) else {
            continue;
        };
        let _ = header.starts_access_unit(first_slice_segment_in_pic(nal).unwrap_or(false));
        if header.is_picture() {
            if let Ok(slice) = SliceHeader::parse(nal, &sets) {
                let _ = poc.decode(header, &slice, header.is_irap());
            }
        }
    }
    let _ = StreamParams::from_nal_units(nal_units);
});
