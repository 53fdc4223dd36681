//! The audio frame header parsers on arbitrary bytes: MPEG audio headers
//! and Xing/Info/VBRI tags, ADTS headers, raw data block positions and
//! program config elements, and the frame-chain checks of detection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediatool::codec::adts::{self, AdtsHeader};
use mediatool::codec::mpeg_audio::{self, FrameHeader, VbrTag};
use mediatool::codec::FrameChain;

fuzz_target!(|data: &[u8]| {
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
});
