//! Access unit assembly (ITU-T H.264 §7.4.1.2.3, §7.4.1.2.4): NAL units
//! join the access unit being assembled until one starts the next; each
//! complete access unit goes to the output order emulation with the picture
//! order count of its primary coded picture.

use std::sync::Arc;

use super::{H264Reader, PendingUnit, ResumePoint};
use crate::codec::h264::{
    first_mb_in_slice, has_slice_header, nal_type, nal_unit_type, recovery_point,
    starts_access_unit, SliceInfo, SpsInfo, SyntaxError,
};
use crate::media::annexb::NalSpan;
use crate::media::frame_clock::FrameClock;
use crate::media::output_order::OutputOrder;
use crate::media::sequence::{self, Sequence};
use crate::media::warnings::Warning;
use crate::media::{MediaError, Result};

/// The primary coded picture of the access unit being assembled.
#[derive(Debug)]
pub(super) struct Picture {
    /// Its `PicOrderCnt`.
    pub poc: i64,
    /// An IDR picture.
    pub idr: bool,
    /// Where to resume for a seek to this picture, for candidate key frames.
    pub resume: Option<Box<ResumePoint>>,
}

/// The access unit being assembled; it starts at buffer position 0.
#[derive(Debug, Default)]
pub(super) struct AccessUnitBuilder {
    /// NAL units kept in it.
    pub nal_units: usize,
    /// Its primary coded picture, from the first slice on.
    pub picture: Option<Picture>,
    /// The last slice of the primary picture.
    pub last_slice: SliceInfo,
    /// Colour planes that had a slice with `first_mb_in_slice` 0.
    mb0_planes: u8,
    /// Every slice of the picture is an I or SI slice.
    all_intra: bool,
    /// A recovery point SEI message precedes the picture (§D.2.8).
    recovery_point: bool,
    /// Start of a prefix NAL unit (type 14) after the picture: the start of
    /// the next access unit if the slice it prefixes begins a new picture.
    prefix_start: Option<usize>,
}

impl H264Reader {
    /// Handles the next NAL unit; at the end of the input completes the last
    /// access unit and outputs every waiting picture. Returns false when
    /// there is nothing more to read.
    pub(super) fn step(&mut self) -> Result<bool> {
        let unit_open = self.au.nal_units > 0;
        match self.scanner.next_nal(unit_open, &mut self.warnings)? {
            Some(nal) => {
                if nal.end > nal.header {
                    self.seen.nal_units = true;
                    self.handle_nal(nal)?;
                }
                Ok(true)
            }
            None => {
                if self.au.picture.is_some() {
                    self.finish_access_unit(self.scanner.buffered().len());
                } else if self.au.nal_units > 0 && self.decode_index > 0 {
                    // The start of an access unit (delimiter, SEI,
                    // parameter sets) that the end of the file cuts before
                    // its first slice.
                    self.warnings.warn(
                        Warning::LastUnitCut,
                        self.scanner.position(),
                        format_args!(
                            "last access unit cut short (the file ends in an access unit \
                             without a coded picture): dropped"
                        ),
                    );
                }
                self.end_of_stream();
                Ok(false)
            }
        }
    }

    /// Adds a NAL unit to the access unit being assembled, or starts the
    /// next one with it (§7.4.1.2.3).
    fn handle_nal(&mut self, nal: NalSpan) -> Result<()> {
        let header_byte = self.scanner.buffered()[nal.header];
        let kept = if header_byte & 0x80 != 0 {
            self.warnings.warn(
                Warning::BadNalHeader,
                self.scanner.offset_of(nal.header),
                format_args!("NAL unit with forbidden_zero_bit set, kept as is"),
            );
            true
        } else {
            match nal_unit_type(header_byte) {
                t if has_slice_header(t) => self.handle_slice(nal)?,
                nal_type::PREFIX => {
                    if self.au.picture.is_some() && self.au.prefix_start.is_none() {
                        self.au.prefix_start = Some(nal.unit_start);
                    }
                    true
                }
                t if starts_access_unit(t) => {
                    let nal = if self.au.picture.is_some() {
                        let boundary = self.au.prefix_start.unwrap_or(nal.unit_start);
                        self.finish_access_unit(boundary);
                        nal.shifted(boundary)
                    } else {
                        nal
                    };
                    self.handle_non_vcl(t, nal);
                    true
                }
                _ => true,
            }
        };
        if kept {
            self.au.nal_units += 1;
        }
        Ok(())
    }

