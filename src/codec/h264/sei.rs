//! Supplemental enhancement information (ITU-T H.264 §7.3.2.3, Annex D):
//! the recovery point that makes an I picture a random access point.

use h264_reader::nal::sei::recovery_point::RecoveryPoint;
use h264_reader::nal::sei::{HeaderType, SeiReader};
use h264_reader::nal::{Nal, RefNal};

/// The `recovery_frame_cnt` of the first recovery point SEI message
/// (§D.1.8) in an SEI NAL unit (header byte included), if it has one.
pub fn recovery_point(sei_nal: &[u8]) -> Option<u32> {
    if sei_nal.is_empty() {
        return None;
    }
    let nal = RefNal::new(sei_nal, &[], true);
    let mut scratch = Vec::new();
    let mut messages = SeiReader::from_rbsp_bytes(nal.rbsp_bytes(), &mut scratch);
    while let Ok(Some(message)) = messages.next() {
        if message.payload_type == HeaderType::RecoveryPoint {
            return RecoveryPoint::read(&message)
                .ok()
                .map(|point| point.recovery_frame_cnt);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_point_sei() {
        // payloadType 6, size 1, recovery_frame_cnt 0 + flags (0xC4), trailing bits.
        assert_eq!(recovery_point(&[0x06, 0x06, 0x01, 0xc4, 0x80]), Some(0));
        // A user data unregistered message only.
        let user_data = [
            0x06, 0x05, 0x11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, b'x', 0x80,
        ];
        assert_eq!(recovery_point(&user_data), None);
        assert_eq!(recovery_point(&[0x06]), None);
        assert_eq!(recovery_point(&[]), None);
    }
}
