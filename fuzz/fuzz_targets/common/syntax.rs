//! The codec syntax parsers: H.264 and H.265 parameter sets, slice headers
//! and picture order counts, and the audio frame headers.

use h264_reader::Context;
use mediatool::codec::adts::{self, AdtsHeader};
use mediatool::codec::h264::{
    first_mb_in_slice, has_slice_header, nal_type, nal_unit_type, parse_pps, parse_sps,
    recovery_point, PocDecoder as H264Poc, SliceInfo, SpsInfo,
};
use mediatool::codec::hevc::{
    first_slice_segment_in_pic, NalHeader, ParameterSets, PocDecoder as HevcPoc, Pps, SliceHeader,
    Sps, StreamParams, Vps,
};
use mediatool::codec::mpeg_audio::{self, FrameHeader, VbrTag};
use mediatool::codec::nal::annexb_ranges;
use mediatool::codec::FrameChain;

/// The H.264 syntax parsers on the NAL units of arbitrary bytes (split as
/// Annex B): SPS and its summary, PPS, SEI recovery points, slice headers
/// and picture order counts, with the parameter sets of earlier units in
/// force, as a reader applies them.
pub fn h264(data: &[u8]) {
    let mut ctx = Context::new();
    let mut poc = H264Poc::new();
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
}

/// The H.265 syntax parsers on the NAL units of arbitrary bytes (split as
/// Annex B): NAL unit headers, VPS/SPS/PPS, the stream summary, first slice
/// segment headers and picture order counts, with the parameter sets of
/// earlier units in force, as a reader applies them.
pub fn hevc(data: &[u8]) {
    let mut sets = ParameterSets::new();
    let mut poc = HevcPoc::new();
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
}

/// The audio frame header parsers on arbitrary bytes: MPEG audio headers
/// and Xing/Info/VBRI tags, ADTS headers, raw data block positions and
/// program config elements, and the frame-chain checks of detection.
pub fn audio_headers(data: &[u8]) {
    if let Ok(header) = FrameHeader::parse(data) {
        assert!(
            header.frame_len >= 4,
            "MPEG audio frame shorter than its header"
        );
        let _ = VbrTag::parse(data, &header);
    }
    if let Some(header) = AdtsHeader::parse(data) {
        assert!(header.frame_len > header.header_len, "empty ADTS frame");
        if let Ok(blocks) = header.raw_data_blocks(data) {
            for block in blocks {
                assert!(block.start <= block.end && block.end <= data.len());
            }
        }
        let _ = header.config_from_pce(data.get(header.header_len..).unwrap_or_default());
        let _ = header.audio_specific_config();
    }
    for chain in [FrameChain::MayBeCut, FrameChain::Whole] {
        let _ = mpeg_audio::starts_with_frames(data, 4, chain);
        let _ = adts::starts_with_frames(data, 4, chain);
    }
}