    /// SPS, PPS and SEI at the start of an access unit.
    fn handle_non_vcl(&mut self, nal_unit_type: u8, nal: NalSpan) {
        let bytes = &self.scanner.buffered()[nal.header..nal.end];
        let result = match nal_unit_type {
            nal_type::SPS => {
                self.seen.sps = true;
                self.params.add_sps(bytes).map(|stored| {
                    if let Some(id) = stored {
                        self.log_sps(id, self.scanner.offset_of(nal.header));
                    }
                })
            }
            nal_type::PPS => {
                let result = self.params.add_pps(bytes);
                self.seen.pps |= result.is_ok();
                result
            }
            nal_type::SEI => {
                self.au.recovery_point |= recovery_point(bytes).is_some();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            self.warnings.warn(
                Warning::BadParameterSet,
                self.scanner.offset_of(nal.header),
                format_args!("ignoring parameter set: {e}"),
            );
        }
    }

    /// Logs (at debug level) an SPS that is new or changed.
    fn log_sps(&self, id: u8, offset: u64) {
        match self.params.sps(id).map(SpsInfo::new) {
            Some(Ok(info)) => tracing::debug!(
                "H.264 SPS {id} at byte {offset}: {} level {}, {}x{}, {} fps{}",
                info.profile(),
                info.level_idc,
                info.width,
                info.height,
                info.frame_rate,
                if info.frame_rate_signalled {
                    ""
                } else {
                    " (not signalled)"
                }
            ),
            _ => tracing::debug!("H.264 SPS {id} at byte {offset}: unusable"),
        }
    }

    /// A slice or partition A: part of the current picture, or the first
    /// slice of the next one. Returns false when it was dropped.
    fn handle_slice(&mut self, nal: NalSpan) -> Result<bool> {
        self.seen.slices = true;
        let bytes = &self.scanner.buffered()[nal.header..nal.end];
        let slice = match SliceInfo::parse(&self.params.ctx, bytes) {
            Ok((slice, _)) => slice,
            Err(SyntaxError::CutShort(what)) if nal.at_eof => {
                return self.truncated_slice(nal, what).map(|()| false);
            }
            Err(e) => return Ok(self.undecodable_slice(nal, &e)),
        };
        if slice.redundant_pic_cnt > 0 {
            return Ok(true);
        }
        let plane = 1u8 << slice.colour_plane;
        let new_picture = self.au.picture.is_none()
            || slice.first_vcl_of_new_picture(&self.au.last_slice)
            || (slice.first_mb_in_slice == 0 && self.au.mb0_planes & plane != 0);
        if !new_picture {
            let au = &mut self.au;
            au.all_intra &= slice.intra;
            au.last_slice = slice;
            au.prefix_start = None;
            if slice.first_mb_in_slice == 0 {
                au.mb0_planes |= plane;
            }
            return Ok(true);
        }
        if self.au.picture.is_some() {
            self.finish_access_unit(self.au.prefix_start.unwrap_or(nal.unit_start));
        }
        self.start_picture(slice);
        Ok(true)
    }

    /// Starts the primary picture of the current access unit.
    fn start_picture(&mut self, slice: SliceInfo) {
        let Some(sps) = self.params.sps_of_pps(slice.pps_id) else {
            return;
        };
        if self.tracks.is_empty() && self.decode_index == 0 {
            // The stream's timing comes from the SPS of its first picture.
            if let Ok(info) = SpsInfo::new(sps) {
                self.clock = FrameClock::new(info.frame_rate, info.reorder_depth);
                self.order = OutputOrder::new(info.reorder_depth);
            }
        }
        if slice.is_idr() || slice.mmco5 {
            // Every earlier picture is output before this one (§C.4.4).
            self.order.flush();
        }
        // An IDR picture activates its SPS (§7.4.1.2.1); the first one
        // describes the track.
        if let Some(track) = self.tracks.first().filter(|_| slice.is_idr()) {
            if let Ok(info) = SpsInfo::new(sps) {
                let new = Sequence {
                    rate: info.frame_rate,
                    size: (info.width, info.height),
                };
                let offset = self.scanner.position();
                let first_output = self.order.end();
                sequence::start(
                    &mut self.clock,
                    &mut self.warnings,
                    track,
                    first_output,
                    new,
                    offset,
                );
            }
        }
        let candidate_key =
            slice.is_idr() || (slice.intra && self.au.recovery_point) || self.decode_index == 0;
        let resume = candidate_key.then(|| {
            Box::new(ResumePoint {
                offset: self.scanner.position(),
                poc: self.poc.clone(),
                params: Arc::clone(&self.params.raw),
            })
        });
        let poc = self.poc.decode(sps, &slice);
        let au = &mut self.au;
        au.picture = Some(Picture {
            poc,
            idr: slice.is_idr(),
            resume,
        });
        au.last_slice = slice;
        au.all_intra = slice.intra;
        au.mb0_planes = if slice.first_mb_in_slice == 0 {
            1 << slice.colour_plane
        } else {
            0
        };
        au.prefix_start = None;
    }

    /// A slice header that cannot be parsed: part of the current picture if
    /// there is one, else dropped with what precedes it (slices before the
    /// parameter sets they need, or junk).
    fn undecodable_slice(&mut self, nal: NalSpan, error: &SyntaxError) -> bool {
        let at = self.scanner.offset_of(nal.header);
        if self.au.picture.is_some() {
            self.warnings.warn(
                Warning::BadSlice,
                at,
                format_args!("slice kept in the current access unit: {error}"),
            );
            return true;
        }
        self.warnings.warn(
            Warning::BadSlice,
            at,
            format_args!("dropping undecodable slices: {error}"),
        );
        self.scanner.take(nal.end);
        self.au = AccessUnitBuilder::default();
        false
    }

    /// A slice header cut short by the end of the file: the current access
    /// unit is complete only if the cut slice starts the next picture. The
    /// unit cut short is dropped with a warning and reading ends; with no
    /// whole unit before it (the stream's first picture), it is an error.
    fn truncated_slice(&mut self, nal: NalSpan, what: &str) -> Result<()> {
        let at = self.scanner.offset_of(nal.header);
        let bytes = &self.scanner.buffered()[nal.header..nal.end];
        let reason = format!(
            "the file ends inside the {what} of the NAL unit of type {} at byte {at} ({} bytes \
             of it)",
            nal_unit_type(bytes[0]),
            bytes.len()
        );
        let starts_picture = self.au.prefix_start.is_some() || first_mb_in_slice(bytes) == Some(0);
        if self.au.picture.is_some() && starts_picture {
            self.finish_access_unit(self.au.prefix_start.unwrap_or(nal.unit_start));
        }
        if self.decode_index == 0 {
            return Err(MediaError::truncated(at, reason));
        }
        self.warnings.warn(
            Warning::LastUnitCut,
            self.scanner.position(),
            format_args!("last access unit cut short ({reason}): dropped"),
        );
        self.au = AccessUnitBuilder::default();
        self.end_of_stream();
        Ok(())
    }

    /// Takes the access unit that ends at buffer position `boundary` out of
    /// the buffer and gives its picture to the output order emulation.
    fn finish_access_unit(&mut self, boundary: usize) {
        let data = self.scanner.take(boundary);
        let au = std::mem::take(&mut self.au);
        let Some(picture) = au.picture else {
            return;
        };
        let keyframe = picture.idr || (au.recovery_point && au.all_intra);
        let first = self.decode_index == 0;
        let unit = PendingUnit {
            data,
            decode_index: self.decode_index,
            keyframe,
            resume: picture.resume.filter(|_| keyframe || first),
        };
        self.order.push(picture.poc, unit);
        self.decode_index += 1;
    }

    /// Outputs every waiting picture: reading is over.
    pub(super) fn end_of_stream(&mut self) {
        self.order.flush();
        self.ended = true;
        self.index.set_end(self.order.end());
    }
}
