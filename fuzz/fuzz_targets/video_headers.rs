//! The video header parsers on arbitrary bytes: VP8 frame headers, VP9
//! uncompressed headers, superframe indexes and codec configurations, AV1
//! OBUs, sequence headers and av1C records, MPEG-1/2 video headers and
//! access unit splitting. No panic; what they return lies within the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediatool::codec::{av1, mpeg_video, vp8, vp9};

fuzz_target!(|data: &[u8]| {
    let _ = vp8::FrameHeader::parse(data);
    if let Ok(frames) = vp9::superframe_frames(data) {
        assert!(frames.iter().map(|f| f.len()).sum::<usize>() <= data.len());
        for frame in frames {
            if let Ok(vp9::FrameHeader {
                kind: vp9::FrameKind::Coded(f),
                ..
            }) = vp9::FrameHeader::parse(frame)
            {
                let _ = f.color.map(|c| c.pix_fmt());
            }
        }
    }
    let _ = vp9::config_profile(data);

    for obu in av1::obus(data).map_while(Result::ok) {
        assert!(obu.offset + obu.len <= data.len() && obu.payload.len() < obu.len);
        if let Ok(h) = av1::SequenceHeader::parse(obu.payload) {
            let _ = (h.pix_fmt(), h.profile_name());
        }
    }
    if let Ok((value, len)) = av1::read_leb128(data) {
        assert!(value <= u64::from(u32::MAX) && len <= 8);
    }
    let _ = av1::config_obus(data);
    let _ = av1::SequenceHeader::parse(data);

    let mut end = 0;
    for unit in mpeg_video::access_units(data) {
        assert!(unit.start >= end && unit.start < unit.end && unit.end <= data.len());
        end = unit.end;
    }
    for code in mpeg_video::start_codes(data) {
        let body = &data[code.body().min(data.len())..];
        match code.code {
            mpeg_video::start_code::SEQUENCE_HEADER => {
                if let Ok(h) = mpeg_video::SequenceHeader::parse(body) {
                    assert!(h.len <= body.len());
                    let _ = (
                        h.frame_rate(None),
                        h.bit_rate(None),
                        h.vbv_buffer_size(None),
                    );
                }
            }
            mpeg_video::start_code::EXTENSION => {
                if let Ok(e) = mpeg_video::SequenceExtension::parse(body) {
                    let _ = (e.profile_name(), e.level(), e.pix_fmt());
                }
                let _ = mpeg_video::PictureCodingExtension::parse(body);
            }
            mpeg_video::start_code::GROUP => {
                let _ = mpeg_video::GopHeader::parse(body);
            }
            mpeg_video::start_code::PICTURE => {
                let _ = mpeg_video::PictureHeader::parse(body);
            }
            _ => {}
        }
    }
});
