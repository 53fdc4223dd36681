//! The parameter sets of an H.264 stream (ITU-T H.264 §7.4.1.2.1): parsed,
//! for slice headers, and as coded, for the track configuration and for
//! seeking, which restores those in force at a key frame.

use std::sync::Arc;

use bytes::Bytes;
use h264_reader::nal::pps::PicParamSetId;
use h264_reader::nal::sps::{SeqParamSetId, SeqParameterSet};
use h264_reader::Context;

use crate::codec::h264::{parse_pps, parse_sps, SyntaxError};

/// The SPS and PPS NAL units in force, by id, as coded: what a seek restores.
#[derive(Clone, Debug, Default)]
pub(super) struct RawParameterSets {
    sps: Vec<Option<Bytes>>,
    pps: Vec<Option<Bytes>>,
}

fn store(sets: &mut Vec<Option<Bytes>>, id: usize, nal: &[u8]) {
    if sets.len() <= id {
        sets.resize(id + 1, None);
    }
    // A copy: a slice would pin a whole read buffer for as long as it lives.
    sets[id] = Some(Bytes::copy_from_slice(nal));
}

/// Parameter sets parsed (for slice headers) and as coded (for the track
/// configuration and for seeking).
#[derive(Default)]
pub(super) struct ParameterSets {
    /// The parsed parameter sets, for slice headers.
    pub ctx: Context,
    /// The coded ones.
    pub raw: Arc<RawParameterSets>,
}

impl ParameterSets {
    /// Adds (or replaces) an SPS NAL unit; PPSs are parsed again against it.
    /// Returns its id when it is new or changed, `None` for a repeat.
    pub fn add_sps(&mut self, nal: &[u8]) -> Result<Option<u8>, SyntaxError> {
        if self.raw.sps.iter().flatten().any(|s| s[..] == *nal) {
            return Ok(None);
        }
        let sps = parse_sps(nal)?;
        let id = sps.id().id();
        store(&mut Arc::make_mut(&mut self.raw).sps, usize::from(id), nal);
        self.ctx.put_seq_param_set(sps);
        // A PPS is parsed against its SPS: parse the stored ones again.
        self.parse_stored_pps();
        Ok(Some(id))
    }

    /// The SPS with id `id`, if seen.
    pub fn sps(&self, id: u8) -> Option<&SeqParameterSet> {
        self.ctx.sps_by_id(SeqParamSetId::from_u32(id.into()).ok()?)
    }

    fn parse_stored_pps(&mut self) {
        for pps in self.raw.pps.iter().flatten() {
            if let Ok(pps) = parse_pps(&self.ctx, pps) {
                self.ctx.put_pic_param_set(pps);
            }
        }
    }

    /// Adds (or replaces) a PPS NAL unit.
    pub fn add_pps(&mut self, nal: &[u8]) -> Result<(), SyntaxError> {
        if self.raw.pps.iter().flatten().any(|p| p[..] == *nal) {
            return Ok(());
        }
        let pps = parse_pps(&self.ctx, nal)?;
        store(
            &mut Arc::make_mut(&mut self.raw).pps,
            usize::from(pps.pic_parameter_set_id.id()),
            nal,
        );
        self.ctx.put_pic_param_set(pps);
        Ok(())
    }

    /// The SPS that PPS `pps_id` refers to.
    pub fn sps_of_pps(&self, pps_id: u8) -> Option<&SeqParameterSet> {
        let pps = self
            .ctx
            .pps_by_id(PicParamSetId::from_u32(pps_id.into()).ok()?)?;
        self.ctx.sps_by_id(pps.seq_parameter_set_id)
    }

    /// The coded SPS of PPS `pps_id`, then every coded PPS referring to it.
    pub fn config_for(&self, pps_id: u8) -> Vec<Bytes> {
        let Some(sps) = self.sps_of_pps(pps_id) else {
            return Vec::new();
        };
        let sps_id = sps.id();
        let coded = |sets: &[Option<Bytes>], id: u8| sets.get(usize::from(id)).cloned().flatten();
        let mut sets: Vec<Bytes> = coded(&self.raw.sps, sps_id.id()).into_iter().collect();
        sets.extend(
            self.ctx
                .pps()
                .filter(|pps| pps.seq_parameter_set_id == sps_id)
                .filter_map(|pps| coded(&self.raw.pps, pps.pic_parameter_set_id.id())),
        );
        sets
    }

    /// Makes `raw` the parameter sets in force, reparsing them if they differ.
    pub fn restore(&mut self, raw: &Arc<RawParameterSets>) {
        if Arc::ptr_eq(&self.raw, raw) {
            return;
        }
        self.ctx = Context::new();
        self.raw = Arc::clone(raw);
        for sps in raw.sps.iter().flatten() {
            if let Ok(sps) = parse_sps(sps) {
                self.ctx.put_seq_param_set(sps);
            }
        }
        self.parse_stored_pps();
    }
}
