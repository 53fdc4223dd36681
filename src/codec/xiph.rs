//! The three header packets of the Xiph codecs Vorbis and Theora
//! (identification, comment, setup) and the forms containers store them in:
//! Ogg puts each in its own packet (Vorbis I §4.2, Theora §6), Matroska
//! joins them with Xiph lacing in CodecPrivate (Matroska codec mapping
//! `A_VORBIS`/`V_THEORA`: the packet count minus one, then the sizes of all
//! but the last packet, each as a run of 255s and a final byte below 255).
//!
//! A track's [`CodecConfig::extradata`] holds the Matroska form, whatever
//! the container: readers of Ogg build it with [`XiphHeaders::to_codec_private`].
//!
//! [`CodecConfig::extradata`]: crate::media::CodecConfig::extradata

use bytes::{BufMut, Bytes, BytesMut};

use super::header::HeaderError;

/// The three header packets of a Vorbis or Theora stream, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XiphHeaders {
    /// Identification header (Vorbis packet type 1, Theora 0x80).
    pub identification: Bytes,
    /// Comment header (Vorbis packet type 3, Theora 0x81).
    pub comment: Bytes,
    /// Setup header (Vorbis packet type 5, Theora 0x82).
    pub setup: Bytes,
}

impl XiphHeaders {
    /// Splits Matroska's CodecPrivate form: exactly three Xiph-laced
    /// packets, the last one taking the rest of the bytes. The packets are
    /// slices of `data`, not copies.
    pub fn from_codec_private(data: &Bytes) -> Result<XiphHeaders, HeaderError> {
        let &count = data
            .first()
            .ok_or_else(|| HeaderError::at(0, "empty Xiph header block"))?;
        if count != 2 {
            return Err(HeaderError::at(0, "Xiph header block without 3 packets"));
        }
        let mut pos = 1;
        let mut sizes = [0usize; 2];
        for size in &mut sizes {
            loop {
                let &b = data
                    .get(pos)
                    .ok_or_else(|| HeaderError::at(pos, "Xiph lacing cut short"))?;
                pos += 1;
                *size += usize::from(b);
                if b != 255 {
                    break;
                }
            }
        }
        let ident_end = pos + sizes[0];
        let comment_end = ident_end + sizes[1];
        if comment_end > data.len() {
            return Err(HeaderError::at(
                1,
                "Xiph laced sizes overrun the header block",
            ));
        }
        Ok(XiphHeaders {
            identification: data.slice(pos..ident_end),
            comment: data.slice(ident_end..comment_end),
            setup: data.slice(comment_end..),
        })
    }

    /// The Matroska CodecPrivate form of the three headers.
    pub fn to_codec_private(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(
            8 + self.identification.len() + self.comment.len() + self.setup.len(),
        );
        out.put_u8(2);
        for len in [self.identification.len(), self.comment.len()] {
            out.put_bytes(255, len / 255);
            out.put_u8((len % 255) as u8);
        }
        for packet in [&self.identification, &self.comment, &self.setup] {
            out.put_slice(packet);
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_private_round_trip() {
        let headers = XiphHeaders {
            identification: Bytes::from(vec![1; 30]),
            comment: Bytes::from(vec![3; 600]),
            setup: Bytes::from(vec![5; 4000]),
        };
        let private = headers.to_codec_private();
        // 600 = 255 + 255 + 90.
        assert_eq!(&private[..5], &[2, 30, 255, 255, 90]);
        assert_eq!(XiphHeaders::from_codec_private(&private), Ok(headers));
    }

    #[test]
    fn hostile_lacing_is_refused() {
        for (bad, offset) in [
            (&[][..], 0),
            (&[1, 2, 0, 0], 0),
            (&[2, 255, 255], 3),
            (&[2, 30], 2),
            (&[2, 1, 255, 255, 255, 255, 9, 0, 0], 1),
        ] {
            let err = XiphHeaders::from_codec_private(&Bytes::copy_from_slice(bad)).unwrap_err();
            assert_eq!(err.offset, offset, "{bad:?}");
        }
        // Empty comment and setup are well formed lacing.
        let h = XiphHeaders::from_codec_private(&Bytes::from_static(&[2, 1, 0, 7])).unwrap();
        assert_eq!(
            (&h.identification[..], h.comment.len(), h.setup.len()),
            (&[7][..], 0, 0)
        );
    }
}
