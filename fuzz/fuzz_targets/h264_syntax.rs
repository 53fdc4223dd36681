//! The H.264 syntax parsers on the NAL units of arbitrary bytes (split as
//! Annex B): SPS and its summary, PPS, SEI recovery points, slice headers
//! and picture order counts, with the parameter sets of earlier units in
//! force, as a reader applies them.
#![no_main]

use h264_reader::Context;
use libfuzzer_sys::fuzz_target;
use mediatool::codec::h264::{
    first_mb_in_slice, has_slice_header, nal_type, nal_unit_type, parse_pps, parse_sps,
    recovery_point, PocDecoder, SliceInfo, SpsInfo,
};
use mediatool::codec::nal::annexb_ranges;

fuzz_target!(|data: &[u8]| {
    let mut ctx = Context::new();
    let mut poc = PocDecoder::new();
    for range in annexb_ranges(data) {
        let nal = &data[range];
        match nal_unit_type(nal[0]) {
            nal_type::SPS => {
                if let Ok(sps) = parse_sps(nal) {
                    if let Ok(info) = SpsInfo::new(&sps) {
                        let _ = info.profile();
                    }
                    ctx.put_seq_param_set(sps);
                }
            }
            nal_type::PPS => {
                if let Ok(pps) = parse_pps(&ctx, nal) {
                    ctx.put_pic_param_set(pps);
                }
            }
            nal_type::SEI => {
                let _ = recovery_point(nal);
            }
            t if has_slice_header(t) => {
                let _ = first_mb_in_slice(nal);
                if let Ok((slice, sps)) = SliceInfo::parse(&ctx, nal) {
                    let _ = poc.decode(sps, &slice);
                }
            }
            _ => {}
        }
    }
});
